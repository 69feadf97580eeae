#include "libbiggan/training/ema.h"

#include "libbiggan/util/error.h"

namespace biggan {

Ema::Ema(torch::nn::Module& source, torch::nn::Module& target, double decay, int64_t start_itr,
         bool copy_now)
    : decay_(decay), start_itr_(start_itr) {
  auto add = [&](const torch::OrderedDict<std::string, torch::Tensor>& src,
                 const torch::OrderedDict<std::string, torch::Tensor>& dst) {
    for (const auto& kv : src) {
      const torch::Tensor* t = dst.find(kv.key());
      if (!t) throw Error("EMA: the target model has no '" + kv.key() + "'");
      pairs_.emplace_back(kv.value(), *t);
    }
  };
  add(source.named_parameters(true), target.named_parameters(true));
  add(source.named_buffers(true), target.named_buffers(true));
  if (copy_now) {
    torch::NoGradGuard no_grad;
    for (auto& [s, t] : pairs_) t.copy_(s);
  }
}

void Ema::update(int64_t itr) {
  const double decay = (itr != 0 && itr < start_itr_) ? 0.0 : decay_;
  torch::NoGradGuard no_grad;
  for (auto& [s, t] : pairs_) t.copy_(t * decay + s * (1 - decay));
}

}  // namespace biggan
