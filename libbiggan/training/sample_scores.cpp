#include "libbiggan/training/sample_scores.h"

#include "libbiggan/metrics/feature_run.h"
#include "libbiggan/metrics/frechet_distance.h"
#include "libbiggan/metrics/inception_score.h"
#include "libbiggan/util/error.h"

namespace biggan {

GeneratorImageSource::GeneratorImageSource(GeneratorImpl& G, LatentSampler& sampler, int64_t count, std::string name)
    : G_(G), sampler_(sampler), count_(count), name_(std::move(name)) {
  if (count < 1) throw Error("the number of samples must be at least 1");
}

bool GeneratorImageSource::next(int64_t max_n, torch::Tensor& images, torch::Tensor& labels) {
  if (handed_ >= count_) return false;
  if (!images_.defined() || images_.size(0) == 0) {
    torch::NoGradGuard ng;
    torch::Tensor z, y;
    sampler_.next(z, y);
    images_ = G_.forward(z, G_.shared(y)).to(torch::kFloat32).cpu();
    labels_ = y.cpu().clone();
  }
  const int64_t n = std::min({max_n, images_.size(0), count_ - handed_});
  images = images_.slice(0, 0, n).contiguous();
  labels = labels_.slice(0, 0, n).contiguous();
  images_ = images_.slice(0, n);
  labels_ = labels_.slice(0, n);
  handed_ += n;
  return true;
}

SampleScores score_samples(GeneratorImpl& G, LatentSampler& sampler, int64_t count,
                           metrics::FeatureExtractor& extractor, const metrics::Moments* reference,
                           int64_t feature_batch_size, bool progress, int splits) {
  GeneratorImageSource source(G, sampler, count);
  metrics::FeatureRunOptions ro;
  ro.batch_size = feature_batch_size;
  ro.keep_probs = true;
  ro.progress = progress;
  auto r = metrics::run_features(source, extractor, ro);
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

}  // namespace biggan
