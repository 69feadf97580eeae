// The byte sources the unpickler reads (memory, file) and torch's storage class names.
#include <cerrno>
#include <cstring>
#include <vector>

#include "libbiggan/serialization/pickle.h"
#include "libbiggan/util/error.h"

namespace biggan::pickle {

void MemorySource::read(void* dst, uint64_t n) {
  if (n > remaining()) throw input_error(name_, "pickle: unexpected end of data (truncated?)");
  std::memcpy(dst, bytes_.data() + pos_, n);
  pos_ += n;
}

FileSource::FileSource(const std::string& path) : ByteSource(path) {
  f_ = std::fopen(path.c_str(), "rb");
  if (!f_) throw input_error(path, std::string("cannot open: ") + std::strerror(errno));
  if (std::fseek(f_, 0, SEEK_END) != 0) throw input_error(path, "cannot seek (not a regular file?)");
  long s = std::ftell(f_);
  if (s < 0) throw input_error(path, "cannot tell the file size");
  size_ = uint64_t(s);
  std::fseek(f_, 0, SEEK_SET);
}

FileSource::~FileSource() {
  if (f_) std::fclose(f_);
}

void FileSource::read(void* dst, uint64_t n) {
  if (n > remaining()) throw input_error(name_, "unexpected end of file (truncated?)");
  if (n && std::fread(dst, 1, n, f_) != n) throw input_error(name_, "read error");
  pos_ += n;
}

// ---------------------------------------------------------------------------------------------
// Names

namespace {
const std::vector<std::pair<std::string, c10::ScalarType>>& storage_types() {
  static const std::vector<std::pair<std::string, c10::ScalarType>> t = {
      {"FloatStorage", c10::kFloat},  {"DoubleStorage", c10::kDouble}, {"HalfStorage", c10::kHalf},
      {"BFloat16Storage", c10::kBFloat16}, {"LongStorage", c10::kLong}, {"IntStorage", c10::kInt},
      {"ShortStorage", c10::kShort},  {"CharStorage", c10::kChar},     {"ByteStorage", c10::kByte},
      {"BoolStorage", c10::kBool}};
  return t;
}
}  // namespace

std::optional<c10::ScalarType> storage_dtype(const std::string& q) {
  if (q.rfind("torch.", 0) != 0) return std::nullopt;
  auto n = q.substr(6);
  for (auto& [name, t] : storage_types())
    if (name == n) return t;
  return std::nullopt;
}

std::string storage_class(c10::ScalarType t) {
  for (auto& [name, s] : storage_types())
    if (s == t) return name;
  throw Error(std::string("torch files: no storage class for dtype ") + c10::toString(t));
}

}  // namespace biggan::pickle
