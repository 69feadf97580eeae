// The reference's layers (BigGAN-PyTorch layers.py) with its parameter / buffer names, creation
// order (so that the random draws of construction match torch's) and numerics:
//  - SNConv2d / SNLinear / SNEmbedding: weights divided by the top singular value estimated by
//    power iteration with Gram–Schmidt over `num_svs` vectors (buffers u<i>, sv<i>); with
//    SNOptions::enabled false they are the plain nn.Conv2d / nn.Linear / nn.Embedding.
//  - Normalisation: ccbn (class-conditional), bn (plain, G's output layer), myBN (standing stats),
//    and a single-process SyncBN (cross_replica).
#pragma once
#include <torch/arg.h>
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace biggan {

// Options builders in LibTorch's style (torch::nn::Conv2dOptions): required sizes in the
// constructor, the rest named and chainable, e.g. SNConv2dOptions(in, out, 3).padding(1).sn(sn).
struct SNOptions {
  TORCH_ARG(bool, enabled) = true;  // false: a plain layer (no u/sv buffers, no normalisation)
  TORCH_ARG(int64_t, num_svs) = 1;
  TORCH_ARG(int64_t, num_itrs) = 1;
  TORCH_ARG(double, eps) = 1e-12;
};
// nn.Conv2d / nn.Linear / nn.Embedding without spectral norm.
inline SNOptions no_spectral_norm() { return SNOptions().enabled(false); }

struct SNConv2dOptions {
  SNConv2dOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, kernel_size);
  TORCH_ARG(int64_t, padding) = 0;
  TORCH_ARG(bool, bias) = true;
  TORCH_ARG(SNOptions, sn);
};

struct SNLinearOptions {
  SNLinearOptions(int64_t in_features, int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, out_features);
  TORCH_ARG(bool, bias) = true;
  TORCH_ARG(SNOptions, sn);
};

struct SNEmbeddingOptions {
  SNEmbeddingOptions(int64_t num_embeddings, int64_t embedding_dim)
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}
  TORCH_ARG(int64_t, num_embeddings);
  TORCH_ARG(int64_t, embedding_dim);
  TORCH_ARG(SNOptions, sn);
};

// The power iteration of the reference (layers.power_iteration): for each u in `us`, one step
// with Gram–Schmidt against the vectors found so far. `update` writes the new u back in place.
// Returns the singular value estimates (0-dim, differentiable w.r.t. W).
std::vector<torch::Tensor> power_iteration(const torch::Tensor& W, std::vector<torch::Tensor>& us,
                                           bool update, double eps);

// Base of the three weight layers: what init_weights, ortho regularisation and SV logging need.
struct WeightLayerImpl : torch::nn::Module {
  enum class Kind { Conv2d, Linear, Embedding };
  WeightLayerImpl(Kind kind, SNOptions sn, const char* type_name);
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;

  Kind kind() const { return kind_; }
  bool spectral_norm() const { return sn_.enabled(); }
  const SNOptions& sn_options() const { return sn_; }
  // The weight used by forward: divided by the first singular value estimate when spectral-normed
  // (one power iteration, updating u<i> / sv<i> in training mode), else the raw weight.
  torch::Tensor effective_weight();
  // u<i> and sv<i> buffers (empty when plain).
  std::vector<torch::Tensor> u_buffers() const;
  std::vector<torch::Tensor> sv_buffers() const;
  // See FrozenSpectralNorm. freeze: computes the eval-mode effective weight now (no-op when plain
  // or in training mode; returns whether it froze); thaw: forgets it.
  bool freeze_effective_weight();
  void thaw_effective_weight() { frozen_weight_ = torch::Tensor(); }
  bool frozen() const { return frozen_weight_.defined(); }

  torch::Tensor weight;
  torch::Tensor bias;  // undefined when the layer has none

 protected:
  // Registers u<i> = randn(1, num_outputs), sv<i> = ones(1), in the reference's order.
  void register_sn_buffers(int64_t num_outputs);

 private:
  Kind kind_;
  SNOptions sn_;
  torch::Tensor frozen_weight_;  // W / sigma while frozen; undefined otherwise
};

// For a run of forwards with fixed weights (sampling): while it lives, every spectral-normed layer of
// `module` that is in eval mode computes its W / sigma once, and forwards in eval mode without
// autograd reuse it instead of repeating the power iteration (about ten small ops a layer: a batch
// of the c32s G's sampling takes 9-25 % less time, of c32's about 5 %; README, "Benchmarks"). Eval
// mode's power iteration does not update u and the weights do not change during sampling, so the
// result is the same to the bit. Forwards in training mode or with autograd on compute as always;
// neither the weights nor u may change while it lives: standing statistics (training-mode forwards,
// which move u) run before the freeze, as sample_plan and the trainer do.
class FrozenSpectralNorm {
 public:
  explicit FrozenSpectralNorm(torch::nn::Module& module);
  ~FrozenSpectralNorm();
  FrozenSpectralNorm(const FrozenSpectralNorm&) = delete;
  FrozenSpectralNorm& operator=(const FrozenSpectralNorm&) = delete;

 private:
  std::vector<std::shared_ptr<WeightLayerImpl>> frozen_;  // the layers this scope froze
};

struct SNConv2dImpl : WeightLayerImpl {
  explicit SNConv2dImpl(const SNConv2dOptions& options);
  torch::Tensor forward(const torch::Tensor& x) override;
  int64_t padding;
};
TORCH_MODULE(SNConv2d);

struct SNLinearImpl : WeightLayerImpl {
  explicit SNLinearImpl(const SNLinearOptions& options);
  torch::Tensor forward(const torch::Tensor& x) override;
};
TORCH_MODULE(SNLinear);

// As the reference, num_outputs of the SN vectors is num_embeddings.
struct SNEmbeddingImpl : WeightLayerImpl {
  explicit SNEmbeddingImpl(const SNEmbeddingOptions& options);
  torch::Tensor forward(const torch::Tensor& x) override;
};
TORCH_MODULE(SNEmbedding);

// The reference's which_conv (functools.partial of SNConv2d with G's or D's SN settings): the
// layer the options describe, with the model's spectral-norm options filled in.
using ConvFactory = std::function<std::shared_ptr<WeightLayerImpl>(SNConv2dOptions options)>;
// (in, out) -> the layer that maps the conditioning vector to a per-channel gain or bias.
using LinearFactory = std::function<std::shared_ptr<WeightLayerImpl>(int64_t in, int64_t out)>;

// Fused BN as the reference computes it: x * (rsqrt(var + eps) * gain) - (mean * scale - bias).
torch::Tensor fused_bn(const torch::Tensor& x, const torch::Tensor& mean, const torch::Tensor& var,
                       const torch::Tensor& gain, const torch::Tensor& bias, double eps);

// myBN: batch statistics by mean-of-squares minus squared mean; running averages or, with
// accumulate_standing, sums of batch statistics ("standing statistics").
struct MyBNImpl : torch::nn::Module {
  MyBNImpl(int64_t num_channels, double eps, double momentum);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& gain,
                        const torch::Tensor& bias);
  void reset_stats();
  torch::Tensor stored_mean, stored_var, accumulation_counter;
  bool accumulate_standing = false;
  double eps, momentum;
};
TORCH_MODULE(MyBN);

// SynchronizedBatchNorm2d(affine=False) as it behaves on one device: F.batch_norm with running
// statistics, then gain and bias ADDED (the reference's sync_batchnorm does exactly that).
// Across processes (training/cross_replica_bn.h sets cross_replica_sum while a training step
// runs): the batch statistics are those of the batch joined over all ranks.
struct SyncBNImpl : torch::nn::Module {
  SyncBNImpl(int64_t num_channels, double eps, double momentum);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& gain,
                        const torch::Tensor& bias);
  torch::Tensor running_mean, running_var, num_batches_tracked;
  double eps, momentum;
  // Sums a tensor over all ranks, gradient included (null: this process's batch alone).
  std::function<torch::Tensor(const torch::Tensor&)> cross_replica_sum;
};

// Training-mode batch norm (no affine) with statistics over the batch joined across ranks:
// per-channel sums and sums of squares (accumulated in float64) and the count, summed over ranks by
// `sum_over_ranks`; the running statistics move as torch's batch_norm moves them (unbiased var).
torch::Tensor joined_batch_norm(const torch::Tensor& x, torch::Tensor& running_mean, torch::Tensor& running_var,
                                double momentum, double eps,
                                const std::function<torch::Tensor(const torch::Tensor&)>& sum_over_ranks);
TORCH_MODULE(SyncBN);

struct BNOptions {
  TORCH_ARG(double, eps) = 1e-5;
  TORCH_ARG(double, momentum) = 0.1;
  TORCH_ARG(bool, cross_replica) = false;
  TORCH_ARG(bool, mybn) = false;
  TORCH_ARG(std::string, norm_style) = "bn";  // ccbn only: bn, in, gn, nonorm
  // > 0: also keep statistics per truncation level (TF-Hub's BigGAN-deep modules: 51, for
  // truncation 0, 0.02, ..., 1), copied into stored_mean / stored_var by
  // select_truncation_statistics (truncation_stats.h). Needs the stored_mean branch (bn, no myBN,
  // no cross_replica).
  TORCH_ARG(int64_t, truncation_levels) = 0;
};

// Class-conditional BN: gain = 1 + gain_layer(y), bias = bias_layer(y).
struct CCBNImpl : torch::nn::Module {
  CCBNImpl(int64_t output_size, int64_t input_size, const LinearFactory& which_linear,
           BNOptions opt);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& y);
  std::shared_ptr<WeightLayerImpl> gain, bias;
  MyBN mybn{nullptr};
  SyncBN sync_bn{nullptr};
  torch::Tensor stored_mean, stored_var;  // norm_style bn / in without mybn / cross_replica
  torch::Tensor truncation_means, truncation_vars;  // [truncation_levels, C] when asked for
  BNOptions opt;
};
TORCH_MODULE(CCBN);

// Plain BN with learned gain / bias (G's output layer).
struct BNImpl : torch::nn::Module {
  BNImpl(int64_t output_size, BNOptions opt);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor gain, bias;
  MyBN mybn{nullptr};
  SyncBN sync_bn{nullptr};
  torch::Tensor stored_mean, stored_var;
  torch::Tensor truncation_means, truncation_vars;  // [truncation_levels, C] when asked for
  BNOptions opt;
};
TORCH_MODULE(BN);

// Every myBN in a module tree (for standing statistics).
std::vector<std::shared_ptr<MyBNImpl>> mybn_layers(torch::nn::Module& root);

}  // namespace biggan
