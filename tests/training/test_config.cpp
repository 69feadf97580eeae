// Config: the reference parser's defaults, JSON / IValue conversion, reference flags, derived values.
#include <catch2/catch.hpp>

#include <iostream>

#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/training/config.h"
#include "libbiggan/util/error.h"
#include "tests/fixtures.h"

using namespace biggan;

TEST_CASE("config defaults are the reference parser's") {
  Config c;
  CHECK(c.dataset == "I128_hdf5");
  CHECK(c.G_ch == 64);
  CHECK(c.G_lr == 5e-5);
  CHECK(c.D_lr == 2e-4);
  CHECK(c.SN_eps == 1e-8);  // parser default, not the classes' 1e-12
  CHECK(c.adam_eps == 1e-8);
  CHECK(c.num_D_steps == 2);
  CHECK(c.G_attn == "64");
  CHECK(c.D_wide);
  CHECK(c.pin_memory);
  CHECK(c.toggle_grads);
  CHECK_FALSE(c.G_shared);
  CHECK(c.ema_decay == 0.9999);
  CHECK(c.sv_log_interval == 10);
  CHECK(c.sample_num_npz == 50000);
  CHECK(c.sample_sheet_folder_num == -1);
  CHECK(c.G_depth == 1);
  CHECK(c.bottom_width == 4);
}

TEST_CASE("config JSON round trip, unknown keys ignored, wrong types rejected") {
  for (const auto& dir : test::fixture_cases("biggan")) {
    std::cout << "config case: " << dir.filename().string() << "\n";
    auto j = Json::parse_file((dir / "config.json").string());
    Config c = Config::from_json(j, "config.json");
    for (const auto& [k, v] : j.items()) {
      INFO(k);
      if (k == "G_activation" || k == "D_activation") {  // constructor-arg spelling of G_nl / D_nl
        CHECK((k[0] == 'G' ? c.G_nl : c.D_nl) == v.as_string());
        continue;
      }
      // Every key of the fixture configs is a Config field.
      CHECK(c.to_json().contains(k));
      if (v.is_number()) CHECK(c.to_json()[k].as_double() == v.as_double());
      if (v.is_string()) CHECK(c.to_json()[k].as_string() == v.as_string());
      if (v.is_bool()) CHECK(c.to_json()[k].as_bool() == v.as_bool());
    }
    Config back = Config::from_json(Json::parse(c.to_json().dump()), "dump");
    CHECK(back.to_json().dump() == c.to_json().dump());
  }
  auto j = Json::parse(R"({"G_ch": 8, "unknown_key": [1, 2], "G_lr": 1, "hier": true})");
  Config c = Config::from_json(j, "x.json");
  CHECK(c.G_ch == 8);
  CHECK(c.G_lr == 1.0);
  CHECK(c.hier);
  CHECK_THROWS_WITH(Config::from_json(Json::parse(R"({"G_ch": "eight"})"), "bad.json"),
                    Catch::Contains("bad.json") && Catch::Contains("G_ch"));
  CHECK_THROWS_WITH(Config::from_json(Json::parse(R"({"hier": 1})"), "bad.json"),
                    Catch::Contains("hier") && Catch::Contains("bool"));
  CHECK_THROWS_WITH(Config::from_json(Json::parse(R"({"dim_z": 1.5})"), "bad.json"),
                    Catch::Contains("dim_z"));
}

TEST_CASE("config from a reference state_dict.pth and back through an IValue") {
  for (const auto& dir : test::fixture_cases("biggan")) {
    std::cout << "config state_dict case: " << dir.filename().string() << "\n";
    auto sd = torchfile::load((dir / "init/state_dict.pth").string());
    auto config = sd.toGenericDict().at("config");
    Config c = Config::from_ivalue(config, "state_dict.pth");
    Config j = Config::from_json(Json::parse_file((dir / "config.json").string()), "config.json");
    CHECK(c.G_ch == j.G_ch);
    CHECK(c.G_attn == j.G_attn);
    CHECK(c.adam_eps == j.adam_eps);
    CHECK(c.hier == j.hier);
    Config round = Config::from_ivalue(c.to_ivalue(), "ivalue");
    CHECK(round.to_json().dump() == c.to_json().dump());
  }
  c10::impl::GenericDict d(c10::StringType::get(), c10::AnyType::get());
  d.insert(std::string("G_ch"), c10::IValue(std::string("x")));
  CHECK_THROWS_WITH(Config::from_ivalue(c10::IValue(d), "sd.pth"),
                    Catch::Contains("sd.pth") && Catch::Contains("G_ch"));
}

TEST_CASE("reference command-line flags and derived values") {
  Config c;
  c.apply_reference_flags(split_flags("--dataset C10 --D_thin --no_pin_memory --shuffle "
                                      "--G_attn 0 --G_lr=2e-4 --num_G_SVs 3 --toggle_grads"),
                          "flags");
  CHECK(c.dataset == "C10");
  CHECK_FALSE(c.D_wide);
  CHECK_FALSE(c.pin_memory);
  CHECK(c.shuffle);
  CHECK(c.G_attn == "0");
  CHECK(c.G_lr == 2e-4);
  CHECK(c.num_G_SVs == 3);
  CHECK(c.toggle_grads);
  c.derive_from_dataset();
  CHECK(c.resolution == 32);
  CHECK(c.n_classes == 10);
  CHECK_THROWS_WITH(c.apply_reference_flags({"--no_such_flag"}, "flags"),
                    Catch::Contains("no_such_flag"));
  CHECK_THROWS_WITH(c.apply_reference_flags({"--G_ch", "x"}, "flags"), Catch::Contains("G_ch"));
  CHECK_THROWS_WITH(c.apply_reference_flags({"--G_ch"}, "flags"), Catch::Contains("G_ch"));
  CHECK_THROWS(c.apply_reference_flags({"--resolution", "64"}, "flags"));  // derived, no flag
  Config r;
  r.resume = true;
  r.derive_from_dataset();
  CHECK(r.skip_init);
  CHECK(r.n_classes == 1000);
  Config bad;
  bad.dataset = "nope";
  CHECK_THROWS_AS(bad.derive_from_dataset(), Error);
  CHECK(parse_attention("32_64") == std::vector<int64_t>{32, 64});
  CHECK_THROWS(parse_attention("32_x"));
  Config v;
  v.norm_style = "ln";
  CHECK_THROWS_WITH(v.validate_model("cfg"), Catch::Contains("norm_style"));
  v = Config();
  v.resolution = 48;
  CHECK_THROWS_WITH(v.validate_model("cfg"), Catch::Contains("48"));
}
