// --flags-file recipes: the text split as gan-train splits it, then applied to a Config (every
// reference flag's value parsed) and the model settings validated.
#include "fuzz/fuzz_util.h"
#include "libbiggan/training/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  biggan::fuzz::expect_clean([&] {
    biggan::Config c;
    c.apply_reference_flags(biggan::parse_flags_file_text(text), "fuzz.flags");
    c.validate_model("fuzz.flags");
  });
  return 0;
}
