// Runs a feature extractor over an image source in batches: streaming float64 moments, the softmax
// probabilities for the Inception Score, and (on request) the raw features for KID.
#pragma once
#include <cstdint>

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
  int64_t count = 0;
  Moments moments;
  torch::Tensor features;  // [N, d] float32 when kept
  torch::Tensor probs;     // [N, classes] float32 when kept and available
  double seconds = 0;
};

FeatureRunResult run_features(ImageSource& source, FeatureExtractor& extractor, const FeatureRunOptions& options);

}  // namespace biggan::metrics
