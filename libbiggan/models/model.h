// The model interface callers use without knowing BigGAN from BigGAN-deep, and the factories.
// Attribute names follow the reference so state-dict keys are identical to its G.pth / D.pth.
#pragma once
#include <torch/torch.h>

#include "libbiggan/models/config.h"
#include "libbiggan/models/layers.h"

namespace biggan {

struct GeneratorImpl : torch::nn::Module {
  GeneratorImpl(const Config& config, int64_t dim_z);
  // G(z, shared(y)): images in [-1, 1], N x 3 x R x R.
  virtual torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& y_embedded) = 0;
  // G.shared(y): the shared class embedding, or y itself (class indices) when not G_shared.
  torch::Tensor shared(const torch::Tensor& y);
  // The shared embedding layer (exempt from ortho regularisation); null when not G_shared.
  std::shared_ptr<WeightLayerImpl> shared_layer() const { return shared_; }

  // The latent size G consumes (with hier, the reference rounds dim_z down to a multiple of the
  // number of z chunks).
  int64_t dim_z() const { return dim_z_; }
  int64_t n_classes() const { return config_.n_classes; }
  int64_t resolution() const { return config_.resolution; }
  const Config& config() const { return config_; }

  // The reference's init_weights with config.G_init over every conv / linear / embedding.
  void init_weights();

 protected:
  Config config_;
  int64_t dim_z_;
  std::shared_ptr<WeightLayerImpl> shared_;
};
TORCH_MODULE(Generator);

struct DiscriminatorImpl : torch::nn::Module {
  explicit DiscriminatorImpl(const Config& config);
  // D(x, y) with class indices y: N x output_dim.
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& y) = 0;
  int64_t n_classes() const { return config_.n_classes; }
  int64_t resolution() const { return config_.resolution; }
  const Config& config() const { return config_; }
  void init_weights();

 protected:
  Config config_;
};
TORCH_MODULE(Discriminator);

// Builds G / D as config.model says (BigGAN or BigGANdeep), drawing from torch's default
// generator in the reference's order (layer default inits and u buffers in creation order, then
// init_weights unless config.skip_init). Throws biggan::Error for an unsupported configuration.
Generator make_generator(const Config& config);
Discriminator make_discriminator(const Config& config);

// Re-initialises every conv / linear / embedding weight of `root` as the reference's
// init_weights does ('ortho', 'N02', 'glorot' / 'xavier'), in module pre-order.
void init_weights(torch::nn::Module& root, const std::string& style);

// utils.initiate_standing_stats: every myBN's statistics reset and accumulate_standing switched on
// (then train-mode forwards accumulate "standing" statistics that eval mode uses). Returns how
// many myBN layers there are (0 unless the model was built with mybn).
int initiate_standing_stats(torch::nn::Module& root);

// Every weight layer (SN or plain) of a module tree with its dotted name, in pre-order.
std::vector<std::pair<std::string, std::shared_ptr<WeightLayerImpl>>> weight_layers(
    torch::nn::Module& root);

}  // namespace biggan
