// The collapse watchdog: each signal on made-up curves (fires where it should, once, and not on
// noise), and on the logs of real collapses and of healthy runs (tests/fixtures/collapse/).
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <random>

#include "libbiggan/training/collapse_watchdog.h"
#include "libbiggan/util/atomic_file.h"
#include "libbiggan/util/error.h"
#include "libbiggan/util/json.h"
#include "tests/fixtures.h"

using namespace biggan;

namespace {

// Healthy hinge losses (D's sum around 1.5, G around 0.5) with noise, from `from` to `to`.
std::optional<CollapseEvent> feed_healthy(CollapseWatchdog& w, int64_t from, int64_t to, std::mt19937& rng) {
  std::normal_distribution<double> noise(0.0, 0.3);
  for (int64_t itr = from; itr <= to; ++itr)
    if (auto e = w.on_losses(itr, 0.5 + noise(rng), 0.75 + noise(rng) / 2, 0.75 + noise(rng) / 2)) return e;
  return std::nullopt;
}

}  // namespace

TEST_CASE("the loss signal fires when D's losses reach zero while G's loss grows, not on noise") {
  std::mt19937 rng(1);
  CollapseThresholds t;
  CollapseWatchdog w(t);
  REQUIRE_FALSE(feed_healthy(w, 1, 1000, rng));
  std::optional<CollapseEvent> e;
  for (int64_t itr = 1001; itr <= 1200 && !e; ++itr) e = w.on_losses(itr, 3.0, 0.02, 0.01);  // collapse at 1001
  REQUIRE(e);
  CHECK(e->signal == "losses");
  CHECK(e->itr > 1001);
  CHECK(e->itr <= 1001 + t.window);
  CHECK(e->onset_itr <= 1001);  // a save at or before the onset predates the collapse
  CHECK(e->detail.find("D_loss_real + D_loss_fake") != std::string::npos);
  CHECK_FALSE(w.on_losses(1201, 3.0, 0.0, 0.0));  // once
  CHECK(w.fired());
}

TEST_CASE("D winning alone, or G's loss growing alone, is not a collapse") {
  std::mt19937 rng(2);
  CollapseWatchdog d_only, g_only;
  REQUIRE_FALSE(feed_healthy(d_only, 1, 200, rng));
  REQUIRE_FALSE(feed_healthy(g_only, 1, 200, rng));
  std::uniform_real_distribution<double> u(0.0, 1.0);  // losses that move (still ones are `frozen`)
  for (int64_t itr = 201; itr <= 600; ++itr) {
    CHECK_FALSE(d_only.on_losses(itr, 0.5 + 0.2 * u(rng), 0.01 + 0.03 * u(rng), 0.01 + 0.03 * u(rng)));
    CHECK_FALSE(g_only.on_losses(itr, 4.0 + 0.2 * u(rng), 0.8 + 0.2 * u(rng), 0.8 + 0.2 * u(rng)));
  }
}

TEST_CASE("the frozen signal fires when the losses stop moving (a dead D)") {
  std::mt19937 rng(3);
  CollapseThresholds t;
  CollapseWatchdog w(t);
  REQUIRE_FALSE(feed_healthy(w, 1, 300, rng));
  std::optional<CollapseEvent> e;
  int64_t itr = 301;
  for (; itr <= 500 && !e; ++itr) e = w.on_losses(itr, -0.0857 + 1e-3 * (itr % 3), 0.9143, 1.0857 - 4e-4 * (itr % 2));
  REQUIRE(e);
  CHECK(e->signal == "frozen");
  CHECK(e->itr == 300 + t.window);
  CHECK(e->onset_itr == 300);
  CollapseWatchdog moving;  // one loss still moving is training, however slowly
  for (int64_t i = 1; i <= 300; ++i) CHECK_FALSE(moving.on_losses(i, -0.0857, 0.9143, 1.0857 + 0.05 * (i % 2)));
}

TEST_CASE("the singular-value signal fires on a jump of a G singular value, not of D's") {
  CollapseWatchdog w;
  for (int64_t k = 1; k <= 30; ++k)
    REQUIRE_FALSE(w.on_singular_values(10 * k, {{"G_blocks_0_0_conv1_sv0", 1.0 + 0.01 * k}, {"D_linear_sv0", 1.0}}));
  CHECK_FALSE(w.on_singular_values(310, {{"G_blocks_0_0_conv1_sv0", 1.3}, {"D_linear_sv0", 50.0}}));
  auto e = w.on_singular_values(320, {{"G_blocks_0_0_conv1_sv0", 9.0}, {"D_linear_sv0", 1.0}});
  REQUIRE(e);
  CHECK(e->signal == "singular_values");
  CHECK(e->itr == 320);
  CHECK(e->onset_itr == 310);
  CHECK(e->detail.find("G_blocks_0_0_conv1_sv0") != std::string::npos);
}

TEST_CASE("the score signal fires when FID doubles its best two tests in a row") {
  CollapseWatchdog w;
  const double nan = std::nan("");
  CHECK_FALSE(w.on_test(100, 100.0, nan));
  CHECK_FALSE(w.on_test(200, 50.0, nan));
  CHECK_FALSE(w.on_test(300, 40.0, nan));
  CHECK_FALSE(w.on_test(400, 90.0, nan));  // once is noise
  CHECK_FALSE(w.on_test(500, 45.0, nan));  // back
  CHECK_FALSE(w.on_test(600, 85.0, nan));
  auto e = w.on_test(700, 95.0, nan);
  REQUIRE(e);
  CHECK(e->signal == "score");
  CHECK(e->onset_itr == 300);  // the best test
  CollapseWatchdog is_only;    // IS when there is no FID
  CHECK_FALSE(is_only.on_test(100, nan, 8.0));
  CHECK_FALSE(is_only.on_test(200, nan, 3.0));
  CHECK(is_only.on_test(300, nan, 2.0));
  CollapseWatchdog nothing;  // tests that could not be scored say nothing
  for (int64_t itr = 100; itr <= 500; itr += 100) CHECK_FALSE(nothing.on_test(itr, nan, nan));
}

TEST_CASE("thresholds out of range are refused") {
  CollapseThresholds t;
  t.window = 0;
  CHECK_THROWS_AS(CollapseWatchdog(t), Error);
  t = {};
  t.sv_jump = 1.0;
  CHECK_THROWS_AS(CollapseWatchdog(t), Error);
  t = {};
  t.score_turn = std::nan("");
  CHECK_THROWS_AS(CollapseWatchdog(t), Error);
}

// Each case directory holds a run's train_log.jsonl (and sv_log.jsonl / test_log.jsonl when it had
// them) and expect.json: {"collapse": false} for a healthy run, or the iterations between which the
// detection must fall and the latest onset a kept save may have, read off the run's curves and
// samples by hand (the case's README says how).
TEST_CASE("real collapses are caught at the right iteration; healthy runs are not flagged") {
  const auto root = test::fixtures_root() / "collapse";
  REQUIRE(std::filesystem::is_directory(root));
  int cases = 0, collapses = 0;
  for (const auto& entry : std::filesystem::directory_iterator(root)) {
    if (!entry.is_directory()) continue;
    const auto dir = entry.path();
    INFO("case " << dir.filename().string());
    const Json expect = Json::parse_file((dir / "expect.json").string());
    auto e = scan_collapse_logs(dir / "train_log.jsonl", dir / "sv_log.jsonl", dir / "test_log.jsonl");
    ++cases;
    if (!expect["collapse"].as_bool()) {
      CHECK_FALSE(e);
      continue;
    }
    ++collapses;
    REQUIRE(e);
    INFO("detected at itr " << e->itr << " (" << e->signal << ": " << e->detail << "), onset " << e->onset_itr);
    CHECK(e->itr >= expect["detect_from"].as_int());
    CHECK(e->itr <= expect["detect_by"].as_int());
    CHECK(e->onset_itr <= expect["onset_by"].as_int());
  }
  CHECK(cases >= 2);
  CHECK(collapses >= 1);
}

TEST_CASE("a log that cannot be read is a clear error") {
  test::TempDir tmp;
  CHECK_THROWS_WITH(scan_collapse_logs(tmp / "missing.jsonl", tmp / "sv.jsonl", tmp / "test.jsonl"),
                    Catch::Contains("missing.jsonl") && Catch::Contains("none exists"));
  write_file_atomically(tmp / "bad.jsonl", "{\"itr\": 1, \"G_loss\": 0.5}\n{\"G_loss\": 1}\n");
  CHECK_THROWS_WITH(scan_collapse_logs(tmp / "bad.jsonl", tmp / "sv.jsonl", tmp / "test.jsonl"),
                    Catch::Contains("bad.jsonl:2") && Catch::Contains("itr"));
}
