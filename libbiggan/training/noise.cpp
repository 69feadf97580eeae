#include "libbiggan/training/noise.h"

#include "libbiggan/util/error.h"

namespace biggan {

void RandomNoise::sample(torch::Tensor& z, torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  // The reference passes its "var" as normal_'s std; so do we.
  z.normal_(0, z_var_);
  y.random_(0, n_classes_);
}

ReplayNoise::ReplayNoise(torch::Tensor z_draws, torch::Tensor y_draws)
    : z_draws_(std::move(z_draws)), y_draws_(std::move(y_draws)) {
  if (z_draws_.dim() != 3 || y_draws_.dim() != 2 || z_draws_.size(0) != y_draws_.size(0))
    throw Error("recorded noise: expected z_draws [K,B,dim_z] and y_draws [K,B]");
}

void ReplayNoise::sample(torch::Tensor& z, torch::Tensor& y) {
  if (next_ >= z_draws_.size(0))
    throw Error("recorded noise: all " + std::to_string(z_draws_.size(0)) + " draws used");
  torch::NoGradGuard no_grad;
  z.copy_(z_draws_[next_]);
  y.copy_(y_draws_[next_]);
  ++next_;
}

}  // namespace biggan
