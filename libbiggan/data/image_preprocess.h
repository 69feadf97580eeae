// The reference's preprocessing of one training image: CenterCropLongEdge (torchvision's center_crop
// to the short side, with Python's round-half-to-even offsets) then Resize to a square resolution.
//
// Resize methods:
//  - kPil (default): a bit-exact re-implementation of Pillow's bilinear resampling (Image.resize with
//    BILINEAR, which torchvision's Resize calls on PIL images): a triangle filter stretched by the
//    scale factor when downscaling (antialiasing), separable, horizontal pass first, 22-bit fixed-point
//    coefficients and rounding to 8 bits between the passes. Same decoded pixels in -> same bytes out
//    as torchvision.
//  - kArea, kLinear: OpenCV's INTER_AREA / INTER_LINEAR, kept for comparison (they are not what the
//    reference computes; see the bench for the measured differences).
#pragma once
#include <opencv2/core.hpp>
#include <string>

namespace biggan::data {

enum class ResizeMethod { kPil, kArea, kLinear };

// "pil", "area", "linear" <-> enum; an unknown name is a clear error.
ResizeMethod resize_method_from_name(const std::string& name);
std::string resize_method_name(ResizeMethod m);

// Largest centered square of `img`, placed as torchvision's center_crop places it:
// top = round((h - s) / 2), left = round((w - s) / 2) with ties to even. Shares `img`'s pixels.
cv::Mat center_crop_long_edge(const cv::Mat& img);

// Resizes an 8-bit image with 1..4 interleaved channels to out_w x out_h.
cv::Mat resize_image(const cv::Mat& img, int out_w, int out_h, ResizeMethod method);

// Pillow's bilinear resample (the kPil path), exposed for tests.
cv::Mat pil_bilinear_resize(const cv::Mat& img, int out_w, int out_h);

// center_crop_long_edge + resize to resolution x resolution.
cv::Mat crop_and_resize(const cv::Mat& img, int resolution, ResizeMethod method);

}  // namespace biggan::data
