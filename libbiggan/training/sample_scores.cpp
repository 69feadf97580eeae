#include "libbiggan/training/sample_scores.h"

#include "libbiggan/metrics/feature_run.h"
#include "libbiggan/metrics/frechet_distance.h"
#include "libbiggan/metrics/inception_score.h"
#include "libbiggan/metrics/scores.h"
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
  metrics::ScoreOptions so;
  so.is_splits = splits;
  so.accuracy = false;  // drawn classes: nothing to be accurate about
  const bool has_reference = reference && reference->mu.defined();
  const auto scores = metrics::compute_scores(r, has_reference ? reference : nullptr, so);
  SampleScores s;
  s.count = r.count;
  s.seconds = r.seconds;
  s.has_is = scores.has_is;
  s.IS_mean = scores.is.mean;
  s.IS_std = scores.is.std;
  s.has_fid = scores.has_fid;
  s.FID = scores.fid;
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
