// The one scoring path: the Fashion-MNIST classifier is a feature network like Inception
// (ClassifierExtractor), and IS / FID / KID / conditional accuracy come from one run through
// compute_scores for any network. Its features and logits are the model's; the shared scores equal
// the hand computation; the accuracy works for any network with logits on a labelled source; the
// classifier's old entry points (classify, scores_from_outputs, ClassifierScorer) agree with it; and
// `fid --network fashion-classifier` / `inception-moments` give the same numbers as the library.
#include <cmath>

#include "libbiggan/metrics/classifier_extractor.h"
#include "libbiggan/metrics/fashion_classifier.h"
#include "libbiggan/metrics/feature_run.h"
#include "libbiggan/metrics/feature_scorer.h"
#include "libbiggan/metrics/image_source.h"
#include "libbiggan/metrics/moments_file.h"
#include "libbiggan/metrics/scores.h"
#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/util/error.h"
#include "libbiggan/util/json.h"
#include "tests/metrics/metrics_test_util.h"

using namespace biggan;
using namespace biggan::metrics;

namespace {

ClassifierArch tiny_arch() {
  ClassifierArch a;
  a.channels = {4, 8, 8};
  a.feature_dim = 16;
  return a;
}

// A classifier with seeded random weights and non-trivial BN statistics, in eval mode.
FashionClassifier seeded_classifier(uint64_t seed) {
  torch::manual_seed(seed);
  FashionClassifier model(tiny_arch());
  torch::NoGradGuard ng;
  for (auto& b : model->named_buffers())
    if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 2.0);
  model->eval();
  return model;
}

torch::Tensor uint8_images(int64_t n, uint64_t seed, int64_t side = 32) {
  auto gen = at::detail::createCPUGenerator(seed);
  return torch::randint(0, 256, {n, 3, side, side}, gen, torch::kInt64).to(torch::kUInt8);
}

// Logits = the three channel means: the predicted class is the brightest channel. Features = the same.
class BrightestChannel : public FeatureExtractor {
 public:
  FeatureBatch extract(const torch::Tensor& images) override {
    auto m = images.mean({2, 3});
    return {m, m * 10};
  }
  std::string description() const override { return "brightest-channel"; }
};

// Images whose channel k is bright (class k), others dark.
torch::Tensor channel_images(const torch::Tensor& classes) {
  auto x = torch::full({classes.size(0), 3, 4, 4}, -0.8f);
  for (int64_t i = 0; i < classes.size(0); ++i) x[i][classes[i].item<int64_t>()].fill_(0.9f);
  return x;
}

}  // namespace

TEST_CASE("classifier extractor: features and logits are the model's", "[scoring]") {
  auto model = seeded_classifier(1);
  auto x = uint8_images(6, 2);
  ClassifierExtractor ex(model, "/some/dir/clf.pth");
  CHECK(ex.description() == "fashion-classifier (clf.pth)");
  auto b = ex.extract(uint8_to_unit_range(x));
  torch::NoGradGuard ng;
  CHECK(torch::equal(b.features, model->features(x)));
  CHECK(b.logits.scalar_type() == torch::kFloat64);
  CHECK(torch::equal(b.logits, model->logits(x).to(torch::kFloat64)));
  // A model in training mode is run in eval mode and left as it was.
  model->train();
  auto again = ex.extract(uint8_to_unit_range(x));
  CHECK(model->is_training());
  CHECK(torch::equal(again.features, b.features));
  model->eval();
}

TEST_CASE("the image sources' uint8 mapping is the classifier's (x / 127.5 - 1), bit for bit", "[scoring]") {
  auto all = torch::arange(256, torch::kInt64).to(torch::kUInt8).view({1, 1, 16, 16});
  CHECK(torch::equal(uint8_to_unit_range(all), classifier_input(all).narrow(1, 0, 1)));
}

TEST_CASE("make_feature_extractor selects the classifier by name", "[scoring]") {
  test::TempDir dir;
  auto model = seeded_classifier(3);
  const auto path = (dir / "clf.pth").string();
  save_classifier(path, model);
  ExtractorOptions o;
  o.network = kClassifierNetwork;
  o.weights = path;
  o.device = "cpu";
  auto ex = make_feature_extractor(o);
  CHECK(ex->description() == "fashion-classifier (clf.pth)");
  CHECK_FALSE(ex->random_weights());
  auto x = uint8_to_unit_range(uint8_images(3, 4));
  torch::NoGradGuard ng;
  CHECK(torch::equal(ex->extract(x).features, model->features(x)));

  o.weights = "";
  CHECK_THROWS_WITH(make_feature_extractor(o), Catch::Contains("--weights"));
  o.random_weights = true;
  CHECK_THROWS_WITH(make_feature_extractor(o), Catch::Contains("--random-weights"));
  ExtractorOptions unknown;
  unknown.network = "fashion";
  CHECK_THROWS_WITH(make_feature_extractor(unknown), Catch::Contains("unknown network 'fashion'"));
  ExtractorOptions missing;
  missing.network = kClassifierNetwork;
  missing.weights = (dir / "nope.pth").string();
  CHECK_THROWS_WITH(make_feature_extractor(missing), Catch::Contains("nope.pth"));
}

TEST_CASE("shared scores of the classifier equal the hand computation", "[scoring]") {
  auto model = seeded_classifier(5);
  auto real = uint8_images(40, 6), samples = uint8_images(30, 7);
  auto labels = torch::arange(30, torch::kInt64) % 10;
  FeatureRunOptions run;
  run.batch_size = 7;  // uneven batches
  auto real_src = tensor_image_source(real, {}, "real");
  FeatureScorer scorer(std::make_shared<ClassifierExtractor>(model), *real_src, run);
  auto src = tensor_image_source(samples, labels, "samples");
  ScoreOptions so;
  so.is_splits = 3;
  auto s = scorer.score(*src, so);

  // By hand: the model on the same batches, np.mean/np.cov moments, exact FID, IS of the float64
  // softmax, the share of argmax == label.
  torch::NoGradGuard ng;
  auto in_batches = [&](const torch::Tensor& x, bool logits) {
    std::vector<torch::Tensor> out;
    for (int64_t i = 0; i < x.size(0); i += 7) {
      auto part = x.narrow(0, i, std::min<int64_t>(7, x.size(0) - i));
      out.push_back(logits ? model->logits(part) : model->features(part));
    }
    return torch::cat(out);
  };
  auto mr = moments_of(in_batches(real, false)), ms = moments_of(in_batches(samples, false));
  auto fid = frechet_distance(ms.mu, ms.sigma, mr.mu, mr.sigma).fid;
  auto probs = torch::softmax(in_batches(samples, true).to(torch::kFloat64), 1);
  auto is = inception_score(probs, 3);
  auto hit = probs.argmax(1).eq(labels);
  CHECK(s.count == 30);
  REQUIRE(s.has_fid);
  CHECK(s.fid == Approx(fid).epsilon(1e-12));
  REQUIRE(s.has_is);
  CHECK(s.is.mean == is.mean);
  CHECK(s.is.std == is.std);
  CHECK(s.is.splits == 3);
  REQUIRE(s.has_labels);
  CHECK(s.conditional_accuracy == Approx(hit.to(torch::kFloat64).mean().item<double>()));
  REQUIRE(s.per_class_accuracy.size() == 10);
  for (int64_t k = 0; k < 10; ++k) {
    CHECK(s.per_class_count[k] == 3);
    CHECK(s.per_class_accuracy[k] == Approx(hit.index({labels.eq(k)}).to(torch::kFloat64).mean().item<double>()));
  }
  CHECK_FALSE(s.has_kid);

  // The classifier's entry points are thin uses of the same path: same numbers.
  ClassifierScorer cs(model, real, 7);
  auto c = cs.score(samples, labels, 3);
  CHECK(c.fid == s.fid);
  CHECK(c.is.mean == s.is.mean);
  CHECK(c.conditional_accuracy == s.conditional_accuracy);
  CHECK(torch::equal(cs.real_moments().sigma, scorer.reference().sigma));
  auto out = classify(model, samples, 7);
  CHECK(torch::equal(out.probs.argmax(1), out.predicted));
  auto f = scores_from_outputs(out, scorer.reference(), labels, 3);
  CHECK(f.fid == Approx(s.fid).epsilon(1e-12));
  CHECK(f.is.mean == s.is.mean);
  CHECK(f.conditional_accuracy == s.conditional_accuracy);
  CHECK(classifier_accuracy(model, samples, labels, 7) == s.conditional_accuracy);
  auto j = scores_to_json(s);
  CHECK(j["classifier_FID"].as_double() == s.fid);
  CHECK(j["per_class_accuracy"].as_array().size() == 10);

  // KID when asked, from the kept features on both sides.
  run.keep_features = true;
  auto real_again = tensor_image_source(real, {}, "real");
  FeatureScorer with_features(std::make_shared<ClassifierExtractor>(model), *real_again, run);
  so.kid = true;
  so.kid_subset_size = 20;
  so.kid_subsets = 5;
  auto k = with_features.score(*tensor_image_source(samples, labels, "samples"), so);
  REQUIRE(k.has_kid);
  auto by_hand = kernel_inception_distance(in_batches(samples, false), in_batches(real, false), 5, 20, 0);
  CHECK(k.kid.mean == Approx(by_hand.mean).epsilon(1e-12));
}

TEST_CASE("conditional accuracy for any network with logits on a labelled source", "[scoring]") {
  // 12 images: classes 0,1,2 repeated; the labels of images 0 and 4 are wrong (0 -> 1, 1 -> 2).
  auto classes = torch::arange(12, torch::kInt64) % 3;
  auto labels = classes.clone();
  labels[0] = 1;
  labels[4] = 2;
  auto images = channel_images(classes);
  BrightestChannel net;
  FeatureRunOptions run;
  run.batch_size = 5;
  auto r = run_features(*tensor_image_source(images, labels, "labelled"), net, run);
  CHECK(torch::equal(r.predicted, classes));
  CHECK(torch::equal(r.labels, labels));
  CHECK(r.num_classes == 3);
  ScoreOptions so;
  so.is_splits = 2;
  auto s = compute_scores(r, nullptr, so);
  CHECK_FALSE(s.has_fid);
  REQUIRE(s.has_labels);
  CHECK(s.conditional_accuracy == Approx(10.0 / 12));
  // Label 0: images 3, 6, 9 (all class 0); label 1: 0, 1, 7, 10 (3 right); label 2: 2, 4, 5, 8, 11 (4 right).
  CHECK(s.per_class_accuracy[0] == Approx(1.0));
  CHECK(s.per_class_accuracy[1] == Approx(0.75));
  CHECK(s.per_class_accuracy[2] == Approx(0.8));
  CHECK(s.per_class_count == std::vector<int64_t>{3, 4, 5});
  so.accuracy = false;
  CHECK_FALSE(compute_scores(r, nullptr, so).has_labels);

  // The labels of an HDF5 file travel too; labels outside the network's classes name the source.
  test::TempDir dir;
  {
    auto f = h5::File::create((dir / "s.h5").string());
    f.write("imgs", ((images + 1) * 127.5).round().to(torch::kUInt8).contiguous());
    f.write("labels", (labels + 1).contiguous());
    f.close();
  }
  auto h5 = run_features(*open_image_source((dir / "s.h5").string()), net, run);
  CHECK(torch::equal(h5.labels, labels + 1));
  CHECK_THROWS_WITH(compute_scores(h5, nullptr, ScoreOptions{}), Catch::Contains("s.h5") && Catch::Contains("[0, 3)"));
  // Without labels: no accuracy, no error.
  so.accuracy = true;
  auto unlabelled = run_features(*tensor_image_source(images, {}, "unlabelled"), net, run);
  CHECK_FALSE(unlabelled.labels.defined());
  CHECK_FALSE(compute_scores(unlabelled, nullptr, so).has_labels);
}

TEST_CASE("fid and inception-moments with --network fashion-classifier give the library's numbers", "[scoring]") {
  test::TempDir dir;
  auto model = seeded_classifier(9);
  const auto clf = (dir / "clf.pth").string();
  save_classifier(clf, model);
  auto real = uint8_images(50, 10), samples = uint8_images(40, 11);
  auto labels = torch::arange(40, torch::kInt64) % 10;
  auto write = [&](const std::string& name, const torch::Tensor& x, const torch::Tensor& y) {
    auto f = h5::File::create((dir / name).string());
    f.write("imgs", x.contiguous());
    if (y.defined()) f.write("labels", y.contiguous());
    f.close();
  };
  write("real.h5", real, {});
  write("samples.h5", samples, labels);

  FeatureRunOptions run;
  run.batch_size = 50;
  auto real_src = open_image_source((dir / "real.h5").string());
  FeatureScorer scorer(std::make_shared<ClassifierExtractor>(model), *real_src, run);
  auto expect = scorer.score(*open_image_source((dir / "samples.h5").string()));

  const std::string d = dir.path.string();
  const std::string common = " --network fashion-classifier --weights " + clf + " --device cpu --threads 1";
  auto fid = test::tool_path("fid").string();
  REQUIRE(test::run_shell(fid + " " + d + "/samples.h5 " + d + "/real.h5 --accuracy --no-kid --json" + common + " > " +
                          d + "/fid.json 2>" + d + "/fid.err") == 0);
  auto j = Json::parse(test::slurp(dir / "fid.json"));
  CHECK(j["network"].as_string() == "fashion-classifier (clf.pth)");
  CHECK(j["FID"].as_double() == Approx(expect.fid).epsilon(1e-12));
  CHECK(j["IS_mean"].as_double() == Approx(expect.is.mean).epsilon(1e-12));
  CHECK(j["conditional_accuracy"].as_double() == expect.conditional_accuracy);
  CHECK(j["per_class_accuracy"].as_array().size() == 10);

  auto moments = test::tool_path("inception-moments").string();
  REQUIRE(test::run_shell(moments + " " + d + "/real.h5 -o " + d + "/real.npz" + common + " > /dev/null 2>" + d +
                          "/m.err") == 0);
  auto m = load_moments_npz((dir / "real.npz").string());
  CHECK(torch::allclose(m.sigma, scorer.reference().sigma, 1e-12, 1e-15));
  REQUIRE(test::run_shell(fid + " " + d + "/samples.h5 " + d + "/real.npz --no-kid --json" + common + " > " + d +
                          "/fid2.json 2>" + d + "/fid2.err") == 0);
  CHECK(Json::parse(test::slurp(dir / "fid2.json"))["FID"].as_double() == Approx(expect.fid).epsilon(1e-12));
  CHECK_FALSE(Json::parse(test::slurp(dir / "fid2.json")).find("conditional_accuracy"));

  // --accuracy on unlabelled samples, and the classifier without its weights, are clear errors.
  CHECK(test::run_shell(fid + " " + d + "/real.h5 " + d + "/real.npz --accuracy" + common + " > /dev/null 2>" + d +
                        "/e1.err") == 1);
  CHECK_THAT(test::slurp(dir / "e1.err"), Catch::Contains("real.h5") && Catch::Contains("--accuracy"));
  CHECK(test::run_shell(fid + " " + d + "/samples.h5 " + d + "/real.npz --network fashion-classifier --threads 1"
                        " > /dev/null 2>" + d + "/e2.err") != 0);
  CHECK_THAT(test::slurp(dir / "e2.err"), Catch::Contains("--weights"));
}
