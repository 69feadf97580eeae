#include "libbiggan/metrics/moments_file.h"

#include <algorithm>

#include "libbiggan/serialization/npz.h"
#include "libbiggan/util/error.h"
#include "libbiggan/util/provenance.h"

namespace biggan::metrics {

void save_moments_npz(const std::string& path, const Moments& m, const torch::Tensor& features,
                      bool random_weights) {
  if (!torch::isfinite(m.mu).all().item<bool>() || !torch::isfinite(m.sigma).all().item<bool>())
    throw input_error(path, "not written: the moments hold NaN or infinite values");
  npz::Arrays arrays{{"mu", m.mu.to(torch::kCPU, torch::kFloat64).contiguous()},
                     {"sigma", m.sigma.to(torch::kCPU, torch::kFloat64).contiguous()}};
  if (features.defined()) arrays.emplace_back("features", features.to(torch::kCPU, torch::kFloat32).contiguous());
  if (random_weights || m.random_weights) arrays.emplace_back("random_weights", torch::ones({1}, torch::kBool));
  arrays.emplace_back("provenance", provenance_bytes());
  npz::save(path, arrays);
}

Moments load_moments_npz(const std::string& path, torch::Tensor* features) {
  return moments_from_arrays(npz::load(path), path, features);
}

Moments moments_from_arrays(const npz::Arrays& arrays, const std::string& path, torch::Tensor* features) {
  Moments m{npz::get(arrays, "mu", path).to(torch::kFloat64).flatten(),
            npz::get(arrays, "sigma", path).to(torch::kFloat64)};
  const int64_t d = m.mu.numel();
  if (m.sigma.dim() != 2 || m.sigma.size(0) != d || m.sigma.size(1) != d)
    throw input_error(path, "sigma is not " + std::to_string(d) + "×" + std::to_string(d) + " (mu has " +
                                std::to_string(d) + " entries)");
  if (!torch::isfinite(m.mu).all().item<bool>() || !torch::isfinite(m.sigma).all().item<bool>())
    throw input_error(path, "mu or sigma holds NaN or infinite values");
  const double asym = (m.sigma - m.sigma.t()).abs().max().item<double>();
  if (asym > 1e-6 * std::max(m.sigma.abs().max().item<double>(), 1e-300))
    throw input_error(path, "sigma is not symmetric (largest |S - Sᵀ| " + std::to_string(asym) + "): not a covariance");
  for (auto& [name, t] : arrays)
    if (name == "random_weights") m.random_weights = t.numel() > 0 && t.flatten()[0].item<bool>();
  if (features) {
    *features = torch::Tensor();
    for (auto& [name, t] : arrays)
      if (name == "features") {
        if (t.dim() != 2 || t.size(1) != d) throw input_error(path, "features are not [N, " + std::to_string(d) + "]");
        *features = t;
      }
  }
  return m;
}

bool is_moments(const npz::Arrays& arrays) {
  bool mu = false, sigma = false;
  for (auto& [name, t] : arrays) {
    mu = mu || name == "mu";
    sigma = sigma || name == "sigma";
  }
  return mu && sigma;
}

}  // namespace biggan::metrics
