// BigGAN G / D (BigGAN.py) and the architecture tables (G_arch / D_arch).
#include "libbiggan/models/biggan.h"

#include <algorithm>
#include <string>

#include "libbiggan/util/error.h"

namespace biggan {
namespace {

Error no_arch(const char* what, int64_t resolution) {
  return Error(std::string("no ") + what + " architecture for resolution " +
               std::to_string(resolution));
}

}  // namespace

std::vector<int64_t> channel_multiples(int64_t ch, std::vector<int64_t> multipliers) {
  for (auto& m : multipliers) m *= ch;
  return multipliers;
}

std::map<int64_t, bool> attention_by_resolution(const std::string& spec, int lo, int hi) {
  const auto wanted = parse_attention(spec);
  std::map<int64_t, bool> m;
  for (int i = lo; i < hi; ++i) {
    const int64_t r = int64_t(1) << i;
    m[r] = std::find(wanted.begin(), wanted.end(), r) != wanted.end();
  }
  return m;
}

Arch biggan_G_arch(int64_t ch, const std::string& attn, int64_t resolution) {
  Arch a;
  switch (resolution) {
    case 512:
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
      throw no_arch("BigGAN G", resolution);
  }
  a.resample.assign(a.out_channels.size(), true);
  return a;
}

Arch biggan_D_arch(int64_t ch, const std::string& attn, int64_t resolution) {
  Arch a;
  switch (resolution) {
    case 256:
      a.in_channels = {3};
      for (auto c : channel_multiples(ch, {1, 2, 4, 8, 8, 16})) a.in_channels.push_back(c);
      a.out_channels = channel_multiples(ch, {1, 2, 4, 8, 8, 16, 16});
      a.resample = {true, true, true, true, true, true, false};
      a.resolution = {128, 64, 32, 16, 8, 4, 4};
      a.attention = attention_by_resolution(attn, 2, 8);
      break;
    case 128:
      a.in_channels = {3};
      for (auto c : channel_multiples(ch, {1, 2, 4, 8, 16})) a.in_channels.push_back(c);
      a.out_channels = channel_multiples(ch, {1, 2, 4, 8, 16, 16});
      a.resample = {true, true, true, true, true, false};
      a.resolution = {64, 32, 16, 8, 4, 4};
      a.attention = attention_by_resolution(attn, 2, 8);
      break;
    case 64:
      a.in_channels = {3};
      for (auto c : channel_multiples(ch, {1, 2, 4, 8})) a.in_channels.push_back(c);
      a.out_channels = channel_multiples(ch, {1, 2, 4, 8, 16});
      a.resample = {true, true, true, true, false};
      a.resolution = {32, 16, 8, 4, 4};
      a.attention = attention_by_resolution(attn, 2, 7);
      break;
    case 32:
      a.in_channels = {3};
      for (auto c : channel_multiples(ch, {4, 4, 4})) a.in_channels.push_back(c);
      a.out_channels = channel_multiples(ch, {4, 4, 4, 4});
      a.resample = {true, true, false, false};
      a.resolution = {16, 16, 16, 16};
      a.attention = attention_by_resolution(attn, 2, 6);
      break;
    default:
      throw no_arch("BigGAN D", resolution);
  }
  return a;
}

// ---- BigGAN G ----

BigGANGeneratorImpl::BigGANGeneratorImpl(const ModelConfig& c)
    : GeneratorImpl(c, c.dim_z), arch(biggan_G_arch(c.G_ch, c.G_attn, c.resolution)) {
  if (c.hier) {
    num_slots = static_cast<int64_t>(arch.in_channels.size()) + 1;
    z_chunk_size = c.dim_z / num_slots;
    dim_z_ = z_chunk_size * num_slots;
  } else {
    num_slots = 1;
    z_chunk_size = 0;
  }
  const ConvFactory conv = which_conv();
  const CCBNFactory bn = which_bn(z_chunk_size);
  // Creation order = the reference's: shared, linear, blocks (convs, then bns, then attention),
  // output layer; then init_weights.
  build_input(dim_z_ / num_slots, arch.in_channels[0] * c.bottom_width * c.bottom_width);
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (size_t i = 0; i < arch.out_channels.size(); ++i) {
    torch::nn::ModuleList stage;
    stage->push_back(GBlock(arch.in_channels[i], arch.out_channels[i], conv, bn, arch.resample[i], c.fold_resample));
    if (arch.attention[arch.resolution[i]]) stage->push_back(Attention(arch.out_channels[i], conv));
    blocks->push_back(stage);
  }
  build_output(arch.out_channels.back());
  if (!c.skip_init) init_weights();
}

torch::Tensor BigGANGeneratorImpl::forward(const torch::Tensor& z_in, const torch::Tensor& y) {
  torch::Tensor z = z_in;
  std::vector<torch::Tensor> ys;
  if (config_.hier) {
    auto zs = torch::split(z, z_chunk_size, 1);
    z = zs[0];
    for (size_t i = 1; i < zs.size(); ++i) ys.push_back(torch::cat({y, zs[i]}, 1));
  } else {
    ys.assign(blocks->size(), y);
  }
  if (ys.size() < blocks->size())
    throw Error("G: z has " + std::to_string(z_in.size(1)) + " columns, expected " +
                std::to_string(dim_z_));
  auto h = linear->forward(z);
  h = in_layout(h.view({h.size(0), -1, config_.bottom_width, config_.bottom_width}));
  for (size_t i = 0; i < blocks->size(); ++i) h = forward_stage(i, h, ys[i]);
  return output(h);
}

// ---- BigGAN D ----

BigGANDiscriminatorImpl::BigGANDiscriminatorImpl(const ModelConfig& c)
    : DiscriminatorImpl(c), arch(biggan_D_arch(c.D_ch, c.D_attn, c.resolution)) {
  const ConvFactory conv = which_conv();
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (size_t i = 0; i < arch.out_channels.size(); ++i) {
    torch::nn::ModuleList stage;
    stage->push_back(DBlock(arch.in_channels[i], arch.out_channels[i], conv, c.D_wide,
                            /*preactivation=*/i > 0, arch.resample[i], c.fold_resample));
    if (arch.attention[arch.resolution[i]]) stage->push_back(Attention(arch.out_channels[i], conv));
    blocks->push_back(stage);
  }
  build_head(arch.out_channels.back());
  if (!c.skip_init) init_weights();
}

torch::Tensor BigGANDiscriminatorImpl::forward(const torch::Tensor& x, const torch::Tensor& y) {
  auto h = in_layout(x);
  for (size_t i = 0; i < blocks->size(); ++i) h = forward_stage(i, h);
  return head(h, y);
}

}  // namespace biggan
