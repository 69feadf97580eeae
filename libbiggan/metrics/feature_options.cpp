#include "libbiggan/metrics/feature_options.h"

#include "libbiggan/util/cli.h"
#include "libbiggan/util/flag_checks.h"

namespace biggan::metrics {

void add_feature_options(cxxopts::Options& opts) {
  opts.add_options("features")
      ("network", "torchvision (BigGAN-PyTorch's scorer), fid (pytorch-fid's TF FID-Inception) or "
                  "fashion-classifier (--weights from `fashion-classifier train`); default: the Inception the "
                  "weights file holds", cxxopts::value<std::string>()->default_value(""))
      ("features", "another feature network: torchscript:FILE (its first output on images in [-1, 1]). A "
                   "TorchScript file is a program: loading it runs its code, so use only files you trust",
       cxxopts::value<std::string>()->default_value(""))
      ("inception-weights", "Inception weights (.pth: inception_v3_google-0cc3c7bd.pth or "
                            "pt_inception-2015-12-05-6726825d.pth); default $BIGGAN_INCEPTION_WEIGHTS "
                            "($BIGGAN_FID_INCEPTION_WEIGHTS with --network fid)",
       cxxopts::value<std::string>()->default_value(""))
      ("weights", "the network's weights file (same as --inception-weights; the classifier file for "
                  "--network fashion-classifier)", cxxopts::value<std::string>()->default_value(""))
      ("random-weights", "no weights file: a smoke test, every number is labelled meaningless")
      ("no-channels-last", "run the network in N×C×H×W memory format (default: channels-last)")
      ("batch-size", "images per forward pass", cxxopts::value<int64_t>()->default_value("50"))
      ("limit", "use at most this many images", cxxopts::value<int64_t>()->default_value("-1"))
      ("hdf5-dataset", "image dataset inside an HDF5 input", cxxopts::value<std::string>()->default_value("imgs"));
}

ExtractorOptions extractor_options(const cxxopts::ParseResult& args) {
  ExtractorOptions o;
  o.network = args["network"].as<std::string>();
  auto features = args["features"].as<std::string>();
  if (!features.empty()) {
    if (!o.network.empty()) throw cxxopts::exceptions::exception("--features and --network exclude each other");
    if (features.rfind("torchscript:", 0) != 0)
      throw cxxopts::exceptions::exception("--features takes torchscript:FILE");
    o.network = features;
  }
  o.weights = args["weights"].as<std::string>();
  if (!args["inception-weights"].as<std::string>().empty()) {
    if (!o.weights.empty()) throw cxxopts::exceptions::exception("--weights and --inception-weights exclude each other");
    o.weights = args["inception-weights"].as<std::string>();
  }
  o.random_weights = args.count("random-weights") > 0;
  o.device = args["device"].as<std::string>();
  o.channels_last = args.count("no-channels-last") == 0;
  return o;
}

FeatureRunOptions run_options(const cxxopts::ParseResult& args) {
  FeatureRunOptions r;
  r.batch_size = flag_at_least<int64_t>(args, "batch-size", 1);
  r.limit = flag_at_least<int64_t>(args, "limit", -1);  // -1: all
  r.progress = args.count("progress") > 0 || stderr_is_terminal();
  return r;
}

}  // namespace biggan::metrics
