#include "libbiggan/metrics/classifier_extractor.h"

#include <filesystem>

#include "libbiggan/util/error.h"

namespace biggan::metrics {

ClassifierExtractor::ClassifierExtractor(FashionClassifier model, std::string weights_path)
    : model_(std::move(model)), weights_path_(std::move(weights_path)) {
  if (!model_) throw Error("classifier extractor: no model");
  if (!model_->parameters().empty()) device_ = model_->parameters().front().device();
}

FeatureBatch ClassifierExtractor::extract(const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  const bool was_training = model_->is_training();
  model_->eval();  // the caller's model may be mid-training; its mode is restored below
  auto features = model_->features(images.to(device_));
  // float64 before the softmax, as the classifier's scores were always computed.
  auto logits = model_->logits_from_features(features).to(torch::kFloat64);
  if (was_training) model_->train();
  return {features.to(torch::kCPU), logits.to(torch::kCPU)};
}

std::string ClassifierExtractor::description() const {
  std::string d = kClassifierNetwork;
  if (!weights_path_.empty()) d += " (" + std::filesystem::path(weights_path_).filename().string() + ")";
  return d;
}

std::unique_ptr<FeatureExtractor> make_classifier_extractor(const std::string& weights, bool random_weights,
                                                            torch::Device device) {
  if (random_weights)
    throw Error("--random-weights is for the Inception networks; the fashion-classifier network needs its "
                "weights file (--weights clf.pth from `fashion-classifier train`)");
  if (weights.empty())
    throw Error("the fashion-classifier network needs its weights file: --weights clf.pth (from "
                "`fashion-classifier train`)");
  auto model = load_classifier(weights);
  model->to(device);
  return std::make_unique<ClassifierExtractor>(model, weights);
}

}  // namespace biggan::metrics
