// A tiny gan-train run that needs no fixture: random 32x32 images in 4 classes, G_ch / D_ch 4,
// batch 4, one thread. It trains in milliseconds per iteration, so tests can run the tool whole,
// kill it, resume it and compare the results bit for bit.
#pragma once
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "libbiggan/metrics/fashion_classifier.h"
#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/training/experiment.h"
#include "libbiggan/training/train_cli.h"
#include "tests/fixtures.h"

extern char** environ;

namespace biggan::test {

// imgs uint8 [n, 3, 32, 32] and labels 0..3, from a fixed seed.
inline std::filesystem::path make_tiny_data(const std::filesystem::path& dir, int64_t n = 64) {
  auto path = dir / "tiny32.hdf5";
  torch::manual_seed(1234);  // every Trainer seeds itself: nothing downstream depends on this
  auto imgs = torch::randint(0, 256, {n, 3, 32, 32}, torch::kInt64).to(torch::kUInt8);
  auto labels = torch::arange(n, torch::kInt64).remainder(4);
  auto f = h5::File::create(path.string());
  f.write("imgs", imgs);
  f.write("labels", labels);
  f.close();
  return path;
}

// An untrained Fashion-MNIST-style classifier saved as dir/clf.pth, for --classifier (its features
// are as good as any for checking the plumbing); returns the path.
inline std::string untrained_classifier(const std::filesystem::path& dir, int64_t image_size = 32,
                                        int64_t classes = 4) {
  torch::manual_seed(7);
  metrics::ClassifierArch arch;
  arch.image_size = image_size;
  arch.channels = {4, 8, 16};
  arch.feature_dim = 16;
  arch.num_classes = classes;
  metrics::FashionClassifier model(arch);
  model->eval();
  const auto path = (dir / "clf.pth").string();
  metrics::save_classifier(path, model);
  return path;
}

// gan-train flags for the tiny run (add --total_itr, --save_every, --resume, ...).
inline std::vector<std::string> tiny_args(const std::filesystem::path& base_root, const std::filesystem::path& data,
                                          std::vector<std::string> extra) {
  std::vector<std::string> args = {
      "--dataset", "I32_hdf5", "--data_path", data.string(), "--n_classes", "4", "--base_root", base_root.string(),
      "--shuffle", "--batch_size", "4", "--G_ch", "4", "--D_ch", "4", "--dim_z", "8", "--G_attn", "0",
      "--D_attn", "0", "--G_init", "N02", "--D_init", "N02", "--ema", "--use_ema", "--ema_start", "3",
      "--num_epochs", "1000", "--num_save_copies", "0", "--num_best_copies", "0", "--test_every", "100000",
      "--sv_log_interval", "100000", "--seed", "5", "--no_sheets", "--threads", "1", "--loader_threads", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

inline std::filesystem::path tiny_weights(const std::filesystem::path& base_root, const std::filesystem::path& data) {
  return base_root / "weights" / experiment_name_from_config(parse_train_command(tiny_args(base_root, data, {})).config);
}

// gan-train started as a child process (stdout and stderr to `log`).
struct Child {
  pid_t pid = -1;
  static Child spawn(const std::vector<std::string>& args, const std::filesystem::path& log,
                     const std::string& shell_prefix = "") {
    // Through sh, so that a test can set limits (ulimit) for the child alone.
    std::string cmd = shell_prefix + "exec '" + tool_path("gan-train").string() + "'";
    for (const auto& a : args) cmd += " '" + a + "'";
    cmd += " > '" + log.string() + "' 2>&1";
    std::vector<std::string> argv_s = {"/bin/sh", "-c", cmd};
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    Child c;
    if (posix_spawn(&c.pid, "/bin/sh", nullptr, nullptr, argv.data(), environ) != 0) c.pid = -1;
    return c;
  }
  // The exit code, or 128 + the signal that ended it.
  int wait() {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  // Non-blocking: true (and the code) when it has ended.
  bool ended(int& code) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) != pid) return false;
    pid = -1;
    code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return true;
  }
};

inline int run_gan_train(const std::vector<std::string>& args, const std::filesystem::path& log,
                         const std::string& shell_prefix = "") {
  return Child::spawn(args, log, shell_prefix).wait();
}

inline size_t count_lines(const std::filesystem::path& file) {
  std::ifstream in(file);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

}  // namespace biggan::test
