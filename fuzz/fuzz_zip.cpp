// The zip reader (torch files and .npz): index the archive, then read and CRC-check every entry.
#include "fuzz/fuzz_util.h"
#include "libbiggan/serialization/zip_archive.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = biggan::fuzz::input_file(data, size, ".zip");
  biggan::fuzz::expect_clean([&] {
    biggan::zip::Reader zip(path);
    for (const auto& e : zip.entries()) {
      zip.verify(e);
      zip.read(e);
    }
  });
  return 0;
}
