// TensorFlow's tensor bundles (checkpoint V2: the variables/ of a SavedModel or TF-Hub module),
// read without TensorFlow. PREFIX.index is a LevelDB table (leveldb_table.h) whose "" entry is a
// BundleHeaderProto and every other entry a tensor's BundleEntryProto; the tensors' bytes lie in
// PREFIX.data-00000-of-0000N shards, raw little-endian in C order, each with a masked CRC32C.
// Sources: tensorflow/core/util/tensor_bundle/tensor_bundle.{h,cc}, core/protobuf/tensor_bundle.proto
// (see ../shared/fixtures/tfhub/FORMAT.md section b).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace biggan::tfbundle {

// One tensor's BundleEntryProto.
struct TensorEntry {
  std::string name;
  int dtype = 0;                // TensorFlow DataType (types.proto): 1 = DT_FLOAT, ...
  std::vector<int64_t> shape;
  int32_t shard_id = 0;
  int64_t offset = 0;           // in its data shard
  int64_t size = 0;             // bytes
  uint32_t masked_crc32c = 0;   // crc32c::mask of the CRC of the tensor's bytes
};

struct BundleIndex {
  int32_t num_shards = 1;
  std::vector<TensorEntry> tensors;  // in key (name) order
  // The entry named `name`, or nullptr.
  const TensorEntry* find(const std::string& name) const;
};

// "float32" for DT_FLOAT, ..., "DT_STRING" for types without a torch dtype; "dtype N" when unknown.
std::string dtype_name(int dtype);

// Parses the bytes of a variables.index: the table (every block CRC), the header (one little-endian
// bundle of a version this reader accepts) and every entry (known dtype, a shape with no unknown
// rank, shard id below num_shards, offsets and sizes consistent with the shape, no partitioned
// slices). Errors are one line naming `source` and, for an entry, the tensor.
BundleIndex parse_index(std::string_view bytes, const std::string& source);

// The path of shard `id` of `num_shards` for `prefix`: PREFIX.data-00000-of-00001.
std::filesystem::path shard_path(const std::filesystem::path& prefix, int32_t id, int32_t num_shards);

class BundleReader {
 public:
  // Reads and checks PREFIX.index, and checks that every data shard exists and holds every byte its
  // entries point at (a missing or truncated shard is an error naming the shard and a tensor).
  explicit BundleReader(const std::filesystem::path& prefix);

  const BundleIndex& index() const { return index_; }
  std::string index_path() const { return index_path_; }
  const std::filesystem::path& prefix() const { return prefix_; }

  // The tensor's values (CPU, contiguous, its dtype's torch type) after checking its CRC32C. A type
  // without a torch dtype (strings, quantized, complex) is an error naming the tensor.
  torch::Tensor read(const TensorEntry& entry) const;

 private:
  std::filesystem::path prefix_;
  std::string index_path_;
  BundleIndex index_;
};

}  // namespace biggan::tfbundle
