#include <catch2/catch.hpp>
#include <cmath>

#include "libbiggan/util/json.h"
#include "tests/fixtures.h"

using biggan::Json;

TEST_CASE("json parses the fixtures' config.json files") {
  for (auto& c : biggan::test::fixture_cases("biggan")) {
    INFO(c.string());
    std::cout << "case " << c.filename().string() << "\n";
    auto j = Json::parse_file((c / "config.json").string());
    CHECK(j["model"].as_string().rfind("BigGAN", 0) == 0);
    CHECK(j["G_lr"].as_double() > 0);
    CHECK(j["dim_z"].is_int());
  }
}

TEST_CASE("json round trips doubles exactly and keeps member order") {
  Json o = Json::object();
  o.set("b", 0.1 + 0.2).set("a", int64_t(1) << 40).set("s", "x\"y\n").set("n", nullptr);
  o.set("arr", Json::array().push_back(true).push_back(std::nan("")));
  Json back = Json::parse(o.dump());
  CHECK(back.items()[0].first == "b");
  CHECK(back["b"].as_double() == 0.1 + 0.2);
  CHECK(back["a"].as_int() == (int64_t(1) << 40));
  CHECK(back["s"].as_string() == "x\"y\n");
  CHECK(back["n"].is_null());
  CHECK(std::isnan(back["arr"].as_array()[1].as_double()));
}

TEST_CASE("json errors name the input and the offset") {
  REQUIRE_THROWS_WITH(Json::parse("{\"a\": }", "cfg.json"), Catch::Contains("cfg.json") && Catch::Contains("offset"));
  REQUIRE_THROWS(Json::parse("[1, 2", "x"));
  REQUIRE_THROWS(Json::parse("{} extra", "x"));
}
