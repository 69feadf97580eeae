// A small RAII wrapper over the HDF5 C API, reading and writing datasets as torch tensors.
// Used for fixtures (io.h5), latents / image outputs of gan-sample and the training-set files.
#pragma once
#include <hdf5.h>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace biggan::h5 {

class File {
 public:
  // Opens an existing file read-only; a clear error if it is missing or not HDF5.
  static File open_read(const std::string& path);
  // Opens an existing file read-write.
  static File open_rw(const std::string& path);
  // Creates (truncating) a file.
  static File create(const std::string& path);

  File(File&& other) noexcept;
  File& operator=(File&& other) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File();

  const std::string& path() const { return path_; }
  hid_t id() const { return id_; }

  bool exists(const std::string& name) const;
  bool is_group(const std::string& name) const;
  // Names of the members of a group ("/" for the root), sorted.
  std::vector<std::string> list(const std::string& group) const;

  // Shape of a dataset.
  std::vector<int64_t> shape(const std::string& dataset) const;
  // Reads a whole dataset into a tensor of the matching dtype (float32/64, int8..int64, uint8, bool).
  torch::Tensor read(const std::string& dataset) const;
  // Reads rows [start, start+count) along the first dimension.
  torch::Tensor read_rows(const std::string& dataset, int64_t start, int64_t count) const;

  // Writes a tensor as a dataset (creating parent groups). chunk_rows > 0 chunks along dim 0
  // (the other dims whole); gzip_level > 0 compresses.
  void write(const std::string& dataset, const torch::Tensor& t, int64_t chunk_rows = 0,
             int gzip_level = 0);

  // Attributes on a group or dataset ("/" for the file).
  bool has_attr(const std::string& object, const std::string& name) const;
  double attr_double(const std::string& object, const std::string& name) const;
  std::string attr_string(const std::string& object, const std::string& name) const;
  void set_attr(const std::string& object, const std::string& name, double value);
  void set_attr(const std::string& object, const std::string& name, const std::string& value);

  void flush();
  void close();

 private:
  File(hid_t id, std::string path) : id_(id), path_(std::move(path)) {}
  hid_t id_ = -1;
  std::string path_;
};

// HDF5 type <-> torch dtype.
hid_t native_type(c10::ScalarType t);
c10::ScalarType scalar_type_of(hid_t h5type, const std::string& what);

// Silences the HDF5 library's own stack dumps (we report errors ourselves). Idempotent.
void quiet_errors();

}  // namespace biggan::h5
