#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>

#include "libbiggan/util/error.h"
#include "libbiggan/util/image_grid.h"
#include "libbiggan/util/json.h"
#include "libbiggan/util/plots.h"
#include "tests/fixtures.h"

using namespace biggan;

namespace {
// Count of pixels whose colour is (close to) rgb.
int64_t count_color(const torch::Tensor& img, int r, int g, int b, int tol = 40) {
  auto d = (img.to(torch::kInt32) - torch::tensor({r, g, b}, torch::kInt32)).abs().sum(2);
  return (d < tol).sum().item<int64_t>();
}
void write_lines(const std::filesystem::path& p, const std::vector<std::string>& lines) {
  std::ofstream f(p);
  for (auto& l : lines) f << l << "\n";
}
}  // namespace

TEST_CASE("nice_ticks, log_ticks and tick_label") {
  auto t = nice_ticks(0, 1000, 5);
  REQUIRE(t.size() == 6);
  CHECK(t.front() == 0);
  CHECK(t.back() == Approx(1000));
  auto t2 = nice_ticks(0.013, 0.0541, 4);  // raw step 0.0103 -> 0.02
  REQUIRE(t2.size() == 2);
  CHECK(t2[0] == Approx(0.02));
  CHECK(t2[1] == Approx(0.04));
  CHECK(nice_ticks(0.013, 0.0541, 8).size() == 4);  // step 0.01: 0.02 .. 0.05
  CHECK(tick_label(0.015, 0.005) == "0.015");
  CHECK(tick_label(t2[0], 0.02) == "0.02");
  CHECK(tick_label(25000, 5000) == "25k");
  CHECK(tick_label(2500, 500) == "2500");
  CHECK(tick_label(1500000, 500000) == "1.5M");
  CHECK(tick_label(0, 1) == "0");
  CHECK(tick_label(1000, 0) == "1000");  // log-axis labels (no step)
  CHECK(tick_label(0.01, 0) == "0.01");
  CHECK(tick_label(1e5, 0) == "1e5");
  CHECK(tick_label(2.5e-7, 0) == "2.5e-7");
  auto l = log_ticks(0.5, 2000);  // decades 0.1 .. 10000 inside [0.5, 2000]
  CHECK(l == std::vector<double>({1, 10, 100, 1000}));
  auto l2 = log_ticks(1.5, 30);   // short range: 1-2-5 steps
  CHECK(l2 == std::vector<double>({2, 5, 10, 20}));
}

TEST_CASE("render_plot draws series in their colours at the right size") {
  PlotSeries a{"G_loss", {}, {}}, b{"D_loss", {}, {}};
  for (int i = 0; i <= 100; ++i) {
    a.x.push_back(i), a.y.push_back(std::sin(i / 10.0));
    b.x.push_back(i), b.y.push_back(i == 50 ? std::nan("") : 0.5);
  }
  PlotOptions o;
  o.width = 640;
  o.height = 400;
  o.title = "losses";
  o.y_label = "loss";
  auto img = render_plot({a, b}, o);
  REQUIRE(img.sizes() == torch::IntArrayRef({400, 640, 3}));
  // BIGGAN_PLOT_DIR=folder keeps the plots for a person to look at.
  if (const char* keep = std::getenv("BIGGAN_PLOT_DIR")) write_png(std::filesystem::path(keep) / "two_series.png", img);
  // Both palette colours appear (tab10 blue and orange); a plot is mostly white.
  CHECK(count_color(img, 31, 119, 180) > 300);
  CHECK(count_color(img, 255, 127, 14) > 300);
  CHECK(count_color(img, 255, 255, 255) > 400 * 640 / 2);
  // The constant series at y = 0.5 is a horizontal orange line: find its row in the plot's middle
  // column band and check the NaN at x = 50 left a gap there.
  auto orange = ((img.to(torch::kInt32) - torch::tensor({255, 127, 14}, torch::kInt32)).abs().sum(2) < 40);
  auto rows = orange.sum(1).nonzero().flatten();
  REQUIRE(rows.numel() > 0);
  int64_t best = orange.sum(1).argmax().item<int64_t>();
  auto line = orange[best];
  auto cols = line.nonzero().flatten();
  int64_t lo = cols.min().item<int64_t>(), hi = cols.max().item<int64_t>();
  int64_t gaps = 0;
  for (int64_t x = lo; x <= hi; ++x) gaps += line[x].item<bool>() ? 0 : 1;
  CHECK(gaps >= 2);          // the break at the NaN
  CHECK(hi - lo > 300);      // but the line spans most of the width
}

TEST_CASE("render_plot: a title longer than the image shrinks and stays inside it") {
  PlotSeries a{"FID", {0, 1, 2}, {3, 2, 1}};
  PlotOptions o;
  o.width = 480;
  o.height = 300;
  o.title = "BigGAN_FMNIST32_hdf5_seed0_Gch16_Dch16_bs64_nDs2_Glr2.0e-04_Dlr2.0e-04_Gnlrelu_Dnlrelu_GinitN02_DinitN02_ema: FID";
  auto img = render_plot({a}, o);
  if (const char* keep = std::getenv("BIGGAN_PLOT_DIR")) write_png(std::filesystem::path(keep) / "long_title.png", img);
  // The title band (top rows) has dark text, none of it in the outer 8 pixels on either side.
  auto band = img.slice(0, 0, 30).to(torch::kInt32).sum(2) < 300;  // dark pixels
  CHECK(band.sum().item<int64_t>() > 50);
  CHECK(band.slice(1, 0, 8).sum().item<int64_t>() == 0);
  CHECK(band.slice(1, o.width - 8, o.width).sum().item<int64_t>() == 0);
}

TEST_CASE("render_plot: log scale, empty data, bad input") {
  PlotSeries s{"sv0", {0, 1, 2, 3}, {1000, 100, 0, 1}};  // 0 cannot be shown on a log axis
  PlotOptions o;
  o.log_y = true;
  auto img = render_plot({s}, o);
  CHECK(img.size(0) == o.height);
  if (const char* keep = std::getenv("BIGGAN_PLOT_DIR")) write_png(std::filesystem::path(keep) / "log_scale.png", img);
  CHECK(count_color(img, 31, 119, 180) > 50);
  auto empty = render_plot({PlotSeries{"FID", {}, {}}}, PlotOptions{});
  CHECK(empty.size(1) == PlotOptions{}.width);
  if (const char* keep = std::getenv("BIGGAN_PLOT_DIR")) write_png(std::filesystem::path(keep) / "empty.png", empty);
  CHECK(count_color(empty, 31, 119, 180) < 80);  // only the legend swatch
  CHECK_THROWS_AS(render_plot({PlotSeries{"bad", {1, 2}, {1}}}), Error);
}

TEST_CASE("read_jsonl_series: missing keys, NaN, wildcards, a half-written last line") {
  test::TempDir dir;
  auto log = dir / "train_log.jsonl";
  write_lines(log, {
      R"({"itr": 1, "G_loss": 1.5, "D_loss_real": 0.25})",
      R"({"itr": 2, "G_loss": NaN, "sv_G_0": 3.0, "sv_G_1": 2.0, "sv_D_0": 7})",
      "",
      R"({"epoch": 1})",
      R"({"itr": 3, "G_loss": 1.25, "D_loss_real": null, "sv_G_0": 2.5})",
      R"({"itr": 4, "G_lo)",
  });
  auto s = read_jsonl_series(log, {"G_loss", "D_loss_real", "IS_mean", "sv_G*"});
  REQUIRE(s.size() == 5);
  CHECK(s[0].name == "G_loss");
  CHECK(s[0].x == std::vector<double>({1, 2, 3}));
  CHECK(s[0].y[0] == 1.5);
  CHECK(std::isnan(s[0].y[1]));
  CHECK(s[0].y[2] == 1.25);
  CHECK(s[1].x == std::vector<double>({1, 3}));
  CHECK(std::isnan(s[1].y[1]));
  CHECK(s[2].name == "IS_mean");
  CHECK(s[2].x.empty());
  CHECK(s[3].name == "sv_G_0");
  CHECK(s[3].y == std::vector<double>({3.0, 2.5}));
  CHECK(s[4].name == "sv_G_1");

  // The same log through plot_jsonl gives a PNG.
  plot_jsonl(log, {"G_loss", "D_loss_real"}, dir / "losses.png");
  if (const char* keep = std::getenv("BIGGAN_PLOT_DIR")) {
    plot_jsonl(log, {"G_loss", "D_loss_real"}, std::filesystem::path(keep) / "jsonl_losses.png");
    PlotOptions lo;
    lo.log_y = true;
    plot_jsonl(log, {"sv_*"}, std::filesystem::path(keep) / "jsonl_svs.png", lo);
    // A training-sized log: 5,000 noisy iterations, FID every 500.
    std::vector<std::string> big;
    auto gen = at::detail::createCPUGenerator(0);
    auto noise = torch::randn({5000, 2}, gen);
    for (int i = 1; i <= 5000; ++i) {
      Json row = Json::object();
      row.set("itr", Json(i));
      row.set("G_loss", Json(1.0 + 0.5 * std::exp(-i / 1500.0) + 0.2 * noise[i - 1][0].item<double>()));
      row.set("D_loss_real", Json(0.6 - 0.2 * std::exp(-i / 1500.0) + 0.1 * noise[i - 1][1].item<double>()));
      if (i % 500 == 0) row.set("FID", Json(300.0 * std::exp(-i / 2000.0) + 20));
      big.push_back(row.dump());
    }
    write_lines(dir / "big.jsonl", big);
    plot_jsonl(dir / "big.jsonl", {"G_loss", "D_loss_real"}, std::filesystem::path(keep) / "big_losses.png");
    plot_jsonl(dir / "big.jsonl", {"FID"}, std::filesystem::path(keep) / "big_fid.png", lo);
  }
  auto png = read_image_rgb(dir / "losses.png");
  CHECK(png.size(0) == PlotOptions{}.height);

  // A malformed line in the middle is an error naming the file and line.
  auto bad = dir / "bad.jsonl";
  write_lines(bad, {R"({"itr": 1, "a": 1})", "{oops", R"({"itr": 2, "a": 2})"});
  CHECK_THROWS_WITH(read_jsonl_series(bad, {"a"}), Catch::Contains("bad.jsonl") && Catch::Contains("line 2"));
  CHECK_THROWS_WITH(read_jsonl_series(dir / "none.jsonl", {"a"}), Catch::Contains("none.jsonl"));
}

TEST_CASE("read_itr_value_log reads the reference's per-metric logs") {
  test::TempDir dir;
  write_lines(dir / "G_loss.log", {"1: 1.500", "2: nan", "3: 0.250", "4: 0.1"});
  auto s = read_itr_value_log(dir / "G_loss.log");
  CHECK(s.name == "G_loss");
  CHECK(s.x == std::vector<double>({1, 2, 3, 4}));
  CHECK(s.y[0] == 1.5);
  CHECK(std::isnan(s.y[1]));
  CHECK(s.y[3] == 0.1);
  write_lines(dir / "bad.log", {"1: 1.0", "two: 3", "3: 1"});
  CHECK_THROWS_WITH(read_itr_value_log(dir / "bad.log"), Catch::Contains("bad.log") && Catch::Contains("line 2"));
  write_lines(dir / "cut.log", {"1: 1.0", "2: "});
  CHECK(read_itr_value_log(dir / "cut.log", "x").x.size() == 1);
}
