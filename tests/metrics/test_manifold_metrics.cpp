// Improved precision / recall and density / coverage (manifold_metrics.h) against direct float64
// implementations written here (every pair's distance summed coordinate by coordinate, k-th
// neighbour by sorting), on random features, in blocks of every size, and on the known edge cases:
// identical sets (precision = recall = coverage = 1, density 1) and far-apart sets (all 0).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "libbiggan/metrics/manifold_metrics.h"
#include "libbiggan/util/error.h"

using namespace biggan;
using namespace biggan::metrics;

namespace {

using Rows = std::vector<std::vector<double>>;

Rows rows_of(const torch::Tensor& x) {
  auto c = x.to(torch::kFloat64).contiguous();
  Rows out(c.size(0), std::vector<double>(c.size(1)));
  for (int64_t i = 0; i < c.size(0); ++i)
    for (int64_t j = 0; j < c.size(1); ++j) out[i][j] = c[i][j].item<double>();
  return out;
}

double distance(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s);
}

// The distance from each row to its k-th nearest other row.
std::vector<double> brute_radii(const Rows& x, int k) {
  std::vector<double> r;
  for (size_t i = 0; i < x.size(); ++i) {
    std::vector<double> d;
    for (size_t j = 0; j < x.size(); ++j)
      if (j != i) d.push_back(distance(x[i], x[j]));
    std::sort(d.begin(), d.end());
    r.push_back(d[k - 1]);
  }
  return r;
}

struct Brute {
  double precision, recall, density, coverage;
};

// Kynkäänniemi et al.: inside a ball is distance <= radius; Naeem et al.: distance < radius.
Brute brute_force(const torch::Tensor& real_t, const torch::Tensor& fake_t, int k_pr, int k_dc) {
  const Rows real = rows_of(real_t), fake = rows_of(fake_t);
  const auto rr = brute_radii(real, k_pr), rf = brute_radii(fake, k_pr), rd = brute_radii(real, k_dc);
  double precise = 0, recalled = 0, held = 0, covered = 0;
  for (const auto& f : fake) {
    bool in = false;
    for (size_t i = 0; i < real.size(); ++i) {
      const double d = distance(f, real[i]);
      in = in || d <= rr[i];
      held += d < rd[i];
    }
    precise += in;
  }
  for (size_t i = 0; i < real.size(); ++i) {
    bool in = false;
    double nearest = INFINITY;
    for (size_t j = 0; j < fake.size(); ++j) {
      const double d = distance(real[i], fake[j]);
      in = in || d <= rf[j];
      nearest = std::min(nearest, d);
    }
    recalled += in;
    covered += nearest < rd[i];
  }
  const double n = static_cast<double>(real.size()), m = static_cast<double>(fake.size());
  return {precise / m, recalled / n, held / (k_dc * m), covered / n};
}

torch::Tensor gaussian(int64_t n, int64_t d, double shift, double scale, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  return (torch::randn({n, d}, gen, torch::kFloat32) * scale + shift);
}

}  // namespace

TEST_CASE("k-NN radii equal the brute force's, whatever the block size") {
  auto x = gaussian(120, 7, 0, 1, 1);
  const auto want = brute_radii(rows_of(x), 3);
  for (int64_t block : {0, 1, 7, 64, 120, 500}) {
    auto r = knn_radii(x, 3, block);
    REQUIRE(r.size(0) == 120);
    for (int64_t i = 0; i < 120; ++i) CHECK(r[i].item<double>() == Approx(want[i]).epsilon(1e-12));
    CHECK(torch::equal(knn_squared_radii(x, 3, block), knn_squared_radii(x, 3)));
  }
}

TEST_CASE("duplicated features: ties on a ball's edge are decided alike in every pass") {
  // Every point three times: its k = 2 radius is 0, so its copies lie inside (<=) and nothing lies
  // strictly inside (<): precision and recall count everything, density and coverage nothing. The
  // GEMM's distances between copies are not exactly 0; the recomputed ones are.
  auto base = gaussian(40, 6, 0, 1, 9);
  auto tripled = torch::cat({base, base, base});
  const auto pr = precision_recall(tripled, tripled.clone(), 2);
  CHECK(pr.precision == 1.0);
  CHECK(pr.recall == 1.0);
  CHECK(torch::equal(knn_squared_radii(tripled, 2), torch::zeros({120}, torch::kFloat64)));
  const auto dc = density_coverage(tripled, tripled.clone(), 2);
  const auto want = brute_force(tripled, tripled, 2, 2);
  CHECK(dc.density == want.density);
  CHECK(dc.coverage == want.coverage);
  CHECK(want.coverage == 0.0);
}

TEST_CASE("precision, recall, density and coverage equal the brute force on random features") {
  struct Case {
    int64_t n, m, d;
    double shift, scale;
    int k_pr, k_dc;
  };
  const Case cases[] = {{150, 130, 8, 0.5, 1.2, 3, 5}, {90, 140, 3, 0.2, 0.7, 3, 5}, {60, 60, 16, 0, 1, 1, 2},
                        {100, 80, 5, 1.0, 1.0, 7, 10}};
  uint64_t seed = 10;
  for (const auto& c : cases) {
    auto real = gaussian(c.n, c.d, 0, 1, seed++), fake = gaussian(c.m, c.d, c.shift, c.scale, seed++);
    const auto want = brute_force(real, fake, c.k_pr, c.k_dc);
    INFO("real " << c.n << ", fake " << c.m << ", d " << c.d << ", k " << c.k_pr << "/" << c.k_dc);
    // Random features: the numbers lie strictly between the edge cases.
    CHECK(want.precision > 0);
    CHECK(want.precision < 1);
    CHECK(want.coverage > 0);
    for (int64_t block : {0, 1, 17}) {
      const auto pr = precision_recall(real, fake, c.k_pr, {}, block);
      const auto dc = density_coverage(real, fake, c.k_dc, {}, block);
      CHECK(pr.k == c.k_pr);
      CHECK(dc.k == c.k_dc);
      CHECK(pr.precision == Approx(want.precision).margin(1e-12));
      CHECK(pr.recall == Approx(want.recall).margin(1e-12));
      CHECK(dc.density == Approx(want.density).margin(1e-12));
      CHECK(dc.coverage == Approx(want.coverage).margin(1e-12));
    }
    // Radii given for a fixed reference give the same numbers.
    const auto pr = precision_recall(real, fake, c.k_pr, knn_squared_radii(real, c.k_pr));
    const auto dc = density_coverage(real, fake, c.k_dc, knn_squared_radii(real, c.k_dc));
    CHECK(pr.precision == Approx(want.precision).margin(1e-12));
    CHECK(dc.density == Approx(want.density).margin(1e-12));
  }
}

TEST_CASE("identical sets: precision = recall = coverage = 1, density 1; far-apart sets: all 0") {
  auto real = gaussian(200, 10, 0, 1, 3);
  for (int64_t block : {0, 9}) {
    const auto pr = precision_recall(real, real.clone(), 3, {}, block);
    const auto dc = density_coverage(real, real.clone(), 5, {}, block);
    CHECK(pr.precision == 1.0);
    CHECK(pr.recall == 1.0);
    CHECK(dc.coverage == 1.0);
    // Each ball holds its centre and its k-1 nearest neighbours strictly inside: k of the set. The
    // k-th neighbour lies on the ball's edge: counted out whichever pass computed its distance.
    CHECK(dc.density == 1.0);
  }
  const auto want = brute_force(real, real, 3, 5);
  CHECK(want.density == 1.0);

  auto far = real + 1000.0;
  const auto pr = precision_recall(real, far, 3), pr_back = precision_recall(far, real, 3);
  const auto dc = density_coverage(real, far, 5);
  CHECK(pr.precision == 0.0);
  CHECK(pr.recall == 0.0);
  CHECK(pr_back.precision == 0.0);
  CHECK(dc.density == 0.0);
  CHECK(dc.coverage == 0.0);
}

TEST_CASE("a fake set covering half the real one: precision 1, recall and coverage about 1/2") {
  // Two far-apart real clusters; the fakes are copies of the first cluster's points.
  auto a = gaussian(100, 4, 0, 1, 5), b = gaussian(100, 4, 500, 1, 6);
  auto real = torch::cat({a, b});
  const auto pr = precision_recall(real, a.clone(), 3);
  const auto dc = density_coverage(real, a.clone(), 5);
  CHECK(pr.precision == 1.0);
  CHECK(pr.recall == 0.5);
  CHECK(dc.coverage == 0.5);
  CHECK(dc.density == 1.0);
}

TEST_CASE("manifold metrics refuse too few features, mismatched widths, NaN and wrong radii") {
  auto x = gaussian(10, 3, 0, 1, 7);
  CHECK_THROWS_WITH(precision_recall(x.narrow(0, 0, 3), x, 3),
                    Catch::Contains("needs at least 4 real features, got 3"));
  CHECK_THROWS_WITH(density_coverage(x, x.narrow(0, 0, 5), 5), Catch::Contains("needs at least 6 fake features"));
  CHECK_THROWS_WITH(precision_recall(x, gaussian(10, 4, 0, 1, 8), 3), Catch::Contains("dimensions"));
  auto bad = x.clone();
  bad[2][1] = NAN;
  CHECK_THROWS_WITH(density_coverage(x, bad, 5), Catch::Contains("NaN"));
  CHECK_THROWS_WITH(precision_recall(x, x, 0), Catch::Contains("k must be at least 1"));
  CHECK_THROWS_WITH(precision_recall(x, x, 3, torch::ones({4})), Catch::Contains("4 real radii for 10"));
  CHECK_THROWS_AS(knn_radii(torch::ones({5}), 3), Error);
}
