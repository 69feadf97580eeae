#include "libbiggan/models/autocast.h"

#include <ATen/autocast_mode.h>

#include "libbiggan/util/error.h"

namespace biggan {

AutocastScope::AutocastScope(torch::Device device, torch::ScalarType dtype) {
  if (dtype == torch::kFloat) return;
  if (dtype != torch::kBFloat16 && dtype != torch::kHalf)
    throw Error(std::string("autocast: unsupported type ") + c10::toString(dtype) + " (bf16 or fp16)");
  if (!device.is_cpu() && !device.is_cuda()) throw Error("autocast: device " + device.str() + " is neither CPU nor CUDA");
  cuda_ = device.is_cuda();
  active_ = true;
  if (cuda_) {
    was_enabled_ = at::autocast::is_enabled();
    previous_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(true);
  } else {
    was_enabled_ = at::autocast::is_cpu_enabled();
    previous_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(true);
  }
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // As torch.autocast's __exit__: the cache of cast weights lives while any scope is open.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  if (cuda_) {
    at::autocast::set_enabled(was_enabled_);
    at::autocast::set_autocast_gpu_dtype(previous_dtype_);
  } else {
    at::autocast::set_cpu_enabled(was_enabled_);
    at::autocast::set_autocast_cpu_dtype(previous_dtype_);
  }
}

Fp32Scope::Fp32Scope() : guard_(c10::autocast_dispatch_keyset) {}

}  // namespace biggan
