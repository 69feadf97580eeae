// gan-train: BigGAN-PyTorch's train.py as a tool (see --help).
#include <iostream>

#include "libbiggan/training/train_cli.h"
#include "libbiggan/util/provenance.h"
#include "libbiggan/util/cli.h"
#include "libbiggan/util/error.h"
#include "libbiggan/util/version.h"

int main(int argc, char** argv) {
  biggan::record_invocation("gan-train", argc, argv);
  return biggan::run_tool("gan-train", [&] {
    biggan::TrainCommand cmd;
    try {
      cmd = biggan::parse_train_command(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const biggan::Error& e) {
      std::cerr << "gan-train: " << e.what() << " (see --help)\n";
      return static_cast<int>(biggan::kExitUsage);
    }
    if (cmd.help) {
      std::cout << biggan::train_usage();
      return 0;
    }
    if (cmd.version) {
      std::cout << biggan::version_line("gan-train") << "\n";
      return 0;
    }
    biggan::setup_threads(cmd.threads);
    // --metrics (null when not given) and its sample count (fid10k), which replaces the test's own.
    const auto* chosen = cmd.metrics.empty() ? nullptr : &cmd.metrics;
    const int64_t counted = cmd.metrics.num_samples;
    if (!cmd.classifier.empty())
      cmd.options.evaluator = biggan::make_classifier_evaluator(
          cmd.classifier, cmd.eval_real, counted > 0 ? counted : cmd.eval_samples,
          static_cast<uint64_t>(cmd.config.seed) + 1, cmd.options.data_path, chosen);
    if (!cmd.inception_weights.empty())
      cmd.options.evaluator = biggan::make_inception_evaluator(
          cmd.network, cmd.inception_weights, cmd.moments, counted > 0 ? counted : cmd.config.num_inception_images,
          std::max(cmd.config.G_batch_size, cmd.config.batch_size), cmd.config.z_var, chosen);
    if (!cmd.options.progress) cmd.options.progress = biggan::stderr_is_terminal();
    biggan::Trainer trainer(cmd.config, cmd.options);
    biggan::Trainer::install_signal_handlers();
    std::cerr << "gan-train: experiment " << trainer.experiment_name() << "\n";
    auto state = trainer.run();
    std::cerr << "gan-train: stopped at itr " << state.itr << "; weights in " << trainer.paths().weights.string() << "\n";
    // Interrupted by a signal: saved, but not finished (a Makefile must not call the run trained).
    if (trainer.stop_signal() > 0) return 128 + trainer.stop_signal();
    // Stopped by --stop_on_collapse: saved, and the pre-collapse save kept, but not a finished run.
    if (trainer.stopped() && trainer.collapse() && cmd.options.stop_on_collapse) return 3;
    return 0;
  });
}
