// The metrics chosen by name (metric_registry.h): good lists and every kind of bad one, what a
// selection asks compute_scores for, and the keys and lines each metric writes.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "libbiggan/metrics/metric_registry.h"
#include "libbiggan/util/error.h"

using namespace biggan;
using namespace biggan::metrics;

TEST_CASE("metric lists: names in order, spaces trimmed, a shared sample count") {
  auto all = parse_metrics("fid,is,kid,pr,dc,accuracy");
  REQUIRE(all.metrics.size() == 6);
  CHECK((all.metrics[0] == Metric::kFid && all.metrics[1] == Metric::kIs && all.metrics[2] == Metric::kKid &&
         all.metrics[3] == Metric::kPrecisionRecall && all.metrics[4] == Metric::kDensityCoverage &&
         all.metrics[5] == Metric::kAccuracy));
  CHECK(all.num_samples == -1);
  CHECK(all.names() == "fid,is,kid,pr,dc,accuracy");
  CHECK(all.needs_features());

  auto two = parse_metrics(" pr , fid ");
  CHECK(two.names() == "pr,fid");
  CHECK(two.has(Metric::kFid));
  CHECK_FALSE(two.has(Metric::kIs));

  CHECK_FALSE(parse_metrics("fid,is,accuracy").needs_features());
  CHECK(parse_metrics("fid10k").num_samples == 10000);
  CHECK(parse_metrics("fid50k,kid50k,pr").num_samples == 50000);
  CHECK(parse_metrics("pr,dc2k").num_samples == 2000);
  CHECK(valid_metric_names() == "fid, is, kid, pr, dc, accuracy");
}

TEST_CASE("metric lists: unknown, empty, repeated names and mixed counts are one-line errors") {
  auto message = [](const std::string& list) {
    try {
      parse_metrics(list, "--metrics");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  for (const char* bad : {"fidd", "FID", "fid50k_full", "precision", "k", "10k", "fidk", "fid1000"}) {
    const auto m = message(bad);
    INFO(bad << ": " << m);
    CHECK_THAT(m, Catch::StartsWith("--metrics: unknown metric '" + std::string(bad) + "'"));
    CHECK_THAT(m, Catch::Contains("valid: fid, is, kid, pr, dc, accuracy"));
    CHECK(m.find('\n') == std::string::npos);
  }
  CHECK_THAT(message(""), Catch::Contains("an empty metric name"));
  CHECK_THAT(message("fid,,kid"), Catch::Contains("an empty metric name"));
  CHECK_THAT(message("fid,"), Catch::Contains("an empty metric name"));
  CHECK_THAT(message("fid,kid,fid"), Catch::Contains("'fid' named twice"));
  CHECK_THAT(message("fid10k,fid"), Catch::Contains("'fid' named twice"));
  CHECK_THAT(message("fid10k,kid50k"), Catch::Contains("fid10k and kid50k ask for different sample counts"));
  CHECK_THAT(message("fid0k"), Catch::Contains("asks for no samples"));
  CHECK_THROWS_WITH(parse_metrics("nope", "gan-train --metrics"), Catch::StartsWith("gan-train --metrics: unknown"));
}

TEST_CASE("a selection asks compute_scores for exactly its metrics; each writes its keys and line") {
  ScoreOptions base;
  base.is_splits = 3;
  base.pr_k = 4;
  auto o = score_options_for(parse_metrics("pr,fid"), base);
  CHECK(o.pr);
  CHECK_FALSE(o.dc);
  CHECK_FALSE(o.kid);
  CHECK_FALSE(o.accuracy);
  CHECK(o.is_splits == 3);
  CHECK(o.pr_k == 4);
  CHECK(o.needs_features());
  CHECK_FALSE(score_options_for(parse_metrics("fid,is")).needs_features());
  auto a = score_options_for(parse_metrics("accuracy,kid,dc"));
  CHECK((a.accuracy && a.kid && a.dc && !a.pr));

  // compute_scores on a run with features, probabilities and labels, against reference features.
  auto gen = at::detail::createCPUGenerator(4);
  FeatureRunResult run;
  run.source = "test run";
  run.features = torch::randn({40, 5}, gen, torch::kFloat32);
  run.count = 40;
  run.moments = moments_of(run.features);
  run.probs = torch::softmax(torch::randn({40, 3}, gen, torch::kFloat64), 1);
  run.predicted = run.probs.argmax(1);
  run.num_classes = 3;
  run.labels = torch::arange(40).remainder(3);
  auto ref = torch::randn({50, 5}, gen, torch::kFloat32) + 0.3;
  const auto ref_moments = moments_of(ref);
  auto chosen = parse_metrics("dc,pr,accuracy,kid,is,fid");
  auto opts = score_options_for(chosen);
  opts.kid_subset_size = 20;
  opts.is_splits = 2;
  auto s = compute_scores(run, &ref_moments, opts, ref);
  for (Metric m : chosen.metrics) CHECK(has_metric(m, s));
  const auto pr = precision_recall(ref, run.features, 3);
  const auto dc = density_coverage(ref, run.features, 5);
  CHECK(s.pr.precision == pr.precision);
  CHECK(s.pr.recall == pr.recall);
  CHECK(s.dc.density == dc.density);
  CHECK(s.dc.coverage == dc.coverage);

  auto j = Json::object();
  for (Metric m : chosen.metrics) metric_to_json(m, s, j);
  std::vector<std::string> keys;
  for (const auto& kv : j.items()) keys.push_back(kv.first);
  CHECK(keys == std::vector<std::string>{"density", "coverage", "dc_k", "precision", "recall", "pr_k",
                                         "conditional_accuracy", "per_class_accuracy", "KID_mean", "KID_std",
                                         "KID_subsets", "KID_subset_size", "IS_mean", "IS_std", "IS_splits", "FID"});
  CHECK(j["dc_k"].as_int() == 5);
  CHECK(j["precision"].as_double() == pr.precision);
  for (Metric m : chosen.metrics)
    for (const auto& key : metric_headline_keys(m)) CHECK(j.contains(key));

  CHECK_THAT(metric_text(Metric::kPrecisionRecall, s),
             Catch::Matches("precision: [01]\\.\\d{6}, recall: [01]\\.\\d{6} \\(k=3\\)"));
  CHECK_THAT(metric_text(Metric::kDensityCoverage, s), Catch::StartsWith("density: ") && Catch::EndsWith("(k=5)"));
  CHECK_THAT(metric_text(Metric::kFid, s), Catch::StartsWith("FID: "));

  // A metric the scores do not hold writes nothing.
  Scores none;
  auto empty = Json::object();
  for (Metric m : chosen.metrics) {
    CHECK_FALSE(has_metric(m, none));
    metric_to_json(m, none, empty);
    CHECK(metric_text(m, none).empty());
  }
  CHECK(empty.items().empty());
}
