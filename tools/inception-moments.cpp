// inception-moments: the Inception moments (mu, sigma) of a data set, for FID against it; the
// counterpart of BigGAN-PyTorch's calculate_inception_moments.py (and of pytorch-fid --save-stats).
#include <cxxopts.hpp>
#include <iostream>

#include "libbiggan/metrics/feature_options.h"
#include "libbiggan/metrics/moments_file.h"
#include "libbiggan/metrics/scores.h"
#include "libbiggan/util/cli.h"
#include "libbiggan/util/common_flags.h"
#include "libbiggan/util/json.h"
#include "libbiggan/util/provenance.h"

using namespace biggan;
using namespace biggan::metrics;

int main(int argc, char** argv) {
  return run_tool("inception-moments", [&] {
    cxxopts::Options opts("inception-moments",
                          "Compute the mean and covariance (float64) of Inception pool features over a data set\n"
                          "(or another network's: --network fashion-classifier --weights clf.pth) and save them as\n"
                          ".npz (np.savez: mu, sigma), the file fid, BigGAN-PyTorch and pytorch-fid read.\n"
                          "INPUT: an HDF5 training file (imgs N×C×H×W uint8), an image folder, a .npz of samples (x),\n"
                          "a sample stream file, or - for a stream on stdin.");
    opts.add_options()
        ("input", "HDF5 file, image folder, samples .npz, stream file or -", cxxopts::value<std::string>())
        ("o,output", "output .npz", cxxopts::value<std::string>())
        ("save-features", "also store the raw features (float32 [N, d], for KID) in the .npz");
    add_feature_options(opts);
    opts.parse_positional({"input"});
    opts.positional_help("INPUT -o OUT.npz");
    cxxopts::ParseResult args;
    const auto common = parse_tool_flags(opts, argc, argv, kThreadsFlag | kProgressFlag | kDeviceFlag | kJsonFlag, args, "print the summary as JSON on stdout");
    if (!common) return 0;
    if (!args.count("input")) throw cxxopts::exceptions::exception("missing INPUT");
    if (!args.count("output")) throw cxxopts::exceptions::exception("missing -o OUT.npz");
    auto extractor = make_feature_extractor(extractor_options(args));
    auto source = open_image_source(args["input"].as<std::string>(), args["hdf5-dataset"].as<std::string>());
    auto ro = run_options(args);
    ro.keep_features = args.count("save-features") > 0;
    auto r = run_features(*source, *extractor, ro);
    const auto out = args["output"].as<std::string>();
    save_moments_npz(out, r.moments, r.features, extractor->random_weights());

    const std::string label = extractor->random_weights() ? std::string(" ") + kRandomWeightsLabel : "";
    InceptionScore is;
    ScoreOptions is_only;
    is_only.accuracy = false;
    if (r.probs.defined() && r.count >= 10) is = compute_scores(r, nullptr, is_only).is;
    if (common->json) {
      auto j = Json::object();
      j.set("output", out);
      j.set("images", r.count);
      j.set("dim", r.moments.mu.numel());
      j.set("network", extractor->description());
      j.set("random_weights", extractor->random_weights());
      if (is.splits) j.set("IS_mean", is.mean), j.set("IS_std", is.std);
      j.set("seconds", r.seconds);
      j.set("provenance", biggan::provenance_json());
      std::cout << j.dump() << "\n";
    } else {
      std::cout << "wrote " << out << ": mu [" << r.moments.mu.numel() << "], sigma [" << r.moments.mu.numel() << ", "
                << r.moments.mu.numel() << "] from " << r.count << " images (" << extractor->description() << ")"
                << label << "\n";
      if (is.splits)
        std::printf("IS of these images: %.5f +/- %.5f (10 splits)%s\n", is.mean, is.std, label.c_str());
    }
    return 0;
  });
}
