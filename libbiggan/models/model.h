// The model interface callers use without knowing BigGAN from BigGAN-deep, and the factories.
// Attribute names follow the reference so state-dict keys are identical to its G.pth / D.pth.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "libbiggan/models/blocks.h"
#include "libbiggan/models/layers.h"
#include "libbiggan/models/model_config.h"

namespace biggan {

struct GeneratorImpl : torch::nn::Module {
  GeneratorImpl(const ModelConfig& config, int64_t dim_z);
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
  const ModelConfig& config() const { return config_; }

  // The reference's init_weights with config.G_init over every conv / linear / embedding.
  void init_weights();

 protected:
  // What BigGAN and BigGAN-deep G set up alike. A constructor calls, in the reference's creation
  // order: build_input, then registers its `blocks` (one ModuleList per stage or resblock, of
  // G blocks and attention layers), then build_output, then init_weights unless skip_init.

  // G_param / num_G_SVs / num_G_SV_itrs / SN_eps as layer options; which_conv: SNConv2d with them.
  SNOptions sn_options() const;
  ConvFactory which_conv() const;
  // The reference's which_bn: ccbn whose gains and biases are SNLinear maps of [shared(y), z part]
  // (shared_dim + z_size inputs) with G_shared, else plain embeddings of the class index.
  CCBNFactory which_bn(int64_t z_size) const;
  // The shared embedding (with G_shared), then `linear` (in_features -> out_features).
  void build_input(int64_t in_features, int64_t out_features);
  // output_layer = bn, relu, which_conv(channels -> 3): keys output_layer.0.*, output_layer.2.*.
  void build_output(int64_t channels);
  // tanh(output_layer(h)).
  torch::Tensor output(const torch::Tensor& h);
  // h in the configured activation layout (ModelConfig::channels_last).
  torch::Tensor in_layout(const torch::Tensor& h) const;
  // blocks[i] (G blocks with conditioning y, attention layers with h alone) applied to h.
  torch::Tensor forward_stage(size_t i, torch::Tensor h, const torch::Tensor& y);

  ModelConfig config_;
  int64_t dim_z_;
  std::shared_ptr<WeightLayerImpl> shared_, linear, output_conv;
  torch::nn::ModuleList blocks{nullptr};
  BN output_bn{nullptr};
};
TORCH_MODULE(Generator);

struct DiscriminatorImpl : torch::nn::Module {
  explicit DiscriminatorImpl(const ModelConfig& config);
  // D(x, y) with class indices y: N x output_dim.
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& y) = 0;
  int64_t n_classes() const { return config_.n_classes; }
  int64_t resolution() const { return config_.resolution; }
  const ModelConfig& config() const { return config_; }
  void init_weights();

 protected:
  // What BigGAN and BigGAN-deep D share: a constructor registers its `blocks`, then build_head,
  // then init_weights unless skip_init.

  // The reference's which_conv / which_linear SN settings for D.
  SNOptions sn_options() const;
  ConvFactory which_conv() const;
  // `linear` (channels -> output_dim) and the projection `embed` (n_classes -> channels).
  void build_head(int64_t channels);
  // The projection head: h summed over space after a ReLU, linear(h) + <embed(y), h>.
  torch::Tensor head(const torch::Tensor& h, const torch::Tensor& y);
  // blocks[i] (D blocks and attention layers, in order) applied to h.
  torch::Tensor forward_stage(size_t i, torch::Tensor h);

  torch::Tensor in_layout(const torch::Tensor& h) const;
  ModelConfig config_;
  std::shared_ptr<WeightLayerImpl> linear, embed;
  torch::nn::ModuleList blocks{nullptr};
};
TORCH_MODULE(Discriminator);

// Builds G / D as config.model says (BigGAN or BigGANdeep), drawing from torch's default
// generator in the reference's order (layer default inits and u buffers in creation order, then
// init_weights unless config.skip_init). Throws biggan::Error for an unsupported configuration.
// From the full flag set: make_generator(model_config(config)) (training/config.h).
Generator make_generator(const ModelConfig& config);
Discriminator make_discriminator(const ModelConfig& config);

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
