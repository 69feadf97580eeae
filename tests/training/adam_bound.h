// How far two Adam runs can end apart, element by element, when their gradients differ by a
// measured amount: the principled tolerance of the train-step test.
//
// With beta1 = 0 (every reference config), step t of torch's Adam moves a parameter by
//   u_t = lr * g_t / (sqrt(v_t / (1 - beta2^t)) + eps),  v_t = beta2 v_{t-1} + (1 - beta2) g_t^2,
// so after one step u = lr * g / (|g| + eps): a gradient far above eps gives a step of ~lr whatever
// its exact value, but near eps (or below) the step follows g's rounding, up to lr * d / eps for a
// gradient difference d. Given the reference's gradients b_s and |ours - b_s| <= d_s, u_t rises with
// g_t and, for a fixed g_t, |u_t| falls as any earlier |g_s| rises (only through v_t), so its extremes
// over that box lie at g_t = b_t +- d_t with every earlier |g_s| at its smallest or at its largest:
// four evaluations per step give the exact supremum of |u_t(ours) - u_t(ref)|, and the parameters
// (from the same start) can differ by at most the sum over the steps.
#pragma once
#include <torch/torch.h>

#include <cmath>
#include <vector>

namespace biggan::test {

struct AdamSettings {
  double lr, beta2, eps;
};

// u_t for gradients g_1..g_t (elementwise, double).
inline torch::Tensor adam_update(const std::vector<torch::Tensor>& g, const AdamSettings& a) {
  auto v = torch::zeros_like(g.front());
  for (const auto& gs : g) v = a.beta2 * v + (1 - a.beta2) * gs * gs;
  const double correction = 1 - std::pow(a.beta2, static_cast<double>(g.size()));
  return a.lr * g.back() / ((v / correction).sqrt() + a.eps);
}

// Elementwise bound on |p_ours - p_ref| after len(ref) steps from the same start, given the
// reference's gradient per step and the measured |ours - ref| per step (double tensors).
inline torch::Tensor adam_parameter_bound(const std::vector<torch::Tensor>& ref, const std::vector<torch::Tensor>& diff,
                                          const AdamSettings& a) {
  auto total = torch::zeros_like(ref.front());
  for (size_t t = 0; t < ref.size(); ++t) {
    std::vector<torch::Tensor> lo, hi;  // earlier steps at their smallest / largest magnitude
    for (size_t s = 0; s < t; ++s) {
      lo.push_back(torch::clamp_min(ref[s].abs() - diff[s], 0.0));
      hi.push_back(ref[s].abs() + diff[s]);
    }
    std::vector<torch::Tensor> at_ref(ref.begin(), ref.begin() + static_cast<int64_t>(t) + 1);
    const auto u_ref = adam_update(at_ref, a);
    auto worst = torch::zeros_like(u_ref);
    for (const auto* earlier : {&lo, &hi}) {
      for (double sign : {-1.0, 1.0}) {
        auto g = *earlier;
        g.push_back(ref[t] + sign * diff[t]);
        worst = torch::maximum(worst, (adam_update(g, a) - u_ref).abs());
      }
    }
    total = total + worst;
  }
  return total;
}

}  // namespace biggan::test
