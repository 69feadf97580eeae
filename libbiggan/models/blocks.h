// Residual blocks and self-attention of the reference (layers.py GBlock / DBlock / Attention and
// BigGANdeep.py GBlock / DBlock), with its attribute names and layer creation order.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <memory>

#include "libbiggan/models/layers.h"

namespace biggan {

// (channels) -> the class-conditional BN of a G block.
using CCBNFactory = std::function<CCBN(int64_t channels)>;

// SA-GAN non-local block: theta / phi / g / o 1x1 convs, 2x2 max pooling on phi and g, gamma.
struct AttentionImpl : torch::nn::Module {
  AttentionImpl(int64_t ch, const ConvFactory& which_conv);
  torch::Tensor forward(const torch::Tensor& x);
  int64_t ch;
  std::shared_ptr<WeightLayerImpl> theta, phi, g, o;
  torch::Tensor gamma;
};
TORCH_MODULE(Attention);

// A G block: forward(x, y) with y the conditioning vector of this stage.
struct GBlockBaseImpl : torch::nn::Module {
  explicit GBlockBaseImpl(const char* name) : torch::nn::Module(name) {}
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& y) = 0;
};

// BigGAN G block: bn1-relu-(up)-conv1-bn2-relu-conv2, shortcut (up)-conv_sc. With fold_resample
// (ModelConfig::fold_resample) the upsampling is folded into conv1 (models/folded_resample.h) and
// the 1x1 conv_sc runs before it, at a quarter of the pixels.
struct GBlockImpl : GBlockBaseImpl {
  GBlockImpl(int64_t in_channels, int64_t out_channels, const ConvFactory& which_conv,
             const CCBNFactory& which_bn, bool upsample, bool fold_resample = false);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& y) override;
  int64_t in_channels, out_channels;
  bool upsample, learnable_sc, fold_resample;
  std::shared_ptr<WeightLayerImpl> conv1, conv2, conv_sc;
  CCBN bn1{nullptr}, bn2{nullptr};
};
TORCH_MODULE(GBlock);

// BigGAN-deep G block: bottleneck 1x1 - 3x3 - 3x3 - 1x1 with four ccbn, channel_ratio 4; the
// shortcut drops channels and upsamples. fold_resample folds the upsampling into conv2.
struct DeepGBlockImpl : GBlockBaseImpl {
  DeepGBlockImpl(int64_t in_channels, int64_t out_channels, const ConvFactory& which_conv,
                 const CCBNFactory& which_bn, bool upsample, int64_t channel_ratio = 4,
                 bool fold_resample = false);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& y) override;
  int64_t in_channels, out_channels, hidden_channels;
  bool upsample, fold_resample;
  std::shared_ptr<WeightLayerImpl> conv1, conv2, conv3, conv4;
  CCBN bn1{nullptr}, bn2{nullptr}, bn3{nullptr}, bn4{nullptr};
};
TORCH_MODULE(DeepGBlock);

struct DBlockBaseImpl : torch::nn::Module {
  explicit DBlockBaseImpl(const char* name) : torch::nn::Module(name) {}
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
};

// BigGAN D block: (relu)-conv1-relu-conv2-(avgpool), shortcut conv_sc / avgpool in the order the
// reference uses for (non-)preactivation blocks. With fold_resample the pooling is folded into
// conv2 (models/folded_resample.h) and a preactivation shortcut pools before its 1x1 conv_sc.
struct DBlockImpl : DBlockBaseImpl {
  DBlockImpl(int64_t in_channels, int64_t out_channels, const ConvFactory& which_conv, bool wide,
             bool preactivation, bool downsample, bool fold_resample = false);
  torch::Tensor forward(const torch::Tensor& x) override;
  torch::Tensor shortcut(torch::Tensor x);
  int64_t in_channels, out_channels, hidden_channels;
  bool preactivation, downsample, learnable_sc, fold_resample;
  std::shared_ptr<WeightLayerImpl> conv1, conv2, conv_sc;
};
TORCH_MODULE(DBlock);

// BigGAN-deep D block: bottleneck with a concatenating learnable shortcut (out - in channels).
struct DeepDBlockImpl : DBlockBaseImpl {
  DeepDBlockImpl(int64_t in_channels, int64_t out_channels, const ConvFactory& which_conv,
                 bool downsample, int64_t channel_ratio = 4);
  torch::Tensor forward(const torch::Tensor& x) override;
  torch::Tensor shortcut(torch::Tensor x);
  int64_t in_channels, out_channels, hidden_channels;
  bool downsample, learnable_sc;
  std::shared_ptr<WeightLayerImpl> conv1, conv2, conv3, conv4, conv_sc;
};
TORCH_MODULE(DeepDBlock);

}  // namespace biggan
