// gan-train's loop (train.py): data -> training step -> logs, saves, sample sheets, tests, as the
// reference does it, plus an exact resume, graceful SIGINT/SIGTERM, NaN stops and plots.
//
// Random draws happen in the reference's order (seed; G, D, G_ema; z_ and fixed z/y; per data
// iterator its base seed and sampler permutations; per step the noise), so the reference's run
// with the same flags, seed and data is reproduced. Sample sheets and evaluations draw from
// private generators, so saving and testing never change the training noise. A save also records
// torch's generator state (after the step, and when the current epoch's data order was drawn), so
// --resume continues bit-identically on the CPU.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "libbiggan/data/batch_loader.h"
#include "libbiggan/training/collapse_watchdog.h"
#include "libbiggan/training/config.h"
#include "libbiggan/training/distributed.h"
#include "libbiggan/training/evaluator.h"
#include "libbiggan/training/experiment.h"
#include "libbiggan/training/precision.h"
#include "libbiggan/training/train_step.h"
#include "libbiggan/training/weights_folder.h"
#include "libbiggan/util/progress.h"

namespace biggan {

struct TrainerOptions {
  std::string data_path;     // the HDF5 training file
  int64_t total_itr = 0;     // stop after this iteration (0: run num_epochs)
  // From this iteration on, G's and D's learning rates fall linearly to 0 at total_itr (-1: constant
  // rates, as the reference). Set by the iteration alone, so a resumed run follows the same schedule.
  int64_t lr_decay_start = -1;
  bool progress = false;     // one-line progress on stderr
  int loader_threads = 2;
  torch::Device device = torch::kCPU;  // where G, D and the training step live (the data stays on the CPU)
  std::shared_ptr<Evaluator> evaluator;  // null: tests are skipped (logged as such)
  Amp amp = Amp::kOff;                   // --amp: autocast in the training step (precision.h)
  bool sample_sheets = true;             // sheets at every save
  // The collapse watchdog (training/collapse_watchdog.h): warns, logs logs/<name>/collapse.jsonl and
  // keeps the last save before the collapse as the suffix "precollapse"; optionally stops the run.
  bool watch_collapse = true;
  bool stop_on_collapse = false;
  CollapseThresholds collapse;
  // --resume_from: a weights folder to fine-tune from (fine_tune.h): a new run whose models take
  // every layer of it that fits; the architecture comes from its tensors, n_classes from the flags.
  std::string resume_from;
  // Config keys set on the command line: on --resume / --resume_from they keep their word against
  // the saved tensors (config_from_tensors.h); the others follow the tensors, with a warning.
  std::set<std::string> explicit_keys;
  // Several processes (training/distributed.h): taken from the environment (RANK, WORLD_SIZE, ...);
  // these choose the backend and how long a collective may wait for a slow or dead rank.
  DistributedOptions distributed;
  // Called after every step (tests use it to compare the data order and the losses).
  std::function<void(int64_t itr, const data::Batch& batch, const StepLosses& losses)> on_step;
};

class Trainer {
 public:
  // `config` must be complete (resolution, n_classes, roots). Opens the data and builds the models.
  Trainer(Config config, TrainerOptions options);
  ~Trainer();
  // Trains until num_epochs or total_itr, or until a stop is requested; returns the final state.
  TrainState run();

  const std::string& experiment_name() const { return name_; }
  // After run(): whether a stop was asked (request_stop or a signal), and the signal's number (0
  // for request_stop or none). gan-train exits 128 + that number, as a shell reports a signal.
  bool stopped() const { return stopped_; }
  int stop_signal() const { return stop_signal_; }
  // After run(): the collapse the watchdog reported, if any (with stop_on_collapse, the reason of the stop).
  const std::optional<CollapseEvent>& collapse() const { return collapse_; }
  const ExperimentPaths& paths() const { return paths_; }
  Gan& gan() { return gan_; }

  // Asks the running trainer to finish its current step, save and return (signal-safe). Each run()
  // clears the request when it starts, so a stop never carries over to a later run.
  static void request_stop();
  // Installs SIGINT / SIGTERM handlers that stop the running trainer this way, and ignores SIGXFSZ
  // (a write over a file size limit then fails with an error instead of killing the process).
  static void install_signal_handlers();

 private:
  torch::Tensor epoch_order(bool resume_this_epoch, int64_t loader_start_itr, data::LoaderOptions& lo);
  void set_learning_rates();  // --lr_decay_start: this iteration's rates
  void train_iteration(const data::Batch& batch, ProgressMeter& meter);
  void save(bool with_copy);
  void test();
  void sample_sheets();
  void standing_stats();
  GeneratorImpl& sampled_G();
  void plots();
  void on_collapse(const std::optional<CollapseEvent>& event);
  std::string keep_precollapse_save(int64_t onset_itr);
  // --resume / --resume_from: W's tensors set the architecture (before the models are built).
  void adopt_architecture(const WeightsFolderContents& w, const std::string& source);

  Config config_;
  TrainerOptions options_;
  std::string name_;
  ExperimentPaths paths_;
  Gan gan_;
  TrainState state_;
  std::shared_ptr<data::HDF5Dataset> data_;
  torch::Tensor fixed_z_, fixed_y_;
  std::unique_ptr<MetricTextLogger> text_log_;
  std::unique_ptr<JsonlLogger> train_log_, test_log_, sv_log_, collapse_log_;
  std::unique_ptr<CollapseWatchdog> watchdog_;
  std::optional<CollapseEvent> collapse_;
  std::unique_ptr<MixedPrecision> precision_;
  std::unique_ptr<TrainStep> step_;
  int64_t last_save_itr_ = -1, last_test_itr_ = -1;
  int64_t standing_itr_ = -1;  // the iteration whose standing statistics G has (--accumulate_stats)
  // Several processes: the ranks; rank 0 alone writes (logs, weights, sheets, tests). A stop asked
  // of any rank reaches all at the same iteration (stop_agreed_, from the per-step all-reduce).
  std::unique_ptr<Distributed> dist_;
  bool writer_ = true, stop_agreed_ = false;
  void connect_ranks();
  // Every rank: the global batch's losses (the mean over ranks) and whether any rank stops here.
  void agree_on_losses(StepLosses& losses, bool stop_here);
  bool stop_now() const;
  // Rank 0, at the end: the share of the training loop spent in collectives (for the benchmark).
  void report_collectives(double loop_seconds) const;
  bool stopped_ = false;
  int stop_signal_ = 0;
};

}  // namespace biggan
