#include "libbiggan/training/sample_scores.h"

#include "libbiggan/metrics/feature_run.h"
#include "libbiggan/metrics/frechet_distance.h"
#include "libbiggan/metrics/inception_score.h"
#include "libbiggan/util/error.h"

namespace biggan {

GeneratorImageSource::GeneratorImageSource(SampleRun& run, std::string name) : run_(run), name_(std::move(name)) {}

bool GeneratorImageSource::next(int64_t max_n, torch::Tensor& images, torch::Tensor& labels) {
  if (!images_.defined() || images_.size(0) == 0) {
    SampleBatch batch;
    if (!run_.next(batch)) return false;
    images_ = batch.images;
    labels_ = batch.y;
  }
  const int64_t n = std::min(max_n, images_.size(0));
  images = images_.slice(0, 0, n).contiguous();
  labels = labels_.slice(0, 0, n).contiguous();
  images_ = images_.slice(0, n);
  labels_ = labels_.slice(0, n);
  return true;
}

SampleScores score_sample_run(SampleRun& run, metrics::FeatureExtractor& extractor, const metrics::Moments* reference,
                              int64_t feature_batch_size, bool progress, int splits) {
  GeneratorImageSource source(run);
  metrics::FeatureRunOptions ro;
  ro.batch_size = feature_batch_size;
  ro.keep_probs = true;
  ro.progress = progress;
  auto r = metrics::run_features(source, extractor, ro);
  run.finish();
  SampleScores s;
  s.count = r.count;
  s.seconds = r.seconds;
  if (r.probs.defined()) {
    if (r.count < splits)
      throw Error("an Inception Score needs at least " + std::to_string(splits) + " samples, got " +
                  std::to_string(r.count));
    auto is = metrics::inception_score(r.probs, splits);
    s.has_is = true;
    s.IS_mean = is.mean;
    s.IS_std = is.std;
  }
  if (reference && reference->mu.defined()) {
    auto f = metrics::frechet_distance(r.moments.mu, r.moments.sigma, reference->mu, reference->sigma);
    s.has_fid = true;
    s.FID = f.fid;
  }
  return s;
}

SampleScores score_samples(GeneratorImpl& G, LatentSampler& sampler, int64_t count,
                           metrics::FeatureExtractor& extractor, const metrics::Moments* reference,
                           int64_t feature_batch_size, bool progress, int splits) {
  auto latents = drawn_latents(sampler, count);
  SampleRunOptions options;
  options.check_finite = false;  // run_features refuses non-finite images, naming them, as before
  SampleRun run(G, *latents, {}, options);
  return score_sample_run(run, extractor, reference, feature_batch_size, progress, splits);
}

}  // namespace biggan
