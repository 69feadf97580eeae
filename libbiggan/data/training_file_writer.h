// Writes a training file in the layout of the reference's make_hdf5.py, so that files move freely
// between the two projects:
//   imgs   uint8 [N, 3, R, R]  chunks (chunk_rows, 3, R, R), resizable up to the number of inputs
//   labels int64 [N]           chunks (chunk_rows,)
// plus attributes on the file: classes (string array), resolution, resize, source, num_skipped and
// skipped (the names of unreadable inputs, at most the first 1000).
//
// Images are decoded and resized by `threads` workers, a chunk of chunk_rows images at a time, while
// the previous chunk is written: memory stays bounded (two chunks) whatever the data set size, and the
// bytes written do not depend on the thread count. The output is written to a temp file and renamed
// into place only when complete.
#pragma once
#include <cstdint>
#include <filesystem>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "libbiggan/data/idx_file.h"
#include "libbiggan/data/image_folder.h"
#include "libbiggan/data/image_preprocess.h"

namespace biggan::data {

// What the writer converts: a list of labelled images, decoded on demand (thread-safe).
class ImageSource {
 public:
  virtual ~ImageSource() = default;
  virtual int64_t size() const = 0;
  virtual int64_t label(int64_t i) const = 0;
  // Names the item in messages and in the skipped list.
  virtual std::string name(int64_t i) const = 0;
  virtual std::vector<std::string> class_names() const = 0;
  virtual std::string description() const = 0;
  // The image as 8-bit BGR, or an empty Mat with `why` set if it cannot be decoded. min_side > 0
  // allows an approximate faster decode whose short side is still >= min_side (see image_folder.h).
  virtual cv::Mat load(int64_t i, std::string& why, int min_side = 0) const = 0;
};

// An ImageFolder tree (see image_folder.h).
class ImageFolderSource : public ImageSource {
 public:
  explicit ImageFolderSource(const std::filesystem::path& root);
  int64_t size() const override { return static_cast<int64_t>(index_.files.size()); }
  int64_t label(int64_t i) const override { return index_.labels[i]; }
  std::string name(int64_t i) const override;
  std::vector<std::string> class_names() const override { return index_.classes; }
  std::string description() const override { return root_.string(); }
  cv::Mat load(int64_t i, std::string& why, int min_side = 0) const override;

 private:
  std::filesystem::path root_;
  ImageFolderIndex index_;
};

// One split of an MNIST-style IDX folder (grayscale images, converted to 3 equal channels).
class IdxSource : public ImageSource {
 public:
  IdxSource(const std::filesystem::path& folder, const std::string& split);
  int64_t size() const override { return n_; }
  int64_t label(int64_t i) const override { return labels_.data[i]; }
  std::string name(int64_t i) const override;
  std::vector<std::string> class_names() const override { return classes_; }
  std::string description() const override { return files_.images.string(); }
  cv::Mat load(int64_t i, std::string& why, int min_side = 0) const override;

 private:
  IdxSplitFiles files_;
  IdxArray images_, labels_;
  int64_t n_ = 0, rows_ = 0, cols_ = 0;
  std::vector<std::string> classes_;
};

struct WriterOptions {
  int resolution = 128;
  ResizeMethod resize = ResizeMethod::kPil;
  int threads = 1;
  int64_t chunk_rows = 500;  // make_hdf5.py's default --chunk_size
  int gzip_level = 0;        // 0: uncompressed (make_hdf5.py's default)
  bool fast_decode = false;  // JPEGs decoded at reduced scale when large enough (not bit-exact)
  bool strict = false;       // an unreadable image is an error instead of being skipped
  bool progress = false;     // progress line on stderr
  std::string progress_label = "imagenet-to-hdf5";
};

struct WriterResult {
  int64_t written = 0;
  std::vector<std::string> skipped;  // "name: why"
  double seconds = 0;
};

// Converts `source` into the training file `output`. Clear errors for an unwritable output location,
// a source without any readable image, and (with strict) the first unreadable image.
WriterResult write_training_file(const ImageSource& source, const std::filesystem::path& output,
                                 const WriterOptions& options);

}  // namespace biggan::data
