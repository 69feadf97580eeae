#include "libbiggan/util/plots.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>

#include "libbiggan/util/error.h"
#include "libbiggan/util/image_grid.h"
#include "libbiggan/util/json.h"

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

torch::Tensor render_plot(const std::vector<PlotSeries>& series, const PlotOptions& o) {
  if (o.width < 200 || o.height < 150) throw Error("plot: width/height too small (at least 200×150)");
  for (auto& s : series)
    if (s.x.size() != s.y.size()) throw Error("plot: series '" + s.name + "' has x and y of different lengths");
  cv::Mat img(o.height, o.width, CV_8UC3, kWhite);

  // Data ranges over the usable points.
  double xlo = std::numeric_limits<double>::infinity(), xhi = -xlo, ylo = xlo, yhi = -xlo;
  std::vector<bool> has_data(series.size(), false);
  for (size_t k = 0; k < series.size(); ++k)
    for (size_t i = 0; i < series[k].x.size(); ++i) {
      double x = series[k].x[i], y = series[k].y[i];
      if (!std::isfinite(x) || !usable(y, o.log_y)) continue;
      has_data[k] = true;
      xlo = std::min(xlo, x); xhi = std::max(xhi, x);
      ylo = std::min(ylo, y); yhi = std::max(yhi, y);
    }
  const bool any = std::isfinite(xlo);
  if (!any) { xlo = 0; xhi = 1; ylo = o.log_y ? 0.1 : 0; yhi = 1; }
  if (xhi - xlo < 1e-12) { xlo -= 1; xhi += 1; }
  // A small margin so that points at the ends (markers, line caps) are not cut by the frame.
  const double xpad = 0.015 * (xhi - xlo);
  xlo -= xpad;
  xhi += xpad;
  padded_range(ylo, yhi, o.log_y);

  // Legend entries (the box goes right of the plot area).
  const int shown = static_cast<int>(std::min<size_t>(series.size(), std::max(o.max_legend_entries, 1)));
  std::vector<std::string> legend;
  int legend_w = 0;
  for (int k = 0; k < shown; ++k) {
    legend.push_back(series[k].name + (has_data[k] ? "" : " (no data)"));
    legend_w = std::max(legend_w, text_size(legend.back(), kTextScale).width);
  }
  if (static_cast<int>(series.size()) > shown) {
    legend.push_back("(+" + std::to_string(series.size() - shown) + " more)");
    legend_w = std::max(legend_w, text_size(legend.back(), kTextScale).width);
  }
  legend_w = std::min(legend_w + 42, o.width / 3);

  // Y tick labels decide the left margin.
  std::vector<double> yt = o.log_y ? log_ticks(ylo, yhi) : nice_ticks(ylo, yhi, std::max(3, o.height / 80));
  double ystep = yt.size() > 1 ? yt[1] - yt[0] : 0;
  std::vector<std::string> ylabels;
  int ylab_w = 0;
  for (double v : yt) {
    ylabels.push_back(o.log_y ? tick_label(v, 0) : tick_label(v, ystep));
    ylab_w = std::max(ylab_w, text_size(ylabels.back(), kTextScale).width);
  }
  const int th = text_size("0", kTextScale).height;
  const int left = 14 + (o.y_label.empty() ? 0 : th + 10) + ylab_w + 8;
  const int right = o.width - (legend.empty() ? 20 : legend_w + 24);
  // Long titles (experiment names run to 100+ characters) shrink, then lose their middle, to fit.
  std::string title = o.title;
  double title_scale = kTitleScale;
  if (!title.empty()) {
    const int room = o.width - 20;
    const int w = text_size(title, kTitleScale).width;
    if (w > room) title_scale = std::max(kTitleScale * 0.6, kTitleScale * room / w);
    for (size_t keep = o.title.size(); keep > 8 && text_size(title, title_scale).width > room; --keep)
      title = o.title.substr(0, keep / 2) + "..." + o.title.substr(o.title.size() - keep / 2);
  }
  const int top = title.empty() ? 16 : 16 + text_size(title, title_scale).height + 14;
  const int bottom = o.height - (14 + th + 8 + (o.x_label.empty() ? 0 : th + 10));
  if (right - left < 40 || bottom - top < 40) throw Error("plot: not enough room for the plot area");

  auto px = [&](double x) { return left + (x - xlo) / (xhi - xlo) * (right - left); };
  auto py = [&](double y) {
    double t = o.log_y ? (std::log10(y) - std::log10(ylo)) / (std::log10(yhi) - std::log10(ylo))
                       : (y - ylo) / (yhi - ylo);
    return bottom - t * (bottom - top);
  };
  constexpr int kShift = 4;  // sub-pixel precision for anti-aliased lines
  auto pt = [&](double x, double y) {
    return cv::Point(static_cast<int>(std::lround(px(x) * (1 << kShift))),
                     static_cast<int>(std::lround(py(y) * (1 << kShift))));
  };

  // Grid and ticks.
  std::vector<double> xt = nice_ticks(xlo, xhi, std::max(3, (right - left) / 110));
  double xstep = xt.size() > 1 ? xt[1] - xt[0] : 0;
  for (double v : xt) {
    int x = static_cast<int>(std::lround(px(v)));
    cv::line(img, {x, top}, {x, bottom}, kGrid, 1);
    cv::line(img, {x, bottom}, {x, bottom + 5}, kBlack, 1);
    auto s = tick_label(v, xstep);
    auto sz = text_size(s, kTextScale);
    put_text(img, s, {x - sz.width / 2, bottom + 9 + sz.height}, kTextScale, kBlack);
  }
  for (size_t i = 0; i < yt.size(); ++i) {
    int y = static_cast<int>(std::lround(py(yt[i])));
    cv::line(img, {left, y}, {right, y}, kGrid, 1);
    cv::line(img, {left - 5, y}, {left, y}, kBlack, 1);
    auto sz = text_size(ylabels[i], kTextScale);
    put_text(img, ylabels[i], {left - 8 - sz.width, y + sz.height / 2}, kTextScale, kBlack);
  }
  cv::rectangle(img, {left, top}, {right, bottom}, kBlack, 1);

  // Series: polylines broken at unusable values, clipped to the plot area.
  cv::Mat area = img(cv::Rect(left, top, right - left + 1, bottom - top + 1));
  const cv::Point origin(left << kShift, top << kShift);
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    const cv::Scalar color = kPalette[k % 10];
    // Dense series (more points than pixels across, e.g. per-iteration losses) in thin lines.
    const int thickness = static_cast<int>(s.x.size()) > (right - left) ? 1 : 2;
    std::vector<cv::Point> run;
    auto flush = [&] {
      if (run.size() == 1) cv::circle(area, run[0], 3 << kShift, color, cv::FILLED, cv::LINE_AA, kShift);
      if (run.size() > 1) cv::polylines(area, run, false, color, thickness, cv::LINE_AA, kShift);
      run.clear();
    };
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !usable(s.y[i], o.log_y)) { flush(); continue; }
      run.push_back(pt(s.x[i], s.y[i]) - origin);
    }
    flush();
  }

  // Labels, title, legend.
  if (!title.empty()) {
    auto sz = text_size(title, title_scale);
    const int x = std::clamp((left + right) / 2 - sz.width / 2, 10, std::max(10, o.width - 10 - sz.width));
    cv::putText(img, title, {x, 16 + sz.height}, kFont, title_scale, kBlack, 1, cv::LINE_AA);
  }
  if (!o.x_label.empty()) {
    auto sz = text_size(o.x_label, kTextScale);
    put_text(img, o.x_label, {(left + right) / 2 - sz.width / 2, o.height - 10}, kTextScale, kBlack);
  }
  if (!o.y_label.empty()) put_vertical_text(img, o.y_label, {14 + th / 2 + 2, (top + bottom) / 2}, kTextScale);
  if (!legend.empty()) {
    int lx = right + 12, ly = top;
    const int row = th + 9;
    cv::rectangle(img, {lx, ly}, {std::min(lx + legend_w, o.width - 2), ly + row * static_cast<int>(legend.size()) + 6},
                  kGray, 1);
    for (size_t i = 0; i < legend.size(); ++i) {
      int y = ly + 6 + row * static_cast<int>(i) + row / 2;
      if (static_cast<int>(i) < shown) cv::line(img, {lx + 6, y}, {lx + 24, y}, kPalette[i % 10], 2, cv::LINE_AA);
      // Names longer than the box are cut, keeping their end (where series names differ).
      std::string name = legend[i];
      while (name.size() > 4 && text_size(name, kTextScale).width > legend_w - 42) name = ".." + name.substr(3);
      put_text(img, name, {lx + 30, y + th / 2}, kTextScale, static_cast<int>(i) < shown ? kBlack : kGray);
    }
  }
  if (!any) {
    const std::string msg = "no data yet";
    auto sz = text_size(msg, kTitleScale);
    cv::putText(img, msg, {(left + right) / 2 - sz.width / 2, (top + bottom) / 2}, kFont, kTitleScale, kGray, 1,
                cv::LINE_AA);
  }

  cv::Mat rgb;
  cv::cvtColor(img, rgb, cv::COLOR_BGR2RGB);
  return torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8).clone();
}

void save_plot(const std::filesystem::path& png_path, const std::vector<PlotSeries>& series,
               const PlotOptions& options) {
  write_png(png_path, render_plot(series, options));
}

std::vector<PlotSeries> read_jsonl_series(const std::filesystem::path& path, const std::vector<std::string>& keys,
                                          const std::string& x_key) {
  std::ifstream in(path);
  if (!in) throw input_error(path.string(), "cannot open the log (missing or unreadable)");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);

  std::vector<PlotSeries> out;
  std::map<std::string, size_t> index;  // series name -> position in out
  for (auto& k : keys)
    if (k.empty() || k.back() != '*') {
      if (!index.count(k)) { index[k] = out.size(); out.push_back({k, {}, {}}); }
    }
  auto value_of = [](const Json& v) {
    if (v.is_number()) return v.as_double();
    return std::numeric_limits<double>::quiet_NaN();  // null, NaN written as null, strings
  };
  size_t last_nonblank = lines.size();
  for (size_t i = lines.size(); i-- > 0;)
    if (lines[i].find_first_not_of(" \t\r") != std::string::npos) { last_nonblank = i; break; }

  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find_first_not_of(" \t\r") == std::string::npos) continue;
    Json row;
    try {
      row = Json::parse(lines[i], path.string() + " line " + std::to_string(i + 1));
    } catch (const Error&) {
      if (i == last_nonblank) break;  // a line still being written
      throw;
    }
    if (!row.is_object())
      throw input_error(path.string(), "line " + std::to_string(i + 1) + " is not a JSON object");
    const Json* xv = row.find(x_key);
    if (!xv || !xv->is_number()) continue;
    const double x = xv->as_double();
    for (auto& [name, v] : row.items()) {
      if (name == x_key) continue;
      auto it = index.find(name);
      if (it == index.end()) {
        bool wanted = false;
        for (auto& k : keys)
          if (!k.empty() && k.back() == '*' && name.compare(0, k.size() - 1, k, 0, k.size() - 1) == 0) wanted = true;
        if (!wanted) continue;
        it = index.emplace(name, out.size()).first;
        out.push_back({name, {}, {}});
      }
      out[it->second].x.push_back(x);
      out[it->second].y.push_back(value_of(v));
    }
  }
  return out;
}

PlotSeries read_itr_value_log(const std::filesystem::path& path, const std::string& name) {
  std::ifstream in(path);
  if (!in) throw input_error(path.string(), "cannot open the log (missing or unreadable)");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (line.find_first_not_of(" \t\r") != std::string::npos) lines.push_back(line);
  PlotSeries s{name.empty() ? path.stem().string() : name, {}, {}};
  for (size_t i = 0; i < lines.size(); ++i) {
    const char* p = lines[i].c_str();
    char* end = nullptr;
    const double itr = std::strtod(p, &end);
    bool ok = end != p && *end == ':';
    double v = 0;
    if (ok) {
      const char* q = end + 1;
      v = std::strtod(q, &end);  // also reads "nan", "inf", "-inf"
      ok = end != q && std::string(end).find_first_not_of(" \t\r") == std::string::npos;
    }
    if (!ok) {
      if (i + 1 == lines.size()) break;  // a line still being written
      throw input_error(path.string(), "line " + std::to_string(i + 1) + " is not 'itr: value'");
    }
    s.x.push_back(itr);
    s.y.push_back(std::isfinite(v) ? v : std::numeric_limits<double>::quiet_NaN());
  }
  return s;
}

void plot_jsonl(const std::filesystem::path& jsonl_path, const std::vector<std::string>& keys,
                const std::filesystem::path& png_path, PlotOptions options, const std::string& x_key) {
  if (options.title.empty()) options.title = jsonl_path.filename().string();
  if (options.x_label == "itr") options.x_label = x_key;
  save_plot(png_path, read_jsonl_series(jsonl_path, keys, x_key), options);
}

}  // namespace biggan
