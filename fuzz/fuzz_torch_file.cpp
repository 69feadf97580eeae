// torch.save files, both formats (zip with data.pkl + storages, and the legacy pickle stream), as
// torchfile::load reads them from a path.
#include "fuzz/fuzz_util.h"
#include "libbiggan/serialization/torch_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = biggan::fuzz::input_file(data, size, ".pth");
  biggan::fuzz::expect_clean([&] { biggan::torchfile::load(path); });
  return 0;
}
