// The metrics chosen by name, as stylegan2-ada's `--metrics fid50k_full,kid50k_full`: one table of
// names for `fid --metrics` and `gan-train --metrics`, each name mapped to what compute_scores
// (scores.h) computes and to the keys it writes in JSON records and test logs.
//
//   fid       FID (Fréchet distance of the feature moments)   FID [, FID_warning]
//   is        Inception Score (IS-style score for a classifier) IS_mean, IS_std, IS_splits
//   kid       Kernel Inception Distance                        KID_mean, KID_std, KID_subsets, KID_subset_size
//   pr        improved precision / recall (k = 3)              precision, recall, pr_k
//   dc        density / coverage (k = 5)                       density, coverage, dc_k
//   accuracy  conditional and per-class accuracy               conditional_accuracy, per_class_accuracy
//
// A name may end in a sample count, `<N>k` (fid10k: 10,000 samples); every name of one list must
// then ask for the same count, since one set of samples is scored.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "libbiggan/metrics/scores.h"
#include "libbiggan/util/json.h"

namespace biggan::metrics {

enum class Metric { kFid, kIs, kKid, kPrecisionRecall, kDensityCoverage, kAccuracy };

struct MetricInfo {
  Metric metric;
  const char* name;     // as typed: "fid"
  const char* keys;     // the JSON keys it writes, for help texts
  const char* summary;  // one line for help texts
};
// Every metric, in the order help texts list them.
const std::vector<MetricInfo>& metric_table();
const MetricInfo& metric_info(Metric m);
// "fid, is, kid, pr, dc, accuracy".
std::string valid_metric_names();

struct MetricSelection {
  std::vector<Metric> metrics;  // in the order named
  int64_t num_samples = -1;     // from a `<N>k` suffix; -1: the tool's own count
  bool empty() const { return metrics.empty(); }
  bool has(Metric m) const;
  // kid, pr or dc: the features themselves are needed on both sides, not only their moments.
  bool needs_features() const;
  std::string names() const;  // "fid,pr" (without the sample count)
};

// Parses a comma-separated list ("fid,kid,pr", "fid10k,pr10k"). An unknown or repeated name, an empty
// entry or list, or two different sample counts is a biggan::Error naming `flag` and the valid names.
MetricSelection parse_metrics(const std::string& list, const std::string& flag = "--metrics");

// `base` (IS splits, KID subsets, k of pr / dc) asked to compute exactly the chosen metrics.
ScoreOptions score_options_for(const MetricSelection& chosen, ScoreOptions base = {});

// True when `s` holds the metric (compute_scores computed it).
bool has_metric(Metric m, const Scores& s);
// The metric's keys (see the table above) into `j`; nothing when `s` does not hold it.
void metric_to_json(Metric m, const Scores& s, Json& j);
// Its main numbers' keys (FID; IS_mean; KID_mean; precision, recall; density, coverage;
// conditional_accuracy): what a test log's floor_ keys repeat for real images.
std::vector<std::string> metric_headline_keys(Metric m);
// One line as `fid` prints it, without a newline ("FID: 12.345678"); "" when `s` does not hold it.
std::string metric_text(Metric m, const Scores& s);

}  // namespace biggan::metrics
