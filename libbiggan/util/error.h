// One error type for every bad input: the message names the input and what is wrong, in one line.
#pragma once
#include <stdexcept>
#include <string>

namespace biggan {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Error("path/to/file: what is wrong")
inline Error input_error(const std::string& input, const std::string& what) {
  return Error(input + ": " + what);
}

}  // namespace biggan
