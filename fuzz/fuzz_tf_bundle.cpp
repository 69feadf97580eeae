// A TensorFlow tensor bundle's variables.index: tfbundle::parse_index from memory, then the same
// bytes as a bundle on disk (BundleReader) with a fixed 4 KiB data shard, reading every tensor the
// index points into it (shard bounds, dtypes, CRC32C).
#include <fstream>

#include "fuzz/fuzz_util.h"
#include "libbiggan/serialization/tf_bundle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  biggan::fuzz::expect_clean([&] { biggan::tfbundle::parse_index(bytes, "fuzz.index"); });
  const std::string index = biggan::fuzz::input_file(data, size, ".index");
  const std::string prefix = index.substr(0, index.size() - 6);
  static const bool shard_written = [&] {
    std::ofstream(prefix + ".data-00000-of-00001", std::ios::binary) << std::string(4096, '\x01');
    return true;
  }();
  (void)shard_written;
  biggan::fuzz::expect_clean([&] {
    biggan::tfbundle::BundleReader reader(prefix);
    for (const auto& e : reader.index().tensors) {
      try {
        reader.read(e);
      } catch (const biggan::Error&) {  // a bad tensor; go on with the next
      }
    }
  });
  return 0;
}
