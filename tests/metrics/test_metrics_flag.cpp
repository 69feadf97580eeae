// `fid --metrics` and `gan-train --metrics` end to end on small fixtures made here: moment files with
// features, HDF5 image sets scored by a small (untrained) Fashion-MNIST classifier, and the tiny
// gan-train run. Without --metrics the tools' records keep their keys.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "libbiggan/metrics/fashion_classifier.h"
#include "libbiggan/metrics/manifold_metrics.h"
#include "libbiggan/metrics/moments_file.h"
#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/training/experiment.h"
#include "libbiggan/util/json.h"
#include "tests/metrics/metrics_test_util.h"
#include "tests/training/tiny_run.h"

using namespace biggan;
using namespace biggan::metrics;

namespace {

std::string fid_tool() { return "'" + test::tool_path("fid").string() + "'"; }

// Runs `cmd`, returning its exit code; stdout and stderr kept in the folder.
int run(const std::string& cmd, const test::TempDir& dir) {
  const int rc =
      test::run_shell(cmd + " > '" + (dir / "out.txt").string() + "' 2> '" + (dir / "err.txt").string() + "'");
  std::cout << "  $ " << cmd.substr(cmd.find("' ") + 2) << " -> " << rc << "\n";
  return rc;
}

Json run_json(const std::string& cmd, const test::TempDir& dir) {
  const int rc = run(cmd + " --json", dir);
  INFO(cmd << "\nstderr: " << test::slurp(dir / "err.txt"));
  REQUIRE(rc == 0);
  return Json::parse(test::slurp(dir / "out.txt"), cmd);
}

// The keys of a record, without "provenance" (who wrote it: tests/training/test_provenance.cpp).
std::vector<std::string> keys_of(const Json& j) {
  std::vector<std::string> keys;
  for (const auto& kv : j.items())
    if (kv.first != "provenance") keys.push_back(kv.first);
  return keys;
}

torch::Tensor gaussian(int64_t n, int64_t d, double shift, double scale, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  return torch::randn({n, d}, gen, torch::kFloat32) * scale + shift;
}

void write_images(const std::filesystem::path& p, int64_t n, int64_t size, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  auto f = h5::File::create(p.string());
  f.write("imgs", torch::randint(0, 256, {n, 3, size, size}, gen, torch::kInt64).to(torch::kUInt8));
  f.write("labels", torch::arange(n, torch::kInt64).remainder(4));
  f.close();
}

}  // namespace

TEST_CASE("fid --metrics on moment files with features: exactly the named metrics, the library's numbers") {
  test::TempDir dir;
  auto real = gaussian(120, 6, 0, 1, 1), fake = gaussian(100, 6, 0.3, 1.1, 2);
  save_moments_npz((dir / "real.npz").string(), moments_of(real), real);
  save_moments_npz((dir / "fake.npz").string(), moments_of(fake), fake);
  save_moments_npz((dir / "bare.npz").string(), moments_of(real));
  const std::string files = " '" + (dir / "fake.npz").string() + "' '" + (dir / "real.npz").string() + "'";

  // Without --metrics: today's keys.
  auto old = run_json(fid_tool() + files, dir);
  CHECK(keys_of(old) ==
        std::vector<std::string>{"random_weights", "FID", "KID_mean", "KID_std", "KID_subsets", "KID_subset_size"});

  auto j = run_json(fid_tool() + " --metrics pr,dc,fid,kid" + files, dir);
  CHECK(keys_of(j) == std::vector<std::string>{"random_weights", "precision", "recall", "pr_k", "density", "coverage",
                                               "dc_k", "FID", "KID_mean", "KID_std", "KID_subsets", "KID_subset_size"});
  const auto pr = precision_recall(real, fake, 3);
  const auto dc = density_coverage(real, fake, 5);
  std::cout << "  precision " << pr.precision << ", recall " << pr.recall << ", density " << dc.density
            << ", coverage " << dc.coverage << "\n";
  CHECK(j["precision"].as_double() == pr.precision);
  CHECK(j["recall"].as_double() == pr.recall);
  CHECK(j["density"].as_double() == dc.density);
  CHECK(j["coverage"].as_double() == dc.coverage);
  CHECK(j["pr_k"].as_int() == 3);
  CHECK(j["dc_k"].as_int() == 5);
  CHECK(j["FID"].as_double() == old["FID"].as_double());
  CHECK(j["KID_mean"].as_double() == old["KID_mean"].as_double());

  auto k = run_json(fid_tool() + " --metrics dc,pr --pr-k 2 --dc-k 4" + files, dir);
  CHECK(k["pr_k"].as_int() == 2);
  CHECK(k["dc_k"].as_int() == 4);
  CHECK(k["recall"].as_double() == precision_recall(real, fake, 2).recall);
  CHECK(k["coverage"].as_double() == density_coverage(real, fake, 4).coverage);
  CHECK_FALSE(k.contains("FID"));

  // The same file on both sides: the edge case every user tries first.
  const std::string same = " '" + (dir / "real.npz").string() + "' '" + (dir / "real.npz").string() + "'";
  auto s = run_json(fid_tool() + " --metrics pr,dc" + same, dir);
  CHECK(s["precision"].as_double() == 1.0);
  CHECK(s["recall"].as_double() == 1.0);
  CHECK(s["coverage"].as_double() == 1.0);
  CHECK(s["density"].as_double() == 1.0);

  // Text: one line per metric, in the order named.
  REQUIRE(run(fid_tool() + " --metrics fid,pr" + files, dir) == 0);
  const auto text = test::slurp(dir / "out.txt");
  std::cout << text;
  char want[128];
  std::snprintf(want, sizeof want, "precision: %.6f, recall: %.6f (k=3)\n", pr.precision, pr.recall);
  CHECK(text.find("FID: ") == 0);
  CHECK(text.find(want) != std::string::npos);
  CHECK(text.find("KID") == std::string::npos);
}

TEST_CASE("fid --metrics refuses bad names, missing inputs and the old switches, in one line") {
  test::TempDir dir;
  auto real = gaussian(20, 4, 0, 1, 3);
  save_moments_npz((dir / "real.npz").string(), moments_of(real), real);
  save_moments_npz((dir / "bare.npz").string(), moments_of(real));
  const std::string r = " '" + (dir / "real.npz").string() + "'", bare = " '" + (dir / "bare.npz").string() + "'";
  auto err = [&] {
    auto e = test::slurp(dir / "err.txt");
    std::cout << "    " << e;
    CHECK(std::count(e.begin(), e.end(), '\n') == 1);
    return e;
  };
  CHECK(run(fid_tool() + " --metrics fid,fidd" + r + r, dir) == 2);
  CHECK_THAT(err(), Catch::StartsWith("fid: --metrics: unknown metric 'fidd'; valid: fid, is, kid, pr, dc, accuracy"));
  CHECK(run(fid_tool() + " --metrics fid10k,kid5k" + r + r, dir) == 2);
  CHECK_THAT(err(), Catch::Contains("different sample counts"));
  CHECK(run(fid_tool() + " --metrics fid --accuracy" + r + r, dir) == 2);
  CHECK_THAT(err(), Catch::Contains("--accuracy"));
  CHECK(run(fid_tool() + " --metrics fid --limit 5" + r + r, dir) == 2);
  CHECK_THAT(err(), Catch::Contains("--limit"));
  CHECK(run(fid_tool() + " --metrics pr" + bare + r, dir) == 1);
  CHECK_THAT(err(), Catch::Contains("bare.npz") && Catch::Contains("--save-features"));
  CHECK(run(fid_tool() + " --metrics fid,dc" + r + bare, dir) == 1);
  CHECK_THAT(err(), Catch::Contains("bare.npz") && Catch::Contains("--metrics dc"));
  CHECK(run(fid_tool() + " --metrics is" + r + r, dir) == 1);
  CHECK_THAT(err(), Catch::Contains("needs the samples as images"));
  CHECK(run(fid_tool() + " --metrics pr --pr-k 0" + r + r, dir) == 2);
  CHECK_THAT(err(), Catch::Contains("--pr-k"));
  CHECK(run(fid_tool() + " --metrics pr --pr-k 25" + r + r, dir) == 1);
  CHECK_THAT(err(), Catch::Contains("needs at least 26"));
}

TEST_CASE("fid --metrics on images through the classifier: IS, accuracy, pr, dc and a sample count") {
  test::TempDir dir;
  const auto clf = test::untrained_classifier(dir.path, 8, 4);
  write_images(dir / "samples.h5", 1100, 8, 1);
  write_images(dir / "real.h5", 300, 8, 2);
  const std::string net = fid_tool() + " --network fashion-classifier --weights '" + clf + "' --batch-size 500";
  const std::string files = " '" + (dir / "samples.h5").string() + "' '" + (dir / "real.h5").string() + "'";

  auto j = run_json(net + " --metrics is,accuracy,fid1k,pr,dc" + files, dir);
  CHECK(keys_of(j) == std::vector<std::string>{"images", "reference_images", "network", "random_weights", "IS_mean",
                                               "IS_std", "IS_splits", "conditional_accuracy", "per_class_accuracy",
                                               "FID", "precision", "recall", "pr_k", "density", "coverage", "dc_k"});
  CHECK(j["images"].as_int() == 1000);
  CHECK(j["reference_images"].as_int() == 300);
  for (const char* key : {"precision", "recall", "density", "coverage"}) CHECK(j[key].as_double() >= 0);

  // The old way over the same 1000 samples gives the same shared numbers.
  auto old = run_json(net + " --accuracy --limit 1000" + files, dir);
  CHECK(keys_of(old) == std::vector<std::string>{"images", "reference_images", "network", "random_weights", "IS_mean",
                                                 "IS_std", "IS_splits", "FID", "KID_mean", "KID_std", "KID_subsets",
                                                 "KID_subset_size", "conditional_accuracy", "per_class_accuracy"});
  for (const char* key : {"IS_mean", "IS_std", "FID", "conditional_accuracy"})
    CHECK(j[key].as_double() == old[key].as_double());

  CHECK(run(net + " --metrics fid2k" + files, dir) == 1);
  CHECK_THAT(test::slurp(dir / "err.txt"), Catch::Contains("asks for 2000 samples; it holds 1100"));
}

TEST_CASE("gan-train --metrics: each test record holds the chosen metrics and their floors") {
  torch::set_num_threads(1);
  test::TempDir dir;
  const auto data = test::make_tiny_data(dir.path);
  const auto clf = test::untrained_classifier(dir.path, 32, 4);
  const std::vector<std::string> test_flags = {"--total_itr", "2", "--test_every", "2", "--classifier", clf,
                                               "--eval_real", data.string(), "--eval_samples", "40"};
  auto with = [&](const std::string& root, std::vector<std::string> extra) {
    auto flags = test_flags;
    flags.insert(flags.end(), extra.begin(), extra.end());
    return test::tiny_args(dir / root, data, flags);
  };
  auto first_record = [&](const std::string& root) {
    const auto cmd = parse_train_command(with(root, {}));
    const auto log = experiment_paths(cmd.config, experiment_name_from_config(cmd.config)).test_log;
    const auto text = test::slurp(log);
    REQUIRE(!text.empty());
    return Json::parse(text.substr(0, text.find('\n')));
  };

  REQUIRE(test::run_gan_train(with("default", {}), dir / "default.log") == 0);
  auto old = first_record("default");
  CHECK(keys_of(old) == std::vector<std::string>{"itr", "IS_mean", "IS_std", "FID", "count", "classifier_FID",
                                                 "IS_splits", "conditional_accuracy", "per_class_accuracy",
                                                 "metric_network", "floor_FID", "floor_IS_mean",
                                                 "floor_conditional_accuracy", "_stamp"});

  REQUIRE(test::run_gan_train(with("chosen", {"--metrics", "fid,pr,dc,accuracy"}), dir / "chosen.log") == 0);
  auto rec = first_record("chosen");
  std::cout << "  " << rec.dump() << "\n";
  CHECK(rec["itr"].as_int() == 2);
  CHECK(std::isnan(rec["IS_mean"].as_double()));  // not chosen
  CHECK(rec["FID"].as_double() == old["FID"].as_double());
  CHECK(rec["conditional_accuracy"].as_double() == old["conditional_accuracy"].as_double());
  for (const char* key : {"precision", "recall", "density", "coverage", "floor_precision", "floor_recall",
                          "floor_density", "floor_coverage", "floor_FID", "floor_conditional_accuracy"})
    CHECK(rec[key].as_double() >= 0);
  CHECK(rec["pr_k"].as_int() == 3);
  CHECK(rec["num_samples"].as_int() == 40);
  CHECK(rec["floor_FID"].as_double() == old["floor_FID"].as_double());
  CHECK_FALSE(rec.contains("KID_mean"));
  CHECK_FALSE(rec.contains("floor_IS_mean"));

  // Bad lists are usage errors before any folder is made.
  for (const auto& bad : std::vector<std::vector<std::string>>{
           {"--metrics", "fid,precision"}, {"--metrics", "fid", "--num_best_copies", "2"}}) {
    CHECK(test::run_gan_train(with("bad", bad), dir / "bad.log") == 2);
    std::cout << "    " << test::slurp(dir / "bad.log");
    CHECK_FALSE(std::filesystem::exists(dir / "bad"));
  }
  CHECK_THAT(test::slurp(dir / "bad.log"), Catch::Contains("--which_best IS needs is in --metrics"));
  auto no_network = test::tiny_args(dir / "bad", data, {"--total_itr", "2", "--metrics", "pr"});
  CHECK(test::run_gan_train(no_network, dir / "bad.log") == 2);
  CHECK_THAT(test::slurp(dir / "bad.log"), Catch::Contains("--metrics needs a test network"));
}
