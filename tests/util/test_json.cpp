#include <catch2/catch.hpp>
#include <cmath>

#include "libbiggan/util/error.h"
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

TEST_CASE("json \\u escapes: four hex digits, surrogate pairs joined, anything else an error with its offset") {
  CHECK(Json::parse(R"("a\u00e9\u20AC")").as_string() == "a\xC3\xA9\xE2\x82\xAC");
  CHECK(Json::parse(R"("\ud83d\ude00")").as_string() == "\xF0\x9F\x98\x80");
  CHECK(Json::parse(R"("\u0041\u007f")").as_string() == "A\x7F");
  // Each was mis-read or escaped as std::invalid_argument / std::out_of_range through stoul.
  const std::pair<const char*, const char*> bad[] = {
      {R"(["\uZZZZ"])", "offset 2: \\u escape needs 4 hex digits"},
      {R"(["\u12"])", "offset 2: \\u escape needs 4 hex digits"},
      {R"(["\u+123"])", "offset 2: \\u escape needs 4 hex digits"},
      {R"(["\u-001"])", "offset 2: \\u escape needs 4 hex digits"},
      {R"(["\u 123"])", "offset 2: \\u escape needs 4 hex digits"},
      {R"("\u00)", "offset 1: \\u escape needs 4 hex digits"},
      {R"("x\ud83d")", "offset 2: \\u escape is a high surrogate without its low surrogate"},
      {R"("\ud83d\u0041")", "offset 1: \\u escape is a high surrogate without its low surrogate"},
      {R"("\ud83d\uZZ")", "offset 7: \\u escape needs 4 hex digits"},
      {R"("\ude00")", "offset 1: \\u escape is a lone low surrogate"},
  };
  for (auto& [text, msg] : bad) {
    INFO(text);
    try {
      Json::parse(text, "cfg.json");
      FAIL("parsed");
    } catch (const biggan::Error& e) {
      CHECK_THAT(e.what(), Catch::Contains("cfg.json: invalid JSON at ") && Catch::Contains(msg));
    }
  }
}
