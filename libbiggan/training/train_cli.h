// gan-train's command line: the reference's train.py flags (same names and defaults, as
// Config::apply_reference_flags reads them, also from --flags-file recipes in pipelines/) plus ours.
#pragma once
#include <string>
#include <vector>

#include "libbiggan/metrics/metric_registry.h"
#include "libbiggan/training/config.h"
#include "libbiggan/training/trainer.h"

namespace biggan {

struct TrainCommand {
  Config config;
  TrainerOptions options;
  int threads = 0;
  std::string classifier;      // --classifier: Fashion classifier weights for the yardstick
  std::string eval_real;       // --eval_real: real images (HDF5) the yardstick compares against
  int64_t eval_samples = 2000; // --eval_samples
  std::string inception_weights;  // --inception_weights: Inception IS/FID at each test
  std::string moments;            // --moments: the data set's Inception moments (.npz)
  std::string network;            // --network: torchvision (default) or fid
  // --metrics: what each test computes (empty: the evaluator's usual record). Qualified in full: the
  // member's name is the namespace's.
  ::biggan::metrics::MetricSelection metrics;
  bool help = false;
  bool version = false;        // --version: print it and exit
};

// Parses argv (without argv[0]). Our own flags are listed in train_usage(); every other flag goes
// to the reference's parser. Derives resolution / n_classes from the data file where the data set
// name does not say (or --n_classes overrides), and the roots as the reference does.
TrainCommand parse_train_command(const std::vector<std::string>& args);
std::string train_usage();

}  // namespace biggan
