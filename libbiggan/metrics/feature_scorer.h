// A feature network and the reference it is compared with, built once (e.g. from the real test split
// or a moments file), then scoring any number of image sets: one run of the network over the images,
// then compute_scores. The Fashion-MNIST classifier's ClassifierScorer and the tools use it; a
// training-time evaluator scores a generator through it with a GeneratorImageSource.
#pragma once
#include <torch/torch.h>

#include <map>
#include <memory>

#include "libbiggan/metrics/feature_extractor.h"
#include "libbiggan/metrics/feature_moments.h"
#include "libbiggan/metrics/feature_run.h"
#include "libbiggan/metrics/image_source.h"
#include "libbiggan/metrics/scores.h"

namespace biggan::metrics {

class FeatureScorer {
 public:
  // Reference moments given (e.g. from a moments file); `reference_features` for KID, when known.
  FeatureScorer(std::shared_ptr<FeatureExtractor> extractor, Moments reference, FeatureRunOptions run = {},
                torch::Tensor reference_features = {});
  // Reference moments (and, when run.keep_features, features) computed from images.
  FeatureScorer(std::shared_ptr<FeatureExtractor> extractor, ImageSource& reference_images,
                FeatureRunOptions run = {});

  // One run over `samples` (its features kept when a score asked for needs them), then compute_scores.
  // The reference's k-NN radii for precision / recall and density / coverage are computed once.
  Scores score(ImageSource& samples, const ScoreOptions& options = {}) const;
  // compute_scores of a run made elsewhere (e.g. gathered from several processes' runs).
  Scores score_run(const FeatureRunResult& samples, const ScoreOptions& options = {}) const;
  // The run alone, with the scorer's run options (for callers that also save the moments).
  FeatureRunResult run(ImageSource& samples, bool keep_features = false) const;

  const Moments& reference() const { return reference_; }
  const torch::Tensor& reference_features() const { return reference_features_; }
  FeatureExtractor& extractor() const { return *extractor_; }
  const FeatureRunOptions& run_options() const { return run_; }
  // The reference features' squared k-NN radii (manifold_metrics.h), computed on first use and kept.
  const torch::Tensor& reference_squared_radii(int k) const;

 private:
  std::shared_ptr<FeatureExtractor> extractor_;
  FeatureRunOptions run_;
  Moments reference_;
  torch::Tensor reference_features_;
  mutable std::map<int, torch::Tensor> radii_;  // by k
};

}  // namespace biggan::metrics
