// BigGAN G / D, the shared model base, init_weights and the factories.
#include "libbiggan/models/biggan.h"

#include <cmath>

#include "libbiggan/util/error.h"

namespace biggan {
namespace {

std::vector<int64_t> times(int64_t ch, std::vector<int64_t> mult) {
  for (auto& m : mult) m *= ch;
  return mult;
}

// {2^lo .. 2^(hi-1)} -> whether the resolution is in the attention spec.
std::map<int64_t, bool> attention_map(const std::string& spec, int lo, int hi) {
  const auto wanted = parse_attention(spec);
  std::map<int64_t, bool> m;
  for (int i = lo; i < hi; ++i) {
    const int64_t r = int64_t(1) << i;
    m[r] = std::find(wanted.begin(), wanted.end(), r) != wanted.end();
  }
  return m;
}

Error no_arch(const char* what, int64_t resolution) {
  return Error(std::string("no ") + what + " architecture for resolution " +
               std::to_string(resolution));
}

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

}  // namespace

Arch biggan_G_arch(int64_t ch, const std::string& attn, int64_t resolution) {
  Arch a;
  switch (resolution) {
    case 512:
      a.in_channels = times(ch, {16, 16, 8, 8, 4, 2, 1});
      a.out_channels = times(ch, {16, 8, 8, 4, 2, 1, 1});
      a.resolution = {8, 16, 32, 64, 128, 256, 512};
      a.attention = attention_map(attn, 3, 10);
      break;
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
      for (auto c : times(ch, {1, 2, 4, 8, 8, 16})) a.in_channels.push_back(c);
      a.out_channels = times(ch, {1, 2, 4, 8, 8, 16, 16});
      a.resample = {true, true, true, true, true, true, false};
      a.resolution = {128, 64, 32, 16, 8, 4, 4};
      a.attention = attention_map(attn, 2, 8);
      break;
    case 128:
      a.in_channels = {3};
      for (auto c : times(ch, {1, 2, 4, 8, 16})) a.in_channels.push_back(c);
      a.out_channels = times(ch, {1, 2, 4, 8, 16, 16});
      a.resample = {true, true, true, true, true, false};
      a.resolution = {64, 32, 16, 8, 4, 4};
      a.attention = attention_map(attn, 2, 8);
      break;
    case 64:
      a.in_channels = {3};
      for (auto c : times(ch, {1, 2, 4, 8})) a.in_channels.push_back(c);
      a.out_channels = times(ch, {1, 2, 4, 8, 16});
      a.resample = {true, true, true, true, false};
      a.resolution = {32, 16, 8, 4, 4};
      a.attention = attention_map(attn, 2, 7);
      break;
    case 32:
      a.in_channels = {3};
      for (auto c : times(ch, {4, 4, 4})) a.in_channels.push_back(c);
      a.out_channels = times(ch, {4, 4, 4, 4});
      a.resample = {true, true, false, false};
      a.resolution = {16, 16, 16, 16};
      a.attention = attention_map(attn, 2, 6);
      break;
    default:
      throw no_arch("BigGAN D", resolution);
  }
  return a;
}

ConvFactory make_conv_factory(bool sn, int64_t num_svs, int64_t num_itrs, double eps) {
  SNOptions opt{sn, num_svs, num_itrs, eps};
  return [opt](int64_t in, int64_t out, int64_t k, int64_t pad, bool bias) {
    return std::static_pointer_cast<WeightLayerImpl>(
        std::make_shared<SNConv2dImpl>(in, out, k, pad, bias, opt));
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

GeneratorImpl::GeneratorImpl(const Config& config, int64_t dim_z)
    : torch::nn::Module("Generator"), config_(config), dim_z_(dim_z) {}

torch::Tensor GeneratorImpl::shared(const torch::Tensor& y) {
  return shared_ ? shared_->forward(y) : y;
}

void GeneratorImpl::init_weights() { biggan::init_weights(*this, config_.G_init); }

DiscriminatorImpl::DiscriminatorImpl(const Config& config)
    : torch::nn::Module("Discriminator"), config_(config) {}

void DiscriminatorImpl::init_weights() { biggan::init_weights(*this, config_.D_init); }

// ---- BigGAN G ----

BigGANGeneratorImpl::BigGANGeneratorImpl(const Config& c)
    : GeneratorImpl(c, c.dim_z), arch(biggan_G_arch(c.G_ch, c.G_attn, c.resolution)) {
  bottom_width = c.bottom_width;
  const int64_t shared_dim = c.shared_dim > 0 ? c.shared_dim : c.dim_z;
  if (c.hier) {
    num_slots = static_cast<int64_t>(arch.in_channels.size()) + 1;
    z_chunk_size = c.dim_z / num_slots;
    dim_z_ = z_chunk_size * num_slots;
  } else {
    num_slots = 1;
    z_chunk_size = 0;
  }
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
    // Not shared: the gains and biases are plain embeddings of the class index.
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
  const int64_t bn_input = c.G_shared ? shared_dim + z_chunk_size : c.n_classes;
  CCBNFactory which_bn = [=](int64_t ch) { return CCBN(ch, bn_input, bn_linear, bn_opt); };

  // Creation order = the reference's: shared, linear, blocks (convs, then bns, then attention),
  // output layer; then init_weights.
  if (c.G_shared)
    shared_ = register_module("shared", std::make_shared<SNEmbeddingImpl>(c.n_classes, shared_dim,
                                                                          SNOptions{false}));
  linear = register_module(
      "linear", std::make_shared<SNLinearImpl>(dim_z_ / num_slots,
                                               arch.in_channels[0] * bottom_width * bottom_width,
                                               true, sn_opt));
  auto blocks = register_module("blocks", torch::nn::ModuleList());
  for (size_t i = 0; i < arch.out_channels.size(); ++i) {
    torch::nn::ModuleList stage;
    std::vector<GStageLayer> layers;
    auto block = std::make_shared<GBlockImpl>(arch.in_channels[i], arch.out_channels[i], which_conv,
                                              which_bn, arch.resample[i]);
    stage->push_back(block);
    layers.push_back({block, nullptr});
    if (arch.attention[arch.resolution[i]]) {
      Attention attn(arch.out_channels[i], which_conv);
      stage->push_back(attn);
      layers.push_back({nullptr, attn.ptr()});
    }
    blocks->push_back(stage);
    stages.push_back(std::move(layers));
  }
  auto output_layer = register_module("output_layer", std::make_shared<torch::nn::Module>());
  BNOptions out_bn_opt;  // layers.bn with its default eps 1e-5 (not BN_eps)
  out_bn_opt.cross_replica = c.cross_replica;
  out_bn_opt.mybn = c.mybn;
  output_bn = output_layer->register_module("0", BN(arch.out_channels.back(), out_bn_opt));
  output_conv = output_layer->register_module("2", which_conv(arch.out_channels.back(), 3, 3, 1, true));
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
    ys.assign(stages.size(), y);
  }
  if (ys.size() < stages.size())
    throw Error("G: z has " + std::to_string(z_in.size(1)) + " columns, expected " +
                std::to_string(dim_z_));
  auto h = linear->forward(z);
  h = h.view({h.size(0), -1, bottom_width, bottom_width});
  for (size_t i = 0; i < stages.size(); ++i)
    for (const auto& layer : stages[i]) h = layer(h, ys[i]);
  return torch::tanh(output_conv->forward(torch::relu(output_bn->forward(h))));
}

// ---- BigGAN D ----

BigGANDiscriminatorImpl::BigGANDiscriminatorImpl(const Config& c)
    : DiscriminatorImpl(c), arch(biggan_D_arch(c.D_ch, c.D_attn, c.resolution)) {
  const bool sn = c.D_param == "SN";
  const SNOptions sn_opt{sn, c.num_D_SVs, c.num_D_SV_itrs, c.SN_eps};
  ConvFactory which_conv = make_conv_factory(sn, c.num_D_SVs, c.num_D_SV_itrs, c.SN_eps);
  auto blocks = register_module("blocks", torch::nn::ModuleList());
  for (size_t i = 0; i < arch.out_channels.size(); ++i) {
    torch::nn::ModuleList stage;
    std::vector<DStageLayer> layers;
    auto block = std::make_shared<DBlockImpl>(arch.in_channels[i], arch.out_channels[i], which_conv,
                                              c.D_wide, /*preactivation=*/i > 0, arch.resample[i]);
    stage->push_back(block);
    layers.push_back({block, nullptr});
    if (arch.attention[arch.resolution[i]]) {
      Attention attn(arch.out_channels[i], which_conv);
      stage->push_back(attn);
      layers.push_back({nullptr, attn.ptr()});
    }
    blocks->push_back(stage);
    stages.push_back(std::move(layers));
  }
  linear = register_module(
      "linear", std::make_shared<SNLinearImpl>(arch.out_channels.back(), c.output_dim, true, sn_opt));
  embed = register_module(
      "embed", std::make_shared<SNEmbeddingImpl>(c.n_classes, arch.out_channels.back(), sn_opt));
  if (!c.skip_init) init_weights();
}

torch::Tensor BigGANDiscriminatorImpl::forward(const torch::Tensor& x, const torch::Tensor& y) {
  auto h = x;
  for (const auto& stage : stages)
    for (const auto& layer : stage) h = layer(h);
  h = torch::sum(torch::relu(h), {2, 3});
  auto out = linear->forward(h);
  return out + torch::sum(embed->forward(y) * h, 1, /*keepdim=*/true);
}

// ---- factories ----

Generator make_generator(const Config& c) {
  c.validate_model("config");
  std::shared_ptr<GeneratorImpl> g;
  if (c.model == "BigGAN")
    g = std::make_shared<BigGANGeneratorImpl>(c);
  else
    g = std::make_shared<BigGANDeepGeneratorImpl>(c);
  return Generator(g);
}

Discriminator make_discriminator(const Config& c) {
  c.validate_model("config");
  std::shared_ptr<DiscriminatorImpl> d;
  if (c.model == "BigGAN")
    d = std::make_shared<BigGANDiscriminatorImpl>(c);
  else
    d = std::make_shared<BigGANDeepDiscriminatorImpl>(c);
  return Discriminator(d);
}

}  // namespace biggan
