// The saved_model.pb graph reader on what libFuzzer found: inputs committed under
// fuzz/corpus/tf_saved_model/regress-* must end in a clean biggan::Error or a clean read, never in
// undefined behaviour (a dimension product overflowing int64, memcpy into an empty tensor).
#include <catch2/catch.hpp>

#include <filesystem>

#include "libbiggan/serialization/tf_saved_model.h"
#include "libbiggan/util/error.h"
#include "tests/fixtures.h"

using namespace biggan;

TEST_CASE("saved_model.pb reader: fuzz regressions are clean errors or clean reads", "[tfhub]") {
  const auto dir = test::fixtures_root().parent_path().parent_path() / "fuzz" / "corpus" / "tf_saved_model";
  int checked = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("regress-", 0) != 0) continue;
    INFO(e.path().string());
    try {
      for (const auto& g : read_saved_model_graphs(e.path()))
        for (const auto& [name, node] : g.nodes) (void)node;
    } catch (const Error& err) {
      CHECK(std::string(err.what()).find('\n') == std::string::npos);
    }
    ++checked;
  }
  CHECK(checked >= 1);
}
