#include "libbiggan/training/evaluator.h"

#include <cmath>
#include <iostream>
#include <optional>
#include <utility>

#include "libbiggan/metrics/fashion_classifier.h"
#include "libbiggan/metrics/feature_extractor.h"
#include "libbiggan/metrics/feature_scorer.h"
#include "libbiggan/metrics/metric_registry.h"
#include "libbiggan/metrics/moments_file.h"
#include "libbiggan/training/distributed.h"
#include "libbiggan/training/sample_run.h"
#include "libbiggan/training/sample_scores.h"
#include "libbiggan/util/error.h"

namespace biggan {

namespace {

torch::Device device_of(GeneratorImpl& G) {
  return G.parameters().empty() ? torch::Device(torch::kCPU) : G.parameters()[0].device();
}

std::shared_ptr<metrics::FeatureExtractor> extractor(const std::string& network, const std::string& weights) {
  metrics::ExtractorOptions o;
  o.network = network;
  o.weights = weights;
  return metrics::make_feature_extractor(o);
}

std::optional<metrics::MetricSelection> copy_of(const metrics::MetricSelection* chosen) {
  if (!chosen || chosen->empty()) return std::nullopt;
  return *chosen;
}

// A test record of the chosen metrics only (gan-train --metrics): IS_mean, IS_std and FID always
// (the trainer's best copies and plots read them; NaN where not chosen), each chosen metric's keys
// (NaN main numbers where it could not be computed), and floor_<key> of the real images' scores.
Json chosen_record(const metrics::Scores& s, const metrics::MetricSelection& chosen, const metrics::Scores* floor,
                   const std::string& network) {
  using metrics::Metric;
  const double nan = std::nan("");
  const bool is = chosen.has(Metric::kIs) && s.has_is, fid = chosen.has(Metric::kFid) && s.has_fid;
  Json out = Json::object()
                 .set("IS_mean", is ? s.is.mean : nan)
                 .set("IS_std", is ? s.is.std : nan)
                 .set("FID", fid ? s.fid : nan);
  for (Metric m : chosen.metrics) {
    metrics::metric_to_json(m, s, out);
    if (!metrics::has_metric(m, s))
      for (const auto& key : metrics::metric_headline_keys(m)) out.set(key, nan);
  }
  out.set("num_samples", s.count).set("metric_network", network);
  if (floor) {
    for (Metric m : chosen.metrics) {
      auto f = Json::object();
      metrics::metric_to_json(m, *floor, f);
      for (const auto& key : metrics::metric_headline_keys(m))
        if (f.contains(key)) out.set("floor_" + key, f[key]);
    }
  }
  return out;
}

// Both evaluators: a feature network and its reference (metrics::FeatureScorer), fed the samples
// of a sample run (training/sample_run.h) as they are made; every score comes from
// metrics::compute_scores. A test that cannot be scored (e.g. G made NaN pixels) is logged with
// NaN scores and the reason instead of stopping the training run. With `chosen` metrics, exactly
// those are computed and recorded (chosen_record).
class FeatureEvaluator : public Evaluator {
 public:
  FeatureEvaluator(metrics::FeatureScorer scorer, std::string name, std::optional<metrics::MetricSelection> chosen)
      : scorer_(std::move(scorer)), name_(std::move(name)), chosen_(std::move(chosen)) {}

  Json evaluate(GeneratorImpl& G, int64_t itr, Distributed* ranks) override {
    if (ranks && ranks->world_size() > 1) return evaluate_over_ranks(G, itr, *ranks);
    try {
      auto latents = latents_for(G);
      SampleRun run(G, *latents, {});
      GeneratorImageSource samples(run);
      auto s = scorer_.score(samples, options());
      run.finish();
      return record_of(s);
    } catch (const Error& e) {
      return failed(itr, e.what());
    }
  }
  std::string name() const override { return name_; }

 protected:
  virtual std::unique_ptr<LatentSource> latents_for(GeneratorImpl& G) = 0;
  // Rows a forward of G takes (latents_for's batches): the unit the ranks split.
  virtual int64_t forward_rows() const = 0;
  virtual metrics::ScoreOptions score_options() const { return {}; }
  virtual Json record(const metrics::Scores& s) const = 0;
  // Real images scored as the samples are (the classifier's floor), when known.
  virtual const metrics::Scores* floor() const { return nullptr; }
  metrics::ScoreOptions options() const {
    return chosen_ ? metrics::score_options_for(*chosen_, score_options()) : score_options();
  }

  metrics::FeatureScorer scorer_;
  std::string name_;
  std::optional<metrics::MetricSelection> chosen_;

 private:
  Json record_of(const metrics::Scores& s) const {
    return chosen_ ? chosen_record(s, *chosen_, floor(), scorer_.extractor().description()) : record(s);
  }
  Json failed(int64_t itr, const std::string& why) const {
    std::cerr << "gan-train: itr " << itr << ": the " << name_ << " test failed: " << why << "\n";
    return Json::object()
        .set("IS_mean", std::nan(""))
        .set("IS_std", std::nan(""))
        .set("FID", std::nan(""))
        .set("error", why);
  }

  // Several processes: each makes its share of every forward (RankShareLatents) and runs the feature
  // network on it; the feature moments are merged over the ranks and the per-sample outputs gathered
  // in sample order, so rank 0 scores what one process would have (up to float sums' order).
  Json evaluate_over_ranks(GeneratorImpl& G, int64_t itr, Distributed& ranks) {
    const int world = ranks.world_size(), rank = ranks.rank();
    const auto device = device_of(G);
    const auto o = options();
    std::string failure;
    metrics::FeatureRunResult mine;
    int64_t total = 0;
    try {
      auto latents = latents_for(G);
      total = latents->count();
      // Each rank needs 2 rows of its own for its moments: 2 per rank in the first forward.
      if (std::min(total, forward_rows()) < 2 * world)
        throw Error("a test over " + std::to_string(world) + " processes needs at least " + std::to_string(2 * world) +
                    " samples a forward; it has " + std::to_string(std::min(total, forward_rows())));
      RankShareLatents share(*latents, forward_rows(), rank, world);
      SampleRun run(G, share, {});
      GeneratorImageSource samples(run);
      mine = scorer_.run(samples, o.needs_features());
      run.finish();
    } catch (const Error& e) {
      failure = e.what();
    }
    // Every rank learns whether any failed before gathering: none waits for one that gave up.
    auto failed_ranks = torch::zeros({world}, torch::kInt64);
    failed_ranks[rank] = failure.empty() ? 0 : 1;
    failed_ranks = failed_ranks.to(device);
    ranks.all_reduce_sum({failed_ranks}, "whether each rank's test share ran");
    failed_ranks = failed_ranks.cpu();
    if (failed_ranks.sum().item<int64_t>() > 0) {
      if (rank != 0) {
        if (!failure.empty()) std::cerr << "gan-train: rank " << rank << ": itr " << itr << ": " << failure << "\n";
        return Json();
      }
      std::string who;
      for (int r = 0; r < world; ++r)
        if (failed_ranks[r].item<int64_t>()) who += (who.empty() ? "" : ", ") + std::to_string(r);
      return failed(itr, failure.empty() ? "rank " + who + " failed (its stderr says why)" : failure);
    }
    std::vector<int64_t> counts;
    auto all = gathered(mine, total, ranks, device, counts);
    if (rank != 0) return Json();
    try {
      auto s = scorer_.score_run(all, o);
      Json out = record_of(s);
      auto by_rank = Json::array();
      for (auto n : counts) by_rank.push_back(n);
      out.set("samples_by_rank", by_rank);
      return out;
    } catch (const Error& e) {
      return failed(itr, e.what());
    }
  }

  // The ranks' runs as one: moments merged (Chan et al.), probabilities, classes, labels and (when
  // kept) features joined in sample order.
  metrics::FeatureRunResult gathered(const metrics::FeatureRunResult& mine, int64_t total, Distributed& ranks,
                                     torch::Device device, std::vector<int64_t>& counts) const {
    metrics::FeatureRunResult all;
    all.source = mine.source;
    all.num_classes = mine.num_classes;
    all.count = total;
    all.moments = merged_moments(mine.moments, mine.count, ranks, device);
    const auto order = rank_share_order(total, forward_rows(), ranks.world_size());
    auto join = [&](const torch::Tensor& t, const std::string& what) -> torch::Tensor {
      if (!t.defined()) return {};  // defined on every rank or on none: the same network and options
      auto joined = ranks.all_gather_rows(t.to(device), "the test's " + what, &counts).cpu();
      if (joined.size(0) != total)
        throw Error("the test's " + what + ": " + std::to_string(joined.size(0)) + " rows gathered, " +
                    std::to_string(total) + " expected");
      return joined.index_select(0, order);
    };
    all.features = join(mine.features, "features");
    all.probs = join(mine.probs, "class probabilities");
    all.predicted = join(mine.predicted, "predicted classes");
    all.labels = join(mine.labels, "labels");
    return all;
  }

  // The whole sample's mean and covariance from each rank's, as metrics::merge_moments merges parts:
  // the mean of the means (weighted by rows), then the sum of every rank's part_scatter.
  static metrics::Moments merged_moments(const metrics::Moments& m, int64_t n, Distributed& ranks,
                                         torch::Device device) {
    auto rows = torch::full({1}, static_cast<double>(n), torch::kFloat64).to(device);
    auto weighted = (m.mu.to(torch::kFloat64) * static_cast<double>(n)).to(device);
    ranks.all_reduce_sum({rows, weighted}, "the test's feature means");
    const double total = rows.cpu().item<double>();
    auto mu = weighted.cpu() / total;
    auto scatter = metrics::part_scatter(m, n, mu).to(device);
    ranks.all_reduce_sum({scatter}, "the test's feature covariances");
    return {mu, scatter.cpu() / (total - 1), m.random_weights};
  }
};

// The embedded default's yardstick: the Fashion-MNIST classifier against the real test split, on a
// fixed sample (a private generator, classes cycling) so that every test scores the same z and y.
class ClassifierEvaluator : public FeatureEvaluator {
 public:
  ClassifierEvaluator(const std::string& classifier_path, const std::string& real_h5, int64_t num_samples,
                      uint64_t seed, const std::string& train_h5, std::optional<metrics::MetricSelection> chosen)
      // `chosen` copied, not moved: the arguments' order of evaluation is unspecified.
      : FeatureEvaluator(real_scorer(classifier_path, real_h5, chosen && chosen->needs_features()), "classifier",
                         chosen),
        num_samples_(num_samples),
        seed_(seed) {
    if (!train_h5.empty()) {
      auto real = metrics::read_labeled_images(train_h5, true, num_samples_);
      floor_ = scorer_.score(*metrics::tensor_image_source(real.images, real.labels, train_h5), options());
    }
  }

 private:
  // keep_features: the reference's features too (for kid, pr, dc), not only its moments.
  static metrics::FeatureScorer real_scorer(const std::string& classifier_path, const std::string& real_h5,
                                            bool keep_features) {
    metrics::FeatureRunOptions run;
    run.batch_size = 500;
    run.keep_features = keep_features;
    auto real = metrics::tensor_image_source(metrics::read_labeled_images(real_h5, false).images, {}, real_h5);
    return metrics::FeatureScorer(extractor("fashion-classifier", classifier_path), *real, run);
  }
  std::unique_ptr<LatentSource> latents_for(GeneratorImpl& G) override {
    return evaluation_latents(num_samples_, seed_, 1.0, G.dim_z(), G.n_classes(), kForwardRows, device_of(G));
  }
  int64_t forward_rows() const override { return kForwardRows; }
  static constexpr int64_t kForwardRows = 100;
  Json record(const metrics::Scores& s) const override {
    Json out = metrics::scores_to_json(s);
    out.set("IS_mean", s.is.mean);
    out.set("IS_std", s.is.std);
    out.set("FID", s.fid);
    out.set("metric_network", "fashion-classifier");
    if (floor_) {
      out.set("floor_FID", floor_->fid);
      out.set("floor_IS_mean", floor_->is.mean);
      out.set("floor_conditional_accuracy", floor_->conditional_accuracy);
    }
    return out;
  }
  const metrics::Scores* floor() const override { return floor_ ? &*floor_ : nullptr; }

  int64_t num_samples_;
  uint64_t seed_;
  std::optional<metrics::Scores> floor_;  // real training images, scored once
};

// The reference's test: IS and FID of num_samples samples drawn as utils.sample does.
class InceptionEvaluator : public FeatureEvaluator {
 public:
  InceptionEvaluator(const std::string& network, const std::string& weights, const std::string& moments_npz,
                     int64_t num_samples, int64_t batch_size, double z_var,
                     std::optional<metrics::MetricSelection> chosen)
      : FeatureEvaluator(moments_scorer(network, weights, moments_npz, chosen), "inception", chosen),
        num_samples_(num_samples),
        batch_size_(batch_size),
        z_var_(z_var) {}

 private:
  // The reference moments, with the file's features when a chosen metric needs them.
  static metrics::FeatureScorer moments_scorer(const std::string& network, const std::string& weights,
                                               const std::string& moments_npz,
                                               const std::optional<metrics::MetricSelection>& chosen) {
    if (chosen && chosen->has(metrics::Metric::kAccuracy))
      throw Error("--metrics accuracy: the Inception test draws its classes (no labelled samples to check); "
                  "use the classifier yardstick (--classifier)");
    torch::Tensor features;
    auto moments = metrics::load_moments_npz(moments_npz, chosen && chosen->needs_features() ? &features : nullptr);
    if (chosen && chosen->needs_features() && !features.defined())
      throw Error(moments_npz + ": --metrics " + chosen->names() +
                  " needs the reference's features: make the file with inception-moments --save-features");
    return metrics::FeatureScorer(extractor(network, weights), std::move(moments), {}, std::move(features));
  }
  std::unique_ptr<LatentSource> latents_for(GeneratorImpl& G) override {
    LatentOptions lo;
    lo.z_var = z_var_;
    sampler_ = std::make_unique<LatentSampler>(batch_size_, G.dim_z(), G.n_classes(), lo, -1, device_of(G));
    return drawn_latents(*sampler_, num_samples_);
  }
  int64_t forward_rows() const override { return batch_size_; }
  metrics::ScoreOptions score_options() const override {
    metrics::ScoreOptions o;
    o.accuracy = false;  // drawn classes, not what the images are labelled as in a data set
    return o;
  }
  Json record(const metrics::Scores& s) const override {
    return Json::object()
        .set("IS_mean", s.has_is ? s.is.mean : std::nan(""))
        .set("IS_std", s.has_is ? s.is.std : std::nan(""))
        .set("FID", s.has_fid ? s.fid : std::nan(""))
        .set("num_samples", s.count)
        .set("metric_network", scorer_.extractor().description());
  }

  int64_t num_samples_, batch_size_;
  double z_var_;
  std::unique_ptr<LatentSampler> sampler_;  // the current test's (drawn_latents keeps a reference)
};

}  // namespace

std::unique_ptr<Evaluator> make_inception_evaluator(const std::string& network, const std::string& weights,
                                                    const std::string& moments_npz, int64_t num_samples,
                                                    int64_t batch_size, double z_var,
                                                    const metrics::MetricSelection* chosen) {
  return std::make_unique<InceptionEvaluator>(network, weights, moments_npz, num_samples, batch_size, z_var,
                                              copy_of(chosen));
}

std::unique_ptr<Evaluator> make_classifier_evaluator(const std::string& classifier_path,
                                                     const std::string& real_images_h5, int64_t num_samples,
                                                     uint64_t seed, const std::string& train_images_h5,
                                                     const metrics::MetricSelection* chosen) {
  return std::make_unique<ClassifierEvaluator>(classifier_path, real_images_h5, num_samples, seed, train_images_h5,
                                               copy_of(chosen));
}

}  // namespace biggan
