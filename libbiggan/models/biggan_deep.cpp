// BigGAN-deep G / D (BigGANdeep.py). Quirks kept on purpose, since they fix the state-dict keys:
// G's blocks are one list per resblock (blocks.<stage*G_depth+d>.0, attention at .1 of a stage's
// last one), D's are one list per stage (blocks.<stage>.<d>, attention after them).
#include "libbiggan/models/biggan.h"
#include "libbiggan/util/error.h"

namespace biggan {

Arch biggan_deep_G_arch(int64_t ch, const std::string& attn, int64_t resolution) {
  Arch a;
  switch (resolution) {
    case 512:  // not in BigGANdeep.py: TF-Hub's biggan-deep-512 (the 256 stages plus one at 1x)
      a.in_channels = channel_multiples(ch, {16, 16, 8, 8, 4, 2, 1});
      a.out_channels = channel_multiples(ch, {16, 8, 8, 4, 2, 1, 1});
      a.resolution = {8, 16, 32, 64, 128, 256, 512};
      a.attention = attention_by_resolution(attn, 3, 10);
      break;
    case 256:
      a.in_channels = channel_multiples(ch, {16, 16, 8, 8, 4, 2});
      a.out_channels = channel_multiples(ch, {16, 8, 8, 4, 2, 1});
      a.resolution = {8, 16, 32, 64, 128, 256};
      a.attention = attention_by_resolution(attn, 3, 9);
      break;
    case 128:
      a.in_channels = channel_multiples(ch, {16, 16, 8, 4, 2});
      a.out_channels = channel_multiples(ch, {16, 8, 4, 2, 1});
      a.resolution = {8, 16, 32, 64, 128};
      a.attention = attention_by_resolution(attn, 3, 8);
      break;
    case 64:
      a.in_channels = channel_multiples(ch, {16, 16, 8, 4});
      a.out_channels = channel_multiples(ch, {16, 8, 4, 2});
      a.resolution = {8, 16, 32, 64};
      a.attention = attention_by_resolution(attn, 3, 7);
      break;
    case 32:
      a.in_channels = channel_multiples(ch, {4, 4, 4});
      a.out_channels = channel_multiples(ch, {4, 4, 4});
      a.resolution = {8, 16, 32};
      a.attention = attention_by_resolution(attn, 3, 6);
      break;
    default:
      throw Error("no BigGANdeep G architecture for resolution " + std::to_string(resolution));
  }
  a.resample.assign(a.out_channels.size(), true);
  return a;
}

Arch biggan_deep_D_arch(int64_t ch, const std::string& attn, int64_t resolution) {
  Arch a;
  switch (resolution) {
    case 256:
      a.in_channels = channel_multiples(ch, {1, 2, 4, 8, 8, 16});
      a.out_channels = channel_multiples(ch, {2, 4, 8, 8, 16, 16});
      a.resample = {true, true, true, true, true, true, false};
      a.resolution = {128, 64, 32, 16, 8, 4, 4};
      a.attention = attention_by_resolution(attn, 2, 8);
      break;
    case 128:
      a.in_channels = channel_multiples(ch, {1, 2, 4, 8, 16});
      a.out_channels = channel_multiples(ch, {2, 4, 8, 16, 16});
      a.resample = {true, true, true, true, true, false};
      a.resolution = {64, 32, 16, 8, 4, 4};
      a.attention = attention_by_resolution(attn, 2, 8);
      break;
    case 64:
      a.in_channels = channel_multiples(ch, {1, 2, 4, 8});
      a.out_channels = channel_multiples(ch, {2, 4, 8, 16});
      a.resample = {true, true, true, true, false};
      a.resolution = {32, 16, 8, 4, 4};
      a.attention = attention_by_resolution(attn, 2, 7);
      break;
    case 32:
      a.in_channels = channel_multiples(ch, {4, 4, 4});
      a.out_channels = channel_multiples(ch, {4, 4, 4});
      a.resample = {true, true, false, false};
      a.resolution = {16, 16, 16, 16};
      a.attention = attention_by_resolution(attn, 2, 6);
      break;
    default:
      throw Error("no BigGANdeep D architecture for resolution " + std::to_string(resolution));
  }
  return a;
}

BigGANDeepGeneratorImpl::BigGANDeepGeneratorImpl(const ModelConfig& c)
    : GeneratorImpl(c, c.dim_z), arch(biggan_deep_G_arch(c.G_ch, c.G_attn, c.resolution)) {
  const ConvFactory conv = which_conv();
  const CCBNFactory bn = which_bn(c.dim_z);
  build_input(c.dim_z + c.effective_shared_dim(), arch.in_channels[0] * c.bottom_width * c.bottom_width);
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (size_t i = 0; i < arch.out_channels.size(); ++i) {
    for (int64_t d = 0; d < c.G_depth; ++d) {
      const bool last = d == c.G_depth - 1;
      torch::nn::ModuleList list;
      const int64_t out = d == 0 ? arch.in_channels[i] : arch.out_channels[i];
      list->push_back(DeepGBlock(arch.in_channels[i], out, conv, bn, arch.resample[i] && last, 4, c.fold_resample));
      if (last && arch.attention[arch.resolution[i]]) list->push_back(Attention(arch.out_channels[i], conv));
      blocks->push_back(list);
    }
  }
  build_output(arch.out_channels.back());
  if (!c.skip_init) init_weights();
}

torch::Tensor BigGANDeepGeneratorImpl::forward(const torch::Tensor& z_in, const torch::Tensor& y_in) {
  auto z = z_in, y = y_in;
  if (config_.hier) {
    z = torch::cat({y, z}, 1);
    y = z;
  } else if (z.size(1) != linear->weight.size(1)) {
    throw Error("BigGANdeep G without hier: the reference's linear layer expects dim_z + "
                "shared_dim inputs but is given z alone (set hier)");
  }
  auto h = linear->forward(z);
  h = in_layout(h.view({h.size(0), -1, config_.bottom_width, config_.bottom_width}));
  for (size_t i = 0; i < blocks->size(); ++i) h = forward_stage(i, h, y);
  return output(h);
}

BigGANDeepDiscriminatorImpl::BigGANDeepDiscriminatorImpl(const ModelConfig& c)
    : DiscriminatorImpl(c), arch(biggan_deep_D_arch(c.D_ch, c.D_attn, c.resolution)) {
  const ConvFactory conv = which_conv();
  input_conv = register_module("input_conv", conv(SNConv2dOptions(3, arch.in_channels[0], 3).padding(1)));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (size_t i = 0; i < arch.out_channels.size(); ++i) {
    torch::nn::ModuleList list;
    for (int64_t d = 0; d < c.D_depth; ++d) {
      const int64_t in = d == 0 ? arch.in_channels[i] : arch.out_channels[i];
      list->push_back(DeepDBlock(in, arch.out_channels[i], conv, arch.resample[i] && d == 0));
    }
    if (arch.attention[arch.resolution[i]]) list->push_back(Attention(arch.out_channels[i], conv));
    blocks->push_back(list);
  }
  build_head(arch.out_channels.back());
  if (!c.skip_init) init_weights();
}

torch::Tensor BigGANDeepDiscriminatorImpl::forward(const torch::Tensor& x, const torch::Tensor& y) {
  auto h = input_conv->forward(in_layout(x));
  for (size_t i = 0; i < blocks->size(); ++i) h = forward_stage(i, h);
  return head(h, y);
}

}  // namespace biggan
