#include "libbiggan/serialization/protobuf_wire.h"

#include "libbiggan/util/error.h"

namespace biggan::protowire {

uint64_t read_varint(std::string_view data, size_t& pos, const std::string& context) {
  uint64_t result = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (pos >= data.size()) throw Error(one_line(context + ": truncated varint"));
    const auto byte = static_cast<unsigned char>(data[pos++]);
    if (shift == 63 && (byte & 0x7E)) throw Error(one_line(context + ": varint longer than 64 bits"));
    result |= uint64_t(byte & 0x7F) << shift;
    if (!(byte & 0x80)) return result;
  }
  throw Error(one_line(context + ": varint longer than 10 bytes"));
}

bool Reader::next(Field& f) {
  if (pos_ >= msg_.size()) return false;
  const uint64_t tag = read_varint(msg_, pos_, context_);
  f = Field{};
  if ((tag >> 3) == 0 || (tag >> 3) > 0x1FFFFFFF)
    throw Error(one_line(context_ + ": invalid field number " + std::to_string(tag >> 3)));
  f.number = static_cast<uint32_t>(tag >> 3);
  auto take_fixed = [&](size_t n) {
    if (msg_.size() - pos_ < n) throw Error(one_line(context_ + ": truncated fixed-size field " + std::to_string(f.number)));
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= uint64_t(static_cast<unsigned char>(msg_[pos_ + i])) << (8 * i);
    pos_ += n;
    return v;
  };
  switch (tag & 7) {
    case kVarint:
      f.type = kVarint;
      f.value = read_varint(msg_, pos_, context_);
      return true;
    case kFixed64:
      f.type = kFixed64;
      f.value = take_fixed(8);
      return true;
    case kFixed32:
      f.type = kFixed32;
      f.value = take_fixed(4);
      return true;
    case kLengthDelimited: {
      f.type = kLengthDelimited;
      const uint64_t n = read_varint(msg_, pos_, context_);
      if (n > msg_.size() - pos_)
        throw Error(one_line(context_ + ": field " + std::to_string(f.number) + " runs past the end of the message"));
      f.bytes = msg_.substr(pos_, static_cast<size_t>(n));
      pos_ += static_cast<size_t>(n);
      return true;
    }
    default:  // groups (3, 4) and the reserved types: TensorFlow's metadata never uses them
      throw Error(one_line(context_ + ": unsupported wire type " + std::to_string(tag & 7) + " (field " +
                           std::to_string(f.number) + ")"));
  }
}

}  // namespace biggan::protowire
