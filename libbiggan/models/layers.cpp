#include "libbiggan/models/layers.h"

#include <algorithm>
#include <cmath>

#include "libbiggan/models/autocast.h"
#include "libbiggan/util/error.h"

namespace biggan {
namespace F = torch::nn::functional;

namespace {

// proj(x, y) = (y x^T) * y / (y y^T), in the reference's operation order (bitwise parity).
torch::Tensor gram_schmidt(torch::Tensor x, const std::vector<torch::Tensor>& ys) {
  for (const auto& y : ys) x = x - torch::mm(y, x.t()) * y / torch::mm(y, y.t());
  return x;
}

// torch.nn.init.kaiming_uniform_(w, a=sqrt(5)) as nn.Conv2d / nn.Linear reset_parameters do.
int64_t fan_in_of(const torch::Tensor& w) {
  int64_t receptive = 1;
  for (int64_t d = 2; d < w.dim(); ++d) receptive *= w.size(d);
  return w.size(1) * receptive;
}

void default_weight_init(torch::Tensor& w) {
  torch::NoGradGuard ng;
  const double a = std::sqrt(5.0);
  const double gain = std::sqrt(2.0 / (1 + std::pow(a, 2)));
  const double stdv = gain / std::sqrt(static_cast<double>(fan_in_of(w)));
  const double bound = std::sqrt(3.0) * stdv;
  w.uniform_(-bound, bound);
}

void default_bias_init(torch::Tensor& b, const torch::Tensor& w) {
  torch::NoGradGuard ng;
  const int64_t fan_in = fan_in_of(w);
  const double bound = fan_in > 0 ? 1 / std::sqrt(static_cast<double>(fan_in)) : 0;
  b.uniform_(-bound, bound);
}

}  // namespace

std::vector<torch::Tensor> power_iteration(const torch::Tensor& W, std::vector<torch::Tensor>& us_in,
                                           bool update, double eps) {
  std::vector<torch::Tensor> us, vs, svs;
  const auto norm_opts = F::NormalizeFuncOptions().p(2).dim(1).eps(eps);
  for (size_t i = 0; i < us_in.size(); ++i) {
    torch::Tensor u, v;
    {
      torch::NoGradGuard ng;
      v = torch::matmul(us_in[i], W);
      v = F::normalize(gram_schmidt(v, vs), norm_opts);
      vs.push_back(v);
      u = torch::matmul(v, W.t());
      u = F::normalize(gram_schmidt(u, us), norm_opts);
      us.push_back(u);
      if (update) us_in[i].copy_(u);
    }
    svs.push_back(torch::squeeze(torch::matmul(torch::matmul(v, W.t()), u.t())));
  }
  return svs;
}

WeightLayerImpl::WeightLayerImpl(Kind kind, SNOptions sn, const char* type_name)
    : torch::nn::Module(type_name), kind_(kind), sn_(sn) {}

void WeightLayerImpl::register_sn_buffers(int64_t num_outputs) {
  if (!sn_.enabled()) return;
  for (int64_t i = 0; i < sn_.num_svs(); ++i) {
    register_buffer("u" + std::to_string(i), torch::randn({1, num_outputs}));
    register_buffer("sv" + std::to_string(i), torch::ones({1}));
  }
}

std::vector<torch::Tensor> WeightLayerImpl::u_buffers() const {
  std::vector<torch::Tensor> out;
  if (!sn_.enabled()) return out;
  auto b = named_buffers(false);
  for (int64_t i = 0; i < sn_.num_svs(); ++i) out.push_back(b["u" + std::to_string(i)]);
  return out;
}

std::vector<torch::Tensor> WeightLayerImpl::sv_buffers() const {
  std::vector<torch::Tensor> out;
  if (!sn_.enabled()) return out;
  auto b = named_buffers(false);
  for (int64_t i = 0; i < sn_.num_svs(); ++i) out.push_back(b["sv" + std::to_string(i)]);
  return out;
}

torch::Tensor WeightLayerImpl::effective_weight() {
  if (!sn_.enabled()) return weight;
  if (frozen_weight_.defined() && !is_training() && !torch::GradMode::is_enabled()) return frozen_weight_;
  // Under autocast (--amp) the power iteration stays float32: its many small products would lose
  // the singular value to bf16 rounding, and u / sv stay what a float32 run computes.
  Fp32Scope fp32;
  auto W_mat = weight.view({weight.size(0), -1});
  auto us = u_buffers();
  std::vector<torch::Tensor> svs;
  for (int64_t itr = 0; itr < sn_.num_itrs(); ++itr)
    svs = power_iteration(W_mat, us, is_training(), sn_.eps());
  if (is_training()) {
    torch::NoGradGuard ng;
    auto sv_bufs = sv_buffers();
    for (size_t i = 0; i < svs.size(); ++i) sv_bufs[i].copy_(svs[i]);
  }
  return weight / svs[0];
}

bool WeightLayerImpl::freeze_effective_weight() {
  if (!sn_.enabled() || is_training()) return false;
  torch::NoGradGuard ng;
  frozen_weight_ = torch::Tensor();
  frozen_weight_ = effective_weight();
  return true;
}

FrozenSpectralNorm::FrozenSpectralNorm(torch::nn::Module& module) {
  for (auto& m : module.modules(/*include_self=*/true)) {
    auto layer = std::dynamic_pointer_cast<WeightLayerImpl>(m);
    if (layer && !layer->frozen() && layer->freeze_effective_weight()) frozen_.push_back(layer);
  }
}

FrozenSpectralNorm::~FrozenSpectralNorm() {
  for (auto& layer : frozen_) layer->thaw_effective_weight();
}

SNConv2dImpl::SNConv2dImpl(const SNConv2dOptions& o)
    : WeightLayerImpl(Kind::Conv2d, o.sn(), o.sn().enabled() ? "SNConv2d" : "Conv2d"), padding(o.padding()) {
  const int64_t k = o.kernel_size();
  weight = register_parameter("weight", torch::empty({o.out_channels(), o.in_channels(), k, k}));
  if (o.bias()) bias = register_parameter("bias", torch::empty({o.out_channels()}));
  default_weight_init(weight);
  if (o.bias()) default_bias_init(bias, weight);
  register_sn_buffers(o.out_channels());
}

torch::Tensor SNConv2dImpl::forward(const torch::Tensor& x) {
  return torch::conv2d(x, effective_weight(), bias, /*stride=*/1, padding);
}

SNLinearImpl::SNLinearImpl(const SNLinearOptions& o)
    : WeightLayerImpl(Kind::Linear, o.sn(), o.sn().enabled() ? "SNLinear" : "Linear") {
  weight = register_parameter("weight", torch::empty({o.out_features(), o.in_features()}));
  if (o.bias()) bias = register_parameter("bias", torch::empty({o.out_features()}));
  default_weight_init(weight);
  if (o.bias()) default_bias_init(bias, weight);
  register_sn_buffers(o.out_features());
}

torch::Tensor SNLinearImpl::forward(const torch::Tensor& x) {
  return torch::linear(x, effective_weight(), bias);
}

SNEmbeddingImpl::SNEmbeddingImpl(const SNEmbeddingOptions& o)
    : WeightLayerImpl(Kind::Embedding, o.sn(), o.sn().enabled() ? "SNEmbedding" : "Embedding") {
  weight = register_parameter("weight", torch::empty({o.num_embeddings(), o.embedding_dim()}));
  {
    torch::NoGradGuard ng;
    weight.normal_();  // nn.Embedding.reset_parameters
  }
  register_sn_buffers(o.num_embeddings());
}

torch::Tensor SNEmbeddingImpl::forward(const torch::Tensor& x) {
  return torch::embedding(effective_weight(), x);
}

torch::Tensor fused_bn(const torch::Tensor& x, const torch::Tensor& mean, const torch::Tensor& var,
                       const torch::Tensor& gain, const torch::Tensor& bias, double eps) {
  auto scale = torch::rsqrt(var + eps);
  if (gain.defined()) scale = scale * gain;
  auto shift = mean * scale;
  if (bias.defined()) shift = shift - bias;
  return x * scale - shift;
}

MyBNImpl::MyBNImpl(int64_t num_channels, double eps_, double momentum_)
    : torch::nn::Module("myBN"), eps(eps_), momentum(momentum_) {
  stored_mean = register_buffer("stored_mean", torch::zeros({num_channels}));
  stored_var = register_buffer("stored_var", torch::ones({num_channels}));
  accumulation_counter = register_buffer("accumulation_counter", torch::zeros({1}));
}

void MyBNImpl::reset_stats() {
  torch::NoGradGuard ng;
  stored_mean.zero_();
  stored_var.zero_();
  accumulation_counter.zero_();
}

torch::Tensor MyBNImpl::forward(const torch::Tensor& x, const torch::Tensor& gain,
                                const torch::Tensor& bias) {
  if (is_training()) {
    // manual_bn: statistics in float32, variance as E[x^2] - E[x]^2.
    auto float_x = x.to(torch::kFloat);
    auto m = torch::mean(float_x, {0, 2, 3}, /*keepdim=*/true);
    auto m2 = torch::mean(float_x.pow(2), {0, 2, 3}, /*keepdim=*/true);
    auto var = (m2 - m.pow(2)).to(x.scalar_type());
    m = m.to(x.scalar_type());
    auto out = fused_bn(x, m, var, gain, bias, eps);
    torch::NoGradGuard ng;
    auto mean_d = m.squeeze().detach(), var_d = var.squeeze().detach();
    if (accumulate_standing) {
      stored_mean.copy_(stored_mean + mean_d);
      stored_var.copy_(stored_var + var_d);
      accumulation_counter.add_(1.0);
    } else {
      stored_mean.copy_(stored_mean * (1 - momentum) + mean_d * momentum);
      stored_var.copy_(stored_var * (1 - momentum) + var_d * momentum);
    }
    return out;
  }
  auto mean = stored_mean.view({1, -1, 1, 1});
  auto var = stored_var.view({1, -1, 1, 1});
  if (accumulate_standing) {
    mean = mean / accumulation_counter;
    var = var / accumulation_counter;
  }
  return fused_bn(x, mean, var, gain, bias, eps);
}

SyncBNImpl::SyncBNImpl(int64_t num_channels, double eps_, double momentum_)
    : torch::nn::Module("SynchronizedBatchNorm2d"), eps(eps_), momentum(momentum_) {
  running_mean = register_buffer("running_mean", torch::zeros({num_channels}));
  running_var = register_buffer("running_var", torch::ones({num_channels}));
  num_batches_tracked = register_buffer("num_batches_tracked", torch::zeros({}, torch::kLong));
}

torch::Tensor joined_batch_norm(const torch::Tensor& x, torch::Tensor& running_mean, torch::Tensor& running_var,
                                double momentum, double eps,
                                const std::function<torch::Tensor(const torch::Tensor&)>& sum_over_ranks) {
  const int64_t channels = x.size(1);
  // [sum x, sum x^2, count] per rank in one tensor, so one all-reduce serves the layer.
  auto sums = torch::cat({x.sum({0, 2, 3}, false, torch::kDouble), (x * x).sum({0, 2, 3}, false, torch::kDouble),
                          torch::full({1}, static_cast<double>(x.numel() / channels), x.options().dtype(torch::kDouble))});
  auto joined = sum_over_ranks(sums);
  auto count = joined.slice(0, 2 * channels).detach();
  auto mean = joined.slice(0, 0, channels) / count;
  auto var = joined.slice(0, channels, 2 * channels) / count - mean * mean;
  {
    torch::NoGradGuard no_grad;
    const double n = count.item<double>();
    running_mean.copy_(running_mean * (1 - momentum) + mean.to(running_mean.scalar_type()) * momentum);
    running_var.copy_(running_var * (1 - momentum) + (var * (n / std::max(n - 1, 1.0))).to(running_var.scalar_type()) * momentum);
  }
  auto scale = torch::rsqrt(var + eps).to(x.scalar_type()).view({1, -1, 1, 1});
  return (x - mean.to(x.scalar_type()).view({1, -1, 1, 1})) * scale;
}

torch::Tensor SyncBNImpl::forward(const torch::Tensor& x, const torch::Tensor& gain,
                                  const torch::Tensor& bias) {
  auto out = is_training() && cross_replica_sum
                 ? joined_batch_norm(x, running_mean, running_var, momentum, eps, cross_replica_sum)
                 : torch::batch_norm(x, {}, {}, running_mean, running_var, is_training(), momentum, eps,
                                     /*cudnn_enabled=*/true);
  if (gain.defined()) out = out + gain;
  if (bias.defined()) out = out + bias;
  return out;
}

namespace {
// The per-truncation statistics (BNOptions::truncation_levels rows), after stored_mean / stored_var.
void register_truncation_tables(torch::nn::Module& m, int64_t channels, const BNOptions& opt,
                                torch::Tensor& means, torch::Tensor& vars) {
  if (opt.truncation_levels() <= 0) return;
  means = m.register_buffer("truncation_means", torch::zeros({opt.truncation_levels(), channels}));
  vars = m.register_buffer("truncation_vars", torch::ones({opt.truncation_levels(), channels}));
}
}  // namespace

CCBNImpl::CCBNImpl(int64_t output_size, int64_t input_size, const LinearFactory& which_linear,
                   BNOptions opt_)
    : torch::nn::Module("ccbn"), opt(std::move(opt_)) {
  gain = register_module("gain", which_linear(input_size, output_size));
  bias = register_module("bias", which_linear(input_size, output_size));
  if (opt.cross_replica()) {
    sync_bn = register_module("bn", SyncBN(output_size, opt.eps(), opt.momentum()));
  } else if (opt.mybn()) {
    mybn = register_module("bn", MyBN(output_size, opt.eps(), opt.momentum()));
  } else if (opt.norm_style() == "bn" || opt.norm_style() == "in") {
    stored_mean = register_buffer("stored_mean", torch::zeros({output_size}));
    stored_var = register_buffer("stored_var", torch::ones({output_size}));
    register_truncation_tables(*this, output_size, opt, truncation_means, truncation_vars);
  } else if (opt.norm_style() != "gn" && opt.norm_style() != "nonorm") {
    throw Error("ccbn: unknown norm_style '" + opt.norm_style() + "'");
  }
}

torch::Tensor CCBNImpl::forward(const torch::Tensor& x, const torch::Tensor& y) {
  auto g = (1 + gain->forward(y)).view({y.size(0), -1, 1, 1});
  auto b = bias->forward(y).view({y.size(0), -1, 1, 1});
  if (opt.mybn() || opt.cross_replica())
    return opt.cross_replica() ? sync_bn->forward(x, g, b) : mybn->forward(x, g, b);
  torch::Tensor out;
  if (opt.norm_style() == "bn") {
    out = torch::batch_norm(x, {}, {}, stored_mean, stored_var, is_training(), opt.momentum(), opt.eps(), true);
  } else if (opt.norm_style() == "in") {
    out = torch::instance_norm(x, {}, {}, stored_mean, stored_var, is_training(), opt.momentum(), opt.eps(),
                               true);
  } else if (opt.norm_style() == "gn") {
    // The reference's branch names a missing attribute; this is what its groupnorm() intends
    // for the style 'gn' (16 groups).
    out = torch::group_norm(x, 16);
  } else {
    out = x;
  }
  return out * g + b;
}

BNImpl::BNImpl(int64_t output_size, BNOptions opt_) : torch::nn::Module("bn"), opt(std::move(opt_)) {
  gain = register_parameter("gain", torch::ones({output_size}));
  bias = register_parameter("bias", torch::zeros({output_size}));
  if (opt.cross_replica()) {
    sync_bn = register_module("bn", SyncBN(output_size, opt.eps(), opt.momentum()));
  } else if (opt.mybn()) {
    mybn = register_module("bn", MyBN(output_size, opt.eps(), opt.momentum()));
  } else {
    stored_mean = register_buffer("stored_mean", torch::zeros({output_size}));
    stored_var = register_buffer("stored_var", torch::ones({output_size}));
    register_truncation_tables(*this, output_size, opt, truncation_means, truncation_vars);
  }
}

torch::Tensor BNImpl::forward(const torch::Tensor& x) {
  if (opt.cross_replica() || opt.mybn()) {
    auto g = gain.view({1, -1, 1, 1}), b = bias.view({1, -1, 1, 1});
    return opt.cross_replica() ? sync_bn->forward(x, g, b) : mybn->forward(x, g, b);
  }
  return torch::batch_norm(x, gain, bias, stored_mean, stored_var, is_training(), opt.momentum(),
                           opt.eps(), true);
}

std::vector<std::shared_ptr<MyBNImpl>> mybn_layers(torch::nn::Module& root) {
  std::vector<std::shared_ptr<MyBNImpl>> out;
  for (auto& m : root.modules(/*include_self=*/true))
    if (auto p = std::dynamic_pointer_cast<MyBNImpl>(m)) out.push_back(p);
  return out;
}

}  // namespace biggan
