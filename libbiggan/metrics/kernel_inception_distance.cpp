#include "libbiggan/metrics/kernel_inception_distance.h"

#include <cmath>

#include "libbiggan/util/error.h"

namespace biggan::metrics {

double polynomial_mmd2_unbiased(const torch::Tensor& x_in, const torch::Tensor& y_in) {
  auto x = x_in.to(torch::kFloat64), y = y_in.to(torch::kFloat64);
  if (x.dim() != 2 || y.dim() != 2 || x.size(1) != y.size(1))
    throw Error("KID: feature sets must be [m, d] and [n, d] with the same d");
  const double d = static_cast<double>(x.size(1));
  const double m = static_cast<double>(x.size(0)), n = static_cast<double>(y.size(0));
  if (m < 2 || n < 2) throw Error("KID needs at least 2 feature vectors on each side");
  auto kernel = [&](const torch::Tensor& a, const torch::Tensor& b) {
    return (torch::matmul(a, b.t()) / d + 1.0).pow(3);
  };
  auto kxx = kernel(x, x), kyy = kernel(y, y), kxy = kernel(x, y);
  double sxx = (kxx.sum() - kxx.diagonal().sum()).item<double>();
  double syy = (kyy.sum() - kyy.diagonal().sum()).item<double>();
  return sxx / (m * (m - 1)) + syy / (n * (n - 1)) - 2.0 * kxy.sum().item<double>() / (m * n);
}

KidResult kernel_inception_distance(const torch::Tensor& f1, const torch::Tensor& f2, int subsets,
                                    int64_t subset_size, uint64_t seed) {
  if (subsets < 1 || subset_size < 2) throw Error("KID: need at least 1 subset of at least 2 samples");
  auto a = f1.to(torch::kCPU, torch::kFloat64), b = f2.to(torch::kCPU, torch::kFloat64);
  const int64_t m = std::min({subset_size, a.size(0), b.size(0)});
  if (m < 2) throw Error("KID needs at least 2 feature vectors on each side");
  auto gen = at::detail::createCPUGenerator(seed);
  std::vector<double> v;
  for (int s = 0; s < subsets; ++s) {
    auto ia = torch::randperm(a.size(0), gen, torch::kInt64).narrow(0, 0, m);
    auto ib = torch::randperm(b.size(0), gen, torch::kInt64).narrow(0, 0, m);
    v.push_back(polynomial_mmd2_unbiased(a.index_select(0, ia), b.index_select(0, ib)));
  }
  KidResult r;
  r.subsets = subsets;
  r.subset_size = m;
  for (double x : v) r.mean += x;
  r.mean /= subsets;
  for (double x : v) r.std += (x - r.mean) * (x - r.mean);
  r.std = std::sqrt(r.std / subsets);
  return r;
}

}  // namespace biggan::metrics
