// Library code that builds "the same random network every run" must seed torch's default CPU
// generator (module constructors draw from it), but must not move the caller's own draws: this
// scope seeds it and puts the previous state back when it ends.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace biggan {

class SeededGeneratorScope {
 public:
  explicit SeededGeneratorScope(uint64_t seed);
  ~SeededGeneratorScope();
  SeededGeneratorScope(const SeededGeneratorScope&) = delete;
  SeededGeneratorScope& operator=(const SeededGeneratorScope&) = delete;

 private:
  at::Tensor saved_state_;
};

}  // namespace biggan
