// The drawing: render_plot lays out the frame (data ranges, tick labels, legend and title decide the
// margins), then draws grid and ticks, the series, the axis labels and title, and the legend. The
// log readers are in plot_logs.cpp.
#include "libbiggan/util/plots.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "libbiggan/util/error.h"
#include "libbiggan/util/image_grid.h"

namespace biggan {
namespace {

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr double kTextScale = 0.45;
constexpr double kTitleScale = 0.6;

// tab10, as BGR.
const cv::Scalar kPalette[] = {
    {180, 119, 31}, {14, 127, 255}, {44, 160, 44}, {40, 39, 214}, {189, 103, 148},
    {75, 86, 140},  {194, 119, 227}, {127, 127, 127}, {34, 189, 188}, {207, 190, 23}};
const cv::Scalar kBlack(0, 0, 0), kGrid(225, 225, 225), kWhite(255, 255, 255), kGray(110, 110, 110);

cv::Size text_size(const std::string& s, double scale, int* baseline = nullptr) {
  int b = 0;
  auto sz = cv::getTextSize(s, kFont, scale, 1, &b);
  if (baseline) *baseline = b;
  return sz;
}

void put_text(cv::Mat& img, const std::string& s, cv::Point org, double scale, const cv::Scalar& color) {
  cv::putText(img, s, org, kFont, scale, color, 1, cv::LINE_AA);
}

// Text rotated 90° counter-clockwise, centred on `center` (for the y label).
void put_vertical_text(cv::Mat& img, const std::string& s, cv::Point center, double scale) {
  int base = 0;
  auto sz = text_size(s, scale, &base);
  cv::Mat patch(sz.height + base + 4, sz.width + 4, CV_8UC3, kWhite);
  put_text(patch, s, {2, sz.height + 2}, scale, kBlack);
  cv::Mat rot;
  cv::rotate(patch, rot, cv::ROTATE_90_COUNTERCLOCKWISE);
  int x0 = center.x - rot.cols / 2, y0 = center.y - rot.rows / 2;
  cv::Rect dst(x0, y0, rot.cols, rot.rows);
  dst &= cv::Rect(0, 0, img.cols, img.rows);
  if (dst.area() > 0) rot(cv::Rect(dst.x - x0, dst.y - y0, dst.width, dst.height)).copyTo(img(dst));
}

bool usable(double v, bool log_y) { return std::isfinite(v) && (!log_y || v > 0); }

// Range with a margin; a degenerate range is widened so the axis still has ticks.
void padded_range(double& lo, double& hi, bool log) {
  if (log) {
    double a = std::log10(lo), b = std::log10(hi);
    if (b - a < 1e-9) { a -= 0.5; b += 0.5; }
    double pad = 0.04 * (b - a);
    lo = std::pow(10.0, a - pad);
    hi = std::pow(10.0, b + pad);
    return;
  }
  if (hi - lo < 1e-12 * std::max(1.0, std::abs(hi))) {
    double d = std::max(std::abs(hi) * 0.1, 1.0);
    lo -= d;
    hi += d;
    return;
  }
  double pad = 0.04 * (hi - lo);
  lo -= pad;
  hi += pad;
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  std::vector<double> out;
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) return out;
  double raw = (hi - lo) / std::max(target, 1);
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) { step = m * mag; break; }
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step)
    out.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  return out;
}

std::vector<double> log_ticks(double lo, double hi) {
  std::vector<double> out;
  if (!(lo > 0) || !(hi > lo)) return out;
  int a = static_cast<int>(std::floor(std::log10(lo))), b = static_cast<int>(std::ceil(std::log10(hi)));
  const bool short_range = b - a <= 2;
  int stride = std::max(1, (b - a + 7) / 8);  // at most ~8 decades labelled
  for (int e = a; e <= b; ++e) {
    if (!short_range && (e - a) % stride) continue;
    for (double m : short_range ? std::vector<double>{1, 2, 5} : std::vector<double>{1}) {
      double v = m * std::pow(10.0, e);
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push_back(v);
    }
  }
  return out;
}

std::string tick_label(double v, double step) {
  char buf[64];
  double a = std::abs(v);
  if (v == 0) return "0";
  if (a >= 1e4 && step >= 100) {
    const char* suffix = a >= 1e6 ? "M" : "k";
    double div = a >= 1e6 ? 1e6 : 1e3;
    int dec = std::max(0, static_cast<int>(-std::floor(std::log10(step / div) + 1e-9)));
    std::snprintf(buf, sizeof buf, "%.*f%s", std::min(dec, 3), v / div, suffix);
    return buf;
  }
  if (a < 1e-3 || a >= 1e7 || !(step > 0)) {
    if (a >= 1e-3 && a < 1e5) {  // log-axis labels: 0.01, 2, 1000
      std::snprintf(buf, sizeof buf, "%g", v);
      return buf;
    }
    // 1e+05 -> 1e5, 2.5e-07 -> 2.5e-7
    std::snprintf(buf, sizeof buf, "%.3g", v);
    std::string s = buf;
    auto e = s.find('e');
    if (e != std::string::npos) {
      std::string mant = s.substr(0, e), ex = s.substr(e + 1);
      bool neg = ex[0] == '-';
      ex = ex.substr(1);
      while (ex.size() > 1 && ex[0] == '0') ex.erase(0, 1);
      s = mant + "e" + (neg ? "-" : "") + ex;
    }
    return s;
  }
  int dec = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  std::snprintf(buf, sizeof buf, "%.*f", std::min(dec, 8), v);
  return buf;
}

namespace {

// The data's extent over the usable points, with margins; which series have any.
struct DataRange {
  double xlo, xhi, ylo, yhi;
  bool any;  // some series has a usable point
  std::vector<bool> has_data;
};

DataRange data_range(const std::vector<PlotSeries>& series, bool log_y) {
  double xlo = std::numeric_limits<double>::infinity(), xhi = -xlo, ylo = xlo, yhi = -xlo;
  std::vector<bool> has_data(series.size(), false);
  for (size_t k = 0; k < series.size(); ++k)
    for (size_t i = 0; i < series[k].x.size(); ++i) {
      double x = series[k].x[i], y = series[k].y[i];
      if (!std::isfinite(x) || !usable(y, log_y)) continue;
      has_data[k] = true;
      xlo = std::min(xlo, x); xhi = std::max(xhi, x);
      ylo = std::min(ylo, y); yhi = std::max(yhi, y);
    }
  const bool any = std::isfinite(xlo);
  if (!any) { xlo = 0; xhi = 1; ylo = log_y ? 0.1 : 0; yhi = 1; }
  if (xhi - xlo < 1e-12) { xlo -= 1; xhi += 1; }
  // A small margin so that points at the ends (markers, line caps) are not cut by the frame.
  const double xpad = 0.015 * (xhi - xlo);
  xlo -= xpad;
  xhi += xpad;
  padded_range(ylo, yhi, log_y);
  return {xlo, xhi, ylo, yhi, any, std::move(has_data)};
}

// Legend entries (the box goes right of the plot area) and the box's width.
struct Legend {
  std::vector<std::string> entries;
  int shown = 0;  // entries for series (the rest: "(+k more)")
  int width = 0;
};

Legend legend_of(const std::vector<PlotSeries>& series, const std::vector<bool>& has_data, const PlotOptions& o) {
  Legend l;
  l.shown = static_cast<int>(std::min<size_t>(series.size(), std::max(o.max_legend_entries, 1)));
  int w = 0;
  for (int k = 0; k < l.shown; ++k) {
    l.entries.push_back(series[k].name + (has_data[k] ? "" : " (no data)"));
    w = std::max(w, text_size(l.entries.back(), kTextScale).width);
  }
  if (static_cast<int>(series.size()) > l.shown) {
    l.entries.push_back("(+" + std::to_string(series.size() - l.shown) + " more)");
    w = std::max(w, text_size(l.entries.back(), kTextScale).width);
  }
  l.width = std::min(w + 42, o.width / 3);
  return l;
}

// Y tick positions and labels; their width decides the left margin.
struct YTicks {
  std::vector<double> values;
  std::vector<std::string> labels;
  int label_width = 0;
};

YTicks y_ticks(double ylo, double yhi, const PlotOptions& o) {
  YTicks t;
  t.values = o.log_y ? log_ticks(ylo, yhi) : nice_ticks(ylo, yhi, std::max(3, o.height / 80));
  double ystep = t.values.size() > 1 ? t.values[1] - t.values[0] : 0;
  for (double v : t.values) {
    t.labels.push_back(o.log_y ? tick_label(v, 0) : tick_label(v, ystep));
    t.label_width = std::max(t.label_width, text_size(t.labels.back(), kTextScale).width);
  }
  return t;
}

struct Title {
  std::string text;
  double scale = kTitleScale;
};

// Long titles (experiment names run to 100+ characters) shrink, then lose their middle, to fit.
Title fit_title(const PlotOptions& o) {
  Title t{o.title, kTitleScale};
  if (t.text.empty()) return t;
  const int room = o.width - 20;
  const int w = text_size(t.text, kTitleScale).width;
  if (w > room) t.scale = std::max(kTitleScale * 0.6, kTitleScale * room / w);
  for (size_t keep = o.title.size(); keep > 8 && text_size(t.text, t.scale).width > room; --keep)
    t.text = o.title.substr(0, keep / 2) + "..." + o.title.substr(o.title.size() - keep / 2);
  return t;
}

constexpr int kShift = 4;  // sub-pixel precision for anti-aliased lines

// The plot area in pixels and the data-to-pixel mapping.
struct Frame {
  int left, right, top, bottom;
  double xlo, xhi, ylo, yhi;
  bool log_y;
  int text_height;  // of "0" at the tick label scale
  double px(double x) const { return left + (x - xlo) / (xhi - xlo) * (right - left); }
  double py(double y) const {
    double t = log_y ? (std::log10(y) - std::log10(ylo)) / (std::log10(yhi) - std::log10(ylo))
                     : (y - ylo) / (yhi - ylo);
    return bottom - t * (bottom - top);
  }
  cv::Point pt(double x, double y) const {
    return cv::Point(static_cast<int>(std::lround(px(x) * (1 << kShift))),
                     static_cast<int>(std::lround(py(y) * (1 << kShift))));
  }
};

Frame layout(const DataRange& r, const Legend& legend, const YTicks& yt, const Title& title, const PlotOptions& o) {
  const int th = text_size("0", kTextScale).height;
  const int left = 14 + (o.y_label.empty() ? 0 : th + 10) + yt.label_width + 8;
  const int right = o.width - (legend.entries.empty() ? 20 : legend.width + 24);
  const int top = title.text.empty() ? 16 : 16 + text_size(title.text, title.scale).height + 14;
  const int bottom = o.height - (14 + th + 8 + (o.x_label.empty() ? 0 : th + 10));
  if (right - left < 40 || bottom - top < 40) throw Error("plot: not enough room for the plot area");
  return {left, right, top, bottom, r.xlo, r.xhi, r.ylo, r.yhi, o.log_y, th};
}

void draw_grid_and_ticks(cv::Mat& img, const Frame& f, const YTicks& yt) {
  std::vector<double> xt = nice_ticks(f.xlo, f.xhi, std::max(3, (f.right - f.left) / 110));
  double xstep = xt.size() > 1 ? xt[1] - xt[0] : 0;
  for (double v : xt) {
    int x = static_cast<int>(std::lround(f.px(v)));
    cv::line(img, {x, f.top}, {x, f.bottom}, kGrid, 1);
    cv::line(img, {x, f.bottom}, {x, f.bottom + 5}, kBlack, 1);
    auto s = tick_label(v, xstep);
    auto sz = text_size(s, kTextScale);
    put_text(img, s, {x - sz.width / 2, f.bottom + 9 + sz.height}, kTextScale, kBlack);
  }
  for (size_t i = 0; i < yt.values.size(); ++i) {
    int y = static_cast<int>(std::lround(f.py(yt.values[i])));
    cv::line(img, {f.left, y}, {f.right, y}, kGrid, 1);
    cv::line(img, {f.left - 5, y}, {f.left, y}, kBlack, 1);
    auto sz = text_size(yt.labels[i], kTextScale);
    put_text(img, yt.labels[i], {f.left - 8 - sz.width, y + sz.height / 2}, kTextScale, kBlack);
  }
  cv::rectangle(img, {f.left, f.top}, {f.right, f.bottom}, kBlack, 1);
}

// Polylines broken at unusable values, clipped to the plot area; a lone point is a dot.
void draw_series(cv::Mat& img, const Frame& f, const std::vector<PlotSeries>& series) {
  cv::Mat area = img(cv::Rect(f.left, f.top, f.right - f.left + 1, f.bottom - f.top + 1));
  const cv::Point origin(f.left << kShift, f.top << kShift);
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    const cv::Scalar color = kPalette[k % 10];
    // Dense series (more points than pixels across, e.g. per-iteration losses) in thin lines.
    const int thickness = static_cast<int>(s.x.size()) > (f.right - f.left) ? 1 : 2;
    std::vector<cv::Point> run;
    auto flush = [&] {
      if (run.size() == 1) cv::circle(area, run[0], 3 << kShift, color, cv::FILLED, cv::LINE_AA, kShift);
      if (run.size() > 1) cv::polylines(area, run, false, color, thickness, cv::LINE_AA, kShift);
      run.clear();
    };
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !usable(s.y[i], f.log_y)) { flush(); continue; }
      run.push_back(f.pt(s.x[i], s.y[i]) - origin);
    }
    flush();
  }
}

void draw_labels(cv::Mat& img, const Frame& f, const Title& title, const PlotOptions& o) {
  if (!title.text.empty()) {
    auto sz = text_size(title.text, title.scale);
    const int x = std::clamp((f.left + f.right) / 2 - sz.width / 2, 10, std::max(10, o.width - 10 - sz.width));
    cv::putText(img, title.text, {x, 16 + sz.height}, kFont, title.scale, kBlack, 1, cv::LINE_AA);
  }
  if (!o.x_label.empty()) {
    auto sz = text_size(o.x_label, kTextScale);
    put_text(img, o.x_label, {(f.left + f.right) / 2 - sz.width / 2, o.height - 10}, kTextScale, kBlack);
  }
  if (!o.y_label.empty())
    put_vertical_text(img, o.y_label, {14 + f.text_height / 2 + 2, (f.top + f.bottom) / 2}, kTextScale);
}

void draw_legend(cv::Mat& img, const Frame& f, const Legend& legend, const PlotOptions& o) {
  if (legend.entries.empty()) return;
  const int th = f.text_height;
  int lx = f.right + 12, ly = f.top;
  const int row = th + 9;
  cv::rectangle(img, {lx, ly},
                {std::min(lx + legend.width, o.width - 2), ly + row * static_cast<int>(legend.entries.size()) + 6},
                kGray, 1);
  for (size_t i = 0; i < legend.entries.size(); ++i) {
    int y = ly + 6 + row * static_cast<int>(i) + row / 2;
    const bool series_entry = static_cast<int>(i) < legend.shown;
    if (series_entry) cv::line(img, {lx + 6, y}, {lx + 24, y}, kPalette[i % 10], 2, cv::LINE_AA);
    // Names longer than the box are cut, keeping their end (where series names differ).
    std::string name = legend.entries[i];
    while (name.size() > 4 && text_size(name, kTextScale).width > legend.width - 42) name = ".." + name.substr(3);
    put_text(img, name, {lx + 30, y + th / 2}, kTextScale, series_entry ? kBlack : kGray);
  }
}

void draw_no_data(cv::Mat& img, const Frame& f) {
  const std::string msg = "no data yet";
  auto sz = text_size(msg, kTitleScale);
  cv::putText(img, msg, {(f.left + f.right) / 2 - sz.width / 2, (f.top + f.bottom) / 2}, kFont, kTitleScale, kGray, 1,
              cv::LINE_AA);
}

}  // namespace

torch::Tensor render_plot(const std::vector<PlotSeries>& series, const PlotOptions& o) {
  if (o.width < 200 || o.height < 150) throw Error("plot: width/height too small (at least 200×150)");
  for (auto& s : series)
    if (s.x.size() != s.y.size()) throw Error("plot: series '" + s.name + "' has x and y of different lengths");
  cv::Mat img(o.height, o.width, CV_8UC3, kWhite);

  const auto range = data_range(series, o.log_y);
  const auto legend = legend_of(series, range.has_data, o);
  const auto yt = y_ticks(range.ylo, range.yhi, o);
  const auto title = fit_title(o);
  const auto frame = layout(range, legend, yt, title, o);

  draw_grid_and_ticks(img, frame, yt);
  draw_series(img, frame, series);
  draw_labels(img, frame, title, o);
  draw_legend(img, frame, legend, o);
  if (!range.any) draw_no_data(img, frame);

  cv::Mat rgb;
  cv::cvtColor(img, rgb, cv::COLOR_BGR2RGB);
  return torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8).clone();
}

void save_plot(const std::filesystem::path& png_path, const std::vector<PlotSeries>& series,
               const PlotOptions& options) {
  write_png(png_path, render_plot(series, options));
}

}  // namespace biggan
