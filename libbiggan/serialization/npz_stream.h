// An .npz written as its arrays come in, never holding an array whole (gan-sample's samples .npz of
// 50000 images would otherwise sit in memory). Each array's dtype and shape are declared up front;
// rows are appended in any interleaving, and the file has the same bytes as npz::save of the whole
// arrays (stored members, CRCs computed as the data passes).
#pragma once
#include <torch/torch.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "libbiggan/serialization/zip_archive.h"

namespace biggan::npz {

struct ArraySpec {
  std::string name;  // without ".npy"
  c10::ScalarType dtype;
  std::vector<int64_t> shape;
};

class StreamWriter {
 public:
  // Writes to `path` (the caller makes the file atomic: a temp path, renamed once finished).
  // The first array goes straight into the archive; later arrays wait in unnamed temporary files
  // until finish() copies them in, in order.
  StreamWriter(const std::string& path, std::vector<ArraySpec> arrays);
  ~StreamWriter();
  StreamWriter(const StreamWriter&) = delete;
  StreamWriter& operator=(const StreamWriter&) = delete;

  // Appends rows (the array's dtype and row shape) at the end of array `index`.
  void append(size_t index, const torch::Tensor& rows);
  // Checks that every array got all its rows, copies the waiting ones in and closes the archive.
  void finish();

 private:
  std::string path_;
  std::vector<ArraySpec> arrays_;
  std::vector<int64_t> rows_written_;
  std::vector<std::FILE*> spools_;  // [0] unused: the first array is written in place
  zip::Writer zip_;
};

}  // namespace biggan::npz
