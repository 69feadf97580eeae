#include "libbiggan/metrics/manifold_metrics.h"

#include <algorithm>
#include <limits>
#include <string>

#include "libbiggan/util/error.h"

namespace biggan::metrics {
namespace {

// One side's features: float64, contiguous, on the CPU, with their squared norms.
struct FeatureSet {
  torch::Tensor x;   // [N, d]
  torch::Tensor sq;  // [N]
};

FeatureSet checked_features(const torch::Tensor& x, int k, const char* side, const char* metric) {
  if (!x.defined() || x.dim() != 2 || x.size(1) < 1)
    throw Error(std::string(metric) + ": the " + side + " features must be an [N, d] matrix");
  if (k < 1) throw Error(std::string(metric) + ": k must be at least 1, got " + std::to_string(k));
  if (x.size(0) <= k)
    throw Error(std::string(metric) + " with k=" + std::to_string(k) + " needs at least " + std::to_string(k + 1) +
                " " + side + " features, got " + std::to_string(x.size(0)));
  auto y = x.to(torch::kCPU, torch::kFloat64).contiguous();
  if (!torch::isfinite(y).all().item<bool>())
    throw Error(std::string(metric) + ": the " + side + " features hold NaN or infinite values");
  return {y, y.pow(2).sum(1)};
}

void check_pair(const FeatureSet& real, const FeatureSet& fake, const char* metric) {
  if (real.x.size(1) != fake.x.size(1))
    throw Error(std::string(metric) + ": real features have " + std::to_string(real.x.size(1)) + " dimensions, fake " +
                std::to_string(fake.x.size(1)));
}

int64_t rows_per_block(int64_t columns, int64_t forced) {
  if (forced > 0) return forced;
  return std::max<int64_t>(1, kManifoldBlockElements / std::max<int64_t>(1, columns));
}

// Squared distances [rows, N] from rows first.. of `a` to every row of `b`, by one GEMM. With `self`
// (a and b the same set) each row's distance to itself is exactly 0.
torch::Tensor gemm_block(const FeatureSet& a, int64_t first, int64_t rows, const FeatureSet& b, bool self) {
  auto d2 = a.sq.narrow(0, first, rows).unsqueeze(1) + b.sq.unsqueeze(0) -
            2.0 * torch::matmul(a.x.narrow(0, first, rows), b.x.t());
  d2.clamp_min_(0);
  if (self) d2.narrow(1, first, rows).diagonal().zero_();
  return d2;
}

// Entries of `d2` (a block from gemm_block) within the GEMM's rounding of `target` (broadcast to
// d2), recomputed coordinate by coordinate: Σ (aₜ − bₜ)² is the same number for (a, b) and (b, a).
// A d-term float64 dot product errs by at most about d·ε·(‖a‖² + ‖b‖²)/2; the bound below is 8× that.
void refine_near(torch::Tensor& d2, const FeatureSet& a, int64_t first, const FeatureSet& b,
                 const torch::Tensor& target) {
  const int64_t dim = a.x.size(1);
  const double bound = 4.0 * static_cast<double>(dim + 8) * std::numeric_limits<double>::epsilon();
  auto slack = (a.sq.narrow(0, first, d2.size(0)).unsqueeze(1) + b.sq.unsqueeze(0)) * bound;
  auto near = (d2 - target).abs_().le(slack).nonzero();
  if (near.size(0) == 0) return;
  auto at = near.accessor<int64_t, 2>();
  auto xa = a.x.accessor<double, 2>(), xb = b.x.accessor<double, 2>();
  auto out = d2.accessor<double, 2>();
  for (int64_t n = 0; n < near.size(0); ++n) {
    const int64_t i = at[n][0], j = at[n][1];
    double s = 0;
    for (int64_t t = 0; t < dim; ++t) {
      const double diff = xa[first + i][t] - xb[j][t];
      s += diff * diff;
    }
    out[i][j] = s;
  }
}

// Calls fn(first, d2) for each block of rows of `a` against all of `b`, d2 refined near `target`
// (a function of (first, rows) giving what the block's distances are compared with).
template <class Target, class Fn>
void for_each_block(const FeatureSet& a, const FeatureSet& b, int64_t block_rows, Target target, Fn fn) {
  const int64_t step = rows_per_block(b.x.size(0), block_rows);
  for (int64_t first = 0; first < a.x.size(0); first += step) {
    const int64_t rows = std::min(step, a.x.size(0) - first);
    auto d2 = gemm_block(a, first, rows, b, false);
    refine_near(d2, a, first, b, target(first, rows));
    fn(first, d2);
  }
}

torch::Tensor squared_radii_of(const FeatureSet& x, int k, int64_t block_rows) {
  auto r2 = torch::empty({x.x.size(0)}, torch::kFloat64);
  const int64_t step = rows_per_block(x.x.size(0), block_rows);
  auto kth = [k](const torch::Tensor& d2) {  // the (k+1)-th smallest: the row's own 0 comes first
    return std::get<0>(d2.topk(k + 1, 1, /*largest=*/false, /*sorted=*/true)).select(1, k);
  };
  for (int64_t first = 0; first < x.x.size(0); first += step) {
    const int64_t rows = std::min(step, x.x.size(0) - first);
    auto d2 = gemm_block(x, first, rows, x, true);
    refine_near(d2, x, first, x, kth(d2).unsqueeze(1));  // the radius itself is then an exact sum
    r2.narrow(0, first, rows).copy_(kth(d2));
  }
  return r2;
}

torch::Tensor given_or_computed(const FeatureSet& real, const torch::Tensor& given, int k, int64_t block_rows,
                                const char* metric) {
  if (!given.defined()) return squared_radii_of(real, k, block_rows);
  if (given.dim() != 1 || given.size(0) != real.x.size(0))
    throw Error(std::string(metric) + ": " + std::to_string(given.numel()) + " real radii for " +
                std::to_string(real.x.size(0)) + " real features");
  return given.to(torch::kCPU, torch::kFloat64).contiguous();
}

}  // namespace

torch::Tensor knn_squared_radii(const torch::Tensor& features, int k, int64_t block_rows) {
  return squared_radii_of(checked_features(features, k, "input", "k-NN radii"), k, block_rows);
}

torch::Tensor knn_radii(const torch::Tensor& features, int k, int64_t block_rows) {
  return knn_squared_radii(features, k, block_rows).sqrt();
}

PrecisionRecall precision_recall(const torch::Tensor& real_in, const torch::Tensor& fake_in, int k,
                                 const torch::Tensor& real_squared_radii, int64_t block_rows) {
  const char* metric = "precision/recall";
  const auto real = checked_features(real_in, k, "real", metric), fake = checked_features(fake_in, k, "fake", metric);
  check_pair(real, fake, metric);
  const auto r_real = given_or_computed(real, real_squared_radii, k, block_rows, metric).unsqueeze(0);
  const auto r_fake = squared_radii_of(fake, k, block_rows).unsqueeze(0);
  int64_t fake_inside = 0, real_inside = 0;
  for_each_block(fake, real, block_rows, [&](int64_t, int64_t) { return r_real; },
                 [&](int64_t, const torch::Tensor& d2) { fake_inside += d2.le(r_real).any(1).sum().item<int64_t>(); });
  for_each_block(real, fake, block_rows, [&](int64_t, int64_t) { return r_fake; },
                 [&](int64_t, const torch::Tensor& d2) { real_inside += d2.le(r_fake).any(1).sum().item<int64_t>(); });
  PrecisionRecall r;
  r.k = k;
  r.precision = static_cast<double>(fake_inside) / static_cast<double>(fake.x.size(0));
  r.recall = static_cast<double>(real_inside) / static_cast<double>(real.x.size(0));
  return r;
}

DensityCoverage density_coverage(const torch::Tensor& real_in, const torch::Tensor& fake_in, int k,
                                 const torch::Tensor& real_squared_radii, int64_t block_rows) {
  const char* metric = "density/coverage";
  const auto real = checked_features(real_in, k, "real", metric), fake = checked_features(fake_in, k, "fake", metric);
  check_pair(real, fake, metric);
  const auto r_real = given_or_computed(real, real_squared_radii, k, block_rows, metric);
  const auto r_row = r_real.unsqueeze(0);
  int64_t balls_holding = 0, covered = 0;
  for_each_block(fake, real, block_rows, [&](int64_t, int64_t) { return r_row; },
                 [&](int64_t, const torch::Tensor& d2) { balls_holding += d2.lt(r_row).sum().item<int64_t>(); });
  auto own_radius = [&](int64_t first, int64_t rows) { return r_real.narrow(0, first, rows).unsqueeze(1); };
  for_each_block(real, fake, block_rows, own_radius, [&](int64_t first, const torch::Tensor& d2) {
    covered += std::get<0>(d2.min(1)).lt(r_real.narrow(0, first, d2.size(0))).sum().item<int64_t>();
  });
  DensityCoverage r;
  r.k = k;
  r.density = static_cast<double>(balls_holding) / (static_cast<double>(k) * static_cast<double>(fake.x.size(0)));
  r.coverage = static_cast<double>(covered) / static_cast<double>(real.x.size(0));
  return r;
}

}  // namespace biggan::metrics
