#include "libbiggan/metrics/feature_scorer.h"

#include "libbiggan/util/error.h"

namespace biggan::metrics {

FeatureScorer::FeatureScorer(std::shared_ptr<FeatureExtractor> extractor, Moments reference, FeatureRunOptions run,
                             torch::Tensor reference_features)
    : extractor_(std::move(extractor)), run_(run), reference_(std::move(reference)),
      reference_features_(std::move(reference_features)) {
  if (!extractor_) throw Error("feature scorer: no feature network");
}

FeatureScorer::FeatureScorer(std::shared_ptr<FeatureExtractor> extractor, ImageSource& reference_images,
                             FeatureRunOptions run)
    : extractor_(std::move(extractor)), run_(run) {
  if (!extractor_) throw Error("feature scorer: no feature network");
  auto options = run_;
  options.keep_probs = false;
  auto r = run_features(reference_images, *extractor_, options);
  reference_ = std::move(r.moments);
  reference_.random_weights = extractor_->random_weights();
  reference_features_ = r.features;
}

FeatureRunResult FeatureScorer::run(ImageSource& samples, bool keep_features) const {
  auto options = run_;
  options.keep_probs = true;
  options.keep_features = options.keep_features || keep_features;
  return run_features(samples, *extractor_, options);
}

const torch::Tensor& FeatureScorer::reference_squared_radii(int k) const {
  if (!reference_features_.defined()) throw Error("feature scorer: the reference has no features for k-NN radii");
  auto it = radii_.find(k);
  if (it == radii_.end()) it = radii_.emplace(k, knn_squared_radii(reference_features_, k)).first;
  return it->second;
}

Scores FeatureScorer::score(ImageSource& samples, const ScoreOptions& options) const {
  return score_run(run(samples, options.needs_features()), options);
}

Scores FeatureScorer::score_run(const FeatureRunResult& samples, const ScoreOptions& options) const {
  auto o = options;
  if (reference_features_.defined()) {
    if (o.pr && !o.pr_reference_squared_radii.defined())
      o.pr_reference_squared_radii = reference_squared_radii(o.pr_k);
    if (o.dc && !o.dc_reference_squared_radii.defined())
      o.dc_reference_squared_radii = reference_squared_radii(o.dc_k);
  }
  return compute_scores(samples, &reference_, o, reference_features_);
}

}  // namespace biggan::metrics
