#include "libbiggan/serialization/pickle_objects.h"

#include <algorithm>
#include <cstring>

#include "libbiggan/util/error.h"

namespace biggan::pickle {

torch::Tensor rebuild_tensor(const torch::Tensor& s, int64_t offset, const std::vector<int64_t>& size,
                             const std::vector<int64_t>& stride, const std::string& source) {
  auto fail = [&](const std::string& what) { throw input_error(source, "pickle: " + what); };
  if (size.size() != stride.size()) fail("tensor size and stride differ in length");
  int64_t capacity = s.numel();
  if (offset < 0) fail("negative storage offset");
  bool empty = false;
  int64_t extent = offset;  // last element index reached
  for (size_t i = 0; i < size.size(); ++i) {
    if (size[i] < 0 || stride[i] < 0) fail("negative tensor size or stride");
    if (size[i] == 0) empty = true;
  }
  if (!empty) {
    for (size_t i = 0; i < size.size(); ++i) {
      if (stride[i] != 0 && size[i] - 1 > (INT64_MAX - extent) / stride[i]) fail("tensor extent overflows");
      extent += (size[i] - 1) * stride[i];
    }
    if (extent >= capacity)
      fail("tensor of size " + c10::str(c10::IntArrayRef(size)) + " at offset " + std::to_string(offset) +
           " exceeds its storage of " + std::to_string(capacity) + " elements");
  } else if (offset > capacity) {
    fail("storage offset past the end of its storage");
  }
  return torch::empty({0}, s.options()).set_(s.storage(), s.storage_offset() + offset, size, stride);
}


c10::IValue numpy_scalar(const std::string& d, char byteorder, const std::string& data, const std::string& source) {
  auto fail = [&](const std::string& what) { throw input_error(source, "pickle: " + what); };
  if (d.size() < 2) fail("unsupported numpy dtype " + d);
  char kind = d[0];
  int size = std::atoi(d.c_str() + 1);
  if (!((kind == 'f' && (size == 4 || size == 8)) || ((kind == 'i' || kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8)) ||
        (kind == 'b' && size == 1)))
    fail("unsupported numpy scalar dtype " + d);
  if (int(data.size()) != size) fail("numpy scalar of dtype " + d + " has " + std::to_string(data.size()) + " bytes");
  unsigned char b[8];
  std::memcpy(b, data.data(), size);
  if (byteorder == '>') std::reverse(b, b + size);
  uint64_t u = 0;
  for (int i = size - 1; i >= 0; --i) u = (u << 8) | b[i];
  if (kind == 'b') return bool(u);
  if (kind == 'f') {
    if (size == 4) {
      float f;
      uint32_t u32 = uint32_t(u);
      std::memcpy(&f, &u32, 4);
      return double(f);
    }
    double x;
    std::memcpy(&x, &u, 8);
    return x;
  }
  if (kind == 'u') {
    if (size == 8 && u > uint64_t(INT64_MAX)) fail("numpy uint64 scalar too large for int64");
    return int64_t(u);
  }
  if (size < 8 && (u >> (8 * size - 1)) & 1) u |= ~uint64_t(0) << (8 * size);
  return int64_t(u);
}


std::string utf8_to_latin1(const std::string& s, const std::string& source) {
  auto fail = [&](const std::string& what) { throw input_error(source, "pickle: " + what); };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = uint8_t(s[i]);
    if (c < 0x80) out.push_back(char(c));
    else if ((c & 0xE0) == 0xC0 && i + 1 < s.size() && c <= 0xC3)
      out.push_back(char(((c & 0x1F) << 6) | (uint8_t(s[++i]) & 0x3F)));
    else fail("_codecs.encode: text is not latin-1");
  }
  return out;
}


std::string little_endian_hex(const std::string& le) {
  static const char* digits = "0123456789abcdef";
  std::string out = "0x";
  for (size_t i = le.size(); i-- > 0;) {
    out.push_back(digits[uint8_t(le[i]) >> 4]);
    out.push_back(digits[uint8_t(le[i]) & 15]);
  }
  return out;
}

}  // namespace biggan::pickle
