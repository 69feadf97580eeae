#include "libbiggan/training/cross_replica_bn.h"

#include <torch/csrc/autograd/custom_function.h>

#include <string>

namespace biggan {
namespace {

struct AllReduceSum : torch::autograd::Function<AllReduceSum> {
  // The group travels as an address in saved_data (an IValue holds no C++ pointer): it outlives
  // the graph, which the training step frees before it ends.
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& t, Distributed* dist) {
    ctx->saved_data["dist"] = static_cast<int64_t>(reinterpret_cast<intptr_t>(dist));
    auto out = t.clone();
    dist->all_reduce_sum({out}, "batch-norm statistics (--cross_replica)");
    return out;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto* dist = reinterpret_cast<Distributed*>(static_cast<intptr_t>(ctx->saved_data["dist"].toInt()));
    auto g = grads[0].contiguous().clone();
    dist->all_reduce_sum({g}, "batch-norm statistics' gradients (--cross_replica)");
    return {g, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor all_reduce_sum_with_grad(Distributed& dist, const torch::Tensor& t) {
  return AllReduceSum::apply(t, &dist);
}

CrossReplicaBatchNorm::CrossReplicaBatchNorm(torch::nn::Module& root, Distributed& dist) {
  for (auto& m : root.modules(/*include_self=*/true))
    if (auto bn = std::dynamic_pointer_cast<SyncBNImpl>(m)) layers_.push_back(bn);
  Distributed* d = &dist;
  for (auto& bn : layers_) bn->cross_replica_sum = [d](const torch::Tensor& t) { return all_reduce_sum_with_grad(*d, t); };
}

CrossReplicaBatchNorm::~CrossReplicaBatchNorm() {
  for (auto& bn : layers_) bn->cross_replica_sum = nullptr;
}

}  // namespace biggan
