// The msgpack sample stream: how `gan-sample --stream` hands images to `fid` / `inception-moments`
// through a pipe, with no temporary files. The format is documented in docs/stream-format.md:
// a header frame, image frames (uint8 or float32 N×C×H×W plus optional int64 labels), an end frame.
#pragma once
#include <torch/torch.h>

#include <iosfwd>
#include <map>
#include <memory>
#include <string>

namespace biggan::metrics {

struct SampleStreamHeader {
  std::string dtype = "uint8";  // "uint8" (0..255) or "float32" (images in [-1, 1])
  int64_t channels = 3, height = 0, width = 0;
  int64_t count = -1;                          // images the writer intends to send, -1 if unknown
  std::map<std::string, std::string> meta;     // free-form provenance (generator, truncation, ...)
};

// Writes one stream. The header frame goes out at construction, the end frame at finish()
// (a stream without its end frame is reported as truncated by the reader).
class SampleStreamWriter {
 public:
  SampleStreamWriter(std::ostream& out, SampleStreamHeader header);
  // images: N×C×H×W of the header's dtype and C/H/W (any device; copied to CPU), N >= 1;
  // labels: undefined, or N integers.
  void write(const torch::Tensor& images, const torch::Tensor& labels = {});
  // Writes the end frame and flushes. Further writes are errors.
  void finish();
  int64_t images_written() const { return images_; }
  int64_t frames_written() const { return frames_; }

 private:
  void emit(const std::string& bytes);
  std::ostream& out_;
  SampleStreamHeader header_;
  int64_t images_ = 0, frames_ = 0;
  bool finished_ = false;
};

// Reads one stream. Every malformation (not msgpack, a frame of the wrong kind, a shape or dtype
// that disagrees with the header, a data size that does not match the shape, a stream cut inside a
// frame or before its end frame, an empty stream) is a biggan::Error naming the stream and frame.
// Frames are numbered from 0 (the header).
class SampleStreamReader {
 public:
  SampleStreamReader(std::istream& in, std::string name);
  ~SampleStreamReader();
  const SampleStreamHeader& header() const { return header_; }
  // The next image frame: images (uint8 or float32, as the header says, N×C×H×W on the CPU) and
  // labels (int64 [N], or undefined when the frame has none). False after the end frame.
  bool next(torch::Tensor& images, torch::Tensor& labels);
  int64_t images_read() const { return images_; }
  int64_t frames_read() const { return frames_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string name_;
  SampleStreamHeader header_;
  int64_t images_ = 0, frames_ = 0;
  bool ended_ = false;
};

// Images in [-1, 1] to uint8 exactly as the reference's `--sample_npz` does: uint8(255 (x+1)/2),
// truncating (values outside [-1, 1] are clamped first).
torch::Tensor quantize_like_reference(const torch::Tensor& images);

}  // namespace biggan::metrics
