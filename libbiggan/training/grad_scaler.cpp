#include "libbiggan/training/grad_scaler.h"

#include <cmath>

#include "libbiggan/util/error.h"

namespace biggan {

GradScaler::GradScaler(std::string network, GradScalerOptions options, std::function<void(const SkippedStep&)> on_skip)
    : network_(std::move(network)), options_(options), on_skip_(std::move(on_skip)), scale_(options.init_scale) {
  if (!(options_.init_scale > 0) || !std::isfinite(options_.init_scale) || !(options_.growth_factor > 1) ||
      !(options_.backoff_factor > 0 && options_.backoff_factor < 1) || options_.growth_interval < 1)
    throw Error("loss scaler: the scale must be positive and finite, growth > 1, backoff in (0, 1), interval >= 1");
}

torch::Tensor GradScaler::scale(const torch::Tensor& loss) const { return loss * scale_; }

bool GradScaler::unscale(const std::vector<torch::Tensor>& params) const {
  torch::NoGradGuard no_grad;
  // One reduction per gradient and one check for all: an inf or NaN anywhere makes its sum non-finite
  // (summed in double, so finite float gradients never overflow into a false skip).
  std::vector<torch::Tensor> sums;
  const double inverse = 1.0 / scale_;
  for (const auto& p : params) {
    auto g = p.grad();
    if (!g.defined()) continue;
    g.mul_(inverse);
    sums.push_back(g.sum(torch::kDouble));
  }
  if (sums.empty()) return true;
  return torch::stack(sums).isfinite().all().item<bool>();
}

void GradScaler::update(bool finite, int64_t itr) {
  if (finite) {
    if (++clean_steps_ >= options_.growth_interval) {
      scale_ *= options_.growth_factor;
      clean_steps_ = 0;
    }
    return;
  }
  const double before = scale_;
  scale_ *= options_.backoff_factor;
  clean_steps_ = 0;
  if (on_skip_) on_skip_(SkippedStep{itr, network_, before, scale_});
}

}  // namespace biggan
