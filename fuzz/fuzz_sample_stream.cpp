// The msgpack sample stream (gan-sample --stream | fid -): header, every image frame, end frame.
#include <sstream>

#include "fuzz/fuzz_util.h"
#include "libbiggan/metrics/sample_stream.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  biggan::fuzz::expect_clean([&] {
    biggan::metrics::SampleStreamReader reader(in, "fuzz-stream");
    torch::Tensor images, labels;
    while (reader.next(images, labels)) {
    }
  });
  return 0;
}
