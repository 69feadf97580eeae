// One error type for every bad input: the message names the input and what is wrong, in one line.
#pragma once
#include <stdexcept>
#include <string>

namespace biggan {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Text for a one-line message: control characters (a newline in a zip entry name or a dtype read
// from a file) are written as \n, \r, \t or \xHH, so that what a file contains cannot break the line.
inline std::string one_line(const std::string& text) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c >= 0x20 && c != 0x7F) out += char(c);
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else out += std::string("\\x") + hex[c >> 4] + hex[c & 15];
  }
  return out;
}

// Error("path/to/file: what is wrong"), on one line whatever the file made of it.
inline Error input_error(const std::string& input, const std::string& what) {
  return Error(one_line(input + ": " + what));
}

}  // namespace biggan
