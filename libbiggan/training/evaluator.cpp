#include "libbiggan/training/evaluator.h"

#include <cmath>
#include <iostream>
#include <optional>
#include <utility>

#include "libbiggan/metrics/fashion_classifier.h"
#include "libbiggan/metrics/feature_extractor.h"
#include "libbiggan/metrics/feature_scorer.h"
#include "libbiggan/metrics/metric_registry.h"
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

std::optional<metrics::MetricSelection> copy_of(const metrics::MetricSelection* chosen) {
  if (!chosen || chosen->empty()) return std::nullopt;
  return *chosen;
}

// A test record of the chosen metrics only (gan-train --metrics): IS_mean, IS_std and FID always
// (the trainer's best copies and plots read them; NaN where not chosen), each chosen metric's keys
// (NaN main numbers where it could not be computed), and floor_<key> of the real images' scores.
Json chosen_record(const metrics::Scores& s, const metrics::MetricSelection& chosen, const metrics::Scores* floor,
                   const std::string& network) {
  using metrics::Metric;
  const double nan = std::nan("");
  const bool is = chosen.has(Metric::kIs) && s.has_is, fid = chosen.has(Metric::kFid) && s.has_fid;
  Json out = Json::object()
                 .set("IS_mean", is ? s.is.mean : nan)
                 .set("IS_std", is ? s.is.std : nan)
                 .set("FID", fid ? s.fid : nan);
  for (Metric m : chosen.metrics) {
    metrics::metric_to_json(m, s, out);
    if (!metrics::has_metric(m, s))
      for (const auto& key : metrics::metric_headline_keys(m)) out.set(key, nan);
  }
  out.set("num_samples", s.count).set("metric_network", network);
  if (floor) {
    for (Metric m : chosen.metrics) {
      auto f = Json::object();
      metrics::metric_to_json(m, *floor, f);
      for (const auto& key : metrics::metric_headline_keys(m))
        if (f.contains(key)) out.set("floor_" + key, f[key]);
    }
  }
  return out;
}

// Both evaluators: a feature network and its reference (metrics::FeatureScorer), fed the samples
// of a sample run (training/sample_run.h) as they are made; every score comes from
// metrics::compute_scores. A test that cannot be scored (e.g. G made NaN pixels) is logged with
// NaN scores and the reason instead of stopping the training run. With `chosen` metrics, exactly
// those are computed and recorded (chosen_record).
class FeatureEvaluator : public Evaluator {
 public:
  FeatureEvaluator(metrics::FeatureScorer scorer, std::string name, std::optional<metrics::MetricSelection> chosen)
      : scorer_(std::move(scorer)), name_(std::move(name)), chosen_(std::move(chosen)) {}

  Json evaluate(GeneratorImpl& G, int64_t itr) override {
    try {
      auto latents = latents_for(G);
      SampleRun run(G, *latents, {});
      GeneratorImageSource samples(run);
      auto s = scorer_.score(samples, options());
      run.finish();
      return chosen_ ? chosen_record(s, *chosen_, floor(), scorer_.extractor().description()) : record(s);
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
  // Real images scored as the samples are (the classifier's floor), when known.
  virtual const metrics::Scores* floor() const { return nullptr; }
  metrics::ScoreOptions options() const {
    return chosen_ ? metrics::score_options_for(*chosen_, score_options()) : score_options();
  }

  metrics::FeatureScorer scorer_;
  std::string name_;
  std::optional<metrics::MetricSelection> chosen_;
};

// The embedded default's yardstick: the Fashion-MNIST classifier against the real test split, on a
// fixed sample (a private generator, classes cycling) so that every test scores the same z and y.
class ClassifierEvaluator : public FeatureEvaluator {
 public:
  ClassifierEvaluator(const std::string& classifier_path, const std::string& real_h5, int64_t num_samples,
                      uint64_t seed, const std::string& train_h5, std::optional<metrics::MetricSelection> chosen)
      // `chosen` copied, not moved: the arguments' order of evaluation is unspecified.
      : FeatureEvaluator(real_scorer(classifier_path, real_h5, chosen && chosen->needs_features()), "classifier",
                         chosen),
        num_samples_(num_samples),
        seed_(seed) {
    if (!train_h5.empty()) {
      auto real = metrics::read_labeled_images(train_h5, true, num_samples_);
      floor_ = scorer_.score(*metrics::tensor_image_source(real.images, real.labels, train_h5), options());
    }
  }

 private:
  // keep_features: the reference's features too (for kid, pr, dc), not only its moments.
  static metrics::FeatureScorer real_scorer(const std::string& classifier_path, const std::string& real_h5,
                                            bool keep_features) {
    metrics::FeatureRunOptions run;
    run.batch_size = 500;
    run.keep_features = keep_features;
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
  const metrics::Scores* floor() const override { return floor_ ? &*floor_ : nullptr; }

  int64_t num_samples_;
  uint64_t seed_;
  std::optional<metrics::Scores> floor_;  // real training images, scored once
};

// The reference's test: IS and FID of num_samples samples drawn as utils.sample does.
class InceptionEvaluator : public FeatureEvaluator {
 public:
  InceptionEvaluator(const std::string& network, const std::string& weights, const std::string& moments_npz,
                     int64_t num_samples, int64_t batch_size, double z_var,
                     std::optional<metrics::MetricSelection> chosen)
      : FeatureEvaluator(moments_scorer(network, weights, moments_npz, chosen), "inception", chosen),
        num_samples_(num_samples),
        batch_size_(batch_size),
        z_var_(z_var) {}

 private:
  // The reference moments, with the file's features when a chosen metric needs them.
  static metrics::FeatureScorer moments_scorer(const std::string& network, const std::string& weights,
                                               const std::string& moments_npz,
                                               const std::optional<metrics::MetricSelection>& chosen) {
    if (chosen && chosen->has(metrics::Metric::kAccuracy))
      throw Error("--metrics accuracy: the Inception test draws its classes (no labelled samples to check); "
                  "use the classifier yardstick (--classifier)");
    torch::Tensor features;
    auto moments = metrics::load_moments_npz(moments_npz, chosen && chosen->needs_features() ? &features : nullptr);
    if (chosen && chosen->needs_features() && !features.defined())
      throw Error(moments_npz + ": --metrics " + chosen->names() +
                  " needs the reference's features: make the file with inception-moments --save-features");
    return metrics::FeatureScorer(extractor(network, weights), std::move(moments), {}, std::move(features));
  }
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
                                                    int64_t batch_size, double z_var,
                                                    const metrics::MetricSelection* chosen) {
  return std::make_unique<InceptionEvaluator>(network, weights, moments_npz, num_samples, batch_size, z_var,
                                              copy_of(chosen));
}

std::unique_ptr<Evaluator> make_classifier_evaluator(const std::string& classifier_path,
                                                     const std::string& real_images_h5, int64_t num_samples,
                                                     uint64_t seed, const std::string& train_images_h5,
                                                     const metrics::MetricSelection* chosen) {
  return std::make_unique<ClassifierEvaluator>(classifier_path, real_images_h5, num_samples, seed, train_images_h5,
                                               copy_of(chosen));
}

}  // namespace biggan
