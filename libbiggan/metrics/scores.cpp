#include "libbiggan/metrics/scores.h"

#include <cmath>
#include <limits>
#include <string>

#include "libbiggan/util/error.h"

namespace biggan::metrics {

void add_accuracy(Scores& s, const torch::Tensor& predicted, const torch::Tensor& labels, int64_t classes,
                  const std::string& source) {
  const int64_t n = predicted.size(0);
  if (labels.dim() != 1 || labels.size(0) != n)
    throw input_error(source, std::to_string(labels.numel()) + " labels for " + std::to_string(n) + " images");
  auto y = labels.to(torch::kInt64);
  if (n > 0 && (y.min().item<int64_t>() < 0 || y.max().item<int64_t>() >= classes))
    throw input_error(source, "labels must lie in [0, " + std::to_string(classes) + "), the network's classes");
  s.has_labels = true;
  auto hit = predicted.eq(y);
  s.conditional_accuracy = hit.to(torch::kFloat64).mean().item<double>();
  s.per_class_accuracy.clear();
  s.per_class_count.clear();
  for (int64_t k = 0; k < classes; ++k) {
    auto of_k = y.eq(k);
    const int64_t nk = of_k.sum().item<int64_t>();
    s.per_class_count.push_back(nk);
    s.per_class_accuracy.push_back(nk ? hit.logical_and(of_k).sum().item<double>() / nk
                                      : std::numeric_limits<double>::quiet_NaN());
  }
}

Scores compute_scores(const FeatureRunResult& run, const Moments* reference, const ScoreOptions& o,
                      const torch::Tensor& reference_features) {
  Scores s;
  s.count = run.count;
  if (reference) {
    s.fid_detail = frechet_distance(run.moments.mu, run.moments.sigma, reference->mu, reference->sigma);
    s.fid = s.fid_detail.fid;
    s.has_fid = true;
  }
  if (run.probs.defined()) {
    s.is = inception_score(run.probs, o.is_splits);
    s.has_is = true;
  }
  if (o.kid && run.features.defined() && reference_features.defined()) {
    s.kid = kernel_inception_distance(run.features, reference_features, o.kid_subsets, o.kid_subset_size, o.kid_seed);
    s.has_kid = true;
  }
  if (o.pr && run.features.defined() && reference_features.defined()) {
    s.pr = precision_recall(reference_features, run.features, o.pr_k, o.pr_reference_squared_radii);
    s.has_pr = true;
  }
  if (o.dc && run.features.defined() && reference_features.defined()) {
    s.dc = density_coverage(reference_features, run.features, o.dc_k, o.dc_reference_squared_radii);
    s.has_dc = true;
  }
  if (o.accuracy && run.labels.defined() && run.predicted.defined())
    add_accuracy(s, run.predicted, run.labels, run.num_classes, run.source);
  return s;
}

void accuracy_to_json(const Scores& s, Json& j) {
  if (!s.has_labels) return;
  j.set("conditional_accuracy", Json(s.conditional_accuracy));
  auto pc = Json::array();
  for (double a : s.per_class_accuracy) pc.push_back(std::isnan(a) ? Json(nullptr) : Json(a));
  j.set("per_class_accuracy", pc);
}

Json scores_to_json(const Scores& s) {
  auto j = Json::object();
  j.set("count", Json(s.count));
  j.set("classifier_FID", Json(s.fid));
  j.set("IS_mean", Json(s.is.mean));
  j.set("IS_std", Json(s.is.std));
  j.set("IS_splits", Json(s.is.splits));
  accuracy_to_json(s, j);
  if (s.fid_detail.singular) j.set("warning", Json(s.fid_detail.warning));
  return j;
}

}  // namespace biggan::metrics
