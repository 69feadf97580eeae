#include "libbiggan/data/image_preprocess.h"

#include <cmath>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "libbiggan/util/error.h"

namespace biggan::data {

ResizeMethod resize_method_from_name(const std::string& name) {
  if (name == "pil") return ResizeMethod::kPil;
  if (name == "area") return ResizeMethod::kArea;
  if (name == "linear") return ResizeMethod::kLinear;
  throw Error("unknown resize method '" + name + "' (use pil, area or linear)");
}

std::string resize_method_name(ResizeMethod m) {
  switch (m) {
    case ResizeMethod::kPil: return "pil";
    case ResizeMethod::kArea: return "area";
    case ResizeMethod::kLinear: return "linear";
  }
  return "?";
}

cv::Mat center_crop_long_edge(const cv::Mat& img) {
  const int s = std::min(img.rows, img.cols);
  // Python's round() rounds halves to even; nearbyint does too in the default rounding mode.
  const int top = static_cast<int>(std::nearbyint((img.rows - s) / 2.0));
  const int left = static_cast<int>(std::nearbyint((img.cols - s) / 2.0));
  return img(cv::Rect(left, top, s, s));
}

namespace {

// Pillow's fixed-point precision for 8-bit images (Resample.c: PRECISION_BITS = 32 - 8 - 2).
constexpr int kPrecisionBits = 32 - 8 - 2;

// Per output pixel: first input pixel, number of taps, and the taps' fixed-point weights.
struct Coefficients {
  int ksize = 0;
  std::vector<int> first, count;
  std::vector<int32_t> weights;  // out_size * ksize
};

double triangle(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

// Pillow's precompute_coeffs + normalize_coeffs_8bpc for the bilinear filter (support 1), over the
// whole input axis [0, in_size). The arithmetic follows Pillow's order so the weights are identical.
Coefficients precompute(int in_size, int out_size) {
  Coefficients c;
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = 1.0 * filterscale;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(out_size);
  c.count.resize(out_size);
  c.weights.assign(static_cast<size_t>(out_size) * c.ksize, 0);
  std::vector<double> k(c.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      double w = triangle((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (int x = 0; x < xmax; ++x) {
      if (ww != 0.0) k[x] /= ww;
      const double v = k[x] * (1 << kPrecisionBits);
      c.weights[static_cast<size_t>(xx) * c.ksize + x] = static_cast<int32_t>(v < 0 ? -0.5 + v : 0.5 + v);
    }
    c.first[xx] = xmin;
    c.count[xx] = xmax;
  }
  return c;
}

inline uint8_t clip8(int32_t in) {
  if (in >= (1 << kPrecisionBits << 8)) return 255;
  if (in <= 0) return 0;
  return static_cast<uint8_t>(in >> kPrecisionBits);
}

// Horizontal pass over input rows [row0, row0 + rows) into `out` (rows x out_w).
void resample_horizontal(const cv::Mat& in, int row0, int rows, const Coefficients& c, cv::Mat& out) {
  const int ch = in.channels();
  const int out_w = out.cols;
  constexpr int32_t kHalf = 1 << (kPrecisionBits - 1);
  for (int y = 0; y < rows; ++y) {
    const uint8_t* src = in.ptr<uint8_t>(row0 + y);
    uint8_t* dst = out.ptr<uint8_t>(y);
    for (int xx = 0; xx < out_w; ++xx) {
      const int32_t* w = &c.weights[static_cast<size_t>(xx) * c.ksize];
      const uint8_t* s = src + static_cast<size_t>(c.first[xx]) * ch;
      const int n = c.count[xx];
      if (ch == 3) {  // the common case: all three channels in one pass over the taps
        int32_t a0 = kHalf, a1 = kHalf, a2 = kHalf;
        for (int x = 0; x < n; ++x, s += 3) {
          a0 += s[0] * w[x];
          a1 += s[1] * w[x];
          a2 += s[2] * w[x];
        }
        dst[xx * 3 + 0] = clip8(a0);
        dst[xx * 3 + 1] = clip8(a1);
        dst[xx * 3 + 2] = clip8(a2);
        continue;
      }
      for (int k = 0; k < ch; ++k) {
        int32_t acc = kHalf;
        for (int x = 0; x < n; ++x) acc += s[x * ch + k] * w[x];
        dst[xx * ch + k] = clip8(acc);
      }
    }
  }
}

// Vertical pass: output row yy reads input rows first[yy] - row0 ... (the input holds rows from row0).
void resample_vertical(const cv::Mat& in, int row0, const Coefficients& c, cv::Mat& out) {
  const int rowlen = in.cols * in.channels();
  std::vector<int32_t> acc(rowlen);
  for (int yy = 0; yy < out.rows; ++yy) {
    std::fill(acc.begin(), acc.end(), int32_t(1) << (kPrecisionBits - 1));
    const int32_t* w = &c.weights[static_cast<size_t>(yy) * c.ksize];
    for (int y = 0; y < c.count[yy]; ++y) {
      const uint8_t* src = in.ptr<uint8_t>(c.first[yy] - row0 + y);
      const int32_t wy = w[y];
      for (int i = 0; i < rowlen; ++i) acc[i] += src[i] * wy;
    }
    uint8_t* dst = out.ptr<uint8_t>(yy);
    for (int i = 0; i < rowlen; ++i) dst[i] = clip8(acc[i]);
  }
}

}  // namespace

cv::Mat pil_bilinear_resize(const cv::Mat& img, int out_w, int out_h) {
  if (img.depth() != CV_8U) throw Error("pil_bilinear_resize: expects an 8-bit image");
  if (img.cols == out_w && img.rows == out_h) return img.clone();  // Pillow returns a copy too
  const bool need_h = img.cols != out_w, need_v = img.rows != out_h;
  Coefficients ch = precompute(img.cols, out_w), cv_ = precompute(img.rows, out_h);
  const int type = CV_MAKETYPE(CV_8U, img.channels());
  if (!need_v) {
    cv::Mat out(out_h, out_w, type);
    resample_horizontal(img, 0, img.rows, ch, out);
    return out;
  }
  cv::Mat out(out_h, out_w, type);
  if (!need_h) {
    resample_vertical(img, 0, cv_, out);
    return out;
  }
  // Only the input rows that the vertical pass will read go through the horizontal pass.
  const int first = cv_.first.front();
  const int last = cv_.first.back() + cv_.count.back();
  // The horizontal pass runs as a vertical pass over the transposed band: the same integer sums
  // (exact, so the same bytes), but over contiguous rows, which the compiler vectorises.
  cv::Mat band_t, tmp_t(out_w, last - first, type), tmp;
  cv::transpose(img.rowRange(first, last), band_t);
  resample_vertical(band_t, 0, ch, tmp_t);
  cv::transpose(tmp_t, tmp);
  resample_vertical(tmp, first, cv_, out);
  return out;
}

cv::Mat resize_image(const cv::Mat& img, int out_w, int out_h, ResizeMethod method) {
  if (method == ResizeMethod::kPil) return pil_bilinear_resize(img, out_w, out_h);
  cv::Mat out;
  if (img.cols == out_w && img.rows == out_h) return img.clone();
  cv::resize(img, out, cv::Size(out_w, out_h), 0, 0,
             method == ResizeMethod::kArea ? cv::INTER_AREA : cv::INTER_LINEAR);
  return out;
}

cv::Mat crop_and_resize(const cv::Mat& img, int resolution, ResizeMethod method) {
  return resize_image(center_crop_long_edge(img), resolution, resolution, method);
}

}  // namespace biggan::data
