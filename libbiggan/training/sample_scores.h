// Scoring a generator directly (no sample files): a sample run (sample_run.h) as a metrics::ImageSource,
// and IS / FID of N samples against reference moments, for sample.py's Inception metrics, truncation
// curves and the training-time Inception evaluator.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>

#include "libbiggan/metrics/feature_extractor.h"
#include "libbiggan/metrics/feature_moments.h"
#include "libbiggan/metrics/image_source.h"
#include "libbiggan/training/sample_run.h"
#include "libbiggan/training/sampling.h"

namespace biggan {

// A sample run's images, one generator batch at a time, handed out in pieces of the size the
// consumer asks for (a piece never spans two generator batches). Images are float32 in [-1, 1] on
// the CPU, labels the sampled classes. Pulling from it drives the run: its sinks get every batch too.
// The run's finish() is left to the caller.
class GeneratorImageSource : public metrics::ImageSource {
 public:
  explicit GeneratorImageSource(SampleRun& run, std::string name = "generator");
  bool next(int64_t max_n, torch::Tensor& images, torch::Tensor& labels) override;
  int64_t size_hint() const override { return run_.count(); }
  std::string name() const override { return name_; }

 private:
  SampleRun& run_;
  std::string name_;
  torch::Tensor images_, labels_;  // the current batch's unread rest
};

struct SampleScores {
  int64_t count = 0;
  bool has_is = false, has_fid = false;
  double IS_mean = 0, IS_std = 0, FID = 0;
  double seconds = 0;
};

// IS (`splits` splits, when the extractor has logits) and FID (when `reference` has moments) of all
// the samples of `run` (G as the caller left it: mode and statistics), fed to the extractor
// feature_batch_size at a time; then the run's sinks are finished.
SampleScores score_sample_run(SampleRun& run, metrics::FeatureExtractor& extractor, const metrics::Moments* reference,
                              int64_t feature_batch_size = 50, bool progress = false, int splits = 10);

// The same for `count` samples drawn by `sampler` from G.
SampleScores score_samples(GeneratorImpl& G, LatentSampler& sampler, int64_t count,
                           metrics::FeatureExtractor& extractor, const metrics::Moments* reference,
                           int64_t feature_batch_size = 50, bool progress = false, int splits = 10);

}  // namespace biggan
