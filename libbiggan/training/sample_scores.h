// Scoring a generator directly (no sample files): its images as a metrics::ImageSource, and IS / FID
// of N samples against reference moments, for sample.py's Inception metrics and truncation curves.
#pragma once
#include <torch/torch.h>

#include <string>

#include "libbiggan/metrics/feature_extractor.h"
#include "libbiggan/metrics/feature_moments.h"
#include "libbiggan/metrics/image_source.h"
#include "libbiggan/training/sampling.h"

namespace biggan {

// `count` images from G, one sampler batch (utils.sample) at a time, handed out in pieces of the
// size the consumer asks for. Images are float32 in [-1, 1] on the CPU, labels the sampled classes.
class GeneratorImageSource : public metrics::ImageSource {
 public:
  GeneratorImageSource(GeneratorImpl& G, LatentSampler& sampler, int64_t count, std::string name = "generator");
  bool next(int64_t max_n, torch::Tensor& images, torch::Tensor& labels) override;
  int64_t size_hint() const override { return count_; }
  std::string name() const override { return name_; }

 private:
  GeneratorImpl& G_;
  LatentSampler& sampler_;
  int64_t count_, handed_ = 0;
  std::string name_;
  torch::Tensor images_, labels_;  // the current batch's unread rest
};

struct SampleScores {
  int64_t count = 0;
  bool has_is = false, has_fid = false;
  double IS_mean = 0, IS_std = 0, FID = 0;
  double seconds = 0;
};

// IS (10 splits, when the extractor has logits) and FID (when `reference` has moments) of `count`
// samples drawn by `sampler` from G as it is (mode and statistics as the caller left them).
SampleScores score_samples(GeneratorImpl& G, LatentSampler& sampler, int64_t count,
                           metrics::FeatureExtractor& extractor, const metrics::Moments* reference,
                           int64_t feature_batch_size = 50, bool progress = false, int splits = 10);

}  // namespace biggan
