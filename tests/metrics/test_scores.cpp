// FID, IS, KID and the streaming moments against the fixtures and direct float64 computations.
#include "libbiggan/metrics/feature_moments.h"
#include "libbiggan/metrics/frechet_distance.h"
#include "libbiggan/metrics/inception_score.h"
#include "libbiggan/metrics/kernel_inception_distance.h"
#include "libbiggan/metrics/moments_file.h"
#include "libbiggan/serialization/hdf5_file.h"
#include "tests/metrics/metrics_test_util.h"

using namespace biggan;
using namespace biggan::metrics;

TEST_CASE("FID of the fixture moment files equals scipy's to 1e-9") {
  std::cout << "fixture inception/moments_a.npz, moments_b.npz vs fid/fid_ab_scipy\n";
  auto io = h5::File::open_read((test::inception_fixtures() / "inception_io.h5").string());
  const double want = io.read("fid/fid_ab_scipy").item<double>();
  auto a = load_moments_npz((test::inception_fixtures() / "moments_a.npz").string());
  auto b = load_moments_npz((test::inception_fixtures() / "moments_b.npz").string());
  auto r = frechet_distance(a.mu, a.sigma, b.mu, b.sigma);
  std::cout.precision(17);
  std::cout << "  FID " << r.fid << " scipy " << want << "\n";
  CHECK(std::abs(r.fid - want) <= 1e-9 * std::abs(want));
  CHECK_FALSE(r.singular);
  auto back = frechet_distance(b.mu, b.sigma, a.mu, a.sigma);
  CHECK(std::abs(back.fid - want) <= 1e-9 * std::abs(want));
}

TEST_CASE("streaming moments equal np.mean / np.cov of the fixture features") {
  std::cout << "fixture inception/inception_io.h5 fid/features_a vs moments_a.npz\n";
  auto io = h5::File::open_read((test::inception_fixtures() / "inception_io.h5").string());
  auto feats = io.read("fid/features_a");
  auto want = load_moments_npz((test::inception_fixtures() / "moments_a.npz").string());
  MomentsAccumulator acc(/*block_rows=*/64);  // many merges of uneven pieces
  for (int64_t i = 0; i < feats.size(0);) {
    int64_t n = std::min<int64_t>(1 + (i * 7) % 53, feats.size(0) - i);
    acc.add(feats.narrow(0, i, n));
    i += n;
  }
  CHECK(acc.count() == feats.size(0));
  auto got = acc.moments();
  test::check_close(got.mu, want.mu, 1e-12, 1e-13, "mu");
  test::check_close(got.sigma, want.sigma, 1e-11, 1e-13, "sigma");
  // Large offsets: the centred merge must not lose the small variance (a naive Σx² would).
  MomentsAccumulator shifted(50);
  auto off = feats + 1e6;
  for (int64_t i = 0; i < off.size(0); i += 37) shifted.add(off.narrow(0, i, std::min<int64_t>(37, off.size(0) - i)));
  test::check_close(shifted.moments().sigma, want.sigma, 1e-6, 1e-9, "sigma with a 1e6 offset");
}

TEST_CASE("moments of parts merged equal the moments of the whole (parts of other means and sizes)") {
  torch::manual_seed(3);
  const int64_t d = 6;
  auto mix = torch::randn({d, d}, torch::kFloat64);
  // Three parts far apart: the spread of their means is most of the whole covariance.
  std::vector<torch::Tensor> pieces = {torch::randn({100, d}, torch::kFloat64).matmul(mix),
                                       torch::randn({7, d}, torch::kFloat64) + 5.0,
                                       torch::randn({150, d}, torch::kFloat64) * 0.5 - 3.0};
  std::vector<Moments> parts;
  std::vector<int64_t> rows;
  for (const auto& p : pieces) parts.push_back(moments_of(p)), rows.push_back(p.size(0));
  const auto whole = moments_of(torch::cat(pieces));
  const auto merged = merge_moments(parts, rows);
  test::check_close(merged.mu, whole.mu, 1e-12, 1e-13, "mu");
  test::check_close(merged.sigma, whole.sigma, 1e-12, 1e-13, "sigma");
  // Without the spread of the parts' means the covariance would be far off.
  auto within = torch::zeros({d, d}, torch::kFloat64);
  for (size_t i = 0; i < parts.size(); ++i) within += parts[i].sigma * static_cast<double>(rows[i] - 1);
  CHECK((within / (257.0 - 1) - whole.sigma).abs().max().item<double>() > 1.0);
  CHECK_THROWS_WITH(merge_moments(parts, {100, 7}), Catch::Contains("one row count per part"));
}

TEST_CASE("FID with singular covariances: warned, and exact by every route") {
  torch::manual_seed(1);
  const int64_t d = 32;
  auto mix = torch::randn({d, d}, torch::kFloat64);
  auto few1 = torch::randn({12, d}, torch::kFloat64).matmul(mix);       // rank 11 < d
  auto few2 = torch::randn({9, d}, torch::kFloat64).matmul(mix) + 0.3;  // rank 8 < d
  auto many = torch::randn({400, d}, torch::kFloat64).matmul(mix) + 0.1;
  // Exact tr((S1 S2)^½) from the data: the nuclear norm of Xc1 Xc2ᵀ / sqrt((n1-1)(n2-1)).
  auto exact = [](const torch::Tensor& x1, const torch::Tensor& x2) {
    auto c1 = x1 - x1.mean(0), c2 = x2 - x2.mean(0);
    double tr = torch::linalg_svdvals(c1.matmul(c2.t())).sum().item<double>() /
                std::sqrt(double(x1.size(0) - 1) * double(x2.size(0) - 1));
    auto m1 = moments_of(x1), m2 = moments_of(x2);
    auto diff = m1.mu - m2.mu;
    return diff.dot(diff).item<double>() + m1.sigma.trace().item<double>() + m2.sigma.trace().item<double>() - 2 * tr;
  };
  struct Case {
    const char* name;
    torch::Tensor a, b;
  };
  for (auto& c : {Case{"singular vs full", few1, many}, Case{"full vs singular", many, few1},
                  Case{"both singular", few1, few2}}) {
    auto m1 = moments_of(c.a), m2 = moments_of(c.b);
    auto r = frechet_distance(m1.mu, m1.sigma, m2.mu, m2.sigma);
    double want = exact(c.a, c.b);
    std::cout << "  " << c.name << ": FID " << r.fid << " exact " << want << " warning: " << r.warning << "\n";
    CHECK(r.singular);
    CHECK(r.warning.find("singular") != std::string::npos);
    CHECK(std::abs(r.fid - want) <= 1e-6 * std::abs(want));
  }
  auto m = moments_of(many);
  CHECK_THROWS_WITH(frechet_distance(m.mu, m.sigma, m.mu.narrow(0, 0, 5), m.sigma),
                    Catch::Contains("different lengths"));
}

TEST_CASE("Inception Score equals the reference's calculate_inception_score") {
  std::cout << "fixture inception/inception_io.h5 is/logits\n";
  auto io = h5::File::open_read((test::inception_fixtures() / "inception_io.h5").string());
  // The logits are seeded noise, stored as their seed (fixtures/inception/make_fixture.py); extra
  // fixture sources may hold them whole.
  torch::Tensor logits;
  if (io.exists("is/logits")) {
    logits = io.read("is/logits");
  } else {
    torch::manual_seed(io.read("is/logits_seed").item<int64_t>());
    logits = torch::randn({1000, 1000}) * io.read("is/logits_scale").item<double>();
  }
  auto probs = torch::softmax(logits, 1);
  auto is = inception_score(probs, 10);
  double want_mean = io.read("is/IS_mean_10_splits").item<double>();
  double want_std = io.read("is/IS_std_10_splits").item<double>();
  std::cout << "  IS " << is.mean << " +/- " << is.std << " reference " << want_mean << " +/- " << want_std << "\n";
  CHECK(std::abs(is.mean - want_mean) <= 1e-4 * want_mean);
  CHECK(std::abs(is.std - want_std) <= 1e-4 * want_std + 1e-5);
  // Uniform predictions score exactly 1; confident predictions of k distinct classes score k.
  CHECK(inception_score(torch::full({20, 5}, 0.2), 10).mean == Approx(1.0).epsilon(1e-12));
  auto onehot = torch::eye(4).repeat({5, 1});
  CHECK(inception_score(onehot, 1).mean == Approx(4.0).epsilon(1e-12));
  CHECK_THROWS_WITH(inception_score(torch::full({5, 3}, 1.0 / 3), 10), Catch::Contains("splits"));
}

TEST_CASE("KID: unbiased polynomial MMD² equals a direct float64 sum") {
  torch::manual_seed(2);
  auto x = torch::randn({23, 7}, torch::kFloat64), y = torch::randn({19, 7}, torch::kFloat64) * 1.2 + 0.2;
  auto k = [](const torch::Tensor& a, const torch::Tensor& b) {
    double dot = 0;
    for (int64_t i = 0; i < a.size(0); ++i) dot += a[i].item<double>() * b[i].item<double>();
    return std::pow(dot / a.size(0) + 1.0, 3);
  };
  double sxx = 0, syy = 0, sxy = 0;
  const int64_t m = x.size(0), n = y.size(0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < m; ++j)
      if (i != j) sxx += k(x[i], x[j]);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      if (i != j) syy += k(y[i], y[j]);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) sxy += k(x[i], y[j]);
  double direct = sxx / (m * (m - 1.0)) + syy / (n * (n - 1.0)) - 2 * sxy / (double(m) * n);
  double got = polynomial_mmd2_unbiased(x, y);
  std::cout << "  MMD² " << got << " direct " << direct << "\n";
  CHECK(std::abs(got - direct) <= 1e-12 * std::abs(direct) + 1e-15);

  // Subsets: capped at the smaller set, reproducible by seed, and one full-size subset is the plain MMD².
  auto r = kernel_inception_distance(x, y, 5, 1000, 7);
  CHECK(r.subset_size == 19);
  CHECK(r.subsets == 5);
  CHECK(kernel_inception_distance(x, y, 5, 1000, 7).mean == r.mean);
  auto whole = kernel_inception_distance(x.narrow(0, 0, 19), y, 1, 19, 3);
  CHECK(whole.mean == Approx(polynomial_mmd2_unbiased(x.narrow(0, 0, 19), y)).epsilon(1e-12));
  CHECK(whole.std == 0);
  // Same distribution: KID near 0; shifted: clearly positive.
  auto p = torch::randn({300, 8}, torch::kFloat64), q = torch::randn({300, 8}, torch::kFloat64);
  auto same = kernel_inception_distance(p, q, 10, 100, 0);
  auto diff = kernel_inception_distance(p, q + 1.0, 10, 100, 0);
  std::cout << "  KID same " << same.mean << " shifted " << diff.mean << "\n";
  CHECK(std::abs(same.mean) < diff.mean / 10);
}
