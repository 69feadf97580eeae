#include "libbiggan/metrics/feature_run.h"

#include <chrono>
#include <cstdio>
#include <vector>

#include "libbiggan/util/error.h"

namespace biggan::metrics {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void print_progress(const ImageSource& source, int64_t count, int64_t total, double seconds) {
  if (total > 0)
    std::fprintf(stderr, "\r%s: %lld/%lld images, %.1f img/s   ", source.name().c_str(), (long long)count,
                 (long long)total, count / seconds);
  else
    std::fprintf(stderr, "\r%s: %lld images, %.1f img/s   ", source.name().c_str(), (long long)count, count / seconds);
}

// What the batches yield, gathered until the run ends.
struct Gathered {
  MomentsAccumulator moments;
  std::vector<torch::Tensor> features, probs, predicted, labels;
  bool all_labelled = true;
};

std::string range_of(int64_t first, const torch::Tensor& images) {
  return std::to_string(first) + ".." + std::to_string(first + images.size(0) - 1);
}

void check_images(const torch::Tensor& images, const ImageSource& source, int64_t first) {
  if (images.is_floating_point() && !torch::isfinite(images).all().item<bool>())
    throw input_error(source.name(), "images " + range_of(first, images) + " hold NaN or infinite pixels");
}

void check_outputs(const FeatureBatch& b, const torch::Tensor& images, const ImageSource& source,
                   const FeatureExtractor& extractor, int64_t first) {
  if (!torch::isfinite(b.features).all().item<bool>() || (b.logits.defined() && !torch::isfinite(b.logits).all().item<bool>()))
    throw input_error(extractor.description(), "the feature network gave NaN or infinite outputs for images " +
                                                   range_of(first, images) + " of " + source.name());
}

}  // namespace

FeatureRunResult run_features(ImageSource& source, FeatureExtractor& extractor, const FeatureRunOptions& o) {
  if (o.batch_size < 1) throw Error("--batch-size must be at least 1");
  auto t0 = std::chrono::steady_clock::now();
  Gathered g;
  FeatureRunResult r;
  r.source = source.name();
  int64_t total = source.size_hint();
  if (o.limit >= 0 && (total < 0 || o.limit < total)) total = o.limit;
  torch::Tensor images, labels;
  while ((o.limit < 0 || r.count < o.limit) &&
         source.next(o.limit < 0 ? o.batch_size : std::min(o.batch_size, o.limit - r.count), images, labels)) {
    check_images(images, source, r.count);
    auto b = extractor.extract(images);
    check_outputs(b, images, source, extractor, r.count);
    g.moments.add(b.features);
    if (o.keep_features) g.features.push_back(b.features);
    if (b.logits.defined()) {
      auto p = torch::softmax(b.logits, 1);
      r.num_classes = p.size(1);
      g.predicted.push_back(p.argmax(1));
      if (o.keep_probs) g.probs.push_back(p);
    }
    g.all_labelled = g.all_labelled && labels.defined();
    if (g.all_labelled) g.labels.push_back(labels.to(torch::kInt64));
    r.count += images.size(0);
    if (o.progress) print_progress(source, r.count, total, seconds_since(t0));
  }
  if (o.progress) std::fprintf(stderr, "\n");
  if (r.count < 2) throw input_error(source.name(), "fewer than 2 images: nothing to score");
  r.moments = g.moments.moments();
  if (!g.features.empty()) r.features = torch::cat(g.features, 0);
  if (!g.probs.empty()) r.probs = torch::cat(g.probs, 0);
  if (!g.predicted.empty()) r.predicted = torch::cat(g.predicted, 0);
  if (g.all_labelled && !g.labels.empty()) r.labels = torch::cat(g.labels, 0);
  r.seconds = seconds_since(t0);
  return r;
}

}  // namespace biggan::metrics
