#include "libbiggan/training/evaluator.h"

#include <cmath>

#include "libbiggan/metrics/fashion_classifier.h"
#include "libbiggan/util/error.h"

namespace biggan {

std::pair<torch::Tensor, torch::Tensor> sample_for_evaluation(GeneratorImpl& G, int64_t n, uint64_t seed,
                                                              double z_var, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto device = G.parameters().empty() ? torch::kCPU : G.parameters()[0].device();
  auto z_all = torch::empty({n, G.dim_z()}).normal_(0, z_var, gen);
  auto y_all = torch::arange(n, torch::kInt64).remainder(G.n_classes());
  std::vector<torch::Tensor> images;
  for (int64_t i = 0; i < n; i += batch_size) {
    const int64_t b = std::min(batch_size, n - i);
    auto z = z_all.slice(0, i, i + b).to(device);
    auto y = y_all.slice(0, i, i + b).to(device);
    images.push_back(G.forward(z, G.shared(y)).to(torch::kCPU).to(torch::kFloat32));
  }
  return {torch::cat(images, 0), y_all};
}

namespace {

class ClassifierEvaluator : public Evaluator {
 public:
  ClassifierEvaluator(const std::string& classifier_path, const std::string& real_h5, int64_t num_samples,
                      uint64_t seed)
      : scorer_(metrics::load_classifier(classifier_path),
                metrics::read_labeled_images(real_h5, false).images),
        num_samples_(num_samples),
        seed_(seed) {}

  Json evaluate(GeneratorImpl& G, int64_t) override {
    auto [images, labels] = sample_for_evaluation(G, num_samples_, seed_);
    auto s = scorer_.score(images, labels);
    Json out = metrics::scores_to_json(s);
    out.set("IS_mean", s.is.mean);
    out.set("IS_std", s.is.std);
    out.set("FID", s.fid);
    out.set("metric_network", "fashion-classifier");
    return out;
  }
  std::string name() const override { return "classifier"; }

 private:
  metrics::ClassifierScorer scorer_;
  int64_t num_samples_;
  uint64_t seed_;
};

}  // namespace

std::unique_ptr<Evaluator> make_classifier_evaluator(const std::string& classifier_path,
                                                     const std::string& real_images_h5, int64_t num_samples,
                                                     uint64_t seed) {
  return std::make_unique<ClassifierEvaluator>(classifier_path, real_images_h5, num_samples, seed);
}

}  // namespace biggan
