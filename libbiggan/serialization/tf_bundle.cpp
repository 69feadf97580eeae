#include "libbiggan/serialization/tf_bundle.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>

#include "libbiggan/serialization/crc32c.h"
#include "libbiggan/serialization/leveldb_table.h"
#include "libbiggan/serialization/protobuf_wire.h"
#include "libbiggan/util/atomic_file.h"
#include "libbiggan/util/error.h"

// Tensors are copied from the shards as they are: bundles are little-endian (the header says so).
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the tensor-bundle reader assumes a little-endian host");

namespace biggan::tfbundle {
namespace fs = std::filesystem;
namespace {

// kTensorBundleVersion / kTensorBundleMinConsumer of tensor_bundle.h: what CheckVersions tests.
constexpr int64_t kReaderVersion = 1;
constexpr int64_t kMinProducer = 0;
constexpr int kLastKnownDataType = 30;  // DT_UINT4 in types.proto; anything above is not a TF type

struct DtypeInfo {
  const char* name;
  std::optional<c10::ScalarType> torch_type;
};

DtypeInfo dtype_info(int dtype) {
  switch (dtype) {
    case 1: return {"float32", c10::ScalarType::Float};
    case 2: return {"float64", c10::ScalarType::Double};
    case 3: return {"int32", c10::ScalarType::Int};
    case 4: return {"uint8", c10::ScalarType::Byte};
    case 5: return {"int16", c10::ScalarType::Short};
    case 6: return {"int8", c10::ScalarType::Char};
    case 7: return {"DT_STRING", std::nullopt};
    case 9: return {"int64", c10::ScalarType::Long};
    case 10: return {"bool", c10::ScalarType::Bool};
    case 14: return {"bfloat16", c10::ScalarType::BFloat16};
    case 19: return {"float16", c10::ScalarType::Half};
    default: return {nullptr, std::nullopt};
  }
}

int64_t checked_numel(const std::vector<int64_t>& shape, const std::string& context) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw Error(one_line(context + ": negative dimension " + std::to_string(d)));
    if (d != 0 && n > (int64_t(1) << 62) / d) throw Error(one_line(context + ": shape too large"));
    n *= d;
  }
  return n;
}

void parse_shape(std::string_view bytes, TensorEntry& e, const std::string& context) {
  protowire::Reader r(bytes, context + " shape");
  protowire::Field f;
  while (r.next(f)) {
    if (f.number == 2 && f.type == protowire::kLengthDelimited) {  // Dim
      protowire::Reader dim(f.bytes, context + " dimension");
      protowire::Field g;
      int64_t size = 0;
      while (dim.next(g))
        if (g.number == 1 && g.type == protowire::kVarint) size = static_cast<int64_t>(g.value);
      e.shape.push_back(size);
    } else if (f.number == 3 && f.type == protowire::kVarint && f.value != 0) {
      throw Error(one_line(context + ": shape of unknown rank"));
    }
  }
}

TensorEntry parse_entry(const std::string& name, std::string_view value, const std::string& context) {
  TensorEntry e;
  e.name = name;
  protowire::Reader r(value, context);
  protowire::Field f;
  auto want = [&](protowire::WireType t, const char* field) {
    if (f.type != t) throw Error(one_line(context + ": field '" + field + "' has the wrong wire type"));
  };
  while (r.next(f)) {
    switch (f.number) {
      case 1: want(protowire::kVarint, "dtype"); e.dtype = static_cast<int>(std::min<uint64_t>(f.value, 1u << 30)); break;
      case 2: want(protowire::kLengthDelimited, "shape"); parse_shape(f.bytes, e, context); break;
      case 3: want(protowire::kVarint, "shard_id"); e.shard_id = static_cast<int32_t>(f.value); break;
      case 4: want(protowire::kVarint, "offset"); e.offset = static_cast<int64_t>(f.value); break;
      case 5: want(protowire::kVarint, "size"); e.size = static_cast<int64_t>(f.value); break;
      case 6: want(protowire::kFixed32, "crc32c"); e.masked_crc32c = static_cast<uint32_t>(f.value); break;
      case 7: throw Error(one_line(context + ": a partitioned (sliced) tensor, which this reader does not support"));
      default: break;  // unknown fields are skipped, as protobuf does
    }
  }
  if (e.dtype <= 0 || e.dtype > kLastKnownDataType)
    throw Error(one_line(context + ": unknown dtype " + std::to_string(e.dtype)));
  if (e.shard_id < 0) throw Error(one_line(context + ": negative shard id"));
  if (e.offset < 0 || e.size < 0) throw Error(one_line(context + ": offset or size out of range"));
  const int64_t numel = checked_numel(e.shape, context);
  const auto info = dtype_info(e.dtype);
  if (info.torch_type) {
    const int64_t item = static_cast<int64_t>(c10::elementSize(*info.torch_type));
    if (numel > (int64_t(1) << 62) / item || numel * item != e.size)
      throw Error(one_line(context + ": " + std::to_string(e.size) + " bytes for " + std::to_string(numel) + " " +
                           info.name + " values"));
  }
  return e;
}

void parse_header(std::string_view value, BundleIndex& index, const std::string& source) {
  const std::string context = source + ": bundle header";
  protowire::Reader r(value, context);
  protowire::Field f;
  int64_t num_shards = 0, endianness = 0, producer = 0, min_consumer = 0;
  while (r.next(f)) {
    if (f.number == 1 && f.type == protowire::kVarint) num_shards = static_cast<int64_t>(f.value);
    else if (f.number == 2 && f.type == protowire::kVarint) endianness = static_cast<int64_t>(f.value);
    else if (f.number == 3 && f.type == protowire::kLengthDelimited) {
      protowire::Reader v(f.bytes, context + " version");
      protowire::Field g;
      while (v.next(g)) {
        if (g.number == 1 && g.type == protowire::kVarint) producer = static_cast<int64_t>(g.value);
        else if (g.number == 2 && g.type == protowire::kVarint) min_consumer = static_cast<int64_t>(g.value);
        else if (g.number == 3 && g.type == protowire::kVarint && static_cast<int64_t>(g.value) == kReaderVersion)
          throw input_error(source, "the bundle marks readers of version " + std::to_string(kReaderVersion) + " as bad");
      }
    }
  }
  if (num_shards < 1 || num_shards > 99999)
    throw input_error(source, "bundle header gives " + std::to_string(num_shards) + " data shards");
  if (endianness != 0)
    throw input_error(source, "a big-endian tensor bundle, which this reader does not support");
  if (producer < kMinProducer || min_consumer > kReaderVersion)
    throw input_error(source, "bundle version " + std::to_string(producer) + " (min consumer " +
                                  std::to_string(min_consumer) + ") is newer than this reader (version " +
                                  std::to_string(kReaderVersion) + ")");
  index.num_shards = static_cast<int32_t>(num_shards);
}

}  // namespace

const TensorEntry* BundleIndex::find(const std::string& name) const {
  auto it = std::lower_bound(tensors.begin(), tensors.end(), name,
                             [](const TensorEntry& e, const std::string& n) { return e.name < n; });
  return it != tensors.end() && it->name == name ? &*it : nullptr;
}

std::string dtype_name(int dtype) {
  const auto info = dtype_info(dtype);
  return info.name ? info.name : "TensorFlow dtype " + std::to_string(dtype);
}

BundleIndex parse_index(std::string_view bytes, const std::string& source) {
  const auto entries = leveldb_table::read_entries(bytes, source);
  if (entries.empty() || !entries.front().key.empty())
    throw input_error(source, "no bundle header (the table's first key must be \"\")");
  BundleIndex index;
  parse_header(entries.front().value, index, source);
  for (size_t i = 1; i < entries.size(); ++i) {
    const auto& name = entries[i].key;
    auto e = parse_entry(name, entries[i].value, source + ": tensor '" + name + "'");
    if (e.shard_id >= index.num_shards)
      throw input_error(source, "tensor '" + name + "' is in shard " + std::to_string(e.shard_id) + " of " +
                                    std::to_string(index.num_shards));
    index.tensors.push_back(std::move(e));
  }
  return index;
}

fs::path shard_path(const fs::path& prefix, int32_t id, int32_t num_shards) {
  char suffix[64];
  std::snprintf(suffix, sizeof suffix, ".data-%05d-of-%05d", id, num_shards);
  return fs::path(prefix.string() + suffix);
}

BundleReader::BundleReader(const fs::path& prefix) : prefix_(prefix), index_path_(prefix.string() + ".index") {
  if (!fs::is_regular_file(index_path_)) throw input_error(index_path_, "missing (not a tensor bundle)");
  const std::string bytes = read_file(index_path_);
  index_ = parse_index(bytes, index_path_);
  std::vector<uint64_t> shard_sizes(static_cast<size_t>(index_.num_shards));
  std::vector<bool> used(shard_sizes.size(), false);
  for (const auto& e : index_.tensors) used[static_cast<size_t>(e.shard_id)] = true;
  for (int32_t s = 0; s < index_.num_shards; ++s) {
    if (!used[static_cast<size_t>(s)]) continue;
    const auto path = shard_path(prefix_, s, index_.num_shards);
    std::error_code ec;
    shard_sizes[static_cast<size_t>(s)] = fs::file_size(path, ec);
    if (ec) {
      for (const auto& e : index_.tensors)
        if (e.shard_id == s)
          throw input_error(path.string(), "missing data shard (it holds tensor '" + e.name + "')");
    }
  }
  for (const auto& e : index_.tensors) {
    const uint64_t have = shard_sizes[static_cast<size_t>(e.shard_id)];
    if (static_cast<uint64_t>(e.offset) > have || static_cast<uint64_t>(e.size) > have - static_cast<uint64_t>(e.offset))
      throw input_error(shard_path(prefix_, e.shard_id, index_.num_shards).string(),
                        "truncated: tensor '" + e.name + "' needs bytes up to " + std::to_string(e.offset + e.size) +
                            ", the file has " + std::to_string(have));
  }
}

torch::Tensor BundleReader::read(const TensorEntry& e) const {
  const auto path = shard_path(prefix_, e.shard_id, index_.num_shards).string();
  const auto info = dtype_info(e.dtype);
  if (!info.torch_type)
    throw input_error(path, "tensor '" + e.name + "' has dtype " + dtype_name(e.dtype) + ", which cannot be read as a tensor");
  auto t = torch::empty(e.shape, torch::TensorOptions().dtype(*info.torch_type));
  std::ifstream in(path, std::ios::binary);
  in.seekg(e.offset);
  in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(e.size));
  if (!in || in.gcount() != static_cast<std::streamsize>(e.size))
    throw input_error(path, "cannot read tensor '" + e.name + "' (" + std::to_string(e.size) + " bytes at offset " +
                                std::to_string(e.offset) + ")");
  const uint32_t crc = crc32c::value(t.data_ptr(), static_cast<size_t>(e.size));
  if (crc != crc32c::unmask(e.masked_crc32c))
    throw input_error(path, "tensor '" + e.name + "': CRC32C mismatch (corrupt data shard)");
  return t;
}

}  // namespace biggan::tfbundle
