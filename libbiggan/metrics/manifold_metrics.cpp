#include "libbiggan/metrics/manifold_metrics.h"

#include <algorithm>
#include <string>

#include "libbiggan/util/error.h"

namespace biggan::metrics {
namespace {

// float64, contiguous, on the CPU; [N, d] with N > k.
torch::Tensor checked_features(const torch::Tensor& x, int k, const char* side, const char* metric) {
  if (!x.defined() || x.dim() != 2 || x.size(1) < 1)
    throw Error(std::string(metric) + ": the " + side + " features must be an [N, d] matrix");
  if (k < 1) throw Error(std::string(metric) + ": k must be at least 1, got " + std::to_string(k));
  if (x.size(0) <= k)
    throw Error(std::string(metric) + " with k=" + std::to_string(k) + " needs at least " + std::to_string(k + 1) +
                " " + side + " features, got " + std::to_string(x.size(0)));
  auto y = x.to(torch::kCPU, torch::kFloat64).contiguous();
  if (!torch::isfinite(y).all().item<bool>())
    throw Error(std::string(metric) + ": the " + side + " features hold NaN or infinite values");
  return y;
}

void check_pair(const torch::Tensor& real, const torch::Tensor& fake, const char* metric) {
  if (real.size(1) != fake.size(1))
    throw Error(std::string(metric) + ": real features have " + std::to_string(real.size(1)) + " dimensions, fake " +
                std::to_string(fake.size(1)));
}

int64_t rows_per_block(int64_t columns, int64_t forced) {
  if (forced > 0) return forced;
  return std::max<int64_t>(1, kManifoldBlockElements / std::max<int64_t>(1, columns));
}

// Calls fn(first, distances) for each block of rows of `a`: distances [B, N] from a's rows
// first..first+B-1 to every row of `b`, Euclidean, float64. ‖a‖² + ‖b‖² − 2abᵀ keeps the work in one
// GEMM per block; with `self` (a and b the same set) each row's distance to itself is exactly 0.
template <class Fn>
void for_each_block(const torch::Tensor& a, const torch::Tensor& b, int64_t block_rows, bool self, Fn fn) {
  const auto b_sq = b.pow(2).sum(1).unsqueeze(0);
  const int64_t step = rows_per_block(b.size(0), block_rows);
  for (int64_t first = 0; first < a.size(0); first += step) {
    const int64_t rows = std::min(step, a.size(0) - first);
    auto block = a.narrow(0, first, rows);
    auto d2 = block.pow(2).sum(1, true) + b_sq - 2.0 * torch::matmul(block, b.t());
    d2.clamp_min_(0);
    if (self) d2.narrow(1, first, rows).diagonal().zero_();
    fn(first, d2.sqrt_());
  }
}

torch::Tensor radii_of(const torch::Tensor& x, int k, int64_t block_rows) {
  auto radii = torch::empty({x.size(0)}, torch::kFloat64);
  for_each_block(x, x, block_rows, true, [&](int64_t first, const torch::Tensor& d) {
    // The (k+1)-th smallest: the row's own distance 0 comes first.
    auto kth = std::get<0>(d.topk(k + 1, 1, /*largest=*/false, /*sorted=*/true)).select(1, k);
    radii.narrow(0, first, d.size(0)).copy_(kth);
  });
  return radii;
}

torch::Tensor given_or_computed_radii(const torch::Tensor& real, const torch::Tensor& given, int k, int64_t block_rows,
                                      const char* metric) {
  if (!given.defined()) return radii_of(real, k, block_rows);
  if (given.dim() != 1 || given.size(0) != real.size(0))
    throw Error(std::string(metric) + ": " + std::to_string(given.numel()) + " real radii for " +
                std::to_string(real.size(0)) + " real features");
  return given.to(torch::kCPU, torch::kFloat64).contiguous();
}

}  // namespace

torch::Tensor knn_radii(const torch::Tensor& features, int k, int64_t block_rows) {
  return radii_of(checked_features(features, k, "input", "k-NN radii"), k, block_rows);
}

PrecisionRecall precision_recall(const torch::Tensor& real_in, const torch::Tensor& fake_in, int k,
                                 const torch::Tensor& real_radii, int64_t block_rows) {
  const char* metric = "precision/recall";
  auto real = checked_features(real_in, k, "real", metric), fake = checked_features(fake_in, k, "fake", metric);
  check_pair(real, fake, metric);
  const auto r_real = given_or_computed_radii(real, real_radii, k, block_rows, metric).unsqueeze(0);
  const auto r_fake = radii_of(fake, k, block_rows).unsqueeze(0);
  int64_t fake_inside = 0, real_inside = 0;
  for_each_block(fake, real, block_rows, false, [&](int64_t, const torch::Tensor& d) {
    fake_inside += d.le(r_real).any(1).sum().item<int64_t>();
  });
  for_each_block(real, fake, block_rows, false, [&](int64_t, const torch::Tensor& d) {
    real_inside += d.le(r_fake).any(1).sum().item<int64_t>();
  });
  PrecisionRecall r;
  r.k = k;
  r.precision = static_cast<double>(fake_inside) / static_cast<double>(fake.size(0));
  r.recall = static_cast<double>(real_inside) / static_cast<double>(real.size(0));
  return r;
}

DensityCoverage density_coverage(const torch::Tensor& real_in, const torch::Tensor& fake_in, int k,
                                 const torch::Tensor& real_radii, int64_t block_rows) {
  const char* metric = "density/coverage";
  auto real = checked_features(real_in, k, "real", metric), fake = checked_features(fake_in, k, "fake", metric);
  check_pair(real, fake, metric);
  const auto r_real = given_or_computed_radii(real, real_radii, k, block_rows, metric);
  int64_t balls_holding = 0, covered = 0;
  const auto r_row = r_real.unsqueeze(0);
  for_each_block(fake, real, block_rows, false, [&](int64_t, const torch::Tensor& d) {
    balls_holding += d.lt(r_row).sum().item<int64_t>();
  });
  for_each_block(real, fake, block_rows, false, [&](int64_t first, const torch::Tensor& d) {
    covered += std::get<0>(d.min(1)).lt(r_real.narrow(0, first, d.size(0))).sum().item<int64_t>();
  });
  DensityCoverage r;
  r.k = k;
  r.density = static_cast<double>(balls_holding) / (static_cast<double>(k) * static_cast<double>(fake.size(0)));
  r.coverage = static_cast<double>(covered) / static_cast<double>(real.size(0));
  return r;
}

}  // namespace biggan::metrics
