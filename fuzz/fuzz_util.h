// Shared by the harnesses: inputs as temporary files (for readers that take a path), and the rule
// every harness checks: a bad input may only end in a biggan::Error with a one-line message;
// anything else (another exception, a crash, a sanitizer report) is a finding.
#pragma once
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "libbiggan/util/error.h"

namespace biggan::fuzz {

// The input written to one file per process (in /dev/shm when there is one: no disk traffic).
inline std::string input_file(const uint8_t* data, size_t size, const char* suffix) {
  static const std::string path = std::string(access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp") +
                                  "/biggan_fuzz_" + std::to_string(getpid()) + suffix;
  unlink(path.c_str());
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) std::abort();
  for (size_t done = 0; done < size;) {
    ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) std::abort();
    done += size_t(n);
  }
  close(fd);
  return path;
}

// Runs `parse`; a biggan::Error with a one-line message is a correct refusal, anything else aborts.
template <class F>
void expect_clean(F&& parse) {
  try {
    parse();
  } catch (const biggan::Error& e) {
    if (std::string(e.what()).find('\n') != std::string::npos) {
      std::fprintf(stderr, "error message is not one line: %s\n", e.what());
      std::abort();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "escaped exception (not biggan::Error): %s\n", e.what());
    std::abort();
  }
}

}  // namespace biggan::fuzz
