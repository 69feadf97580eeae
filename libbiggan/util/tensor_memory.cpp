#include "libbiggan/util/tensor_memory.h"

#include <cstdlib>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "libbiggan/util/error.h"

namespace biggan {

bool keep_tensor_memory_mapped(const std::string& setting) {
  if (setting == "system") return false;
  if (!setting.empty() && setting != "heap")
    throw Error("BIGGAN_MALLOC must be 'heap' (the default: freed tensor memory stays mapped) or 'system' "
                "(glibc's defaults), got '" + setting + "'");
#if defined(__GLIBC__)
  // Both return 1 on success; -1 for M_TRIM_THRESHOLD means never trim (mallopt(3)).
  return mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, -1) == 1;
#else
  return false;
#endif
}

bool keep_tensor_memory_mapped_from_env() {
  static const bool applied = [] {
    const char* v = std::getenv("BIGGAN_MALLOC");
    return keep_tensor_memory_mapped(v ? v : "");
  }();
  return applied;
}

}  // namespace biggan
