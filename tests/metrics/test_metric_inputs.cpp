// Numbers that must not reach a score: NaN pixels, NaN features, NaN or non-symmetric moments, a
// covariance with clearly negative eigenvalues (a negative FID), float pixels outside [-1, 1],
// integer pixels other than uint8, and 'imgs' that are not uint8.
#include <limits>

#include "libbiggan/metrics/feature_run.h"
#include "libbiggan/metrics/frechet_distance.h"
#include "libbiggan/metrics/image_source.h"
#include "libbiggan/metrics/moments_file.h"
#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/serialization/npz.h"
#include "libbiggan/util/seeded_generator_scope.h"
#include "tests/metrics/metrics_test_util.h"

using namespace biggan;
using namespace biggan::metrics;
namespace fs = std::filesystem;

namespace {

// Features = per-image channel means (3-d), logits = the same: enough to run the whole path.
class MeanExtractor : public FeatureExtractor {
 public:
  explicit MeanExtractor(bool emit_nan = false) : emit_nan_(emit_nan) {}
  FeatureBatch extract(const torch::Tensor& images) override {
    auto f = images.mean({2, 3});
    if (emit_nan_) f = f / 0.0 * 0.0;
    return {f, f};
  }
  std::string description() const override { return "mean-extractor"; }

 private:
  bool emit_nan_;
};

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

}  // namespace

TEST_CASE("NaN pixels and NaN features are errors naming the images, never a NaN score", "[validation]") {
  auto x = torch::rand({6, 3, 4, 4}) * 2 - 1;
  auto with_nan = x.clone();
  with_nan[4][1][2][2] = kNaN;
  MeanExtractor mean;
  FeatureRunOptions o;
  o.batch_size = 2;
  {
    auto src = npz_image_source({{"x", with_nan}}, "samples.npz");
    CHECK_THROWS_WITH(run_features(*src, mean, o), Catch::Contains("samples.npz") && Catch::Contains("images 4..5") &&
                                                       Catch::Contains("NaN"));
  }
  {
    MeanExtractor broken(true);
    auto src = npz_image_source({{"x", x}}, "samples.npz");
    CHECK_THROWS_WITH(run_features(*src, broken, o), Catch::Contains("mean-extractor") && Catch::Contains("NaN"));
  }
  auto src = npz_image_source({{"x", x}}, "samples.npz");
  CHECK(run_features(*src, mean, o).count == 6);
}

TEST_CASE("float pixels outside [-1, 1] and integer pixels other than uint8 are refused", "[validation]") {
  torch::Tensor im, lb;
  auto src = npz_image_source({{"x", torch::full({2, 3, 4, 4}, 200.f)}}, "as_float.npz");
  CHECK_THROWS_WITH(src->next(2, im, lb), Catch::Contains("as_float.npz") && Catch::Contains("[-1, 1]"));
  src = npz_image_source({{"x", torch::full({2, 3, 4, 4}, 7, torch::kInt32)}}, "ints.npz");
  CHECK_THROWS_WITH(src->next(2, im, lb), Catch::Contains("ints.npz") && Catch::Contains("uint8"));
  src = npz_image_source({{"x", torch::full({2, 3, 4, 4}, 1.f)}}, "edge.npz");
  CHECK(src->next(2, im, lb));

  test::TempDir tmp;
  const auto path = (tmp / "float_imgs.hdf5").string();
  {
    auto f = h5::File::create(path);
    f.write("imgs", torch::zeros({2, 3, 4, 4}));
    f.write("images", torch::zeros({2, 3, 4, 4}));
    f.close();
  }
  CHECK_THROWS_WITH(open_image_source(path), Catch::Contains("float_imgs.hdf5") && Catch::Contains("uint8"));
  auto g = open_image_source(path, "images");  // G's float output: [-1, 1] is accepted
  CHECK(g->next(2, im, lb));
}

TEST_CASE("moments: NaN, asymmetric and negative-definite covariances are refused", "[validation]") {
  test::TempDir tmp;
  const int64_t d = 5;
  auto a = torch::randn({50, d}, torch::kFloat64);
  Moments good{a.mean(0), torch::matmul((a - a.mean(0)).t(), a - a.mean(0)) / 49};

  // Writing: NaN moments are not written.
  Moments nan_m{good.mu.clone(), good.sigma.clone()};
  nan_m.mu[2] = std::nan("");
  const auto nan_path = (tmp / "nan.npz").string();
  CHECK_THROWS_WITH(save_moments_npz(nan_path, nan_m), Catch::Contains("nan.npz") && Catch::Contains("NaN"));
  CHECK(!fs::exists(nan_path));

  // Reading: NaN and asymmetric files are refused, naming the file.
  npz::save((tmp / "nan_in.npz").string(), {{"mu", nan_m.mu}, {"sigma", good.sigma}});
  CHECK_THROWS_WITH(load_moments_npz((tmp / "nan_in.npz").string()), Catch::Contains("nan_in.npz"));
  auto skew = good.sigma.clone();
  skew[0][1] += 1.0;
  npz::save((tmp / "skew.npz").string(), {{"mu", good.mu}, {"sigma", skew}});
  CHECK_THROWS_WITH(load_moments_npz((tmp / "skew.npz").string()),
                    Catch::Contains("skew.npz") && Catch::Contains("symmetric"));

  // A symmetric matrix with a clearly negative eigenvalue is no covariance: it would give FID < 0.
  auto neg = -torch::eye(d, torch::kFloat64);
  CHECK_THROWS_WITH(frechet_distance(good.mu, neg, good.mu, good.sigma),
                    Catch::Contains("covariance 1") && Catch::Contains("positive semi-definite"));
  CHECK_THROWS_WITH(frechet_distance(good.mu, good.sigma, good.mu, neg), Catch::Contains("covariance 2"));
  // Singular but PSD (rank 2 of 5) is still a covariance: scored, with the warning.
  auto b = torch::randn({3, d}, torch::kFloat64);
  auto low_rank = torch::matmul((b - b.mean(0)).t(), b - b.mean(0)) / 2;
  auto r = frechet_distance(good.mu, low_rank, good.mu, good.sigma);
  CHECK(r.singular);
  CHECK(r.fid >= 0);
}

TEST_CASE("a random-weights feature network leaves the caller's random numbers alone", "[validation]") {
  torch::manual_seed(42);
  auto expected = torch::randn({4});
  torch::manual_seed(42);
  {
    SeededGeneratorScope scope(0);
    auto inside = torch::randn({4});
    torch::manual_seed(0);
    CHECK(torch::equal(inside, torch::randn({4})));
  }
  CHECK(torch::equal(torch::randn({4}), expected));

  torch::manual_seed(42);
  ExtractorOptions o;
  o.random_weights = true;
  o.device = "cpu";
  auto net = make_feature_extractor(o);
  CHECK(torch::equal(torch::randn({4}), expected));
}
