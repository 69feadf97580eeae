#include "libbiggan/util/blas_threads.h"

#include <dlfcn.h>

#include <cstdlib>

#include "libbiggan/util/error.h"

namespace biggan {
namespace {

// OpenBLAS's own API, looked up among the symbols already loaded (LibTorch links the BLAS), so
// that the toolkit neither links OpenBLAS nor fails where the BLAS is another.
template <typename Fn>
Fn openblas_function(const char* name) {
  return reinterpret_cast<Fn>(::dlsym(RTLD_DEFAULT, name));
}

int parse_count(const std::string& setting) {
  const auto refuse = [&] {
    return Error("BIGGAN_BLAS_THREADS must be a whole number from 1 to 9999 (default 1) or 'system' "
                 "(OpenBLAS's own choice), got '" + setting + "'");
  };
  if (setting.empty()) return 1;
  if (setting.size() > 4 || setting.find_first_not_of("0123456789") != std::string::npos) throw refuse();
  const int n = std::stoi(setting);
  if (n < 1) throw refuse();
  return n;
}

}  // namespace

int set_blas_threads(const std::string& setting) {
  if (setting == "system") return 0;
  const int n = parse_count(setting);
  const auto set = openblas_function<void (*)(int)>("openblas_set_num_threads");
  if (!set) return 0;
  set(n);
  return n;
}

int set_blas_threads_from_env() {
  static const int applied = [] {
    const char* v = std::getenv("BIGGAN_BLAS_THREADS");
    return set_blas_threads(v ? v : "");
  }();
  return applied;
}

int blas_threads() {
  const auto get = openblas_function<int (*)()>("openblas_get_num_threads");
  return get ? get() : 0;
}

}  // namespace biggan
