// JSON text (config.json, JSONL logs). Besides refusing cleanly, whatever parses must survive a round
// trip: dump, parse again, dump again gives the same text.
#include <cstdio>

#include "fuzz/fuzz_util.h"
#include "libbiggan/util/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  biggan::fuzz::expect_clean([&] {
    biggan::Json v = biggan::Json::parse(text, "fuzz.json");
    const std::string once = v.dump();
    const std::string twice = biggan::Json::parse(once, "dumped JSON").dump();
    if (once != twice) {
      std::fprintf(stderr, "round trip differs:\n%s\n%s\n", once.c_str(), twice.c_str());
      std::abort();
    }
  });
  return 0;
}
