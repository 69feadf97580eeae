// Training collapse caught while it happens, from the signals the BigGAN paper (section 4) names:
// D's losses falling to zero (D separates real from fake outright) while G's loss grows, G's top
// singular values jumping, and the evaluation score turning; and one it does not, seen here at too
// high learning rates: losses frozen at one value (D dead). Users of the reference found
// collapse days later by eye (BigGAN-PyTorch #23, #26, #43, #75, #91, #92); the trainer feeds this
// watchdog every iteration's losses, every SV log and every test, and keeps the last save before
// the collapse (docs/collapse.md). The thresholds were set on logs of real collapses
// (tests/fixtures/collapse/), where they fire within a few dozen iterations of the breakdown and
// never on healthy runs.
#pragma once
#include <array>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace biggan {

struct CollapseThresholds {
  // Losses are judged over a moving window of this many iterations.
  int64_t window = 50;
  // D_loss_real + D_loss_fake averaged over the window below this: D wins outright (the hinge
  // losses' healthy sum is around 1 to 2)...
  double d_loss_floor = 0.1;
  // ...while G_loss averaged over the window is at least this much above its lowest window mean.
  double g_loss_rise = 1.0;
  // All three losses all but unchanged (max - min below this) over the window: D outputs about one
  // constant for every image (its ReLUs died, as too high a learning rate does; healthy losses move
  // by 0.1 and more from batch to batch) and G learns nothing until D recovers, if it does.
  double frozen_tolerance = 0.01;
  // A G singular value (SV log) this many times the median of its last `sv_history` values.
  double sv_jump = 2.0;
  int64_t sv_history = 10;
  // A test whose FID is this many times the best FID so far (or whose IS is the best IS divided by
  // it), twice in a row: the score curve has turned.
  double score_turn = 2.0;
};

struct CollapseEvent {
  int64_t itr = 0;        // when it was detected
  int64_t onset_itr = 0;  // where its evidence begins: a save at or before it predates the collapse
  std::string signal;     // "losses", "frozen", "singular_values" or "score"
  std::string detail;     // one line of numbers
};

class CollapseWatchdog {
 public:
  explicit CollapseWatchdog(CollapseThresholds t = {});

  // Each returns the first collapse it sees (once; later calls return nothing).
  std::optional<CollapseEvent> on_losses(int64_t itr, double G_loss, double D_loss_real, double D_loss_fake);
  // Keys as in sv_log.jsonl; only G's ("G_...") are judged.
  std::optional<CollapseEvent> on_singular_values(int64_t itr, const std::vector<std::pair<std::string, double>>& svs);
  // A test's FID and IS_mean (NaN where not computed).
  std::optional<CollapseEvent> on_test(int64_t itr, double fid, double is_mean);

  bool fired() const { return fired_; }

 private:
  std::optional<CollapseEvent> fire(CollapseEvent e);

  CollapseThresholds t_;
  bool fired_ = false;
  std::deque<double> g_window_, d_window_;
  std::deque<std::array<double, 3>> loss_window_;  // the raw losses, for the frozen signal
  double g_sum_ = 0, d_sum_ = 0, g_lowest_mean_ = 0;
  bool g_lowest_set_ = false;
  std::map<std::string, std::deque<double>> sv_history_;
  int64_t last_sv_itr_ = 0;
  double best_fid_ = 0, best_is_ = 0;
  int64_t best_itr_ = 0;
  int turned_tests_ = 0;
  int64_t first_turn_itr_ = 0;
};

// Replays a run's logs (the train log, SV log and test log; any may be absent, not all) through a
// watchdog, in iteration order: what gan-train would have reported.
std::optional<CollapseEvent> scan_collapse_logs(const std::filesystem::path& train_log,
                                                const std::filesystem::path& sv_log,
                                                const std::filesystem::path& test_log, CollapseThresholds t = {});

}  // namespace biggan
