// The networks that turn images into the features metrics compare: either Inception flavour (with
// logits, for the Inception Score), the Fashion-MNIST classifier (features + logits, the embedded
// default's yardstick), or any TorchScript image encoder (`torchscript:FILE`, e.g. a CLIP or DINOv2
// encoder exported from Python; it receives the images in [-1, 1] at their own size and does its own
// preprocessing; its first output is taken as the feature vector). Every score (IS, FID, KID,
// conditional accuracy) is computed the same way from what a network yields (feature_run.h, scores.h).
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>

namespace biggan::metrics {

struct FeatureBatch {
  torch::Tensor features;  // [N, d] float32, CPU
  // [N, classes] on the CPU, float32 (float64 for the Fashion-MNIST classifier, whose softmax has
  // always been taken in float64); undefined for TorchScript encoders.
  torch::Tensor logits;
};

class FeatureExtractor {
 public:
  virtual ~FeatureExtractor() = default;
  // images: float32 in [-1, 1], N×3×H×W on the CPU.
  virtual FeatureBatch extract(const torch::Tensor& images) = 0;
  // e.g. "fid-inception (pt_inception-2015-12-05-6726825d.pth)".
  virtual std::string description() const = 0;
  // True when the weights are random (a smoke test: every number it yields is meaningless).
  virtual bool random_weights() const { return false; }
};

struct ExtractorOptions {
  // "torchvision", "fid", "fashion-classifier" (weights: a `fashion-classifier train` file),
  // "torchscript:FILE", or "" (the Inception flavour the weights file holds; torchvision when there
  // is no file).
  std::string network;
  // The weights file; for Inception, when empty, $BIGGAN_FID_INCEPTION_WEIGHTS (for "fid") or
  // $BIGGAN_INCEPTION_WEIGHTS.
  std::string weights;
  bool random_weights = false;  // allowed only when asked for: without weights we refuse to score
  std::string device;           // "cpu", "cuda", or "" (CUDA when this build and machine have it)
  bool channels_last = true;    // measured faster on CPU (bench_metrics); off: N×C×H×W
};

std::unique_ptr<FeatureExtractor> make_feature_extractor(const ExtractorOptions& options);

}  // namespace biggan::metrics
