// fashion-classifier: the embedded default's yardstick. `train` fits a small CNN on the Fashion-MNIST
// training split (HDF5 from `imagenet-to-hdf5 --format idx`) and saves it as a torch file; `score`
// rates generated samples with it: classifier-FID against the real test split, an Inception-Score-
// style score from its softmax, and the conditional accuracy (a sample of class k classified as k),
// beside the real-vs-real floor (what a perfect generator would score).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cxxopts.hpp>
#include <iostream>
#include <optional>
#include <sstream>

#include "libbiggan/metrics/classifier_extractor.h"
#include "libbiggan/metrics/fashion_classifier.h"
#include "libbiggan/metrics/feature_scorer.h"
#include "libbiggan/metrics/image_source.h"
#include "libbiggan/training/precision.h"
#include "libbiggan/util/cli.h"
#include "libbiggan/util/common_flags.h"
#include "libbiggan/util/error.h"
#include "libbiggan/util/json.h"
#include "libbiggan/util/flag_checks.h"
#include "libbiggan/util/progress.h"
#include "libbiggan/util/provenance.h"
#include "libbiggan/util/version.h"

using namespace biggan;
using namespace biggan::metrics;

namespace {

// A missing required flag is a usage error (exit 2), as cxxopts' own parse errors are.
void require_flags(const cxxopts::ParseResult& args, std::initializer_list<const char*> names) {
  for (const char* name : names)
    if (!args.count(name)) throw cxxopts::exceptions::exception(std::string("missing --") + name);
}

const char* kUsage =
    "usage: fashion-classifier train --train TRAIN.h5 --test TEST.h5 --out clf.pth [options]\n"
    "       fashion-classifier score --classifier clf.pth --real TEST.h5 --samples SAMPLES.h5 [options]\n"
    "Run `fashion-classifier train --help` or `fashion-classifier score --help` for the options.\n";

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::array<int64_t, 3> parse_channels(const std::string& s) {
  std::array<int64_t, 3> c{};
  char a, b;
  std::istringstream in(s);
  if (!(in >> c[0] >> a >> c[1] >> b >> c[2]) || a != ',' || b != ',' || !in.eof())
    throw cxxopts::exceptions::exception("--channels wants three counts like 32,64,128, got '" + s + "'");
  return c;
}

int train_command(int argc, char** argv) {
  cxxopts::Options opts("fashion-classifier train",
                        "Train the Fashion-MNIST classifier and save it as a torch file (prints the test accuracy).");
  ClassifierTrainOptions d;
  opts.add_options()
      ("train", "training split HDF5 (imgs uint8 N×3×S×S, labels int64)", cxxopts::value<std::string>())
      ("test", "test split HDF5 (same layout)", cxxopts::value<std::string>())
      ("out", "classifier file to write (.pth)", cxxopts::value<std::string>())
      ("epochs", "training epochs", cxxopts::value<int64_t>()->default_value(std::to_string(d.epochs)))
      ("batch-size", "batch size", cxxopts::value<int64_t>()->default_value(std::to_string(d.batch_size)))
      ("lr", "peak learning rate of the one-cycle schedule (Adam)", cxxopts::value<double>()->default_value("0.003"))
      ("seed", "random seed", cxxopts::value<uint64_t>()->default_value("0"))
      ("limit", "use only the first N training images (0 = all)", cxxopts::value<int64_t>()->default_value("0"))
      ("channels", "conv channels of the three stages", cxxopts::value<std::string>()->default_value("24,48,96"))
      ("no-flip", "no random horizontal flips (for data whose classes are not mirror-symmetric)")
      ("features", "feature (penultimate) dimension", cxxopts::value<int64_t>()->default_value("128"))
      ("amp", "off, bf16, or auto (bf16 where the CPU computes it natively): autocast and channels-last "
              "activations in training; the weights and the file stay float32",
       cxxopts::value<std::string>()->default_value("off"));
  cxxopts::ParseResult args;
  const auto common = parse_tool_flags(opts, argc, argv, kThreadsFlag | kProgressFlag | kJsonFlag, args,
                                       "print the result as JSON on stdout");
  if (!common) return kExitOk;
  require_flags(args, {"train", "test", "out"});
  const int threads = common->threads;

  ClassifierTrainOptions o;
  o.epochs = flag_at_least<int64_t>(args, "epochs", 1);
  o.batch_size = flag_at_least<int64_t>(args, "batch-size", 2);
  o.max_lr = flag_positive(args, "lr");
  flag_at_least<int64_t>(args, "limit", 0);
  o.seed = args["seed"].as<uint64_t>();
  o.flip = args.count("no-flip") == 0;
  o.arch.channels = parse_channels(args["channels"].as<std::string>());
  o.arch.feature_dim = flag_at_least<int64_t>(args, "features", 1);
  if (o.epochs < 1) throw cxxopts::exceptions::exception("--epochs must be >= 1");
  const Amp amp = resolve_amp(args["amp"].as<std::string>(), torch::kCPU, "fashion-classifier");
  if (amp == Amp::kFP16)
    throw cxxopts::exceptions::exception("--amp fp16: the classifier trains on the CPU, where LibTorch has no fp16 "
                                         "convolution; use bf16 or off");
  o.amp = amp_dtype(amp);

  auto train = read_labeled_images(args["train"].as<std::string>(), true, args["limit"].as<int64_t>());
  auto test = read_labeled_images(args["test"].as<std::string>(), true);
  o.arch.image_size = train.images.size(2);
  if (train.images.size(3) != o.arch.image_size)
    throw input_error(args["train"].as<std::string>(), "images must be square");
  std::cerr << "fashion-classifier: training on " << train.images.size(0) << " images (" << o.arch.describe()
            << ", " << o.epochs << " epochs, " << amp_name(amp) << ", " << threads << " threads)\n";
  o.on_epoch = [&](int64_t epoch, double loss, double secs) {
    std::fprintf(stderr, "epoch %lld/%lld  loss %.4f  %.0f s\n", static_cast<long long>(epoch),
                 static_cast<long long>(o.epochs), loss, secs);
  };
  std::optional<ProgressMeter> meter;
  if (common->progress) {
    o.progress_every = 20;
    o.on_step = [&](int64_t step, int64_t total, double loss) {
      if (!meter) meter.emplace("fashion-classifier", total, true, "steps");
      char detail[32];
      std::snprintf(detail, sizeof detail, "loss %.4f", loss);
      meter->update(step, detail);
      if (step == total) meter->finish(step);
    };
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto model = train_classifier(train.images, train.labels, o);
  const double train_secs = seconds_since(t0);
  const double acc = classifier_accuracy(model, test.images, test.labels);
  save_classifier(args["out"].as<std::string>(), model);

  if (common->json) {
    auto j = Json::object();
    j.set("test_accuracy", Json(acc));
    j.set("test_images", Json(test.images.size(0)));
    j.set("train_images", Json(train.images.size(0)));
    j.set("epochs", Json(o.epochs));
    j.set("train_seconds", Json(train_secs));
    j.set("threads", Json(threads));
    j.set("amp", Json(std::string(amp_name(amp))));
    j.set("architecture", Json(o.arch.describe()));
    j.set("out", Json(args["out"].as<std::string>()));
    j.set("provenance", biggan::provenance_json());
    std::cout << j.dump() << "\n";
  } else {
    std::printf("test accuracy: %.2f %% (%lld images)\ntraining time: %.1f s\nwrote %s\n", 100 * acc,
                static_cast<long long>(test.images.size(0)), train_secs, args["out"].as<std::string>().c_str());
  }
  return kExitOk;
}

void print_scores(const char* what, const Scores& s) {
  std::printf("%s (%lld images)\n", what, static_cast<long long>(s.count));
  std::printf("  classifier-FID:       %.4f\n", s.fid);
  std::printf("  IS-style (%d splits): %.4f ± %.4f\n", s.is.splits, s.is.mean, s.is.std);
  if (s.has_labels) {
    std::printf("  conditional accuracy: %.2f %%\n  per class:           ", 100 * s.conditional_accuracy);
    for (size_t k = 0; k < s.per_class_accuracy.size(); ++k)
      std::printf(std::isnan(s.per_class_accuracy[k]) ? " %zu:-" : " %zu:%.0f%%", k, 100 * s.per_class_accuracy[k]);
    std::printf("\n");
  } else {
    std::printf("  conditional accuracy: - (the samples carry no labels)\n");
  }
  if (s.fid_detail.singular) std::printf("  note: %s\n", s.fid_detail.warning.c_str());
}

int score_command(int argc, char** argv) {
  cxxopts::Options opts("fashion-classifier score",
                        "Score generated images with the Fashion-MNIST classifier: classifier-FID against the real\n"
                        "split, IS-style score, conditional accuracy; with --train also the real-vs-real floor.");
  opts.add_options()
      ("classifier", "classifier file from `fashion-classifier train`", cxxopts::value<std::string>())
      ("real", "real split HDF5 whose feature moments are the reference (the test split)",
       cxxopts::value<std::string>())
      ("samples", "samples HDF5: images (float N×3×H×W in [-1, 1]) or imgs (uint8); labels or y (int64)",
       cxxopts::value<std::string>())
      ("train", "training split HDF5: also score as many real training images (the floor)",
       cxxopts::value<std::string>())
      ("splits", "splits of the IS-style score", cxxopts::value<int>()->default_value("10"))
      ("batch-size", "inference batch size", cxxopts::value<int64_t>()->default_value("500"));
  cxxopts::ParseResult args;
  const auto common = parse_tool_flags(opts, argc, argv, kThreadsFlag | kJsonFlag, args,
                                       "print the result as JSON on stdout");
  if (!common) return kExitOk;
  require_flags(args, {"classifier", "real", "samples"});
  const int splits = flag_at_least(args, "splits", 1);
  const int64_t batch = flag_at_least<int64_t>(args, "batch-size", 1);

  // The classifier is scored like any feature network: one run over the real split for the
  // reference moments, one run over each image set, then the shared scores.
  const auto classifier_path = args["classifier"].as<std::string>();
  auto extractor = std::make_shared<ClassifierExtractor>(load_classifier(classifier_path), classifier_path);
  auto real = read_labeled_images(args["real"].as<std::string>(), false);
  auto samples = read_labeled_images(args["samples"].as<std::string>(), false);
  if (samples.images.size(0) < splits)
    throw input_error(args["samples"].as<std::string>(), "holds " + std::to_string(samples.images.size(0)) +
                                                             " images, fewer than the " + std::to_string(splits) +
                                                             " IS splits");
  FeatureRunOptions run;
  run.batch_size = batch;
  auto real_source = tensor_image_source(real.images, {}, args["real"].as<std::string>());
  FeatureScorer scorer(extractor, *real_source, run);
  ScoreOptions score_options;
  score_options.is_splits = splits;
  auto s = scorer.score(*tensor_image_source(samples.images, samples.labels, args["samples"].as<std::string>()),
                        score_options);

  std::optional<Scores> floor;
  if (args.count("train")) {
    auto tr = read_labeled_images(args["train"].as<std::string>(), true, samples.images.size(0));
    floor = scorer.score(*tensor_image_source(tr.images, tr.labels, args["train"].as<std::string>()), score_options);
  }
  if (common->json) {
    auto j = Json::object();
    j.set("samples", scores_to_json(s));
    if (floor) j.set("floor", scores_to_json(*floor));
    j.set("real_images", Json(real.images.size(0)));
    j.set("provenance", biggan::provenance_json());
    std::cout << j.dump() << "\n";
  } else {
    std::printf("real reference: %s (%lld images)\n", args["real"].as<std::string>().c_str(),
                static_cast<long long>(real.images.size(0)));
    print_scores(("samples: " + args["samples"].as<std::string>()).c_str(), s);
    if (floor)
      print_scores("floor: real training images (what a perfect generator would score)", *floor);
    else
      std::printf("(add --train TRAIN.h5 to see the real-vs-real floor)\n");
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  return run_tool("fashion-classifier", [&] {
    if (argc < 2) {
      std::cerr << kUsage;
      return static_cast<int>(kExitUsage);
    }
    const std::string cmd = argv[1];
    if (cmd == "-h" || cmd == "--help") {
      std::cout << kUsage;
      return static_cast<int>(kExitOk);
    }
    if (cmd == "--version") {
      std::cout << version_line("fashion-classifier") << "\n";
      return static_cast<int>(kExitOk);
    }
    // The sub-command's own parser sees "fashion-classifier <cmd>" as its program name.
    if (cmd == "train") return train_command(argc - 1, argv + 1);
    if (cmd == "score") return score_command(argc - 1, argv + 1);
    std::cerr << "fashion-classifier: unknown command '" << cmd << "'\n" << kUsage;
    return static_cast<int>(kExitUsage);
  });
}
