#include "libbiggan/metrics/image_source.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "libbiggan/data/image_folder.h"
#include "libbiggan/metrics/sample_stream.h"
#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/serialization/hdf5_rows.h"
#include "libbiggan/util/error.h"

namespace biggan::metrics {

namespace fs = std::filesystem;

torch::Tensor uint8_to_unit_range(const torch::Tensor& images) {
  return (images.to(torch::kFloat32) / 255.f - 0.5f) * 2.f;
}

namespace {

// Any N×C×H×W batch (uint8 or float) → float32 [-1, 1] with 3 channels.
torch::Tensor normalise(const torch::Tensor& images, const std::string& name) {
  if (images.scalar_type() != torch::kUInt8 && !images.is_floating_point())
    throw input_error(name, std::string("images are ") + c10::toString(images.scalar_type()) +
                                ": expected uint8 (0..255) or float in [-1, 1]");
  auto x = images.scalar_type() == torch::kUInt8 ? uint8_to_unit_range(images) : images.to(torch::kFloat32);
  // Float images are G's tanh output: values outside [-1, 1] (e.g. 0..255 stored as float) would be
  // scored as something else without a word.
  if (images.is_floating_point()) {
    const double peak = x.abs().max().item<double>();
    if (peak > 1.0 + 1e-5)
      throw input_error(name, "float images must lie in [-1, 1], found a value of magnitude " + std::to_string(peak) +
                                  " (store 0..255 pixels as uint8)");
  }
  if (x.size(1) == 1) x = x.expand({-1, 3, -1, -1}).contiguous();
  if (x.size(1) != 3)
    throw input_error(name, "images have " + std::to_string(x.size(1)) + " channels (need 1 or 3)");
  return x;
}

class StreamSource : public ImageSource {
 public:
  StreamSource(std::unique_ptr<std::istream> owned, std::istream& in, std::string name)
      : owned_(std::move(owned)), reader_(in, name), name_(std::move(name)) {}
  bool next(int64_t max_n, torch::Tensor& images, torch::Tensor& labels) override {
    // Frames are re-batched to max_n so the network sees the batch size it was asked to use.
    while (pending_ < max_n && !done_) {
      torch::Tensor im, lb;
      if (!reader_.next(im, lb)) {
        done_ = true;
        break;
      }
      imgs_.push_back(im);
      lbls_.push_back(lb);
      pending_ += im.size(0);
    }
    if (pending_ == 0) return false;
    auto all = torch::cat(imgs_, 0);
    bool have_labels = std::all_of(lbls_.begin(), lbls_.end(), [](auto& t) { return t.defined(); });
    auto all_labels = have_labels ? torch::cat(lbls_, 0) : torch::Tensor();
    const int64_t take = std::min(max_n, pending_);
    images = normalise(all.narrow(0, 0, take), name_);
    labels = have_labels ? all_labels.narrow(0, 0, take) : torch::Tensor();
    imgs_.clear();
    lbls_.clear();
    if (take < pending_) {
      imgs_.push_back(all.narrow(0, take, pending_ - take));
      lbls_.push_back(have_labels ? all_labels.narrow(0, take, pending_ - take) : torch::Tensor());
    }
    pending_ -= take;
    return true;
  }
  int64_t size_hint() const override { return reader_.header().count; }
  std::string name() const override { return name_; }

 private:
  std::unique_ptr<std::istream> owned_;
  SampleStreamReader reader_;
  std::string name_;
  std::vector<torch::Tensor> imgs_, lbls_;
  int64_t pending_ = 0;
  bool done_ = false;
};

class Hdf5Source : public ImageSource {
 public:
  Hdf5Source(const std::string& path, const std::string& dataset) : file_(h5::File::open_read(path)), ds_(dataset) {
    if (!file_.exists(ds_)) throw input_error(path, "no dataset '" + ds_ + "' (expected imgs N×C×H×W uint8)");
    auto shape = file_.shape(ds_);
    if (shape.size() != 4 || (shape[1] != 1 && shape[1] != 3))
      throw input_error(path, "dataset '" + ds_ + "' is not N×C×H×W with 1 or 3 channels");
    // 'imgs' is the training layout (make_hdf5.py, imagenet-to-hdf5): uint8 by definition.
    const auto dtype = h5::dataset_dtype(file_, ds_);
    if (ds_ == "imgs" && dtype != torch::kUInt8)
      throw input_error(path, std::string("dataset 'imgs' is ") + c10::toString(dtype) + ", expected uint8 pixels");
    n_ = shape[0];
    has_labels_ = file_.exists("labels") && file_.shape("labels").size() == 1 && file_.shape("labels")[0] == n_;
  }
  bool next(int64_t max_n, torch::Tensor& images, torch::Tensor& labels) override {
    if (pos_ >= n_) return false;
    const int64_t take = std::min(max_n, n_ - pos_);
    images = normalise(file_.read_rows(ds_, pos_, take), file_.path());
    labels = has_labels_ ? file_.read_rows("labels", pos_, take).to(torch::kInt64) : torch::Tensor();
    pos_ += take;
    return true;
  }
  int64_t size_hint() const override { return n_; }
  std::string name() const override { return file_.path(); }

 private:
  h5::File file_;
  std::string ds_;
  int64_t n_ = 0, pos_ = 0;
  bool has_labels_ = false;
};

class TensorSource : public ImageSource {
 public:
  TensorSource(torch::Tensor images, torch::Tensor labels, std::string name)
      : images_(std::move(images)), labels_(std::move(labels)), name_(std::move(name)) {}
  bool next(int64_t max_n, torch::Tensor& images, torch::Tensor& labels) override {
    if (pos_ >= images_.size(0)) return false;
    const int64_t take = std::min(max_n, images_.size(0) - pos_);
    images = normalise(images_.narrow(0, pos_, take), name_);
    labels = labels_.defined() ? labels_.narrow(0, pos_, take).to(torch::kInt64) : torch::Tensor();
    pos_ += take;
    return true;
  }
  int64_t size_hint() const override { return images_.size(0); }
  std::string name() const override { return name_; }

 private:
  torch::Tensor images_, labels_;
  std::string name_;
  int64_t pos_ = 0;
};

class FolderSource : public ImageSource {
 public:
  explicit FolderSource(const std::string& dir) : dir_(dir) {
    for (auto& e : fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink))
      if (e.is_regular_file() && data::has_image_extension(e.path())) files_.push_back(e.path().string());
    std::sort(files_.begin(), files_.end());
    if (files_.empty()) throw input_error(dir, "no image files (jpg, jpeg, png, ppm, bmp, pgm, tif, tiff, webp) in this folder");
  }
  bool next(int64_t max_n, torch::Tensor& images, torch::Tensor& labels) override {
    std::vector<torch::Tensor> batch;
    while ((int64_t)batch.size() < max_n && (pos_ < files_.size() || held_.defined())) {
      torch::Tensor img = held_.defined() ? held_ : load(files_[pos_++]);
      held_ = torch::Tensor();
      if (!batch.empty() && img.sizes() != batch.front().sizes()) {
        held_ = img;  // a different size starts the next batch
        break;
      }
      batch.push_back(img);
    }
    if (batch.empty()) return false;
    images = normalise(torch::stack(batch, 0), dir_);
    labels = torch::Tensor();
    return true;
  }
  int64_t size_hint() const override { return static_cast<int64_t>(files_.size()); }
  std::string name() const override { return dir_; }

 private:
  static torch::Tensor load(const std::string& path) {
    std::string why;  // the training-set converter's decoder: same checks (truncation, size limit, PIL's view)
    cv::Mat bgr = data::decode_image_file(path, why);
    if (bgr.empty()) throw input_error(path, "cannot read image: " + why);
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    auto hwc = torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8);
    return hwc.permute({2, 0, 1}).contiguous();
  }
  std::string dir_;
  std::vector<std::string> files_;
  size_t pos_ = 0;
  torch::Tensor held_;
};

bool ends_with(const std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size()) return false;
  auto tail = s.substr(s.size() - suffix.size());
  std::transform(tail.begin(), tail.end(), tail.begin(), ::tolower);
  return tail == suffix;
}

}  // namespace

std::unique_ptr<ImageSource> tensor_image_source(torch::Tensor images, torch::Tensor labels, const std::string& name) {
  if (!images.defined() || images.dim() != 4) throw input_error(name, "expected images N×C×H×W");
  if (labels.defined() && (labels.dim() != 1 || labels.size(0) != images.size(0)))
    throw input_error(name, std::to_string(labels.numel()) + " labels for " + std::to_string(images.size(0)) +
                                " images");
  if (labels.defined() && labels.is_floating_point()) throw input_error(name, "labels must be integers");
  return std::make_unique<TensorSource>(std::move(images), std::move(labels), name);
}

std::unique_ptr<ImageSource> npz_image_source(npz::Arrays arrays, const std::string& path) {
  auto x = npz::get(arrays, "x", path);
  torch::Tensor y;
  for (auto& [name, t] : arrays)
    if (name == "y") y = t;
  if (x.dim() != 4) throw input_error(path, "x is not a batch of images [N, H, W, 3] or [N, 3, H, W]");
  // The reference writes N×H×W×3 (NHWC); N×C×H×W is accepted too.
  if (x.size(3) == 3 || x.size(3) == 1) {
    if (x.size(1) != 3 && x.size(1) != 1) x = x.permute({0, 3, 1, 2});
  }
  if (y.defined() && (y.dim() != 1 || y.size(0) != x.size(0)))
    throw input_error(path, "y does not hold one label per image");
  return std::make_unique<TensorSource>(x.contiguous(), y, path);
}

std::unique_ptr<ImageSource> open_image_source(const std::string& input, const std::string& hdf5_dataset) {
  if (input == "-") return std::make_unique<StreamSource>(nullptr, std::cin, "stdin");
  if (fs::is_directory(input)) return std::make_unique<FolderSource>(input);
  if (!fs::exists(input)) throw input_error(input, "no such file or folder");
  if (ends_with(input, ".h5") || ends_with(input, ".hdf5")) return std::make_unique<Hdf5Source>(input, hdf5_dataset);
  if (ends_with(input, ".npz")) return npz_image_source(npz::load(input), input);
  auto file = std::make_unique<std::ifstream>(input, std::ios::binary);
  if (!*file) throw input_error(input, "cannot open");
  auto& ref = *file;
  return std::make_unique<StreamSource>(std::move(file), ref, input);
}

}  // namespace biggan::metrics
