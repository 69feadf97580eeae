// A restricted unpickler (protocols 2 to 5) for what torch.save writes for state dicts, optimizer
// state dicts and plain config dicts. It never executes code: GLOBAL is resolved against a fixed
// allow-list (tensor rebuilding, storage types, OrderedDict, numpy scalars and arrays) and anything else is
// refused with an error naming the global.
//
// Python values map to c10::IValue: dict / OrderedDict -> GenericDict (insertion order kept, key and
// value type Any), list -> GenericList, tuple -> Tuple, str and bytes -> string, int -> int (64-bit),
// float -> double, bool, None; numpy scalars -> double / int / bool; numpy arrays of numbers -> tensors
// of their dtype (object arrays refused); tensors -> CPU tensors that share
// their storage as in the file (views keep offset, sizes and strides).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>

namespace biggan::pickle {

// Where bytes come from: memory (a zip record) or a file (legacy format). Reads past the end throw.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual void read(void* dst, uint64_t n) = 0;
  virtual uint64_t position() const = 0;
  virtual uint64_t remaining() const = 0;
  const std::string& name() const { return name_; }

 protected:
  explicit ByteSource(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

class MemorySource : public ByteSource {
 public:
  MemorySource(const std::string& bytes, std::string name) : ByteSource(std::move(name)), bytes_(bytes) {}
  void read(void* dst, uint64_t n) override;
  uint64_t position() const override { return pos_; }
  uint64_t remaining() const override { return bytes_.size() - pos_; }

 private:
  const std::string& bytes_;
  uint64_t pos_ = 0;
};

class FileSource : public ByteSource {
 public:
  explicit FileSource(const std::string& path);
  ~FileSource() override;
  void read(void* dst, uint64_t n) override;
  uint64_t position() const override { return pos_; }
  uint64_t remaining() const override { return size_ - pos_; }
  uint64_t size() const { return size_; }

 private:
  std::FILE* f_ = nullptr;
  uint64_t size_ = 0, pos_ = 0;
};

// A persistent id naming a storage: ('storage', <dtype>Storage, key, location, numel[, view]).
struct StorageRef {
  std::string key;
  c10::ScalarType dtype = c10::ScalarType::Float;
  int64_t numel = 0;
  std::string location;
  // Legacy format only: the id names a slice [view_offset, view_offset + view_numel) of storage `key`.
  std::optional<std::string> view_key;
  int64_t view_offset = 0, view_numel = 0;
};

// Resolves a storage to a 1-D CPU tensor over it (the same tensor for the same key, so tensors that
// share a storage in the file share it after loading).
using StorageLoader = std::function<torch::Tensor(const StorageRef&)>;

// Unpickles one pickle from `src` (stops after its STOP opcode). Errors name src.name().
// big_int_result_as_hex: a pickle that is just an integer wider than 64 bits (the legacy format's
// magic number) returns it as a string "0x..." instead of failing.
c10::IValue unpickle(ByteSource& src, const StorageLoader& loader, bool big_int_result_as_hex = false);

// "torch.FloatStorage" -> Float etc.; nullopt for other names.
std::optional<c10::ScalarType> storage_dtype(const std::string& qualified_name);
// Float -> "FloatStorage"; throws for dtypes torch has no storage class for.
std::string storage_class(c10::ScalarType t);

}  // namespace biggan::pickle
