// fid: FID, Inception Score, KID (and, with --accuracy, the conditional accuracy) of samples (a stream
// on stdin, HDF5, samples .npz, image folder) against reference moments or images; or the FID between
// two moment files; or, with --metrics, exactly the metrics named (metric_registry.h). Any feature
// network: Inception, the Fashion-MNIST classifier, TorchScript.
#include <cxxopts.hpp>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "libbiggan/metrics/feature_options.h"
#include "libbiggan/metrics/feature_run.h"
#include "libbiggan/metrics/metric_registry.h"
#include "libbiggan/metrics/moments_file.h"
#include "libbiggan/metrics/scores.h"
#include "libbiggan/util/cli.h"
#include "libbiggan/util/common_flags.h"
#include "libbiggan/util/error.h"
#include "libbiggan/util/json.h"
#include "libbiggan/util/flag_checks.h"
#include "libbiggan/util/provenance.h"

using namespace biggan;
using namespace biggan::metrics;

namespace {

bool is_npz(const std::string& p) { return p.size() > 4 && p.compare(p.size() - 4, 4, ".npz") == 0; }

// One side of the comparison: moments from a file, or images run through the network.
struct Side {
  std::string input;
  FeatureRunResult run;  // count -1 for a moments file
  bool from_file = false;
  std::unique_ptr<ImageSource> source;  // images still to run
};

void add_options(cxxopts::Options& opts) {
  opts.add_options()
      ("samples", "samples (or the first moments file)", cxxopts::value<std::string>())
      ("reference", "reference moments .npz or images", cxxopts::value<std::string>())
      ("splits", "Inception Score splits", cxxopts::value<int>()->default_value("10"))
      ("no-kid", "skip KID")
      ("kid-subsets", "KID subsets", cxxopts::value<int>()->default_value("100"))
      ("kid-subset-size", "KID subset size (capped at the smaller feature count)",
       cxxopts::value<int64_t>()->default_value("1000"))
      ("seed", "KID subset sampling seed", cxxopts::value<uint64_t>()->default_value("0"))
      ("accuracy", "also the conditional accuracy: the samples' labels against the network's predicted classes "
                   "(labels in the network's classes: ImageNet's for Inception, Fashion-MNIST's for the classifier)")
      ("save-moments", "also save the samples' moments (and features) to this .npz", cxxopts::value<std::string>())
      ("metrics", "compute and print exactly these metrics, comma-separated: " + valid_metric_names() +
                  "; a name may end in a sample count (fid10k: the first 10,000 samples). See docs/metrics.md",
       cxxopts::value<std::string>())
      ("pr-k", "k of the k-NN balls for --metrics pr", cxxopts::value<int>()->default_value("3"))
      ("dc-k", "k of the k-NN balls for --metrics dc", cxxopts::value<int>()->default_value("5"));
  add_feature_options(opts);
  opts.parse_positional({"samples", "reference"});
  opts.positional_help("SAMPLES [REFERENCE]");
}

// Moment files are read directly; an .npz without mu/sigma is a samples file.
std::vector<Side> open_sides(const cxxopts::ParseResult& args) {
  std::vector<Side> sides(args.count("reference") ? 2 : 1);
  sides[0].input = args["samples"].as<std::string>();
  if (sides.size() == 2) sides[1].input = args["reference"].as<std::string>();
  for (auto& s : sides) {
    s.run.count = -1;
    s.run.source = s.input;
    if (s.input == "-" || !is_npz(s.input)) continue;
    auto arrays = npz::load(s.input);
    if (is_moments(arrays)) {
      s.run.moments = moments_from_arrays(arrays, s.input, &s.run.features);
      s.from_file = true;
    } else {
      s.source = npz_image_source(std::move(arrays), s.input);
    }
  }
  if (sides.size() == 1 && sides[0].from_file)
    throw Error(sides[0].input + ": a moments file alone gives no score; add a second moments file or images");
  return sides;
}

// Runs the network over every side that has images. The network is built (and its weights checked)
// before any stream is touched. Returns the network's description ("" when none ran).
std::string run_sides(std::vector<Side>& sides, const cxxopts::ParseResult& args, bool keep_features, bool& random,
                      int64_t samples_limit) {
  std::unique_ptr<FeatureExtractor> extractor;
  for (auto& s : sides)
    if (!s.from_file && !extractor) extractor = make_feature_extractor(extractor_options(args));
  std::string network;
  for (size_t i = 0; i < sides.size(); ++i) {
    auto& s = sides[i];
    random = random || s.run.moments.random_weights;
    if (s.from_file) continue;
    if (!s.source) s.source = open_image_source(s.input, args["hdf5-dataset"].as<std::string>());
    auto ro = run_options(args);
    ro.keep_features = keep_features;
    ro.keep_probs = i == 0;
    if (i == 0 && samples_limit > 0) ro.limit = samples_limit;
    s.run = run_features(*s.source, *extractor, ro);
    random = random || extractor->random_weights();
    network = extractor->description();
    if (i == 0 && args.count("save-moments"))
      save_moments_npz(args["save-moments"].as<std::string>(), s.run.moments, s.run.features,
                       extractor->random_weights());
  }
  return network;
}

ScoreOptions score_options(const cxxopts::ParseResult& args, const std::optional<MetricSelection>& chosen) {
  ScoreOptions o;
  o.is_splits = args["splits"].as<int>();
  o.kid = args.count("no-kid") == 0;
  o.kid_subsets = args["kid-subsets"].as<int>();
  o.kid_subset_size = args["kid-subset-size"].as<int64_t>();
  o.kid_seed = args["seed"].as<uint64_t>();
  o.accuracy = args.count("accuracy") > 0;
  o.pr_k = args["pr-k"].as<int>();
  o.dc_k = args["dc-k"].as<int>();
  return chosen ? score_options_for(*chosen, o) : o;
}

// The report, as text or JSON: the keys and lines fid has always printed, or with --metrics the
// chosen metrics' in the order named (metric_registry.h).
std::string report(const std::vector<Side>& sides, const Scores& s, const ScoreOptions& o, const std::string& network,
                   bool random, bool json, const std::optional<MetricSelection>& chosen) {
  auto j = Json::object();
  const std::string label = random ? std::string(" ") + kRandomWeightsLabel : "";
  if (sides[0].run.count >= 0) j.set("images", sides[0].run.count);
  if (sides.size() == 2 && sides[1].run.count >= 0) j.set("reference_images", sides[1].run.count);
  if (!network.empty()) j.set("network", network);
  j.set("random_weights", random);
  std::ostringstream text;
  if (!network.empty()) text << "network: " << network << "\n";
  if (sides[0].run.count >= 0) text << "images: " << sides[0].run.count << " (" << sides[0].input << ")\n";
  // Without --metrics: every score computed, in the order fid has always printed them.
  const std::vector<Metric> metrics =
      chosen ? chosen->metrics : std::vector<Metric>{Metric::kIs, Metric::kFid, Metric::kKid, Metric::kAccuracy};
  for (Metric m : metrics) {
    metric_to_json(m, s, j);
    if (has_metric(m, s)) text << metric_text(m, s) << label << "\n";
    if (!chosen && m == Metric::kKid && !s.has_kid && s.has_fid && o.kid && !(sides[0].from_file && sides[1].from_file))
      text << "KID: not computed (a moments file without features; make it with --save-features)\n";
  }
  if (json) j.set("provenance", biggan::provenance_json());
  return json ? j.dump() + "\n" : text.str();
}

// --metrics: each name parsed (a bad one is a usage error listing the valid names); the old
// switches that chose scores are refused beside it, since the list says everything.
std::optional<MetricSelection> chosen_metrics(const cxxopts::ParseResult& args) {
  if (!args.count("metrics")) return std::nullopt;
  for (const char* old : {"accuracy", "no-kid"})
    if (args.count(old))
      throw cxxopts::exceptions::exception(std::string("--") + old +
                                           " chooses scores the old way; with --metrics name every metric there");
  if (args.count("limit") && args["limit"].as<int64_t>() >= 0)
    throw cxxopts::exceptions::exception("--limit and --metrics exclude each other (give a count as in fid10k)");
  try {
    return parse_metrics(args["metrics"].as<std::string>());
  } catch (const Error& e) {
    throw cxxopts::exceptions::exception(e.what());
  }
}

// What each chosen metric needs of the inputs, checked before any network runs.
void check_metric_inputs(const MetricSelection& chosen, const std::vector<Side>& sides) {
  for (Metric m : chosen.metrics) {
    const std::string name = std::string("--metrics ") + metric_info(m).name;
    const bool needs_features = m == Metric::kKid || m == Metric::kPrecisionRecall || m == Metric::kDensityCoverage;
    if ((m == Metric::kFid || needs_features) && sides.size() < 2)
      throw Error(name + " needs a REFERENCE (moments .npz or images)");
    if ((m == Metric::kIs || m == Metric::kAccuracy) && sides[0].from_file)
      throw Error(sides[0].input + ": " + name + " needs the samples as images, not a moments file");
    if (needs_features)
      for (const auto& side : sides)
        if (side.from_file && !side.run.features.defined())
          throw Error(side.input + ": " + name + " needs features: a moments file made with --save-features");
  }
  if (chosen.num_samples > 0 && sides[0].from_file)
    throw Error(sides[0].input + ": a sample count in --metrics needs the samples as images, not a moments file");
}

// After scoring: the asked-for count was there, and every chosen metric was computed.
void check_metric_results(const MetricSelection& chosen, const Side& samples, const Scores& s) {
  if (chosen.num_samples > 0 && samples.run.count < chosen.num_samples)
    throw Error(samples.input + ": --metrics asks for " + std::to_string(chosen.num_samples) + " samples; it holds " +
                std::to_string(samples.run.count));
  for (Metric m : chosen.metrics) {
    if (has_metric(m, s)) continue;
    const std::string name = std::string("--metrics ") + metric_info(m).name;
    if (m == Metric::kIs) throw Error(name + ": the network has no logits for an Inception Score");
    if (m == Metric::kAccuracy)
      throw Error(samples.input + ": " + name + " needs samples with labels and a network with logits");
    throw Error(name + ": not computed for these inputs");
  }
}

}  // namespace

int main(int argc, char** argv) {
  return run_tool("fid", [&] {
    cxxopts::Options opts(
        "fid",
        "Score samples: FID (exact, float64), Inception Score (10 splits, as BigGAN-PyTorch) and KID.\n"
        "  fid A.npz B.npz                 FID between two moment files (inception-moments, pytorch-fid)\n"
        "  gan-sample ... | fid - REF.npz  samples from a stream on stdin against reference moments\n"
        "  fid SAMPLES [REF]               SAMPLES / REF: moments .npz, samples .npz (x), HDF5 file,\n"
        "                                  image folder, stream file, or - (stream on stdin)\n"
        "  fid --network fashion-classifier --weights clf.pth SAMPLES REF   the classifier's scores\n"
        "  fid --metrics fid,kid,pr,dc SAMPLES REF   exactly these metrics (docs/metrics.md)\n"
        "KID, pr and dc need features on both sides: images, or a moments file made with --save-features.");
    add_options(opts);
    cxxopts::ParseResult args;
    const auto common = parse_tool_flags(opts, argc, argv, kThreadsFlag | kProgressFlag | kDeviceFlag | kJsonFlag, args,
                                         "print the results as one JSON object on stdout");
    if (!common) return 0;
    if (!args.count("samples")) throw cxxopts::exceptions::exception("missing SAMPLES (- for a stream on stdin)");
    // Every number checked before any input is read.
    flag_at_least(args, "splits", 1);
    flag_at_least(args, "kid-subsets", 1);
    flag_at_least<int64_t>(args, "kid-subset-size", 2);
    flag_at_least(args, "pr-k", 1);
    flag_at_least(args, "dc-k", 1);
    run_options(args);
    const auto chosen = chosen_metrics(args);
    const auto o = score_options(args, chosen);

    auto sides = open_sides(args);
    if (chosen) check_metric_inputs(*chosen, sides);
    bool random = false;
    const auto network = run_sides(sides, args, o.needs_features() || args.count("save-moments"), random,
                                   chosen ? chosen->num_samples : -1);
    if (sides.size() == 1 && !sides[0].run.probs.defined())
      throw Error("nothing to compute: give a REFERENCE for FID (this network has no logits for an Inception Score)");
    if (!chosen && o.accuracy && !(sides[0].run.labels.defined() && sides[0].run.predicted.defined()))
      throw Error(sides[0].input + ": --accuracy needs samples with labels and a network with logits");
    const Moments* reference = sides.size() == 2 ? &sides[1].run.moments : nullptr;
    auto s = compute_scores(sides[0].run, reference, o, sides.size() == 2 ? sides[1].run.features : torch::Tensor());
    if (chosen) check_metric_results(*chosen, sides[0], s);
    if (s.fid_detail.singular) std::cerr << "fid: warning: " << s.fid_detail.warning << "\n";
    std::cout << report(sides, s, o, network, random, common->json, chosen);
    return 0;
  });
}
