// Fashion-MNIST for the metrics tests: Debian's IDX files as 32×32 RGB tensors, one LibTorch thread
// while a test trains, and the classifier of a 2,000-image subset, trained once per test binary.
#pragma once
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>

#include "libbiggan/data/idx_file.h"
#include "libbiggan/metrics/fashion_classifier.h"

namespace biggan::test {

// One LibTorch thread while a test trains (restored after): on a shared, busy machine OpenMP's
// spinning threads make two-thread training several times slower than one.
struct OneThread {
  int before = torch::get_num_threads();
  OneThread() { torch::set_num_threads(1); }
  ~OneThread() { torch::set_num_threads(before); }
};

inline std::filesystem::path fashion_dir() { return "/usr/share/datasets/fashion-mnist"; }

// Fashion-MNIST from Debian's IDX files, 28×28 padded to 32×32 (the classifier does not care how
// the data tool resizes), gray repeated to RGB; rows [offset, offset + limit).
inline std::pair<torch::Tensor, torch::Tensor> fashion_split(const std::string& split, int64_t limit,
                                                             int64_t offset = 0) {
  auto files = data::find_idx_split(fashion_dir(), split);
  auto im = data::read_idx_ubyte(files.images), lb = data::read_idx_ubyte(files.labels);
  offset = std::min<int64_t>(offset, im.dims[0]);
  const int64_t n = std::min<int64_t>(limit, im.dims[0] - offset);
  auto x = torch::from_blob(im.data.data(), {im.dims[0], 1, 28, 28}, torch::kUInt8).narrow(0, offset, n).clone();
  auto y = torch::from_blob(lb.data.data(), {lb.dims[0]}, torch::kUInt8).narrow(0, offset, n).to(torch::kInt64);
  x = torch::constant_pad_nd(x, {2, 2, 2, 2}, 0).repeat({1, 3, 1, 1});
  return {x, y};
}

// The default architecture trained 6 epochs on the first 2,000 training images (seed 0); `seconds`
// gets the training time of the first call. Trained once: later calls return the same model.
inline metrics::FashionClassifier fashion_subset_classifier(double* seconds = nullptr) {
  static metrics::FashionClassifier model{nullptr};
  static double took = 0;
  if (!model) {
    OneThread one;
    auto [x, y] = fashion_split("train", 2000);
    metrics::ClassifierTrainOptions o;
    o.epochs = 6;
    o.seed = 0;
    auto t0 = std::chrono::steady_clock::now();
    model = metrics::train_classifier(x, y, o);
    took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  if (seconds) *seconds = took;
  return model;
}

}  // namespace biggan::test
