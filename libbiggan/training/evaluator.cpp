#include "libbiggan/training/evaluator.h"

#include <cmath>
#include <iostream>
#include <optional>

#include "libbiggan/metrics/fashion_classifier.h"
#include "libbiggan/metrics/feature_extractor.h"
#include "libbiggan/metrics/feature_scorer.h"
#include "libbiggan/metrics/moments_file.h"
#include "libbiggan/training/sample_run.h"
#include "libbiggan/training/sample_scores.h"
#include "libbiggan/util/error.h"

namespace biggan {

namespace {

torch::Device device_of(GeneratorImpl& G) {
  return G.parameters().empty() ? torch::Device(torch::kCPU) : G.parameters()[0].device();
}

std::shared_ptr<metrics::FeatureExtractor> extractor(const std::string& network, const std::string& weights) {
  metrics::ExtractorOptions o;
  o.network = network;
  o.weights = weights;
  return metrics::make_feature_extractor(o);
}

// Both evaluators: a feature network and its reference (metrics::FeatureScorer), fed the samples
// of a sample run (training/sample_run.h) as they are made; every score comes from
// metrics::compute_scores. A test that cannot be scored (e.g. G made NaN pixels) is logged with
// NaN scores and the reason instead of stopping the training run.
class FeatureEvaluator : public Evaluator {
 public:
  FeatureEvaluator(metrics::FeatureScorer scorer, std::string name) : scorer_(std::move(scorer)), name_(std::move(name)) {}

  Json evaluate(GeneratorImpl& G, int64_t itr) override {
    try {
      auto latents = latents_for(G);
      SampleRun run(G, *latents, {});
      GeneratorImageSource samples(run);
      auto s = scorer_.score(samples, score_options());
      run.finish();
      return record(s);
    } catch (const Error& e) {
      std::cerr << "gan-train: itr " << itr << ": the " << name_ << " test failed: " << e.what() << "\n";
      return Json::object()
          .set("IS_mean", std::nan(""))
          .set("IS_std", std::nan(""))
          .set("FID", std::nan(""))
          .set("error", e.what());
    }
  }
  std::string name() const override { return name_; }

 protected:
  virtual std::unique_ptr<LatentSource> latents_for(GeneratorImpl& G) = 0;
  virtual metrics::ScoreOptions score_options() const { return {}; }
  virtual Json record(const metrics::Scores& s) const = 0;

  metrics::FeatureScorer scorer_;
  std::string name_;
};

// The embedded default's yardstick: the Fashion-MNIST classifier against the real test split, on a
// fixed sample (a private generator, classes cycling) so that every test scores the same z and y.
class ClassifierEvaluator : public FeatureEvaluator {
 public:
  ClassifierEvaluator(const std::string& classifier_path, const std::string& real_h5, int64_t num_samples,
                      uint64_t seed, const std::string& train_h5)
      : FeatureEvaluator(real_scorer(classifier_path, real_h5), "classifier"), num_samples_(num_samples), seed_(seed) {
    if (!train_h5.empty()) {
      auto real = metrics::read_labeled_images(train_h5, true, num_samples_);
      floor_ = scorer_.score(*metrics::tensor_image_source(real.images, real.labels, train_h5));
    }
  }

 private:
  static metrics::FeatureScorer real_scorer(const std::string& classifier_path, const std::string& real_h5) {
    metrics::FeatureRunOptions run;
    run.batch_size = 500;
    auto real = metrics::tensor_image_source(metrics::read_labeled_images(real_h5, false).images, {}, real_h5);
    return metrics::FeatureScorer(extractor("fashion-classifier", classifier_path), *real, run);
  }
  std::unique_ptr<LatentSource> latents_for(GeneratorImpl& G) override {
    return evaluation_latents(num_samples_, seed_, 1.0, G.dim_z(), G.n_classes(), 100, device_of(G));
  }
  Json record(const metrics::Scores& s) const override {
    Json out = metrics::scores_to_json(s);
    out.set("IS_mean", s.is.mean);
    out.set("IS_std", s.is.std);
    out.set("FID", s.fid);
    out.set("metric_network", "fashion-classifier");
    if (floor_) {
      out.set("floor_FID", floor_->fid);
      out.set("floor_IS_mean", floor_->is.mean);
      out.set("floor_conditional_accuracy", floor_->conditional_accuracy);
    }
    return out;
  }

  int64_t num_samples_;
  uint64_t seed_;
  std::optional<metrics::Scores> floor_;  // real training images, scored once
};

// The reference's test: IS and FID of num_samples samples drawn as utils.sample does.
class InceptionEvaluator : public FeatureEvaluator {
 public:
  InceptionEvaluator(const std::string& network, const std::string& weights, const std::string& moments_npz,
                     int64_t num_samples, int64_t batch_size, double z_var)
      : FeatureEvaluator(metrics::FeatureScorer(extractor(network, weights), metrics::load_moments_npz(moments_npz)),
                         "inception"),
        num_samples_(num_samples),
        batch_size_(batch_size),
        z_var_(z_var) {}

 private:
  std::unique_ptr<LatentSource> latents_for(GeneratorImpl& G) override {
    LatentOptions lo;
    lo.z_var = z_var_;
    sampler_ = std::make_unique<LatentSampler>(batch_size_, G.dim_z(), G.n_classes(), lo, -1, device_of(G));
    return drawn_latents(*sampler_, num_samples_);
  }
  metrics::ScoreOptions score_options() const override {
    metrics::ScoreOptions o;
    o.accuracy = false;  // drawn classes, not what the images are labelled as in a data set
    return o;
  }
  Json record(const metrics::Scores& s) const override {
    return Json::object()
        .set("IS_mean", s.has_is ? s.is.mean : std::nan(""))
        .set("IS_std", s.has_is ? s.is.std : std::nan(""))
        .set("FID", s.has_fid ? s.fid : std::nan(""))
        .set("num_samples", s.count)
        .set("metric_network", scorer_.extractor().description());
  }

  int64_t num_samples_, batch_size_;
  double z_var_;
  std::unique_ptr<LatentSampler> sampler_;  // the current test's (drawn_latents keeps a reference)
};

}  // namespace

std::unique_ptr<Evaluator> make_inception_evaluator(const std::string& network, const std::string& weights,
                                                    const std::string& moments_npz, int64_t num_samples,
                                                    int64_t batch_size, double z_var) {
  return std::make_unique<InceptionEvaluator>(network, weights, moments_npz, num_samples, batch_size, z_var);
}

std::unique_ptr<Evaluator> make_classifier_evaluator(const std::string& classifier_path,
                                                     const std::string& real_images_h5, int64_t num_samples,
                                                     uint64_t seed, const std::string& train_images_h5) {
  return std::make_unique<ClassifierEvaluator>(classifier_path, real_images_h5, num_samples, seed, train_images_h5);
}

}  // namespace biggan
