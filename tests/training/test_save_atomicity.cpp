// A weights folder save is atomic as a whole: every moment a kill can stop it at leaves a folder
// that loads as the old save or the new one, never a mix; a mix made any other way is refused by
// name; the state_dict.pth that carries the manifest still loads in Python's torch.load.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>

#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/training/save_manifest.h"
#include "libbiggan/training/weights_folder.h"
#include "libbiggan/util/atomic_file.h"
#include "libbiggan/util/error.h"
#include "tests/fixtures.h"

using namespace biggan;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kAll = {"G", "D", "G_ema", "G_optim", "D_optim", "state_dict"};
// The order save_weights_folder renames in (state_dict.pth last).
const std::vector<std::string> kRenameOrder = {"G", "G_optim", "D", "D_optim", "G_ema", "state_dict"};

// A save whose every tensor is drawn from `seed`, with itr = seed.
WeightsFolderContents contents(int seed) {
  torch::manual_seed(seed);
  WeightsFolderContents c;
  c.G.insert("linear.weight", torch::randn({8, 4}));
  c.G.insert("linear.bias", torch::randn({8}));
  c.D.insert("linear.weight", torch::randn({3, 5}));
  c.G_ema.insert("linear.weight", torch::randn({8, 4}));
  for (auto* optim : {&c.G_optim, &c.D_optim}) {
    c10::impl::GenericDict d(c10::StringType::get(), c10::AnyType::get());
    d.insert("exp_avg", torch::randn({6}));
    *optim = d;
  }
  c.state = TrainState();
  c.state->itr = seed;
  return c;
}

void check_is_save(const WeightsFolderContents& got, int seed) {
  const auto want = contents(seed);
  REQUIRE(got.state);
  CHECK(got.state->itr == seed);
  CHECK(torch::equal(*got.G.find("linear.weight"), *want.G.find("linear.weight")));
  CHECK(torch::equal(*got.D.find("linear.weight"), *want.D.find("linear.weight")));
  CHECK(torch::equal(*got.G_ema.find("linear.weight"), *want.G_ema.find("linear.weight")));
  CHECK(torch::equal(got.G_optim.toGenericDict().at("exp_avg").toTensor(),
                     want.G_optim.toGenericDict().at("exp_avg").toTensor()));
  CHECK(torch::equal(got.D_optim.toGenericDict().at("exp_avg").toTensor(),
                     want.D_optim.toGenericDict().at("exp_avg").toTensor()));
}

std::vector<std::string> hidden_files(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string()[0] == '.') out.push_back(e.path().filename().string());
  return out;
}

}  // namespace

TEST_CASE("a kill at any point of a save's commit leaves the old save or the new one, never a mix") {
  test::TempDir tmp;
  const auto dir = tmp / "w", next = tmp / "next";
  for (const std::string suffix : {"", "copy1"}) {
    // Every instant after the commit: the new save's files staged, the first `renamed` of them moved.
    for (size_t renamed = 0; renamed <= kRenameOrder.size(); ++renamed) {
      INFO("suffix '" << suffix << "', killed after " << renamed << " renames");
      fs::remove_all(dir);
      fs::remove_all(next);
      save_weights_folder(dir, suffix, contents(1));
      save_weights_folder(next, suffix, contents(2));
      for (size_t i = 0; i < kRenameOrder.size(); ++i) {
        const auto& what = kRenameOrder[i];
        fs::copy_file(next / weights_file_name(what, suffix),
                      dir / (i < renamed ? weights_file_name(what, suffix) : staged_file_name(what, suffix)),
                      fs::copy_options::overwrite_existing);
      }
      // Readers see the new save whole, without writing anything.
      check_is_save(load_weights_folder(dir, suffix, kAll), 2);
      CHECK(digest_file(verified_weights_file(dir, suffix, "G")) == digest_file(next / weights_file_name("G", suffix)));
      // The next save or resume completes it.
      const bool pending = renamed < kRenameOrder.size();
      CHECK(recover_weights_folder(dir, suffix) == (pending ? Recovery::kCompletedSave : Recovery::kNothing));
      CHECK(hidden_files(dir).empty());
      check_is_save(load_weights_folder(dir, suffix, kAll), 2);
    }
    // Every instant before the commit: some parts staged (or half-written temp files), the old save intact.
    for (size_t staged = 0; staged < kRenameOrder.size(); ++staged) {
      INFO("suffix '" << suffix << "', killed with " << staged << " parts staged");
      fs::remove_all(dir);
      save_weights_folder(dir, suffix, contents(1));
      save_weights_folder(next, suffix, contents(2));
      for (size_t i = 0; i < staged; ++i)
        fs::copy_file(next / weights_file_name(kRenameOrder[i], suffix), dir / staged_file_name(kRenameOrder[i], suffix),
                      fs::copy_options::overwrite_existing);
      std::ofstream(dir / ("." + staged_file_name(kRenameOrder[staged], suffix) + ".tmp123")) << "half";
      check_is_save(load_weights_folder(dir, suffix, kAll), 1);
      CHECK(recover_weights_folder(dir, suffix) == Recovery::kRemovedLeftovers);
      CHECK(hidden_files(dir).empty());
      check_is_save(load_weights_folder(dir, suffix, kAll), 1);
      // A later save starts from a clean folder and lands whole.
      save_weights_folder(dir, suffix, contents(3));
      check_is_save(load_weights_folder(dir, suffix, kAll), 3);
      CHECK(hidden_files(dir).empty());
    }
  }
}

TEST_CASE("a weights folder mixing two saves is refused, naming the file that does not belong") {
  test::TempDir tmp;
  save_weights_folder(tmp / "a", "", contents(1));
  save_weights_folder(tmp / "b", "", contents(2));
  for (const std::string what : {"G", "D", "G_ema", "G_optim", "D_optim"}) {
    INFO(what);
    fs::remove_all(tmp / "mix");
    fs::copy(tmp / "a", tmp / "mix");
    fs::copy_file(tmp / "b" / weights_file_name(what, ""), tmp / "mix" / weights_file_name(what, ""),
                  fs::copy_options::overwrite_existing);
    const std::string file = (tmp / "mix" / weights_file_name(what, "")).string();
    REQUIRE_THROWS_WITH(load_weights_folder(tmp / "mix", "", kAll),
                        Catch::StartsWith(file + ": does not belong to the save recorded in state_dict.pth"));
    if (what == "G" || what == "G_ema")
      REQUIRE_THROWS_WITH(verified_weights_file(tmp / "mix", "", what), Catch::StartsWith(file + ": does not belong"));
    else
      CHECK(verified_weights_file(tmp / "mix", "", "G") == tmp / "mix" / "G.pth");  // G itself is fine
  }
  // A part the save lists but the folder lacks.
  fs::remove(tmp / "a" / "D.pth");
  REQUIRE_THROWS_WITH(load_weights_folder(tmp / "a", "", {"G"}),
                      Catch::StartsWith((tmp / "a" / "D.pth").string() + ": missing, but the save recorded in"));
}

TEST_CASE("a save without a state (no manifest) and a reference folder still load") {
  test::TempDir tmp;
  auto c = contents(4);
  c.state.reset();
  save_weights_folder(tmp.path, "", c);
  auto got = load_weights_folder(tmp.path, "", {"G", "D"});
  CHECK(!got.state);
  CHECK(torch::equal(*got.G.find("linear.weight"), *c.G.find("linear.weight")));
  // A reference-style state_dict.pth (no manifest) beside them: no check possible, loads as before.
  torchfile::save((tmp / "state_dict.pth").string(), TrainState().to_ivalue());
  CHECK(load_weights_folder(tmp.path, "", kAll).state->itr == 0);
}

TEST_CASE("state_dict.pth with its manifest loads in Python's torch.load") {
  if (std::system("/usr/bin/python3 -c 'import torch' > /dev/null 2>&1") != 0) {
    BIGGAN_SKIP("no /usr/bin/python3 with torch: the Python check");
    return;
  }
  test::TempDir tmp;
  save_weights_folder(tmp.path, "", contents(7));
  const auto m = SaveManifest::from_state(torchfile::load((tmp / "state_dict.pth").string()), "state_dict.pth");
  REQUIRE(m);
  REQUIRE(m->files.size() == 5);
  // Python sees the reference's keys (what utils.load_weights reads) and the manifest's numbers.
  const auto g = m->files.at("G.pth");
  const std::string script =
      "import torch, sys, zlib\n"
      "d = torch.load(sys.argv[1] + '/state_dict.pth')\n"
      "assert d['itr'] == 7, d['itr']\n"
      "for k in ['epoch', 'save_num', 'save_best_num', 'best_IS', 'best_FID', 'config']: assert k in d, k\n"
      "g = open(sys.argv[1] + '/G.pth', 'rb').read()\n"
      "e = d['save_manifest']['G.pth']\n"
      "assert e['bytes'] == len(g) == " + std::to_string(g.bytes) + ", e\n"
      "assert e['crc32'] == zlib.crc32(g) == " + std::to_string(g.crc32) + ", e\n"
      "torch.load(sys.argv[1] + '/G.pth')\n";
  write_file_atomically(tmp / "check.py", script);
  CHECK(std::system(("/usr/bin/python3 '" + (tmp / "check.py").string() + "' '" + tmp.path.string() + "'").c_str()) == 0);
}
