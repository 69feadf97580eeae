// Where the training step gets its noise: z ~ N(0, z_var) and y ~ U{0..n_classes-1}, drawn from
// torch's global generator exactly as the reference's Distribution.sample_() does (normal_ then
// random_), or replayed from recorded draws (the fixtures record every draw of a reference step).
#pragma once
#include <torch/torch.h>

namespace biggan {

class NoiseSource {
 public:
  virtual ~NoiseSource() = default;
  // Overwrites z [B, dim_z] and y [B] (int64) in place, as z_.sample_(); y_.sample_().
  virtual void sample(torch::Tensor& z, torch::Tensor& y) = 0;
};

class RandomNoise : public NoiseSource {
 public:
  RandomNoise(int64_t n_classes, double z_var = 1.0) : n_classes_(n_classes), z_var_(z_var) {}
  void sample(torch::Tensor& z, torch::Tensor& y) override;

 private:
  int64_t n_classes_;
  double z_var_;
};

// Replays z_draws [K, B, dim_z] and y_draws [K, B] in order; running out is an error.
class ReplayNoise : public NoiseSource {
 public:
  ReplayNoise(torch::Tensor z_draws, torch::Tensor y_draws);
  void sample(torch::Tensor& z, torch::Tensor& y) override;
  int64_t used() const { return next_; }

 private:
  torch::Tensor z_draws_, y_draws_;
  int64_t next_ = 0;
};

}  // namespace biggan
