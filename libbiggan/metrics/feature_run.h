// Runs a feature extractor over an image source in batches: streaming float64 moments, the softmax
// probabilities for the Inception Score, the predicted classes and the source's labels (for the
// conditional accuracy), and (on request) the raw features for KID. Every score (scores.h) is
// computed from what one run yields, whichever network made the features.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "libbiggan/metrics/feature_extractor.h"
#include "libbiggan/metrics/feature_moments.h"
#include "libbiggan/metrics/image_source.h"

namespace biggan::metrics {

struct FeatureRunOptions {
  int64_t batch_size = 50;
  int64_t limit = -1;          // stop after this many images (-1: all)
  bool keep_features = false;  // keep the N×d features (for KID / saving)
  bool keep_probs = true;      // keep softmax(logits) when the extractor has logits
  bool progress = false;       // a progress line on stderr
};

struct FeatureRunResult {
  std::string source;      // the source's name (for errors about its labels)
  int64_t count = 0;       // images seen; -1 for moments read from a file
  Moments moments;
  torch::Tensor features;  // [N, d] float32 when kept
  // [N, classes] softmax of the logits in the logits' dtype (float32 for Inception, float64 for the
  // Fashion-MNIST classifier), when kept and the extractor has logits.
  torch::Tensor probs;
  torch::Tensor predicted;  // [N] int64 argmax of the probabilities, when the extractor has logits
  int64_t num_classes = 0;  // the logits' width (0 without logits)
  torch::Tensor labels;     // [N] int64 when every batch of the source carried labels
  double seconds = 0;
};

FeatureRunResult run_features(ImageSource& source, FeatureExtractor& extractor, const FeatureRunOptions& options);

}  // namespace biggan::metrics
