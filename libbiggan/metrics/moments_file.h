// Moment files: the np.savez layout that BigGAN-PyTorch and pytorch-fid both read.
#pragma once
#include <string>

#include "libbiggan/metrics/feature_moments.h"
#include "libbiggan/serialization/npz.h"

namespace biggan::metrics {

// The np.savez layout both reference projects read: `mu`, `sigma` (float64), plus `features`
// (float32 [N, d], for KID) when given, plus `random_weights` ([1] bool) when the network had random
// weights, so that every later score from the file is labelled too.
void save_moments_npz(const std::string& path, const Moments& m, const torch::Tensor& features = {},
                      bool random_weights = false);
// Reads `mu` and `sigma` (any float dtype, returned as float64); `features` when present and asked for.
Moments load_moments_npz(const std::string& path, torch::Tensor* features = nullptr);

// True when loaded .npz arrays hold `mu` and `sigma` (a moments file rather than samples).
bool is_moments(const npz::Arrays& arrays);
// The moments in already loaded arrays (`path` names the file in errors).
Moments moments_from_arrays(const npz::Arrays& arrays, const std::string& path, torch::Tensor* features = nullptr);

}  // namespace biggan::metrics
