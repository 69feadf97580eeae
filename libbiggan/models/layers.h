// The reference's layers (BigGAN-PyTorch layers.py) with its parameter / buffer names, creation
// order (so that the random draws of construction match torch's) and numerics:
//  - SNConv2d / SNLinear / SNEmbedding: weights divided by the top singular value estimated by
//    power iteration with Gram–Schmidt over `num_svs` vectors (buffers u<i>, sv<i>); with
//    SNOptions::enabled false they are the plain nn.Conv2d / nn.Linear / nn.Embedding.
//  - Normalisation: ccbn (class-conditional), bn (plain, G's output layer), myBN (standing stats),
//    and a single-process SyncBN (cross_replica).
#pragma once
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

namespace biggan {

struct SNOptions {
  bool enabled = true;  // false: a plain layer (no u/sv buffers, no normalisation)
  int64_t num_svs = 1;
  int64_t num_itrs = 1;
  double eps = 1e-12;
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
  bool spectral_norm() const { return sn_.enabled; }
  const SNOptions& sn_options() const { return sn_; }
  // The weight used by forward: divided by the first singular value estimate when spectral-normed
  // (one power iteration, updating u<i> / sv<i> in training mode), else the raw weight.
  torch::Tensor effective_weight();
  // u<i> and sv<i> buffers (empty when plain).
  std::vector<torch::Tensor> u_buffers() const;
  std::vector<torch::Tensor> sv_buffers() const;

  torch::Tensor weight;
  torch::Tensor bias;  // undefined when the layer has none

 protected:
  // Registers u<i> = randn(1, num_outputs), sv<i> = ones(1), in the reference's order.
  void register_sn_buffers(int64_t num_outputs);

 private:
  Kind kind_;
  SNOptions sn_;
};

struct SNConv2dImpl : WeightLayerImpl {
  SNConv2dImpl(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t padding,
               bool bias, SNOptions sn);
  torch::Tensor forward(const torch::Tensor& x) override;
  int64_t padding;
};
TORCH_MODULE(SNConv2d);

struct SNLinearImpl : WeightLayerImpl {
  SNLinearImpl(int64_t in_features, int64_t out_features, bool bias, SNOptions sn);
  torch::Tensor forward(const torch::Tensor& x) override;
};
TORCH_MODULE(SNLinear);

// As the reference, num_outputs of the SN vectors is num_embeddings.
struct SNEmbeddingImpl : WeightLayerImpl {
  SNEmbeddingImpl(int64_t num_embeddings, int64_t embedding_dim, SNOptions sn);
  torch::Tensor forward(const torch::Tensor& x) override;
};
TORCH_MODULE(SNEmbedding);

// Factories with the reference's functools.partial defaults baked in.
using ConvFactory =
    std::function<std::shared_ptr<WeightLayerImpl>(int64_t in, int64_t out, int64_t kernel_size,
                                                   int64_t padding, bool bias)>;
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
struct SyncBNImpl : torch::nn::Module {
  SyncBNImpl(int64_t num_channels, double eps, double momentum);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& gain,
                        const torch::Tensor& bias);
  torch::Tensor running_mean, running_var, num_batches_tracked;
  double eps, momentum;
};
TORCH_MODULE(SyncBN);

struct BNOptions {
  double eps = 1e-5;
  double momentum = 0.1;
  bool cross_replica = false;
  bool mybn = false;
  std::string norm_style = "bn";  // ccbn only: bn, in, gn, nonorm
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
  BNOptions opt;
};
TORCH_MODULE(BN);

// Every myBN in a module tree (for standing statistics).
std::vector<std::shared_ptr<MyBNImpl>> mybn_layers(torch::nn::Module& root);

}  // namespace biggan
