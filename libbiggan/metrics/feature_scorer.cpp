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

Scores FeatureScorer::score(ImageSource& samples, const ScoreOptions& o) const {
  return compute_scores(run(samples, o.kid), &reference_, o, reference_features_);
}

}  // namespace biggan::metrics
