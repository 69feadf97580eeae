#include "libbiggan/metrics/feature_run.h"

#include <chrono>
#include <cstdio>

#include "libbiggan/util/error.h"

namespace biggan::metrics {

FeatureRunResult run_features(ImageSource& source, FeatureExtractor& extractor, const FeatureRunOptions& o) {
  if (o.batch_size < 1) throw Error("--batch-size must be at least 1");
  auto t0 = std::chrono::steady_clock::now();
  MomentsAccumulator acc;
  std::vector<torch::Tensor> feats, probs;
  FeatureRunResult r;
  int64_t total = source.size_hint();
  if (o.limit >= 0 && (total < 0 || o.limit < total)) total = o.limit;
  torch::Tensor images, labels;
  while ((o.limit < 0 || r.count < o.limit) &&
         source.next(o.limit < 0 ? o.batch_size : std::min(o.batch_size, o.limit - r.count), images, labels)) {
    const auto first = std::to_string(r.count), last = std::to_string(r.count + images.size(0) - 1);
    if (images.is_floating_point() && !torch::isfinite(images).all().item<bool>())
      throw input_error(source.name(), "images " + first + ".." + last + " hold NaN or infinite pixels");
    auto b = extractor.extract(images);
    if (!torch::isfinite(b.features).all().item<bool>() || (b.logits.defined() && !torch::isfinite(b.logits).all().item<bool>()))
      throw input_error(extractor.description(), "the feature network gave NaN or infinite outputs for images " + first +
                                                     ".." + last + " of " + source.name());
    acc.add(b.features);
    if (o.keep_features) feats.push_back(b.features);
    if (o.keep_probs && b.logits.defined()) probs.push_back(torch::softmax(b.logits, 1));
    r.count += images.size(0);
    if (o.progress) {
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (total > 0)
        std::fprintf(stderr, "\r%s: %lld/%lld images, %.1f img/s   ", source.name().c_str(), (long long)r.count,
                     (long long)total, r.count / s);
      else
        std::fprintf(stderr, "\r%s: %lld images, %.1f img/s   ", source.name().c_str(), (long long)r.count, r.count / s);
    }
  }
  if (o.progress) std::fprintf(stderr, "\n");
  if (r.count < 2) throw input_error(source.name(), "fewer than 2 images: nothing to score");
  r.moments = acc.moments();
  if (!feats.empty()) r.features = torch::cat(feats, 0);
  if (!probs.empty()) r.probs = torch::cat(probs, 0);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace biggan::metrics
