// gan-train killed at random moments (kill -9, often inside a save) and resumed each time ends
// bit-identical to the run that was never interrupted; a save that runs out of room fails with one
// line and leaves the previous save resumable.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <random>
#include <sstream>

#include "libbiggan/training/save_manifest.h"
#include "libbiggan/training/weights_folder.h"
#include "libbiggan/util/atomic_file.h"
#include "libbiggan/util/json.h"
#include "tests/training/tiny_run.h"

using namespace biggan;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

const std::vector<std::string> kAll = {"G", "D", "G_ema", "G_optim", "D_optim", "state_dict"};

// What a kill left in the folder: staged or temp files mean it landed inside a save.
struct KillScene {
  bool in_save = false, in_commit = false;
};
KillScene look(const fs::path& weights) {
  KillScene s;
  if (!fs::is_directory(weights)) return s;
  for (const auto& e : fs::directory_iterator(weights)) {
    const auto name = e.path().filename().string();
    if (name[0] == '.') s.in_save = true;
    if (name == staged_file_name("state_dict", "")) s.in_commit = true;
  }
  return s;
}

bool has_save(const fs::path& weights) {
  return fs::exists(weights / "state_dict.pth") || fs::exists(weights / staged_file_name("state_dict", ""));
}

// The two runs' weights are the same bytes, their generator states equal, their logs the same.
void check_same_run(const fs::path& root_a, const fs::path& root_b, const fs::path& data, int64_t itr) {
  const auto wa = test::tiny_weights(root_a, data), wb = test::tiny_weights(root_b, data);
  for (const auto& what : {"G", "D", "G_ema", "G_optim", "D_optim"}) {
    INFO(what);
    CHECK(digest_file(wa / weights_file_name(what, "")) == digest_file(wb / weights_file_name(what, "")));
  }
  auto a = load_weights_folder(wa, "", kAll), b = load_weights_folder(wb, "", kAll);
  CHECK(a.state->itr == itr);
  CHECK(b.state->itr == itr);
  CHECK(torch::equal(a.state->rng_state, b.state->rng_state));
  // No iteration logged twice or lost: the logs are the same bytes, but for the "provenance" that
  // the first record of each start (a resume is one) carries: the command lines differ.
  const auto la = root_a / "logs" / wa.filename(), lb = root_b / "logs" / wb.filename();
  auto without_provenance = [](const fs::path& p) {
    std::istringstream in(read_file(p));
    std::string out, line;
    while (std::getline(in, line)) {
      if (line.find("\"provenance\"") != std::string::npos) {
        Json record = Json::parse(line), kept = Json::object();
        for (const auto& kv : record.items())
          if (kv.first != "provenance") kept.set(kv.first, kv.second);
        line = kept.dump();
      }
      out += line + "\n";
    }
    return out;
  };
  for (const char* log : {"train_log.jsonl", "G_loss.log", "D_loss_real.log"}) {
    INFO(log);
    CHECK(test::count_lines(lb / log) == static_cast<size_t>(itr));
    CHECK(without_provenance(la / log) == without_provenance(lb / log));
  }
}

}  // namespace

TEST_CASE("20 random kill -9s during a run, each followed by --resume, end bit-identical") {
  REQUIRE(fs::exists(test::tool_path("gan-train")));
  test::TempDir tmp;
  const auto data = test::make_tiny_data(tmp.path);
  const int64_t total = 80;
  auto args = [&](const fs::path& root, bool resume) {
    auto a = test::tiny_args(root, data, {"--total_itr", std::to_string(total), "--save_every", "1"});
    if (resume) a.push_back("--resume");
    return a;
  };

  // The uninterrupted run, timed: startup (until its first save) and the whole run.
  const auto ref_root = tmp / "ref";
  auto t0 = Clock::now();
  auto ref = test::Child::spawn(args(ref_root, false), tmp / "ref.log");
  double startup = -1;
  int code = -1;
  while (!ref.ended(code)) {
    if (startup < 0 && has_save(test::tiny_weights(ref_root, data)))
      startup = std::chrono::duration<double>(Clock::now() - t0).count();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const double whole = std::chrono::duration<double>(Clock::now() - t0).count();
  REQUIRE(code == 0);
  REQUIRE(startup > 0);
  const double per_itr = (whole - startup) / total;

  // One kill in five at a random moment of startup; the others a random time (up to 3 iterations)
  // after the run's first new log line, i.e. in training or in a save (every iteration saves).
  uint64_t seed = std::random_device()();
  if (const char* s = std::getenv("BIGGAN_KILL_SEED")) seed = std::stoull(s);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> in_startup(0.0, startup), in_run(0.0, 3 * per_itr);
  const auto root = tmp / "killed";
  const auto weights = test::tiny_weights(root, data);
  const auto train_log = root / "logs" / weights.filename() / "train_log.jsonl";
  int kills = 0, in_save = 0, in_commit = 0, finished_early = 0;
  for (int attempt = 0; kills < 20 && attempt < 40; ++attempt) {
    const auto log_size = fs::exists(train_log) ? fs::file_size(train_log) : 0;
    auto child = test::Child::spawn(args(root, has_save(weights)), tmp / "killed.log");
    const bool during_startup = rng() % 5 == 0;
    auto until = Clock::now() + std::chrono::duration<double>(during_startup ? in_startup(rng) : 3600.0);
    auto tick = [&] { std::this_thread::sleep_for(std::chrono::microseconds(200)); };
    while (Clock::now() < until && !child.ended(code)) {
      if (!during_startup && fs::exists(train_log) && fs::file_size(train_log) != log_size) {
        until = Clock::now() + std::chrono::duration<double>(in_run(rng));
        while (Clock::now() < until && !child.ended(code)) tick();
        break;
      }
      tick();
    }
    if (child.pid < 0) {  // it finished before the kill: the run is over too early
      ++finished_early;
      INFO(read_file(tmp / "killed.log"));
      REQUIRE(code == 0);
      break;
    }
    ::kill(child.pid, SIGKILL);
    REQUIRE(child.wait() == 128 + SIGKILL);
    ++kills;
    const auto scene = look(weights);
    in_save += scene.in_save;
    in_commit += scene.in_commit;
    // Whatever the moment, the folder reads as one whole save.
    if (has_save(weights)) REQUIRE_NOTHROW(load_weights_folder(weights, "", kAll));
  }
  code = test::run_gan_train(args(root, has_save(weights)), tmp / "killed.log");
  INFO(read_file(tmp / "killed.log"));
  REQUIRE(code == 0);
  std::cout << "random kills (seed " << seed << "): " << kills << " kill -9s, " << in_save
            << " inside a save (" << in_commit << " after its commit, completed on resume); startup "
            << startup << " s, " << per_itr * 1000 << " ms per iteration with its save\n";
  CHECK(kills == 20);
  CHECK(finished_early == 0);
  check_same_run(ref_root, root, data, total);
}

TEST_CASE("a save that hits the file size limit fails in one line and the previous save resumes exactly") {
  REQUIRE(fs::exists(test::tool_path("gan-train")));
  test::TempDir tmp;
  const auto data = test::make_tiny_data(tmp.path);
  auto args = [&](const fs::path& root, int64_t total, bool resume) {
    auto a = test::tiny_args(root, data, {"--total_itr", std::to_string(total), "--save_every", "1"});
    if (resume) a.push_back("--resume");
    return a;
  };
  REQUIRE(test::run_gan_train(args(tmp / "ref", 4, false), tmp / "ref.log") == 0);
  const auto root = tmp / "full";
  const auto weights = test::tiny_weights(root, data);
  REQUIRE(test::run_gan_train(args(root, 2, false), tmp / "a.log") == 0);
  const auto before = digest_file(weights / "G.pth");
  // The limit lets logs and metalog grow but no weights file be written (ulimit -f counts KiB).
  const auto limit_kib = fs::file_size(weights / "G.pth") / 2048;
  REQUIRE(limit_kib * 1024 > fs::file_size(root / "logs" / weights.filename() / "metalog.txt"));
  const int code = test::run_gan_train(args(root, 4, true), tmp / "full.log",
                                       "ulimit -f " + std::to_string(limit_kib) + "; ");
  const std::string err = read_file(tmp / "full.log");
  INFO(err);
  CHECK(code == 1);
  // Its one error line: which itr, that the previous save is intact, which file, why.
  const auto last = err.substr(err.rfind('\n', err.size() - 2) + 1);
  CHECK(last.rfind("gan-train: itr 3: save failed, the previous save is intact: ", 0) == 0);
  CHECK(last.find(".staged.G.pth: write failed") != std::string::npos);
  CHECK(last.find("File too large") != std::string::npos);
  CHECK(std::count(err.begin(), err.end(), '\n') == 2);  // "experiment ..." and the error
  // The previous save, whole and alone.
  CHECK(load_weights_folder(weights, "", kAll).state->itr == 2);
  CHECK(digest_file(weights / "G.pth") == before);
  for (const auto& e : fs::directory_iterator(weights)) CHECK(e.path().filename().string()[0] != '.');
  // Resumed with room, it ends as the uninterrupted run.
  REQUIRE(test::run_gan_train(args(root, 4, true), tmp / "b.log") == 0);
  check_same_run(tmp / "ref", root, data, 4);
}
