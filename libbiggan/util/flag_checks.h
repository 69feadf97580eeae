// Range checks for numeric flags, run right after parsing so that a bad value is a usage error (exit
// 2) naming the flag before any input is read or any output is written.
#pragma once
#include <cxxopts.hpp>

#include <cmath>
#include <sstream>
#include <string>

namespace biggan {

// The flag's value (its default when not given); throws unless it is >= lo.
template <typename T>
T flag_at_least(const cxxopts::ParseResult& args, const std::string& name, T lo) {
  const T v = args[name].as<T>();
  if (!(v >= lo)) {  // written so that a NaN fails too
    std::ostringstream m;
    m << "--" << name << " must be at least " << lo << ", got " << v;
    throw cxxopts::exceptions::exception(m.str());
  }
  return v;
}

// The same for a flag that must be a positive finite number.
inline double flag_positive(const cxxopts::ParseResult& args, const std::string& name) {
  const double v = args[name].as<double>();
  if (!(v > 0) || !std::isfinite(v)) {
    std::ostringstream m;
    m << "--" << name << " must be a positive finite number, got " << v;
    throw cxxopts::exceptions::exception(m.str());
  }
  return v;
}

}  // namespace biggan
