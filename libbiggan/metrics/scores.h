// The scores of one feature run (feature_run.h), whichever network made it: FID against reference
// moments (exact, float64), the Inception Score from the softmax (the reference's splits), KID against
// reference features, improved precision / recall and density / coverage against reference features
// (manifold_metrics.h), and the conditional accuracy (the share of images of class k the network calls
// k) when the images carry labels and the network has logits: Inception on ImageNet labels, the
// Fashion-MNIST classifier on its ten classes.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "libbiggan/metrics/feature_moments.h"
#include "libbiggan/metrics/feature_run.h"
#include "libbiggan/metrics/frechet_distance.h"
#include "libbiggan/metrics/inception_score.h"
#include "libbiggan/metrics/kernel_inception_distance.h"
#include "libbiggan/metrics/manifold_metrics.h"
#include "libbiggan/util/json.h"

namespace biggan::metrics {

struct ScoreOptions {
  int is_splits = 10;
  bool accuracy = true;  // the conditional accuracy when the run has labels and predicted classes
  bool kid = false;      // KID when both sides have features
  int kid_subsets = 100;
  int64_t kid_subset_size = 1000;
  uint64_t kid_seed = 0;
  bool pr = false;       // improved precision / recall when both sides have features
  int pr_k = kPrecisionRecallK;
  bool dc = false;       // density / coverage when both sides have features
  int dc_k = kDensityCoverageK;
  // The reference features' squared k-NN radii (knn_squared_radii) for pr_k / dc_k, when already
  // known (a fixed reference scored many times); computed when undefined.
  torch::Tensor pr_reference_squared_radii, dc_reference_squared_radii;
  // True when a score asked for needs the features themselves, not only their moments.
  bool needs_features() const { return kid || pr || dc; }
};

struct Scores {
  int64_t count = 0;                // images scored (-1: moments read from a file)
  bool has_fid = false;
  double fid = 0;                   // against the reference moments (float64, exact)
  FrechetResult fid_detail;
  bool has_is = false;
  InceptionScore is;                // from the softmax, `is_splits` splits as the reference's IS
  bool has_kid = false;
  KidResult kid;
  bool has_pr = false;
  PrecisionRecall pr;
  bool has_dc = false;
  DensityCoverage dc;
  bool has_labels = false;          // the conditional accuracy below was computed
  double conditional_accuracy = 0;  // fraction of images of class k classified as k
  std::vector<double> per_class_accuracy;  // per class (NaN for a class with no images)
  std::vector<int64_t> per_class_count;
};

// Scores of `samples` (a run, or moments read from a file with count -1). FID when `reference` is
// given, IS when the run kept probabilities, KID, precision / recall and density / coverage when asked
// and both feature sets are defined (samples as the fake set, the reference as the real one), the
// conditional accuracy when asked and the run has labels and predicted classes. Labels outside
// [0, classes) are a biggan::Error naming the run's source.
Scores compute_scores(const FeatureRunResult& samples, const Moments* reference, const ScoreOptions& options = {},
                      const torch::Tensor& reference_features = {});

// The conditional and per-class accuracy of predicted classes against labels (both [N] int64).
void add_accuracy(Scores& scores, const torch::Tensor& predicted, const torch::Tensor& labels, int64_t num_classes,
                  const std::string& source);

// The classifier's JSON record (the keys gan-train's test log and `fashion-classifier score` print):
// count, classifier_FID, IS_mean, IS_std, IS_splits, conditional_accuracy and per_class_accuracy
// (with labels), warning (a singular covariance).
Json scores_to_json(const Scores& s);
// conditional_accuracy and per_class_accuracy (null for a class with no images) into `j`, when computed.
void accuracy_to_json(const Scores& s, Json& j);

}  // namespace biggan::metrics
