// Provenance (util/provenance.h): every kind of file the tools write records the tool, the version
// and the command line, as samtools' @PG lines do, and each tool prints --version.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>

#include "libbiggan/metrics/sample_stream.h"
#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/serialization/npz.h"
#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/util/atomic_file.h"
#include "libbiggan/util/json.h"
#include "libbiggan/util/provenance.h"
#include "libbiggan/util/version.h"
#include "tests/fixtures.h"

using namespace biggan;
namespace fs = std::filesystem;

namespace {

// Runs `tool args` with stdout to `out`; returns the exit status.
int run(const std::string& tool, const std::string& args, const fs::path& out) {
  const std::string cmd = "'" + test::tool_path(tool).string() + "' " + args + " > '" + out.string() + "' 2>/dev/null";
  const int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void check_provenance(const Json& p, const std::string& tool, const std::string& argument) {
  CHECK(p["tool"].as_string() == tool);
  CHECK(p["version"].as_string().find(toolkit_version()) == 0);
  CHECK(p["command_line"].as_string().find(tool + " ") == 0);
  CHECK(p["command_line"].as_string().find(argument) != std::string::npos);
}

}  // namespace

TEST_CASE("arguments are quoted so that a shell reads the command line back") {
  CHECK(shell_quote("--num") == "--num");
  CHECK(shell_quote("a b") == "'a b'");
  CHECK(shell_quote("it's") == "'it'\\''s'");
  CHECK(shell_quote("") == "''");
  record_invocation("gan-sample", {"--weights", "my weights", "--num", "10"});
  CHECK(provenance().command_line == "gan-sample --weights 'my weights' --num 10");
  CHECK(provenance_json()["tool"].as_string() == "gan-sample");
}

TEST_CASE("HDF5, npz, stream, JSON and --version outputs of gan-sample and fid say who wrote them", "[tool]") {
  test::TempDir tmp;
  const auto weights = test::fixtures_root() / "biggan" / "c32" / "init";
  REQUIRE(fs::is_directory(weights));
  const std::string sample_args = "--threads 1 --weights '" + weights.string() + "' --num 20 --batch-size 10 --output '" +
                                  (tmp / "s.h5").string() + "' --sample-npz '" + (tmp / "s.npz").string() + "' --stream";
  REQUIRE(run("gan-sample", sample_args, tmp / "s.stream") == 0);

  auto h5 = h5::File::open_read((tmp / "s.h5").string());
  CHECK(h5.attr_string("/", "biggan_tool") == "gan-sample");
  CHECK(h5.attr_string("/", "biggan_version").find(toolkit_version()) == 0);
  CHECK(h5.attr_string("/", "biggan_command_line").find("--num 20") != std::string::npos);

  const auto arrays = npz::load((tmp / "s.npz").string());
  const auto& bytes = npz::get(arrays, "provenance", (tmp / "s.npz").string());
  const std::string text(static_cast<const char*>(bytes.data_ptr()), size_t(bytes.numel()));
  check_provenance(Json::parse(text), "gan-sample", "--num 20");
  CHECK(npz::get(arrays, "x", "s.npz").size(0) == 20);  // the samples themselves are unchanged

  std::ifstream stream(tmp / "s.stream", std::ios::binary);
  metrics::SampleStreamReader reader(stream, "s.stream");
  CHECK(reader.header().meta.at("tool") == "gan-sample");
  CHECK(reader.header().meta.at("command_line").find("--stream") != std::string::npos);
  CHECK(reader.header().meta.at("version").find(toolkit_version()) == 0);

  REQUIRE(run("fid", "--threads 1 --json --random-weights '" + (tmp / "s.npz").string() + "' '" +
                         (tmp / "s.npz").string() + "'",
              tmp / "fid.json") == 0);
  check_provenance(Json::parse(read_file(tmp / "fid.json"))["provenance"], "fid", "--json");

  for (const char* tool : {"gan-sample", "gan-train", "fid", "ckpt-inspect", "inception-moments", "imagenet-to-hdf5",
                           "fashion-classifier"}) {
    INFO(tool);
    REQUIRE(run(tool, "--version", tmp / "version.txt") == 0);
    CHECK(read_file(tmp / "version.txt").find(std::string(tool) + " (biggan-cpp) " + toolkit_version()) == 0);
  }
}
