#include "libbiggan/serialization/torch_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>

#include "libbiggan/serialization/pickle.h"
#include "libbiggan/serialization/pickle_writer.h"
#include "libbiggan/serialization/zip_archive.h"
#include "libbiggan/util/atomic_file.h"
#include "libbiggan/util/error.h"

namespace biggan::torchfile {
namespace {

int64_t element_size(c10::ScalarType t) { return int64_t(c10::elementSize(t)); }

// The first bytes of a file, or a clear error if it cannot be read.
std::string head(const std::string& path, size_t n) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw input_error(path, "is a directory, not a torch file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw input_error(path, std::string("cannot open (") + std::strerror(errno) + ")");
  std::string b(n, '\0');
  in.read(b.data(), std::streamsize(n));
  b.resize(size_t(in.gcount()));
  return b;
}

// --- zip format (torch >= 1.6): <dir>/data.pkl, <dir>/data/<key>, <dir>/version[, <dir>/byteorder]
c10::IValue load_zip(const std::string& path) {
  zip::Reader zip(path);
  std::string prefix;
  const zip::Entry* pkl = nullptr;
  for (auto& e : zip.entries()) {
    auto slash = e.name.find('/');
    if (slash != std::string::npos && e.name.compare(slash, std::string::npos, "/data.pkl") == 0) {
      prefix = e.name.substr(0, slash + 1);
      pkl = &e;
      break;
    }
  }
  if (!pkl) {
    for (auto& e : zip.entries())
      if (e.name.size() >= 13 && e.name.compare(e.name.size() - 13, 13, "constants.pkl") == 0)
        throw input_error(path, "a TorchScript archive (torch.jit.save), not a torch.save file");
    throw input_error(path, "zip archive without a data.pkl record: not a torch.save file");
  }
  if (auto* bo = zip.find(prefix + "byteorder")) {
    auto order = zip.read(*bo);
    if (order != "little") throw input_error(path, "byte order '" + order.substr(0, 16) + "' is not supported");
  }
  std::map<std::string, torch::Tensor> storages;
  pickle::StorageLoader loader = [&](const pickle::StorageRef& ref) -> torch::Tensor {
    auto it = storages.find(ref.key);
    if (it != storages.end()) {
      if (it->second.scalar_type() != ref.dtype || it->second.numel() != ref.numel)
        throw input_error(path, "storage " + ref.key + " is used with two different types or sizes");
      return it->second;
    }
    const zip::Entry* e = zip.find(prefix + "data/" + ref.key);
    if (!e) throw input_error(path, "missing storage record data/" + ref.key);
    // torch stores storages uncompressed (so they can be mapped); a deflated one is not torch's, and
    // a small file could inflate to gigabytes.
    if (e->method != 0)
      throw input_error(path, "storage record data/" + ref.key + " is compressed (zip method " +
                                  std::to_string(e->method) + "); torch never writes compressed storages");
    int64_t es = element_size(ref.dtype);
    if (ref.numel > int64_t(e->uncompressed_size / uint64_t(es)) || uint64_t(ref.numel * es) != e->uncompressed_size)
      throw input_error(path, "storage record data/" + ref.key + " holds " + std::to_string(e->uncompressed_size) +
                                  " bytes, but " + std::to_string(ref.numel) + " elements of " +
                                  std::to_string(es) + " bytes are declared");
    auto t = torch::empty({ref.numel}, torch::TensorOptions().dtype(ref.dtype));
    zip.read_into(*e, t.data_ptr(), e->uncompressed_size);
    storages.emplace(ref.key, t);
    return t;
  };
  if (auto* ver = zip.find(prefix + "version")) {
    auto v = zip.read(*ver);
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
    if (v.empty() || v.size() > 4 || v.find_first_not_of("0123456789") != std::string::npos)
      throw input_error(path, "bad version record '" + v.substr(0, 16) + "'");
  }
  std::string bytes = zip.read(*pkl);
  pickle::MemorySource src(bytes, path + ":" + pkl->name);
  c10::IValue result = pickle::unpickle(src, loader);
  // Every other record is CRC-checked too, so that corruption anywhere in the file is reported.
  for (auto& e : zip.entries()) {
    if (&e == pkl || e.name == prefix + "version" || e.name == prefix + "byteorder") continue;
    if (e.name.compare(0, prefix.size() + 5, prefix + "data/") == 0 && storages.count(e.name.substr(prefix.size() + 5)))
      continue;
    zip.verify(e);
  }
  return result;
}

// --- legacy format (torch < 1.6): pickles of magic number, protocol version, sys info, the object
// (storages as persistent ids), the list of storage keys; then per storage an int64 element count
// and the raw little-endian data.
c10::IValue load_legacy(const std::string& path) {
  pickle::FileSource src(path);
  const uint64_t file_size = src.size();
  auto magic = pickle::unpickle(src, nullptr, /*big_int_result_as_hex=*/true);
  if (!magic.isString() || magic.toStringRef() != "0x1950a86a20f9469cfc6c")
    throw input_error(path, "not a torch file (wrong magic number in the legacy format)");
  auto protocol = pickle::unpickle(src, nullptr);
  if (!protocol.isInt() || protocol.toInt() != 1001)
    throw input_error(path, "unsupported legacy protocol version");
  auto sys_info = pickle::unpickle(src, nullptr);
  if (sys_info.isGenericDict()) {
    auto d = sys_info.toGenericDict();
    auto it = d.find(std::string("little_endian"));
    if (it != d.end() && it->value().isBool() && !it->value().toBool())
      throw input_error(path, "written on a big-endian machine: not supported");
  }

  std::map<std::string, torch::Tensor> roots, views;
  uint64_t declared_bytes = 0;
  pickle::StorageLoader loader = [&](const pickle::StorageRef& ref) -> torch::Tensor {
    torch::Tensor root;
    auto it = roots.find(ref.key);
    if (it != roots.end()) {
      root = it->second;
      if (root.scalar_type() != ref.dtype || root.numel() != ref.numel)
        throw input_error(path, "storage " + ref.key + " is used with two different types or sizes");
    } else {
      int64_t es = element_size(ref.dtype);
      // Every storage's bytes follow the pickles, so together they cannot exceed the file size.
      if (uint64_t(ref.numel) > file_size / uint64_t(es) || declared_bytes + uint64_t(ref.numel * es) > file_size)
        throw input_error(path, "storage " + ref.key + " declares " + std::to_string(ref.numel) +
                                    " elements, more than the file holds (corrupt or truncated)");
      declared_bytes += uint64_t(ref.numel * es);
      root = torch::empty({ref.numel}, torch::TensorOptions().dtype(ref.dtype));
      roots.emplace(ref.key, root);
    }
    if (!ref.view_key) return root;
    auto v = views.find(*ref.view_key);
    if (v != views.end()) return v->second;
    if (ref.view_offset < 0 || ref.view_numel < 0 || ref.view_offset > root.numel() ||
        ref.view_numel > root.numel() - ref.view_offset)
      throw input_error(path, "storage view " + *ref.view_key + " lies outside storage " + ref.key);
    auto view = root.narrow(0, ref.view_offset, ref.view_numel);
    views.emplace(*ref.view_key, view);
    return view;
  };
  auto result = pickle::unpickle(src, loader);
  auto keys = pickle::unpickle(src, nullptr);
  if (!keys.isList()) throw input_error(path, "legacy storage key list is missing or malformed");
  std::map<std::string, bool> filled;
  for (const auto& k : keys.toListRef()) {
    if (!k.isString()) throw input_error(path, "legacy storage key is not a string");
    const std::string& key = k.toStringRef();
    auto it = roots.find(key);
    if (it == roots.end()) throw input_error(path, "data for storage " + key + " that nothing uses");
    if (filled[key]) throw input_error(path, "storage " + key + " is stored twice");
    filled[key] = true;
    unsigned char nb[8];
    src.read(nb, 8);
    int64_t n = 0;
    for (int i = 7; i >= 0; --i) n = int64_t((uint64_t(n) << 8) | nb[i]);
    torch::Tensor& t = it->second;
    if (n != t.numel())
      throw input_error(path, "storage " + key + " holds " + std::to_string(n) + " elements, but " +
                                  std::to_string(t.numel()) + " are declared (corrupt file)");
    src.read(t.data_ptr(), uint64_t(t.numel()) * uint64_t(t.element_size()));
  }
  for (auto& [key, t] : roots)
    if (!filled[key]) throw input_error(path, "storage " + key + " has no data (truncated or corrupt)");
  return result;
}

}  // namespace

c10::IValue load(const std::string& path) {
  auto b = head(path, 512);
  if (b.empty()) throw input_error(path, "empty file, not a torch file");
  if (zip::has_zip_magic(b)) return load_zip(path);
  if (uint8_t(b[0]) == 0x80) return load_legacy(path);
  if (b.size() >= 262 && b.compare(257, 5, "ustar") == 0)
    throw input_error(path, "the tar-based torch format (torch < 0.4) is not supported");
  throw input_error(path, "not a torch file (neither torch's zip format nor its legacy pickle format)");
}

StateDict to_state_dict(const c10::IValue& value, const std::string& what) {
  if (!value.isGenericDict())
    throw input_error(what, std::string("expected a dict of str -> Tensor, got ") + value.tagKind());
  StateDict sd;
  for (const auto& kv : value.toGenericDict()) {
    if (!kv.key().isString())
      throw input_error(what, std::string("expected a dict of str -> Tensor, found a key of type ") + kv.key().tagKind());
    const std::string& k = kv.key().toStringRef();
    if (!kv.value().isTensor())
      throw input_error(what, "expected a dict of str -> Tensor, but '" + k + "' is a " + kv.value().tagKind());
    sd.insert(k, kv.value().toTensor());
  }
  return sd;
}

c10::IValue to_ivalue(const StateDict& sd) {
  c10::impl::GenericDict d(c10::StringType::get(), c10::TensorType::get());
  for (const auto& item : sd) d.insert(item.key(), item.value());
  return d;
}

StateDict load_state_dict(const std::string& path) { return to_state_dict(load(path), path); }

void save(const std::string& path, const c10::IValue& value) {
  pickle::Pickler pickler;
  std::string pkl;
  try {
    pkl = pickler.dump(value);
  } catch (const Error& e) {
    throw input_error(path, e.what());
  }
  // torch's reader takes the folder name from the first record; torch >= 2 always writes "archive".
  const std::string dir = "archive/";
  write_atomically(path, [&](const std::filesystem::path& tmp) {
    zip::Writer zip(tmp.string());
    zip.add(dir + "data.pkl", pkl);
    zip.add(dir + "byteorder", std::string("little"));
    for (const auto& r : pickler.storages())
      zip.add(dir + "data/" + r.key, r.storage.data(), r.storage.nbytes());
    zip.add(dir + "version", std::string("3\n"));
    zip.finish();
  });
}

void save_state_dict(const std::string& path, const StateDict& sd) { save(path, to_ivalue(sd)); }

}  // namespace biggan::torchfile
