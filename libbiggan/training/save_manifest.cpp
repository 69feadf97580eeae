#include "libbiggan/training/save_manifest.h"

#include <cstdio>
#include <fstream>
#include <vector>

#include "libbiggan/serialization/zip_archive.h"
#include "libbiggan/util/error.h"

namespace biggan {

std::string FileDigest::describe() const {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%llu bytes, crc32 %08x", static_cast<unsigned long long>(bytes), crc32);
  return buf;
}

FileDigest digest_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw input_error(path.string(), "cannot open to check it (missing or unreadable)");
  std::vector<char> buf(1 << 20);
  FileDigest d;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<uint64_t>(in.gcount());
    d.crc32 = zip::crc32(buf.data(), n, d.crc32);
    d.bytes += n;
  }
  if (in.bad()) throw input_error(path.string(), "read error while checking it");
  return d;
}

void SaveManifest::add_to(c10::IValue& state_dict) const {
  c10::impl::GenericDict files_dict(c10::StringType::get(), c10::AnyType::get());
  for (const auto& [name, d] : files) {
    c10::impl::GenericDict entry(c10::StringType::get(), c10::IntType::get());
    entry.insert("bytes", static_cast<int64_t>(d.bytes));
    entry.insert("crc32", static_cast<int64_t>(d.crc32));
    files_dict.insert(name, entry);
  }
  state_dict.toGenericDict().insert_or_assign(kKey, files_dict);
}

std::optional<SaveManifest> SaveManifest::from_state(const c10::IValue& state_dict, const std::string& source) {
  if (!state_dict.isGenericDict()) return std::nullopt;
  auto d = state_dict.toGenericDict();
  auto it = d.find(kKey);
  if (it == d.end()) return std::nullopt;
  auto bad = [&](const std::string& what) {
    return input_error(source, std::string("malformed '") + kKey + "': " + what);
  };
  if (!it->value().isGenericDict()) throw bad("not a dict");
  SaveManifest m;
  for (const auto& f : it->value().toGenericDict()) {
    if (!f.key().isString() || !f.value().isGenericDict()) throw bad("an entry is not name -> dict");
    auto e = f.value().toGenericDict();
    auto field = [&](const char* key) {
      auto v = e.find(key);
      if (v == e.end() || !v->value().isInt() || v->value().toInt() < 0)
        throw bad(f.key().toStringRef() + " has no valid '" + key + "'");
      return v->value().toInt();
    };
    FileDigest fd;
    fd.bytes = static_cast<uint64_t>(field("bytes"));
    const int64_t crc = field("crc32");
    if (crc > 0xFFFFFFFFLL) throw bad(f.key().toStringRef() + " has a crc32 above 32 bits");
    fd.crc32 = static_cast<uint32_t>(crc);
    m.files[f.key().toStringRef()] = fd;
  }
  return m;
}

void check_file_in_save(const SaveManifest& m, const std::string& name, const std::filesystem::path& file,
                        const std::filesystem::path& state_file) {
  auto it = m.files.find(name);
  if (it == m.files.end())
    throw input_error(file.string(), "not part of the save recorded in " + state_file.filename().string());
  if (!std::filesystem::exists(file))
    throw input_error(file.string(), "missing, but the save recorded in " + state_file.filename().string() +
                                         " has it (" + it->second.describe() + ")");
  const FileDigest got = digest_file(file);
  if (!(got == it->second))
    throw input_error(file.string(), "does not belong to the save recorded in " + state_file.filename().string() +
                                         " (expected " + it->second.describe() + ", found " + got.describe() +
                                         "): a mix of two saves");
}

}  // namespace biggan
