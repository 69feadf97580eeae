// torch's default random generators, per device: their states (saved with a checkpoint for an
// exact resume, and around evaluations so that they never shift the training noise) and private
// generators for draws that must not touch the global ones (sample sheets).
#pragma once
#include <torch/torch.h>

namespace biggan {

// The state of torch's default generator for `device` (CPU, or the CUDA device's own).
torch::Tensor default_generator_state(torch::Device device = torch::kCPU);
void set_default_generator_state(const torch::Tensor& state, torch::Device device = torch::kCPU);

// A new generator on `device`, seeded with `seed`, independent of torch's default ones.
torch::Generator private_generator(torch::Device device, uint64_t seed);

// Both states a run's draws depend on: the CPU's (data order, initialisation, CPU noise) and, when
// training on CUDA, that device's (the noise z, y is drawn there, as in the reference).
struct GeneratorStates {
  torch::Tensor cpu, cuda;  // cuda undefined on a CPU run
  static GeneratorStates capture(torch::Device device);
  void restore(torch::Device device) const;
};

}  // namespace biggan
