// A protobuf wire-format reader, just enough for TensorFlow's small metadata messages (tensor-bundle
// headers and entries): no libprotobuf, no generated code. Fields come out one at a time in wire
// order; the caller picks the numbers it knows and skips the rest, as protobuf's own parsers do.
// Every length is checked against the message: a malformed message is a one-line biggan::Error
// naming `context`.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace biggan::protowire {

enum WireType : int { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

struct Field {
  uint32_t number = 0;
  WireType type = kVarint;
  uint64_t value = 0;      // kVarint, kFixed64, kFixed32
  std::string_view bytes;  // kLengthDelimited: the payload (a view into the message)
};

// A base-128 varint at data[pos] (at most 10 bytes), advancing pos; malformed or truncated input
// is an error naming `context`.
uint64_t read_varint(std::string_view data, size_t& pos, const std::string& context);

class Reader {
 public:
  Reader(std::string_view message, std::string context) : msg_(message), context_(std::move(context)) {}
  // The next field into `f`; false at the end of the message.
  bool next(Field& f);
  const std::string& context() const { return context_; }

 private:
  std::string_view msg_;
  size_t pos_ = 0;
  std::string context_;
};

}  // namespace biggan::protowire
