// Scoped automatic mixed precision (torch.autocast in C++): inside an AutocastScope, convolutions
// and matrix products run in the scope's low-precision type (bf16 or fp16) while the weights stay
// float32; inside an Fp32Scope autocast is off again (spectral norm's power iteration uses it, so
// its u / sv buffers are computed exactly as without autocast).
#pragma once
#include <c10/core/ScalarType.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/types.h>

#include <optional>

namespace biggan {

class AutocastScope {
 public:
  // Autocast on `device`'s type (CPU or CUDA) to `dtype` until the scope ends. dtype Float: no-op.
  AutocastScope(torch::Device device, torch::ScalarType dtype);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false, cuda_ = false, was_enabled_ = false;
  torch::ScalarType previous_dtype_ = torch::kFloat;
};

// Autocast off (for every device type) until the scope ends; free when it was off anyway.
class Fp32Scope {
 public:
  Fp32Scope();

 private:
  c10::impl::ExcludeDispatchKeyGuard guard_;
};

}  // namespace biggan
