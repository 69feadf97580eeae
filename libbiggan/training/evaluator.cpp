#include "libbiggan/training/evaluator.h"

#include <cmath>
#include <optional>

#include "libbiggan/metrics/fashion_classifier.h"
#include "libbiggan/metrics/feature_extractor.h"
#include "libbiggan/metrics/moments_file.h"
#include "libbiggan/training/sample_run.h"
#include "libbiggan/training/sample_scores.h"
#include "libbiggan/training/sample_sinks.h"
#include "libbiggan/util/error.h"

namespace biggan {

namespace {

torch::Device device_of(GeneratorImpl& G) {
  return G.parameters().empty() ? torch::Device(torch::kCPU) : G.parameters()[0].device();
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> sample_for_evaluation(GeneratorImpl& G, int64_t n, uint64_t seed,
                                                              double z_var, int64_t batch_size) {
  auto latents = evaluation_latents(n, seed, z_var, G.dim_z(), G.n_classes(), batch_size, device_of(G));
  CollectSampleSink all;
  SampleRunOptions options;
  options.check_finite = false;  // a diverged G scores NaN in the test log; training goes on
  run_samples(G, *latents, {&all}, options);
  return {all.images(), all.labels()};
}

namespace {

class ClassifierEvaluator : public Evaluator {
 public:
  ClassifierEvaluator(const std::string& classifier_path, const std::string& real_h5, int64_t num_samples,
                      uint64_t seed, const std::string& train_h5)
      : scorer_(metrics::load_classifier(classifier_path),
                metrics::read_labeled_images(real_h5, false).images),
        num_samples_(num_samples),
        seed_(seed) {
    if (!train_h5.empty()) {
      auto real = metrics::read_labeled_images(train_h5, true, num_samples_);
      floor_ = scorer_.score(real.images, real.labels);
    }
  }

  Json evaluate(GeneratorImpl& G, int64_t) override {
    auto [images, labels] = sample_for_evaluation(G, num_samples_, seed_);
    auto s = scorer_.score(images, labels);
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
  std::string name() const override { return "classifier"; }

 private:
  metrics::ClassifierScorer scorer_;
  int64_t num_samples_;
  uint64_t seed_;
  std::optional<metrics::ClassifierScores> floor_;  // real training images, scored once
};

class InceptionEvaluator : public Evaluator {
 public:
  InceptionEvaluator(const std::string& network, const std::string& weights, const std::string& moments_npz,
                     int64_t num_samples, int64_t batch_size, double z_var)
      : reference_(metrics::load_moments_npz(moments_npz)),
        num_samples_(num_samples),
        batch_size_(batch_size),
        z_var_(z_var) {
    metrics::ExtractorOptions o;
    o.network = network;
    o.weights = weights;
    extractor_ = metrics::make_feature_extractor(o);
  }

  Json evaluate(GeneratorImpl& G, int64_t) override {
    LatentOptions lo;
    lo.z_var = z_var_;
    LatentSampler sampler(batch_size_, G.dim_z(), G.n_classes(), lo, -1, device_of(G));
    auto s = score_samples(G, sampler, num_samples_, *extractor_, &reference_);
    return Json::object()
        .set("IS_mean", s.has_is ? s.IS_mean : std::nan(""))
        .set("IS_std", s.has_is ? s.IS_std : std::nan(""))
        .set("FID", s.has_fid ? s.FID : std::nan(""))
        .set("num_samples", s.count)
        .set("metric_network", extractor_->description());
  }
  std::string name() const override { return "inception"; }

 private:
  metrics::Moments reference_;
  std::unique_ptr<metrics::FeatureExtractor> extractor_;
  int64_t num_samples_, batch_size_;
  double z_var_;
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
