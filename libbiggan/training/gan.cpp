#include "libbiggan/training/gan.h"

#include "libbiggan/serialization/module_state.h"
#include "libbiggan/util/error.h"

namespace biggan {

Gan Gan::build(const Config& config) {
  Gan gan;
  gan.config = config;
  gan.G = make_generator(model_config(config));
  gan.D = make_discriminator(model_config(config));
  if (config.ema) {
    Config ema_config = config;
    ema_config.skip_init = true;  // G_ema = Generator(**{**config, 'skip_init': True, 'no_optim': True})
    gan.G_ema = make_generator(model_config(ema_config));
    gan.ema = std::make_unique<Ema>(*gan.G, *gan.G_ema, config.ema_decay, config.ema_start);
  }
  AdamOptions g_opt{config.G_lr, config.G_B1, config.G_B2, config.adam_eps, 0.0};
  AdamOptions d_opt{config.D_lr, config.D_B1, config.D_B2, config.adam_eps, 0.0};
  gan.G_optim = std::make_unique<Adam>(gan.G_parameters(), g_opt);
  gan.D_optim = std::make_unique<Adam>(gan.D_parameters(), d_opt);
  return gan;
}

void Gan::to(torch::Device device) {
  G->to(device);
  D->to(device);
  if (G_ema) G_ema->to(device);
}

std::vector<torch::Tensor> Gan::G_parameters() const { return G->parameters(true); }
std::vector<torch::Tensor> Gan::D_parameters() const { return D->parameters(true); }

WeightsFolderContents Gan::to_weights(const TrainState& state) const {
  WeightsFolderContents w;
  w.G = with_own_storages(state_dict(*G));
  w.D = with_own_storages(state_dict(*D));
  if (G_ema) w.G_ema = with_own_storages(state_dict(*G_ema));
  w.G_optim = G_optim->state_dict();
  w.D_optim = D_optim->state_dict();
  w.state = state;
  return w;
}

void Gan::load_weights(const WeightsFolderContents& w, const std::string& source) {
  if (!w.G.is_empty()) load_state_dict(*G, w.G, source + "/G.pth");
  if (!w.D.is_empty()) load_state_dict(*D, w.D, source + "/D.pth");
  if (G_ema && !w.G_ema.is_empty()) load_state_dict(*G_ema, w.G_ema, source + "/G_ema.pth");
  if (!w.G_optim.isNone()) G_optim->load_state_dict(w.G_optim, source + "/G_optim.pth");
  if (!w.D_optim.isNone()) D_optim->load_state_dict(w.D_optim, source + "/D_optim.pth");
}

}  // namespace biggan
