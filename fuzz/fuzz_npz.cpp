// Whole .npz files (zip of .npy images) from a path, as npz::load reads moments and sample files.
#include "fuzz/fuzz_util.h"
#include "libbiggan/serialization/npz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = biggan::fuzz::input_file(data, size, ".npz");
  biggan::fuzz::expect_clean([&] { biggan::npz::load(path); });
  return 0;
}
