// The model base classes (what BigGAN and BigGAN-deep share), init_weights and the factories.
#include "libbiggan/models/model.h"

#include <cmath>
#include <functional>

#include "libbiggan/models/biggan.h"
#include "libbiggan/util/error.h"

namespace biggan {
namespace {

// Pre-order walk over a module tree that does not need shared_from_this (usable inside
// constructors).
void walk(torch::nn::Module& m, const std::string& prefix,
          const std::function<void(const std::string&, torch::nn::Module&)>& f) {
  f(prefix, m);
  for (const auto& c : m.named_children())
    walk(*c.value(), prefix.empty() ? c.key() : prefix + "." + c.key(), f);
}

void orthogonal_init(torch::Tensor& w) {
  const int64_t rows = w.size(0);
  const int64_t cols = w.numel() / rows;
  auto flattened = torch::empty({rows, cols}, w.options()).normal_(0, 1);
  if (rows < cols) flattened.t_();
  auto qr = at::linalg_qr(flattened, "reduced");
  auto q = std::get<0>(qr);
  auto d = torch::diag(std::get<1>(qr), 0);
  q *= d.sign();
  if (rows < cols) q.t_();
  w.view_as(q).copy_(q);
}

void xavier_uniform_init(torch::Tensor& w) {
  int64_t receptive = 1;
  for (int64_t d = 2; d < w.dim(); ++d) receptive *= w.size(d);
  const int64_t fan_in = w.size(1) * receptive, fan_out = w.size(0) * receptive;
  const double stdv = 1.0 * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
  const double a = std::sqrt(3.0) * stdv;
  w.uniform_(-a, a);
}

SNOptions sn_options_of(const std::string& param, int64_t num_svs, int64_t num_itrs, double eps) {
  return SNOptions().enabled(param == "SN").num_svs(num_svs).num_itrs(num_itrs).eps(eps);
}

}  // namespace

ConvFactory make_conv_factory(const SNOptions& sn) {
  return [sn](SNConv2dOptions options) {
    return std::static_pointer_cast<WeightLayerImpl>(std::make_shared<SNConv2dImpl>(options.sn(sn)));
  };
}

void init_weights(torch::nn::Module& root, const std::string& style) {
  torch::NoGradGuard ng;
  walk(root, "", [&](const std::string&, torch::nn::Module& m) {
    auto* layer = dynamic_cast<WeightLayerImpl*>(&m);
    if (!layer) return;
    if (style == "ortho") {
      orthogonal_init(layer->weight);
    } else if (style == "N02") {
      layer->weight.normal_(0, 0.02);
    } else if (style == "glorot" || style == "xavier") {
      xavier_uniform_init(layer->weight);
    } else {
      throw Error("unknown init style '" + style + "' (ortho, N02, glorot, xavier)");
    }
  });
}

std::vector<std::pair<std::string, std::shared_ptr<WeightLayerImpl>>> weight_layers(
    torch::nn::Module& root) {
  std::vector<std::pair<std::string, std::shared_ptr<WeightLayerImpl>>> out;
  std::function<void(torch::nn::Module&, const std::string&)> rec =
      [&](torch::nn::Module& m, const std::string& prefix) {
        for (const auto& c : m.named_children()) {
          const std::string name = prefix.empty() ? c.key() : prefix + "." + c.key();
          if (auto l = std::dynamic_pointer_cast<WeightLayerImpl>(c.value()))
            out.emplace_back(name, l);
          rec(*c.value(), name);
        }
      };
  rec(root, "");
  return out;
}

int initiate_standing_stats(torch::nn::Module& root) {
  auto layers = mybn_layers(root);
  for (auto& l : layers) {
    l->reset_stats();
    l->accumulate_standing = true;
  }
  return static_cast<int>(layers.size());
}

// ---- G base ----

GeneratorImpl::GeneratorImpl(const ModelConfig& config, int64_t dim_z)
    : torch::nn::Module("Generator"), config_(config), dim_z_(dim_z) {}

torch::Tensor GeneratorImpl::shared(const torch::Tensor& y) {
  return shared_ ? shared_->forward(y) : y;
}

void GeneratorImpl::init_weights() { biggan::init_weights(*this, config_.G_init); }

SNOptions GeneratorImpl::sn_options() const {
  const auto& c = config_;
  return sn_options_of(c.G_param, c.num_G_SVs, c.num_G_SV_itrs, c.SN_eps);
}

ConvFactory GeneratorImpl::which_conv() const { return make_conv_factory(sn_options()); }

CCBNFactory GeneratorImpl::which_bn(int64_t z_size) const {
  const auto& c = config_;
  LinearFactory bn_linear;
  if (c.G_shared) {
    bn_linear = [sn = sn_options()](int64_t in, int64_t out) {
      return std::static_pointer_cast<WeightLayerImpl>(
          std::make_shared<SNLinearImpl>(SNLinearOptions(in, out).bias(false).sn(sn)));
    };
  } else {
    // Not shared: the gains and biases are plain embeddings of the class index.
    bn_linear = [](int64_t in, int64_t out) {
      return std::static_pointer_cast<WeightLayerImpl>(
          std::make_shared<SNEmbeddingImpl>(SNEmbeddingOptions(in, out).sn(no_spectral_norm())));
    };
  }
  const auto bn_opt = BNOptions().eps(c.BN_eps).cross_replica(c.cross_replica).mybn(c.mybn).norm_style(c.norm_style)
                          .truncation_levels(c.G_BN_levels);
  const int64_t bn_input = c.G_shared ? c.effective_shared_dim() + z_size : c.n_classes;
  return [=](int64_t ch) { return CCBN(ch, bn_input, bn_linear, bn_opt); };
}

void GeneratorImpl::build_input(int64_t in_features, int64_t out_features) {
  const auto& c = config_;
  if (c.G_shared)
    shared_ = register_module("shared", std::make_shared<SNEmbeddingImpl>(SNEmbeddingOptions(
                                            c.n_classes, c.effective_shared_dim()).sn(no_spectral_norm())));
  linear = register_module(
      "linear", std::make_shared<SNLinearImpl>(SNLinearOptions(in_features, out_features).sn(sn_options())));
}

void GeneratorImpl::build_output(int64_t channels) {
  auto output_layer = register_module("output_layer", std::make_shared<torch::nn::Module>());
  // layers.bn with its default eps 1e-5 (not BN_eps) unless G_output_BN_eps says otherwise.
  const auto bn_opt = BNOptions()
                          .eps(config_.G_output_BN_eps)
                          .cross_replica(config_.cross_replica)
                          .mybn(config_.mybn)
                          .truncation_levels(config_.G_BN_levels);
  output_bn = output_layer->register_module("0", BN(channels, bn_opt));
  output_conv = output_layer->register_module(
      "2", which_conv()(SNConv2dOptions(channels, config_.G_output_channels, 3).padding(1)));
}

torch::Tensor GeneratorImpl::output(const torch::Tensor& h) {
  auto x = output_conv->forward(torch::relu(output_bn->forward(h)));
  // TF-Hub's deep modules normalise a 128-output conv and keep its first 3 channels.
  if (config_.G_output_channels != 3) x = x.slice(1, 0, 3);
  x = torch::tanh(x);
  return config_.channels_last ? x.contiguous() : x;
}

namespace {
torch::Tensor layout(const torch::Tensor& h, bool channels_last) {
  return channels_last ? h.contiguous(torch::MemoryFormat::ChannelsLast) : h;
}
}  // namespace

torch::Tensor GeneratorImpl::in_layout(const torch::Tensor& h) const { return layout(h, config_.channels_last); }
torch::Tensor DiscriminatorImpl::in_layout(const torch::Tensor& h) const { return layout(h, config_.channels_last); }

torch::Tensor GeneratorImpl::forward_stage(size_t i, torch::Tensor h, const torch::Tensor& y) {
  for (const auto& layer : *blocks[i]->as<torch::nn::ModuleList>()) {
    if (auto* block = dynamic_cast<GBlockBaseImpl*>(layer.get()))
      h = block->forward(h, y);
    else
      h = layer->as<Attention>()->forward(h);
  }
  return h;
}

// ---- D base ----

DiscriminatorImpl::DiscriminatorImpl(const ModelConfig& config)
    : torch::nn::Module("Discriminator"), config_(config) {}

void DiscriminatorImpl::init_weights() { biggan::init_weights(*this, config_.D_init); }

SNOptions DiscriminatorImpl::sn_options() const {
  const auto& c = config_;
  return sn_options_of(c.D_param, c.num_D_SVs, c.num_D_SV_itrs, c.SN_eps);
}

ConvFactory DiscriminatorImpl::which_conv() const { return make_conv_factory(sn_options()); }

void DiscriminatorImpl::build_head(int64_t channels) {
  const auto sn = sn_options();
  linear = register_module(
      "linear", std::make_shared<SNLinearImpl>(SNLinearOptions(channels, config_.output_dim).sn(sn)));
  embed = register_module(
      "embed", std::make_shared<SNEmbeddingImpl>(SNEmbeddingOptions(config_.n_classes, channels).sn(sn)));
}

torch::Tensor DiscriminatorImpl::head(const torch::Tensor& h_in, const torch::Tensor& y) {
  auto h = torch::sum(torch::relu(h_in), {2, 3});
  auto out = linear->forward(h);
  return out + torch::sum(embed->forward(y) * h, 1, /*keepdim=*/true);
}

torch::Tensor DiscriminatorImpl::forward_stage(size_t i, torch::Tensor h) {
  for (const auto& layer : *blocks[i]->as<torch::nn::ModuleList>()) {
    if (auto* block = dynamic_cast<DBlockBaseImpl*>(layer.get()))
      h = block->forward(h);
    else
      h = layer->as<Attention>()->forward(h);
  }
  return h;
}

// ---- factories ----

Generator make_generator(const ModelConfig& c) {
  c.validate("config");
  std::shared_ptr<GeneratorImpl> g;
  if (c.model == "BigGAN")
    g = std::make_shared<BigGANGeneratorImpl>(c);
  else
    g = std::make_shared<BigGANDeepGeneratorImpl>(c);
  return Generator(g);
}

Discriminator make_discriminator(const ModelConfig& c) {
  c.validate("config");
  std::shared_ptr<DiscriminatorImpl> d;
  if (c.model == "BigGAN")
    d = std::make_shared<BigGANDiscriminatorImpl>(c);
  else
    d = std::make_shared<BigGANDeepDiscriminatorImpl>(c);
  return Discriminator(d);
}

}  // namespace biggan
