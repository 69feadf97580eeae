#include "libbiggan/training/rng.h"

#include <ATen/CPUGeneratorImpl.h>

#include <mutex>

namespace biggan {
namespace {

at::Generator default_generator(torch::Device device) {
  return at::globalContext().defaultGenerator(device.is_cuda() && !device.has_index()
                                                  ? torch::Device(torch::kCUDA, 0)
                                                  : device);
}

}  // namespace

torch::Tensor default_generator_state(torch::Device device) {
  auto gen = default_generator(device);
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_default_generator_state(const torch::Tensor& state, torch::Device device) {
  auto gen = default_generator(device);
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

torch::Generator private_generator(torch::Device device, uint64_t seed) {
  if (device.is_cpu()) return at::make_generator<at::CPUGeneratorImpl>(seed);
  // No CUDA headers here (the library builds against CPU LibTorch too): clone the device's
  // default generator, then reseed the clone.
  auto gen = default_generator(device).clone();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_current_seed(seed);
  return gen;
}

GeneratorStates GeneratorStates::capture(torch::Device device) {
  GeneratorStates s;
  s.cpu = default_generator_state(torch::kCPU);
  if (device.is_cuda()) s.cuda = default_generator_state(device);
  return s;
}

void GeneratorStates::restore(torch::Device device) const {
  if (cpu.defined()) set_default_generator_state(cpu, torch::kCPU);
  if (device.is_cuda() && cuda.defined()) set_default_generator_state(cuda, device);
}

}  // namespace biggan
