// fid: FID, Inception Score and KID of samples (a stream on stdin, HDF5, samples .npz, image folder)
// against reference moments or images; or the FID between two moment files.
#include <cxxopts.hpp>
#include <iostream>

#include "libbiggan/metrics/feature_options.h"
#include "libbiggan/metrics/frechet_distance.h"
#include "libbiggan/metrics/inception_score.h"
#include "libbiggan/metrics/kernel_inception_distance.h"
#include "libbiggan/metrics/moments_file.h"
#include "libbiggan/util/cli.h"
#include "libbiggan/util/error.h"
#include "libbiggan/util/json.h"
#include "libbiggan/util/flag_checks.h"

using namespace biggan;
using namespace biggan::metrics;

namespace {

bool is_npz(const std::string& p) { return p.size() > 4 && p.compare(p.size() - 4, 4, ".npz") == 0; }

// One side of the comparison: moments from a file, or images to run through the network.
struct Side {
  std::string input;
  Moments moments;
  torch::Tensor features, probs;
  int64_t count = -1;
  bool from_file = false;
};

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
        "KID needs features on both sides: images, or a moments file made with --save-features.");
    opts.add_options()
        ("samples", "samples (or the first moments file)", cxxopts::value<std::string>())
        ("reference", "reference moments .npz or images", cxxopts::value<std::string>())
        ("json", "print the results as one JSON object on stdout")
        ("splits", "Inception Score splits", cxxopts::value<int>()->default_value("10"))
        ("no-kid", "skip KID")
        ("kid-subsets", "KID subsets", cxxopts::value<int>()->default_value("100"))
        ("kid-subset-size", "KID subset size (capped at the smaller feature count)",
         cxxopts::value<int64_t>()->default_value("1000"))
        ("seed", "KID subset sampling seed", cxxopts::value<uint64_t>()->default_value("0"))
        ("save-moments", "also save the samples' moments (and features) to this .npz", cxxopts::value<std::string>())
        ("threads", "LibTorch threads (0 = all cores)", cxxopts::value<int>()->default_value("0"))
        ("h,help", "show this help");
    add_feature_options(opts);
    opts.parse_positional({"samples", "reference"});
    opts.positional_help("SAMPLES [REFERENCE]");
    auto args = opts.parse(argc, argv);
    if (args.count("help")) {
      std::cout << opts.help() << "\n";
      return 0;
    }
    if (!args.count("samples")) throw cxxopts::exceptions::exception("missing SAMPLES (- for a stream on stdin)");
    // Every number checked before any input is read.
    flag_at_least(args, "splits", 1);
    flag_at_least(args, "kid-subsets", 1);
    flag_at_least<int64_t>(args, "kid-subset-size", 2);
    run_options(args);
    setup_threads(args["threads"].as<int>());
    const bool want_kid = args.count("no-kid") == 0;

    std::vector<Side> sides(args.count("reference") ? 2 : 1);
    sides[0].input = args["samples"].as<std::string>();
    if (sides.size() == 2) sides[1].input = args["reference"].as<std::string>();

    // Moment files are read directly; an .npz without mu/sigma is a samples file. The network is
    // built (and its weights checked) before any stream is touched.
    std::vector<std::unique_ptr<ImageSource>> sources(sides.size());
    std::vector<bool> need_images(sides.size(), false);
    for (size_t i = 0; i < sides.size(); ++i) {
      auto& s = sides[i];
      need_images[i] = true;
      if (s.input != "-" && is_npz(s.input)) {
        auto arrays = npz::load(s.input);
        if (is_moments(arrays)) {
          s.moments = moments_from_arrays(arrays, s.input, &s.features);
          s.from_file = true;
          need_images[i] = false;
          continue;
        }
        sources[i] = npz_image_source(std::move(arrays), s.input);
      }
    }
    if (sides.size() == 1 && sides[0].from_file)
      throw Error(sides[0].input + ": a moments file alone gives no score; add a second moments file or images");
    std::unique_ptr<FeatureExtractor> extractor;
    if (need_images[0] || (sides.size() == 2 && need_images[1]))
      extractor = make_feature_extractor(extractor_options(args));
    bool random = false;
    std::string network;
    for (size_t i = 0; i < sides.size(); ++i) {
      auto& s = sides[i];
      random = random || s.moments.random_weights;
      if (!need_images[i]) continue;
      if (!sources[i]) sources[i] = open_image_source(s.input, args["hdf5-dataset"].as<std::string>());
      auto ro = run_options(args);
      ro.keep_features = want_kid || args.count("save-moments");
      ro.keep_probs = i == 0;
      auto r = run_features(*sources[i], *extractor, ro);
      s.moments = r.moments;
      s.features = r.features;
      s.probs = r.probs;
      s.count = r.count;
      random = random || extractor->random_weights();
      network = extractor->description();
      if (i == 0 && args.count("save-moments"))
        save_moments_npz(args["save-moments"].as<std::string>(), r.moments, r.features, extractor->random_weights());
    }

    auto j = Json::object();
    const std::string label = random ? std::string(" ") + kRandomWeightsLabel : "";
    if (sides[0].count >= 0) j.set("images", sides[0].count);
    if (sides.size() == 2 && sides[1].count >= 0) j.set("reference_images", sides[1].count);
    if (!network.empty()) j.set("network", network);
    j.set("random_weights", random);
    std::ostringstream text;
    if (!network.empty()) text << "network: " << network << "\n";
    if (sides[0].count >= 0) text << "images: " << sides[0].count << " (" << sides[0].input << ")\n";

    char line[256];
    if (sides[0].probs.defined()) {
      auto is = inception_score(sides[0].probs, args["splits"].as<int>());
      j.set("IS_mean", is.mean), j.set("IS_std", is.std), j.set("IS_splits", is.splits);
      std::snprintf(line, sizeof line, "IS: %.5f +/- %.5f (%d splits)", is.mean, is.std, is.splits);
      text << line << label << "\n";
    }
    if (sides.size() == 2) {
      auto f = frechet_distance(sides[0].moments.mu, sides[0].moments.sigma, sides[1].moments.mu,
                                sides[1].moments.sigma);
      if (f.singular) std::cerr << "fid: warning: " << f.warning << "\n";
      j.set("FID", f.fid);
      if (f.singular) j.set("FID_warning", f.warning);
      std::snprintf(line, sizeof line, "FID: %.6f", f.fid);
      text << line << label << "\n";
      if (want_kid && sides[0].features.defined() && sides[1].features.defined()) {
        auto k = kernel_inception_distance(sides[0].features, sides[1].features, args["kid-subsets"].as<int>(),
                                           args["kid-subset-size"].as<int64_t>(), args["seed"].as<uint64_t>());
        j.set("KID_mean", k.mean), j.set("KID_std", k.std), j.set("KID_subsets", k.subsets);
        j.set("KID_subset_size", k.subset_size);
        std::snprintf(line, sizeof line, "KID: %.6g +/- %.3g (%d subsets of %lld)", k.mean, k.std, k.subsets,
                      (long long)k.subset_size);
        text << line << label << "\n";
      } else if (want_kid && !(sides[0].from_file && sides[1].from_file)) {
        text << "KID: not computed (a moments file without features; make it with --save-features)\n";
      }
    } else if (!sides[0].probs.defined()) {
      throw Error("nothing to compute: give a REFERENCE for FID (this network has no logits for an Inception Score)");
    }
    std::cout << (args.count("json") ? j.dump() + "\n" : text.str());
    return 0;
  });
}
