#include "libbiggan/models/blocks.h"

#include "libbiggan/models/folded_resample.h"

namespace biggan {
namespace F = torch::nn::functional;

namespace {

// F.interpolate(x, scale_factor=2): nearest neighbour.
torch::Tensor upsample2(const torch::Tensor& x) {
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .scale_factor(std::vector<double>{2.0, 2.0})
                               .mode(torch::kNearest));
}

torch::Tensor avgpool2(const torch::Tensor& x) { return torch::avg_pool2d(x, {2, 2}); }

// Every activation the reference offers (relu, inplace_relu, ir) is a ReLU.
torch::Tensor act(const torch::Tensor& x) { return torch::relu(x); }

// conv(upsample2(x)) and avgpool2(conv(x)) for a block's 3x3 (padding 1) conv, folded
// (models/folded_resample.h) or as the reference computes them.
torch::Tensor conv_of_upsampled(WeightLayerImpl& conv, const torch::Tensor& x, bool fold) {
  return fold ? conv3x3_of_upsampled(x, conv.effective_weight(), conv.bias) : conv.forward(upsample2(x));
}
torch::Tensor avgpool_of_conv(WeightLayerImpl& conv, const torch::Tensor& x, bool fold) {
  return fold ? avgpool_of_conv3x3(x, conv.effective_weight(), conv.bias) : avgpool2(conv.forward(x));
}

}  // namespace

AttentionImpl::AttentionImpl(int64_t ch_, const ConvFactory& which_conv)
    : torch::nn::Module("Attention"), ch(ch_) {
  theta = register_module("theta", which_conv(SNConv2dOptions(ch, ch / 8, 1).bias(false)));
  phi = register_module("phi", which_conv(SNConv2dOptions(ch, ch / 8, 1).bias(false)));
  g = register_module("g", which_conv(SNConv2dOptions(ch, ch / 2, 1).bias(false)));
  o = register_module("o", which_conv(SNConv2dOptions(ch / 2, ch, 1).bias(false)));
  gamma = register_parameter("gamma", torch::zeros({}));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x) {
  const int64_t hw = x.size(2) * x.size(3);
  auto th = theta->forward(x);
  auto ph = torch::max_pool2d(phi->forward(x), {2, 2});
  auto gg = torch::max_pool2d(g->forward(x), {2, 2});
  // reshape: a view of NCHW activations, a copy of channels-last ones (ModelConfig::channels_last).
  th = th.reshape({-1, ch / 8, hw});
  ph = ph.reshape({-1, ch / 8, hw / 4});
  gg = gg.reshape({-1, ch / 2, hw / 4});
  auto beta = torch::softmax(torch::bmm(th.transpose(1, 2), ph), -1);
  auto out = o->forward(torch::bmm(gg, beta.transpose(1, 2)).view({-1, ch / 2, x.size(2), x.size(3)}));
  return gamma * out + x;
}

GBlockImpl::GBlockImpl(int64_t in_ch, int64_t out_ch, const ConvFactory& which_conv,
                       const CCBNFactory& which_bn, bool upsample_, bool fold_resample_)
    : GBlockBaseImpl("GBlock"),
      in_channels(in_ch),
      out_channels(out_ch),
      upsample(upsample_),
      fold_resample(fold_resample_) {
  conv1 = register_module("conv1", which_conv(SNConv2dOptions(in_ch, out_ch, 3).padding(1)));
  conv2 = register_module("conv2", which_conv(SNConv2dOptions(out_ch, out_ch, 3).padding(1)));
  learnable_sc = in_ch != out_ch || upsample;
  if (learnable_sc) conv_sc = register_module("conv_sc", which_conv(SNConv2dOptions(in_ch, out_ch, 1)));
  bn1 = register_module("bn1", which_bn(in_ch));
  bn2 = register_module("bn2", which_bn(out_ch));
}

torch::Tensor GBlockImpl::forward(const torch::Tensor& x_in, const torch::Tensor& y) {
  auto x = x_in;
  auto h = act(bn1->forward(x, y));
  if (upsample) {
    // (learnable_sc holds whenever the block upsamples.) A 1x1 conv commutes with nearest
    // upsampling: folded, the shortcut convolves a quarter of the pixels.
    h = conv_of_upsampled(*conv1, h, fold_resample);
    x = fold_resample ? upsample2(conv_sc->forward(x)) : conv_sc->forward(upsample2(x));
  } else {
    h = conv1->forward(h);
    if (learnable_sc) x = conv_sc->forward(x);
  }
  h = act(bn2->forward(h, y));
  h = conv2->forward(h);
  return h + x;
}

DeepGBlockImpl::DeepGBlockImpl(int64_t in_ch, int64_t out_ch, const ConvFactory& which_conv,
                               const CCBNFactory& which_bn, bool upsample_, int64_t channel_ratio,
                               bool fold_resample_)
    : GBlockBaseImpl("GBlock"),
      in_channels(in_ch),
      out_channels(out_ch),
      hidden_channels(in_ch / channel_ratio),
      upsample(upsample_),
      fold_resample(fold_resample_) {
  const int64_t hid = hidden_channels;
  conv1 = register_module("conv1", which_conv(SNConv2dOptions(in_ch, hid, 1)));
  conv2 = register_module("conv2", which_conv(SNConv2dOptions(hid, hid, 3).padding(1)));
  conv3 = register_module("conv3", which_conv(SNConv2dOptions(hid, hid, 3).padding(1)));
  conv4 = register_module("conv4", which_conv(SNConv2dOptions(hid, out_ch, 1)));
  bn1 = register_module("bn1", which_bn(in_ch));
  bn2 = register_module("bn2", which_bn(hid));
  bn3 = register_module("bn3", which_bn(hid));
  bn4 = register_module("bn4", which_bn(hid));
}

torch::Tensor DeepGBlockImpl::forward(const torch::Tensor& x_in, const torch::Tensor& y) {
  auto x = x_in;
  auto h = conv1->forward(act(bn1->forward(x, y)));
  h = act(bn2->forward(h, y));
  if (in_channels != out_channels) x = x.slice(1, 0, out_channels);
  if (upsample) {
    h = conv_of_upsampled(*conv2, h, fold_resample);
    x = upsample2(x);
  } else {
    h = conv2->forward(h);
  }
  h = conv3->forward(act(bn3->forward(h, y)));
  h = conv4->forward(act(bn4->forward(h, y)));
  return h + x;
}

DBlockImpl::DBlockImpl(int64_t in_ch, int64_t out_ch, const ConvFactory& which_conv, bool wide,
                       bool preactivation_, bool downsample_, bool fold_resample_)
    : DBlockBaseImpl("DBlock"),
      in_channels(in_ch),
      out_channels(out_ch),
      hidden_channels(wide ? out_ch : in_ch),
      preactivation(preactivation_),
      downsample(downsample_),
      fold_resample(fold_resample_) {
  conv1 = register_module("conv1", which_conv(SNConv2dOptions(in_ch, hidden_channels, 3).padding(1)));
  conv2 = register_module("conv2", which_conv(SNConv2dOptions(hidden_channels, out_ch, 3).padding(1)));
  learnable_sc = in_ch != out_ch || downsample;
  if (learnable_sc) conv_sc = register_module("conv_sc", which_conv(SNConv2dOptions(in_ch, out_ch, 1)));
}

torch::Tensor DBlockImpl::shortcut(torch::Tensor x) {
  if (preactivation && !(fold_resample && downsample)) {
    if (learnable_sc) x = conv_sc->forward(x);
    if (downsample) x = avgpool2(x);
  } else {
    // The reference's order without preactivation. Folded, a preactivated block takes it too:
    // pooling and a 1x1 conv commute (both linear), and the conv then sees a quarter of the pixels.
    if (downsample) x = avgpool2(x);
    if (learnable_sc) x = conv_sc->forward(x);
  }
  return x;
}

torch::Tensor DBlockImpl::forward(const torch::Tensor& x) {
  // The preactivation is always an out-of-place ReLU in the reference (not the D activation).
  auto h = preactivation ? torch::relu(x) : x;
  h = act(conv1->forward(h));
  h = downsample ? avgpool_of_conv(*conv2, h, fold_resample) : conv2->forward(h);
  return h + shortcut(x);
}

DeepDBlockImpl::DeepDBlockImpl(int64_t in_ch, int64_t out_ch, const ConvFactory& which_conv,
                               bool downsample_, int64_t channel_ratio)
    : DBlockBaseImpl("DBlock"),
      in_channels(in_ch),
      out_channels(out_ch),
      hidden_channels(out_ch / channel_ratio),
      downsample(downsample_) {
  const int64_t hid = hidden_channels;
  conv1 = register_module("conv1", which_conv(SNConv2dOptions(in_ch, hid, 1)));
  conv2 = register_module("conv2", which_conv(SNConv2dOptions(hid, hid, 3).padding(1)));
  conv3 = register_module("conv3", which_conv(SNConv2dOptions(hid, hid, 3).padding(1)));
  conv4 = register_module("conv4", which_conv(SNConv2dOptions(hid, out_ch, 1)));
  learnable_sc = in_ch != out_ch;
  if (learnable_sc)
    conv_sc = register_module("conv_sc", which_conv(SNConv2dOptions(in_ch, out_ch - in_ch, 1)));
}

torch::Tensor DeepDBlockImpl::shortcut(torch::Tensor x) {
  if (downsample) x = avgpool2(x);
  if (learnable_sc) x = torch::cat({x, conv_sc->forward(x)}, 1);
  return x;
}

torch::Tensor DeepDBlockImpl::forward(const torch::Tensor& x) {
  auto h = conv1->forward(torch::relu(x));
  h = conv2->forward(act(h));
  h = conv3->forward(act(h));
  h = act(h);
  if (downsample) h = avgpool2(h);
  h = conv4->forward(h);
  return h + shortcut(x);
}

}  // namespace biggan
