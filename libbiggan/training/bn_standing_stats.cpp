#include "libbiggan/training/bn_standing_stats.h"

#include <vector>

#include "libbiggan/models/layers.h"
#include "libbiggan/util/error.h"

namespace biggan {
namespace {

// A plain BN (conditional or not) whose statistics torch's batch_norm keeps: its momentum and buffers.
struct PlainBN {
  torch::nn::Module* module;
  BNOptions* opt;
  torch::Tensor mean, var;
};

std::vector<PlainBN> plain_bns(GeneratorImpl& G) {
  std::vector<PlainBN> out;
  for (auto& m : G.modules(/*include_self=*/false)) {
    if (auto c = std::dynamic_pointer_cast<CCBNImpl>(m)) {
      if (c->stored_mean.defined() && !c->truncation_means.defined() && c->opt.norm_style() == "bn")
        out.push_back({c.get(), &c->opt, c->stored_mean, c->stored_var});
    } else if (auto b = std::dynamic_pointer_cast<BNImpl>(m)) {
      if (b->stored_mean.defined() && !b->truncation_means.defined())
        out.push_back({b.get(), &b->opt, b->stored_mean, b->stored_var});
    }
  }
  return out;
}

}  // namespace

int64_t average_bn_statistics(GeneratorImpl& G, LatentSampler& sampler, int64_t num_batches) {
  if (num_batches < 1) throw Error("standing statistics need at least one batch");
  torch::NoGradGuard no_grad;
  auto bns = plain_bns(G);
  std::vector<double> momenta;
  for (auto& bn : bns) momenta.push_back(bn.opt->momentum());
  G.eval();
  for (auto& bn : bns) {
    bn.module->train(true);  // recursive: its gain / bias layers (SN) go back to eval mode
    for (auto& child : bn.module->children()) child->train(false);
  }
  try {
    torch::Tensor z, y;
    for (int64_t k = 1; k <= num_batches; ++k) {
      // momentum 1/k: after batch k the stored statistics are the mean of the k batches' statistics.
      for (auto& bn : bns) bn.opt->momentum(1.0 / static_cast<double>(k));
      sampler.next(z, y);
      G.forward(z, G.shared(y));
    }
  } catch (...) {
    for (size_t i = 0; i < bns.size(); ++i) bns[i].opt->momentum(momenta[i]);
    G.eval();
    throw;
  }
  for (size_t i = 0; i < bns.size(); ++i) bns[i].opt->momentum(momenta[i]);
  G.eval();
  return static_cast<int64_t>(bns.size());
}

}  // namespace biggan
