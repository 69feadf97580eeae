// The classifier's scoring entry points, each a thin use of the shared path: a ClassifierExtractor
// run over the images (feature_run.h), then compute_scores (scores.h).
#include <memory>

#include "libbiggan/metrics/classifier_extractor.h"
#include "libbiggan/metrics/fashion_classifier.h"
#include "libbiggan/metrics/feature_run.h"
#include "libbiggan/metrics/image_source.h"
#include "libbiggan/util/error.h"

namespace biggan::metrics {
namespace {

FeatureRunOptions batches_of(int64_t batch_size) {
  FeatureRunOptions o;
  o.batch_size = batch_size;
  return o;
}

FeatureScorer scorer_from_images(FashionClassifier model, const torch::Tensor& real_images, int64_t batch_size) {
  if (!real_images.defined() || real_images.dim() != 4 || real_images.size(0) < 2)
    throw Error("classifier scorer: need at least 2 real images");
  auto real = tensor_image_source(real_images, {}, "real images");
  return FeatureScorer(std::make_shared<ClassifierExtractor>(std::move(model)), *real, batches_of(batch_size));
}

}  // namespace

ClassifierOutputs classify(FashionClassifier& model, const torch::Tensor& images, int64_t batch_size) {
  ClassifierExtractor extractor(model);
  auto source = tensor_image_source(images, {}, "images");
  auto options = batches_of(batch_size);
  options.keep_features = true;
  auto r = run_features(*source, extractor, options);
  return {r.features, r.probs, r.predicted};
}

double classifier_accuracy(FashionClassifier& model, const torch::Tensor& images, const torch::Tensor& labels,
                           int64_t batch_size) {
  if (!labels.defined() || labels.size(0) != images.size(0)) throw Error("accuracy: need one label per image");
  if (images.size(0) == 0) throw Error("accuracy: no images");
  ClassifierExtractor extractor(model);
  auto source = tensor_image_source(images, labels, "accuracy images");
  auto options = batches_of(batch_size);
  options.keep_probs = false;
  return compute_scores(run_features(*source, extractor, options), nullptr).conditional_accuracy;
}

ClassifierScores scores_from_outputs(const ClassifierOutputs& outputs, const Moments& real, const torch::Tensor& labels,
                                     int is_splits) {
  FeatureRunResult run;
  run.source = "classifier scores";
  run.count = outputs.features.size(0);
  if (run.count < 2) throw Error("classifier scores: need at least 2 images");
  run.moments = moments_of(outputs.features);
  run.probs = outputs.probs;
  run.predicted = outputs.predicted;
  run.num_classes = outputs.probs.size(1);
  run.labels = labels;
  ScoreOptions o;
  o.is_splits = is_splits;
  return compute_scores(run, &real, o);
}

ClassifierScorer::ClassifierScorer(FashionClassifier model, const torch::Tensor& real_images, int64_t batch_size)
    : model_(model), scorer_(scorer_from_images(model, real_images, batch_size)) {}

ClassifierScorer::ClassifierScorer(FashionClassifier model, Moments real_moments, int64_t batch_size)
    : model_(model),
      scorer_(std::make_shared<ClassifierExtractor>(model), std::move(real_moments), batches_of(batch_size)) {}

ClassifierScores ClassifierScorer::score(const torch::Tensor& images, const torch::Tensor& labels, int is_splits) {
  auto source = tensor_image_source(images, labels, "scored images");
  ScoreOptions o;
  o.is_splits = is_splits;
  return scorer_.score(*source, o);
}

}  // namespace biggan::metrics
