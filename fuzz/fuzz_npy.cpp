// One .npy image from memory, as npz::parse_npy reads each array of an .npz.
#include "fuzz/fuzz_util.h"
#include "libbiggan/serialization/npz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  biggan::fuzz::expect_clean([&] { biggan::npz::parse_npy(bytes, "fuzz.npy"); });
  return 0;
}
