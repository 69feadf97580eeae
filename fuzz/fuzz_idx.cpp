// IDX files (MNIST / Fashion-MNIST), plain or gzipped, from a path.
#include "fuzz/fuzz_util.h"
#include "libbiggan/data/idx_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = biggan::fuzz::input_file(data, size, "-idx3-ubyte");
  biggan::fuzz::expect_clean([&] { biggan::data::read_idx_ubyte(path); });
  return 0;
}
