#include "libbiggan/util/cli.h"

#include <unistd.h>

#include <cxxopts.hpp>
#include <iostream>
#include <thread>

#include "libbiggan/util/blas_threads.h"
#include "libbiggan/util/error.h"
#include "libbiggan/util/tensor_memory.h"

namespace biggan {

int setup_threads(int threads) {
  if (threads < 0) throw cxxopts::exceptions::exception("--threads must be >= 0 (0: all cores), got " + std::to_string(threads));
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(threads);
  return threads;
}

int run_tool(const std::string& tool, const std::function<int()>& body) {
  try {
    keep_tensor_memory_mapped_from_env();  // before the first tensor (util/tensor_memory.h)
    set_blas_threads_from_env();           // one OpenBLAS thread beside LibTorch's (util/blas_threads.h)
    return body();
  } catch (const cxxopts::exceptions::exception& e) {
    std::cerr << tool << ": " << e.what() << " (see --help)\n";
    return kExitUsage;
  } catch (const c10::Error& e) {
    // LibTorch messages carry a backtrace after the first line; one line is enough for a user.
    std::string msg = e.what_without_backtrace();
    auto nl = msg.find('\n');
    std::cerr << tool << ": " << msg.substr(0, nl) << "\n";
    return kExitError;
  } catch (const std::exception& e) {
    std::cerr << tool << ": " << e.what() << "\n";
    return kExitError;
  }
}

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

}  // namespace biggan
