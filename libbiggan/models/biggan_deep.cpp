// BigGAN-deep G / D (BigGANdeep.py). Quirks kept on purpose, since they fix the state-dict keys:
// G's blocks are one list per resblock (blocks.<stage*G_depth+d>.0, attention at .1 of a stage's
// last one), D's are one list per stage (blocks.<stage>.<d>, attention after them).
#include "libbiggan/models/biggan.h"
#include "libbiggan/util/error.h"

namespace biggan {
namespace {

std::vector<int64_t> times(int64_t ch, std::vector<int64_t> mult) {
  for (auto& m : mult) m *= ch;
  return mult;
}

std::map<int64_t, bool> attention_map(const std::string& spec, int lo, int hi) {
  const auto wanted = parse_attention(spec);
  std::map<int64_t, bool> m;
  for (int i = lo; i < hi; ++i) {
    const int64_t r = int64_t(1) << i;
    m[r] = std::find(wanted.begin(), wanted.end(), r) != wanted.end();
  }
  return m;
}

}  // namespace

Arch biggan_deep_G_arch(int64_t ch, const std::string& attn, int64_t resolution) {
  Arch a;
  switch (resolution) {
    case 256:
      a.in_channels = times(ch, {16, 16, 8, 8, 4, 2});
      a.out_channels = times(ch, {16, 8, 8, 4, 2, 1});
      a.resolution = {8, 16, 32, 64, 128, 256};
      a.attention = attention_map(attn, 3, 9);
      break;
    case 128:
      a.in_channels = times(ch, {16, 16, 8, 4, 2});
      a.out_channels = times(ch, {16, 8, 4, 2, 1});
      a.resolution = {8, 16, 32, 64, 128};
      a.attention = attention_map(attn, 3, 8);
      break;
    case 64:
      a.in_channels = times(ch, {16, 16, 8, 4});
      a.out_channels = times(ch, {16, 8, 4, 2});
      a.resolution = {8, 16, 32, 64};
      a.attention = attention_map(attn, 3, 7);
      break;
    case 32:
      a.in_channels = times(ch, {4, 4, 4});
      a.out_channels = times(ch, {4, 4, 4});
      a.resolution = {8, 16, 32};
      a.attention = attention_map(attn, 3, 6);
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
      a.in_channels = times(ch, {1, 2, 4, 8, 8, 16});
      a.out_channels = times(ch, {2, 4, 8, 8, 16, 16});
      a.resample = {true, true, true, true, true, true, false};
      a.resolution = {128, 64, 32, 16, 8, 4, 4};
      a.attention = attention_map(attn, 2, 8);
      break;
    case 128:
      a.in_channels = times(ch, {1, 2, 4, 8, 16});
      a.out_channels = times(ch, {2, 4, 8, 16, 16});
      a.resample = {true, true, true, true, true, false};
      a.resolution = {64, 32, 16, 8, 4, 4};
      a.attention = attention_map(attn, 2, 8);
      break;
    case 64:
      a.in_channels = times(ch, {1, 2, 4, 8});
      a.out_channels = times(ch, {2, 4, 8, 16});
      a.resample = {true, true, true, true, false};
      a.resolution = {32, 16, 8, 4, 4};
      a.attention = attention_map(attn, 2, 7);
      break;
    case 32:
      a.in_channels = times(ch, {4, 4, 4});
      a.out_channels = times(ch, {4, 4, 4});
      a.resample = {true, true, false, false};
      a.resolution = {16, 16, 16, 16};
      a.attention = attention_map(attn, 2, 6);
      break;
    default:
      throw Error("no BigGANdeep D architecture for resolution " + std::to_string(resolution));
  }
  return a;
}

BigGANDeepGeneratorImpl::BigGANDeepGeneratorImpl(const Config& c)
    : GeneratorImpl(c, c.dim_z), arch(biggan_deep_G_arch(c.G_ch, c.G_attn, c.resolution)) {
  bottom_width = c.bottom_width;
  const int64_t shared_dim = c.shared_dim > 0 ? c.shared_dim : c.dim_z;
  const bool sn = c.G_param == "SN";
  const SNOptions sn_opt{sn, c.num_G_SVs, c.num_G_SV_itrs, c.SN_eps};
  ConvFactory which_conv = make_conv_factory(sn, c.num_G_SVs, c.num_G_SV_itrs, c.SN_eps);
  LinearFactory bn_linear;
  if (c.G_shared) {
    bn_linear = [sn_opt](int64_t in, int64_t out) {
      return std::static_pointer_cast<WeightLayerImpl>(
          std::make_shared<SNLinearImpl>(in, out, /*bias=*/false, sn_opt));
    };
  } else {
    bn_linear = [](int64_t in, int64_t out) {
      return std::static_pointer_cast<WeightLayerImpl>(
          std::make_shared<SNEmbeddingImpl>(in, out, SNOptions{false}));
    };
  }
  BNOptions bn_opt;
  bn_opt.eps = c.BN_eps;
  bn_opt.cross_replica = c.cross_replica;
  bn_opt.mybn = c.mybn;
  bn_opt.norm_style = c.norm_style;
  const int64_t bn_input = c.G_shared ? shared_dim + c.dim_z : c.n_classes;
  CCBNFactory which_bn = [=](int64_t ch) { return CCBN(ch, bn_input, bn_linear, bn_opt); };

  if (c.G_shared)
    shared_ = register_module("shared", std::make_shared<SNEmbeddingImpl>(c.n_classes, shared_dim,
                                                                          SNOptions{false}));
  linear = register_module(
      "linear", std::make_shared<SNLinearImpl>(c.dim_z + shared_dim,
                                               arch.in_channels[0] * bottom_width * bottom_width,
                                               true, sn_opt));
  auto blocks = register_module("blocks", torch::nn::ModuleList());
  for (size_t i = 0; i < arch.out_channels.size(); ++i) {
    for (int64_t d = 0; d < c.G_depth; ++d) {
      torch::nn::ModuleList list;
      const int64_t out = d == 0 ? arch.in_channels[i] : arch.out_channels[i];
      auto block = std::make_shared<DeepGBlockImpl>(arch.in_channels[i], out, which_conv, which_bn,
                                                    arch.resample[i] && d == c.G_depth - 1);
      list->push_back(block);
      std::vector<GStageLayer> layers{{block, nullptr}};
      if (d == c.G_depth - 1 && arch.attention[arch.resolution[i]]) {
        Attention attn(arch.out_channels[i], which_conv);
        list->push_back(attn);
        layers.push_back({nullptr, attn.ptr()});
      }
      blocks->push_back(list);
      stages.push_back(std::move(layers));
    }
  }
  auto output_layer = register_module("output_layer", std::make_shared<torch::nn::Module>());
  BNOptions out_bn_opt;
  out_bn_opt.cross_replica = c.cross_replica;
  out_bn_opt.mybn = c.mybn;
  output_bn = output_layer->register_module("0", BN(arch.out_channels.back(), out_bn_opt));
  output_conv = output_layer->register_module("2", which_conv(arch.out_channels.back(), 3, 3, 1, true));
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
  h = h.view({h.size(0), -1, bottom_width, bottom_width});
  for (const auto& stage : stages)
    for (const auto& layer : stage) h = layer(h, y);
  return torch::tanh(output_conv->forward(torch::relu(output_bn->forward(h))));
}

BigGANDeepDiscriminatorImpl::BigGANDeepDiscriminatorImpl(const Config& c)
    : DiscriminatorImpl(c), arch(biggan_deep_D_arch(c.D_ch, c.D_attn, c.resolution)) {
  const bool sn = c.D_param == "SN";
  const SNOptions sn_opt{sn, c.num_D_SVs, c.num_D_SV_itrs, c.SN_eps};
  ConvFactory which_conv = make_conv_factory(sn, c.num_D_SVs, c.num_D_SV_itrs, c.SN_eps);
  input_conv = register_module("input_conv", which_conv(3, arch.in_channels[0], 3, 1, true));
  auto blocks = register_module("blocks", torch::nn::ModuleList());
  for (size_t i = 0; i < arch.out_channels.size(); ++i) {
    torch::nn::ModuleList list;
    std::vector<DStageLayer> layers;
    for (int64_t d = 0; d < c.D_depth; ++d) {
      const int64_t in = d == 0 ? arch.in_channels[i] : arch.out_channels[i];
      auto block = std::make_shared<DeepDBlockImpl>(in, arch.out_channels[i], which_conv,
                                                    arch.resample[i] && d == 0);
      list->push_back(block);
      layers.push_back({block, nullptr});
    }
    if (arch.attention[arch.resolution[i]]) {
      Attention attn(arch.out_channels[i], which_conv);
      list->push_back(attn);
      layers.push_back({nullptr, attn.ptr()});
    }
    blocks->push_back(list);
    stages.push_back(std::move(layers));
  }
  linear = register_module(
      "linear", std::make_shared<SNLinearImpl>(arch.out_channels.back(), c.output_dim, true, sn_opt));
  embed = register_module(
      "embed", std::make_shared<SNEmbeddingImpl>(c.n_classes, arch.out_channels.back(), sn_opt));
  if (!c.skip_init) init_weights();
}

torch::Tensor BigGANDeepDiscriminatorImpl::forward(const torch::Tensor& x, const torch::Tensor& y) {
  auto h = input_conv->forward(x);
  for (const auto& stage : stages)
    for (const auto& layer : stage) h = layer(h);
  h = torch::sum(torch::relu(h), {2, 3});
  auto out = linear->forward(h);
  return out + torch::sum(embed->forward(y) * h, 1, /*keepdim=*/true);
}

}  // namespace biggan
