#include "libbiggan/util/seeded_generator_scope.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>

#include <mutex>

namespace biggan {

SeededGeneratorScope::SeededGeneratorScope(uint64_t seed) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  saved_state_ = gen.get_state();
  gen.set_current_seed(seed);
}

SeededGeneratorScope::~SeededGeneratorScope() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(saved_state_);
}

}  // namespace biggan
