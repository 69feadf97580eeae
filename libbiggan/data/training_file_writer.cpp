#include "libbiggan/data/training_file_writer.h"

#include <unistd.h>

#include <atomic>
#include <cstring>
#include <exception>
#include <future>
#include <opencv2/imgproc.hpp>
#include <system_error>
#include <thread>

#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/serialization/hdf5_rows.h"
#include "libbiggan/util/atomic_file.h"
#include "libbiggan/util/error.h"
#include "libbiggan/util/progress.h"

namespace fs = std::filesystem;

namespace biggan::data {

ImageFolderSource::ImageFolderSource(const fs::path& root) : root_(root), index_(scan_image_folder(root)) {}

std::string ImageFolderSource::name(int64_t i) const {
  return index_.files[i].lexically_relative(root_).string();
}

cv::Mat ImageFolderSource::load(int64_t i, std::string& why, int min_side) const {
  return decode_image_file(index_.files[i], why, min_side);
}

IdxSource::IdxSource(const fs::path& folder, const std::string& split) : files_(find_idx_split(folder, split)) {
  images_ = read_idx_ubyte(files_.images);
  labels_ = read_idx_ubyte(files_.labels);
  if (images_.dims.size() != 3)
    throw input_error(files_.images.string(), "expected 3 dimensions (N x rows x cols), found " +
                                                  std::to_string(images_.dims.size()));
  if (labels_.dims.size() != 1)
    throw input_error(files_.labels.string(), "expected 1 dimension (N), found " + std::to_string(labels_.dims.size()));
  n_ = images_.dims[0];
  rows_ = images_.dims[1];
  cols_ = images_.dims[2];
  if (labels_.dims[0] != n_)
    throw input_error(files_.labels.string(), std::to_string(labels_.dims[0]) + " labels for " +
                                                  std::to_string(n_) + " images in " + files_.images.string());
  if (n_ == 0) throw input_error(files_.images.string(), "no images");
  int64_t max_label = 0;
  for (uint8_t l : labels_.data) max_label = std::max<int64_t>(max_label, l);
  classes_ = idx_class_names(folder, max_label + 1);
}

std::string IdxSource::name(int64_t i) const { return files_.images.filename().string() + "[" + std::to_string(i) + "]"; }

cv::Mat IdxSource::load(int64_t i, std::string&, int) const {
  cv::Mat gray(static_cast<int>(rows_), static_cast<int>(cols_), CV_8UC1,
               const_cast<uint8_t*>(images_.data.data() + i * rows_ * cols_));
  cv::Mat bgr;
  cv::cvtColor(gray, bgr, cv::COLOR_GRAY2BGR);
  return bgr;
}

namespace {

// One chunk of inputs on its way from the decoders to the file.
struct Chunk {
  int64_t begin = 0, count = 0;
  std::vector<uint8_t> pixels;  // count x 3 x R x R
  std::vector<int64_t> labels;
  std::vector<char> ok;
  std::vector<std::string> why;
};

void check_writable(const fs::path& output) {
  fs::path dir = output.has_parent_path() ? output.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw input_error(output.string(), "cannot write: folder " + dir.string() + " does not exist");
  if (::access(dir.c_str(), W_OK) != 0) throw input_error(output.string(), "cannot write: folder " + dir.string() + " is not writable");
  if (fs::is_directory(output, ec)) throw input_error(output.string(), "is a folder, not a file name");
}

// Decodes, crops and resizes the chunk's images with `threads` workers, writing RGB planes.
void process_chunk(const ImageSource& source, const WriterOptions& opt, Chunk& c,
                   std::atomic<int64_t>& done, ProgressMeter& progress) {
  const int R = opt.resolution;
  const size_t row = 3 * static_cast<size_t>(R) * R;
  c.pixels.resize(c.count * row);
  c.labels.resize(c.count);
  c.ok.assign(c.count, 0);
  c.why.assign(c.count, std::string());
  std::atomic<int64_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (int64_t k; (k = next.fetch_add(1)) < c.count;) {
      try {
        const int64_t i = c.begin + k;
        c.labels[k] = source.label(i);
        cv::Mat img = source.load(i, c.why[k], opt.fast_decode ? R : 0);
        if (!img.empty()) {
          cv::Mat out = crop_and_resize(img, R, opt.resize);
          uint8_t* dst = c.pixels.data() + k * row;
          const size_t plane = static_cast<size_t>(R) * R;
          for (int y = 0; y < R; ++y) {
            const uint8_t* s = out.ptr<uint8_t>(y);
            for (int x = 0; x < R; ++x) {
              dst[0 * plane + y * R + x] = s[3 * x + 2];  // BGR -> RGB planes
              dst[1 * plane + y * R + x] = s[3 * x + 1];
              dst[2 * plane + y * R + x] = s[3 * x + 0];
            }
          }
          c.ok[k] = 1;
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
      progress.update(done.fetch_add(1) + 1);
    }
  };
  std::vector<std::thread> workers;
  try {
    for (int t = 1; t < opt.threads; ++t) workers.emplace_back(work);
  } catch (const std::system_error&) {
    // A thread that cannot start is not needed: the ones started and this one share the same queue
    // (and every started thread is joined below, never left joinable).
  }
  work();
  for (auto& w : workers) w.join();
  if (error) std::rethrow_exception(error);
}

// Collects good rows and appends them to the file in whole chunks (a partial chunk only at the end),
// so that every HDF5 chunk is written once.
class ChunkAppender {
 public:
  ChunkAppender(h5::File& f, int R, int64_t chunk_rows) : f_(f), row_(3 * static_cast<size_t>(R) * R), R_(R), chunk_(chunk_rows) {}
  void add(const Chunk& c) {
    for (int64_t k = 0; k < c.count; ++k) {
      if (!c.ok[k]) continue;
      pixels_.insert(pixels_.end(), c.pixels.begin() + k * row_, c.pixels.begin() + (k + 1) * row_);
      labels_.push_back(c.labels[k]);
    }
    int64_t full = static_cast<int64_t>(labels_.size()) / chunk_ * chunk_;
    if (full > 0) write(full);
  }
  void finish() {
    if (!labels_.empty()) write(static_cast<int64_t>(labels_.size()));
  }
  int64_t written() const { return written_; }

 private:
  void write(int64_t n) {
    auto imgs = torch::from_blob(pixels_.data(), {n, 3, R_, R_}, torch::kUInt8);
    auto labels = torch::from_blob(labels_.data(), {n}, torch::kInt64);
    h5::append_rows(f_, "imgs", imgs);
    h5::append_rows(f_, "labels", labels);
    pixels_.erase(pixels_.begin(), pixels_.begin() + n * row_);
    labels_.erase(labels_.begin(), labels_.begin() + n);
    written_ += n;
  }
  h5::File& f_;
  size_t row_;
  int R_;
  int64_t chunk_, written_ = 0;
  std::vector<uint8_t> pixels_;
  std::vector<int64_t> labels_;
};

}  // namespace

WriterResult write_training_file(const ImageSource& source, const fs::path& output, const WriterOptions& opt) {
  if (opt.resolution < 1) throw Error("--resolution must be positive");
  if (opt.chunk_rows < 1) throw Error("--chunk-size must be positive");
  check_writable(output);
  const int64_t n = source.size();
  if (n == 0) throw input_error(source.description(), "no images");
  WriterOptions o = opt;
  o.threads = std::max(1, o.threads);
  WriterResult result;
  ProgressMeter progress(o.progress_label, n, o.progress);
  std::atomic<int64_t> done{0};

  write_atomically(output, [&](const fs::path& tmp) {
    auto f = h5::File::create(tmp.string());
    const int R = o.resolution;
    h5::create_appendable(f, "imgs", torch::kUInt8, {3, R, R}, o.chunk_rows, n, o.gzip_level);
    h5::create_appendable(f, "labels", torch::kInt64, {}, o.chunk_rows, n, o.gzip_level);
    ChunkAppender appender(f, R, o.chunk_rows);
    Chunk chunks[2];
    std::future<void> writing;
    for (int64_t begin = 0, c = 0; begin < n; begin += o.chunk_rows, ++c) {
      Chunk& cur = chunks[c % 2];
      cur.begin = begin;
      cur.count = std::min(o.chunk_rows, n - begin);
      process_chunk(source, o, cur, done, progress);
      for (int64_t k = 0; k < cur.count; ++k) {
        if (cur.ok[k]) continue;
        if (o.strict)
          throw input_error(source.name(begin + k), "cannot read image: " + cur.why[k] + " (--strict)");
        result.skipped.push_back(source.name(begin + k) + ": " + cur.why[k]);
      }
      if (writing.valid()) writing.get();  // the other buffer is free again (and errors surface)
      writing = std::async(std::launch::async, [&appender, &cur] { appender.add(cur); });
    }
    if (writing.valid()) writing.get();
    appender.finish();
    result.written = appender.written();
    if (result.written == 0)
      throw input_error(source.description(), "none of the " + std::to_string(n) + " images could be read");
    h5::set_attr_strings(f, "/", "classes", source.class_names());
    f.set_attr("/", "resolution", static_cast<double>(R));
    f.set_attr("/", "resize", resize_method_name(o.resize) + (o.fast_decode ? "+fast-decode" : ""));
    f.set_attr("/", "source", source.description());
    f.set_attr("/", "num_skipped", static_cast<double>(result.skipped.size()));
    if (!result.skipped.empty()) {
      std::vector<std::string> listed(result.skipped.begin(),
                                      result.skipped.begin() + std::min<size_t>(result.skipped.size(), 1000));
      h5::set_attr_strings(f, "/", "skipped", listed);
    }
    f.close();
  });
  progress.finish(done.load());
  result.seconds = progress.elapsed_seconds();
  return result;
}

}  // namespace biggan::data
