// Loss scaling for fp16 mixed precision, with torch.cuda.amp.GradScaler's semantics: the loss is
// multiplied by `scale` before backward (so small fp16 gradients do not flush to zero); before the
// optimiser step the gradients are divided by it and checked; a step whose gradients hold an inf or
// a NaN is skipped and the scale halved, and after `growth_interval` clean steps in a row it doubles.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace biggan {

struct GradScalerOptions {
  double init_scale = 65536.0;  // 2^16, GradScaler's default
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
};

// A skipped optimiser step, as logged (amp.jsonl).
struct SkippedStep {
  int64_t itr = 0;
  std::string network;  // "G" or "D"
  double scale_before = 0, scale_after = 0;
};

class GradScaler {
 public:
  // `network` names the optimiser in skip records; `on_skip` (may be empty) hears every skip.
  GradScaler(std::string network, GradScalerOptions options = {},
             std::function<void(const SkippedStep&)> on_skip = {});

  // loss * scale (a new tensor; backward it instead of the loss).
  torch::Tensor scale(const torch::Tensor& loss) const;
  // Divides every defined gradient of `params` by the scale; returns whether all are finite.
  bool unscale(const std::vector<torch::Tensor>& params) const;
  // After the step (taken when `finite`, skipped otherwise): backs off or grows the scale, and
  // reports a skip at iteration `itr`.
  void update(bool finite, int64_t itr);

  double current_scale() const { return scale_; }

 private:
  std::string network_;
  GradScalerOptions options_;
  std::function<void(const SkippedStep&)> on_skip_;
  double scale_;
  int64_t clean_steps_ = 0;
};

}  // namespace biggan
