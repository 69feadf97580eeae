// fid: FID, Inception Score, KID (and, with --accuracy, the conditional accuracy) of samples (a stream
// on stdin, HDF5, samples .npz, image folder) against reference moments or images; or the FID between
// two moment files. Any feature network: Inception, the Fashion-MNIST classifier, TorchScript.
#include <cstdio>
#include <cxxopts.hpp>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "libbiggan/metrics/feature_options.h"
#include "libbiggan/metrics/feature_run.h"
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
      ("save-moments", "also save the samples' moments (and features) to this .npz", cxxopts::value<std::string>());
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
std::string run_sides(std::vector<Side>& sides, const cxxopts::ParseResult& args, bool keep_features, bool& random) {
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
    s.run = run_features(*s.source, *extractor, ro);
    random = random || extractor->random_weights();
    network = extractor->description();
    if (i == 0 && args.count("save-moments"))
      save_moments_npz(args["save-moments"].as<std::string>(), s.run.moments, s.run.features,
                       extractor->random_weights());
  }
  return network;
}

ScoreOptions score_options(const cxxopts::ParseResult& args) {
  ScoreOptions o;
  o.is_splits = args["splits"].as<int>();
  o.kid = args.count("no-kid") == 0;
  o.kid_subsets = args["kid-subsets"].as<int>();
  o.kid_subset_size = args["kid-subset-size"].as<int64_t>();
  o.kid_seed = args["seed"].as<uint64_t>();
  o.accuracy = args.count("accuracy") > 0;
  return o;
}

// The report, as text or JSON, with the keys and lines fid has always printed.
std::string report(const std::vector<Side>& sides, const Scores& s, const ScoreOptions& o, const std::string& network,
                   bool random, bool json) {
  auto j = Json::object();
  const std::string label = random ? std::string(" ") + kRandomWeightsLabel : "";
  if (sides[0].run.count >= 0) j.set("images", sides[0].run.count);
  if (sides.size() == 2 && sides[1].run.count >= 0) j.set("reference_images", sides[1].run.count);
  if (!network.empty()) j.set("network", network);
  j.set("random_weights", random);
  std::ostringstream text;
  if (!network.empty()) text << "network: " << network << "\n";
  if (sides[0].run.count >= 0) text << "images: " << sides[0].run.count << " (" << sides[0].input << ")\n";
  char line[256];
  if (s.has_is) {
    j.set("IS_mean", s.is.mean), j.set("IS_std", s.is.std), j.set("IS_splits", s.is.splits);
    std::snprintf(line, sizeof line, "IS: %.5f +/- %.5f (%d splits)", s.is.mean, s.is.std, s.is.splits);
    text << line << label << "\n";
  }
  if (s.has_fid) {
    j.set("FID", s.fid);
    if (s.fid_detail.singular) j.set("FID_warning", s.fid_detail.warning);
    std::snprintf(line, sizeof line, "FID: %.6f", s.fid);
    text << line << label << "\n";
  }
  if (s.has_kid) {
    j.set("KID_mean", s.kid.mean), j.set("KID_std", s.kid.std), j.set("KID_subsets", s.kid.subsets);
    j.set("KID_subset_size", s.kid.subset_size);
    std::snprintf(line, sizeof line, "KID: %.6g +/- %.3g (%d subsets of %lld)", s.kid.mean, s.kid.std, s.kid.subsets,
                  (long long)s.kid.subset_size);
    text << line << label << "\n";
  } else if (s.has_fid && o.kid && !(sides[0].from_file && sides[1].from_file)) {
    text << "KID: not computed (a moments file without features; make it with --save-features)\n";
  }
  if (s.has_labels) {
    accuracy_to_json(s, j);
    std::snprintf(line, sizeof line, "conditional accuracy: %.2f %%", 100 * s.conditional_accuracy);
    text << line << label << "\n";
  }
  if (json) j.set("provenance", biggan::provenance_json());
  return json ? j.dump() + "\n" : text.str();
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
        "KID needs features on both sides: images, or a moments file made with --save-features.");
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
    run_options(args);
    const auto o = score_options(args);

    auto sides = open_sides(args);
    bool random = false;
    const auto network = run_sides(sides, args, o.kid || args.count("save-moments"), random);
    if (sides.size() == 1 && !sides[0].run.probs.defined())
      throw Error("nothing to compute: give a REFERENCE for FID (this network has no logits for an Inception Score)");
    if (o.accuracy && !(sides[0].run.labels.defined() && sides[0].run.predicted.defined()))
      throw Error(sides[0].input + ": --accuracy needs samples with labels and a network with logits");
    const Moments* reference = sides.size() == 2 ? &sides[1].run.moments : nullptr;
    auto s = compute_scores(sides[0].run, reference, o, sides.size() == 2 ? sides[1].run.features : torch::Tensor());
    if (s.fid_detail.singular) std::cerr << "fid: warning: " << s.fid_detail.warning << "\n";
    std::cout << report(sides, s, o, network, random, common->json);
    return 0;
  });
}
