// Line plots as PNG, drawn with OpenCV: axes, ticks with numbers, several named series with a
// legend, optional log-scaled y. gan-train draws its loss, IS/FID, classifier and singular-value
// curves from its JSONL logs with plot_jsonl, since people look at curves rather than read logs.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

namespace biggan {

struct PlotSeries {
  std::string name;
  std::vector<double> x, y;  // same length; a NaN / infinite y breaks the line there
};

struct PlotOptions {
  std::string title;
  std::string x_label = "itr";
  std::string y_label;
  bool log_y = false;  // values <= 0 cannot be shown on a log axis and break the line
  int width = 960, height = 540;
  int max_legend_entries = 20;  // more series than this are drawn but listed as "(+k more)"
};

// Renders the plot as uint8 H×W×3 RGB. Series without finite points are listed in the legend
// (marked "no data"); a plot with no finite point at all says so in the middle.
torch::Tensor render_plot(const std::vector<PlotSeries>& series, const PlotOptions& options = {});

// render_plot, then a PNG written atomically.
void save_plot(const std::filesystem::path& png_path, const std::vector<PlotSeries>& series,
               const PlotOptions& options = {});

// Reads a JSONL log (one JSON object a line) into one series per key, against `x_key`.
// A key ending in '*' stands for every key that starts with the rest, in order of first appearance
// (e.g. "sv_G*" for all of G's singular values). A line missing a key adds no point to that series;
// NaN, ±Infinity or null values become NaN (a gap); lines without `x_key` are skipped; blank lines
// are ignored, and so is a malformed last line (a log still being written). Any other malformed
// line is a biggan::Error naming the file and line. A missing file is an error.
std::vector<PlotSeries> read_jsonl_series(const std::filesystem::path& jsonl_path,
                                          const std::vector<std::string>& keys,
                                          const std::string& x_key = "itr");

// The reference's per-metric text logs (BigGAN-PyTorch's MyLogger: one "itr: value" line each, e.g.
// logs/<experiment>/G_loss.log or its singular-value logs). Python's "nan" / "inf" become gaps; the
// series is named `name`, or the file's stem when empty. A malformed line other than a half-written
// last one is a biggan::Error naming the file and line.
PlotSeries read_itr_value_log(const std::filesystem::path& path, const std::string& name = "");

// read_jsonl_series + save_plot. The title defaults to the file's name.
void plot_jsonl(const std::filesystem::path& jsonl_path, const std::vector<std::string>& keys,
                const std::filesystem::path& png_path, PlotOptions options = {},
                const std::string& x_key = "itr");

// Tick positions for a linear axis over [lo, hi]: "nice" steps of 1, 2 or 5 × 10^k, about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);
// Tick positions for a log axis over [lo, hi] (both > 0): powers of ten, or 1-2-5 steps in a short range.
std::vector<double> log_ticks(double lo, double hi);
// A short tick label: "0", "250", "1.5k", "2M", "0.001", "1e-05".
std::string tick_label(double v, double step);

}  // namespace biggan
