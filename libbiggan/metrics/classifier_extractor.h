// The Fashion-MNIST classifier as a feature network: its penultimate activations are the features
// (classifier-FID), its logits the class scores (IS-style score, conditional accuracy), so that it is
// scored by the same code as the Inception networks (feature_run.h, scores.h).
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>

#include "libbiggan/metrics/fashion_classifier.h"
#include "libbiggan/metrics/feature_extractor.h"

namespace biggan::metrics {

// The name that selects it: ExtractorOptions.network, `fid --network fashion-classifier`.
inline constexpr const char* kClassifierNetwork = "fashion-classifier";

class ClassifierExtractor : public FeatureExtractor {
 public:
  // Runs the model where it lives (its parameters' device), in eval mode; `weights_path` only names
  // the network in description().
  explicit ClassifierExtractor(FashionClassifier model, std::string weights_path = "");
  // images: N×3×S×S (or N×1×S×S) in [-1, 1], or uint8 (classifier_input). Features [N, feature_dim]
  // float32 (model->features), logits [N, classes] float64 (model->logits_from_features, widened
  // exactly), both on the CPU, computed in eval mode without gradients.
  FeatureBatch extract(const torch::Tensor& images) override;
  // "fashion-classifier (clf.pth)".
  std::string description() const override;
  FashionClassifier& model() { return model_; }

 private:
  FashionClassifier model_;
  std::string weights_path_;
  torch::Device device_ = torch::kCPU;
};

// make_feature_extractor's "fashion-classifier": loads `weights` (a `fashion-classifier train` file).
// An empty path, or random weights asked for, is a clear error.
std::unique_ptr<FeatureExtractor> make_classifier_extractor(const std::string& weights, bool random_weights,
                                                            torch::Device device);

}  // namespace biggan::metrics
