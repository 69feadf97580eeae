// The fid and inception-moments tools end to end: a stream piped into fid, the same images as a
// samples .npz and an HDF5 file, moment files, and the refusals.
#include "libbiggan/metrics/moments_file.h"
#include "libbiggan/metrics/sample_stream.h"
#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/serialization/npz.h"
#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/util/json.h"
#include "tests/metrics/metrics_test_util.h"

using namespace biggan;
using namespace biggan::metrics;

namespace {

std::string tool(const std::string& name) { return "env -u BIGGAN_INCEPTION_WEIGHTS -u BIGGAN_FID_INCEPTION_WEIGHTS '" + test::tool_path(name).string() + "'"; }

Json run_json(const std::string& cmd, const test::TempDir& dir) {
  auto out = dir / "out.json", err = dir / "err.txt";
  int rc = test::run_shell(cmd + " --json > '" + out.string() + "' 2> '" + err.string() + "'");
  INFO(cmd << "\nstderr: " << test::slurp(err));
  REQUIRE(rc == 0);
  return Json::parse(test::slurp(out), cmd);
}

}  // namespace

TEST_CASE("fid: a stream round trip gives the same scores as the same images in an .npz and HDF5") {
  test::TempDir dir;
  torch::manual_seed(3);
  auto images = torch::randint(0, 256, {8, 3, 16, 16}).to(torch::kUInt8);
  auto labels = torch::arange(8);
  {
    std::ofstream f(dir / "s.msgpack", std::ios::binary);
    SampleStreamHeader h;
    h.height = h.width = 16;
    SampleStreamWriter w(f, h);
    for (int i = 0; i < 8; i += 3) w.write(images.narrow(0, i, std::min(3, 8 - i)), labels.narrow(0, i, std::min(3, 8 - i)));
    w.finish();
  }
  // The reference's --sample_npz layout: x uint8 [N, H, W, 3], y.
  npz::save((dir / "samples.npz").string(), {{"x", images.permute({0, 2, 3, 1}).contiguous()}, {"y", labels}});
  {
    auto f = h5::File::create((dir / "data.h5").string());  // as imagenet-to-hdf5 writes it
    f.write("imgs", images);
    f.write("labels", labels);
  }
  const std::string common = " --random-weights --batch-size 4 --splits 2";
  const auto stream = "'" + (dir / "s.msgpack").string() + "'";
  std::cout << "stream piped into fid (random weights), samples moments saved\n";
  auto s = run_json(tool("fid") + common + " --save-moments '" + (dir / "s.npz").string() + "' - < " + stream, dir);
  CHECK(s["images"].as_int() == 8);
  CHECK(s["random_weights"].as_bool());
  std::cout << "the same images as the reference's --sample_npz layout\n";
  auto n = run_json(tool("fid") + common + " '" + (dir / "samples.npz").string() + "'", dir);
  CHECK(s["IS_mean"].as_double() == n["IS_mean"].as_double());
  CHECK(s["IS_std"].as_double() == n["IS_std"].as_double());

  std::cout << "inception-moments of the same images in an HDF5 file\n";
  auto m = run_json(tool("inception-moments") + " --random-weights --batch-size 3 --save-features '" +
                        (dir / "data.h5").string() + "' -o '" + (dir / "ref.npz").string() + "'",
                    dir);
  CHECK(m["images"].as_int() == 8);
  torch::Tensor feats, sfeats;
  auto ref = load_moments_npz((dir / "ref.npz").string(), &feats);
  auto smp = load_moments_npz((dir / "s.npz").string(), &sfeats);
  CHECK(ref.random_weights);
  CHECK(ref.mu.numel() == 2048);
  CHECK(feats.sizes() == torch::IntArrayRef({8, 2048}));
  test::check_close(sfeats, feats, 1e-5, 0, "stream features vs HDF5 features");
  test::check_close(smp.mu, ref.mu, 1e-5, 0, "stream mu vs HDF5 mu");
  CHECK(ref.mu.abs().max().item<double>() > 1e-3);  // a random network that still yields real features

  std::cout << "fid of the two moment files (features inside: KID too)\n";
  auto f = run_json(tool("fid") + " '" + (dir / "s.npz").string() + "' '" + (dir / "ref.npz").string() + "'", dir);
  const double scale = ref.sigma.trace().item<double>();
  std::cout << "  FID of identical sets " << f["FID"].as_double() << " (tr sigma " << scale << "), KID "
            << f["KID_mean"].as_double() << "\n";
  CHECK(std::abs(f["FID"].as_double()) < 1e-3 * scale);  // same images: 0 up to rounding
  CHECK(f.contains("FID_warning"));                         // 8 samples in 2048-d: singular
  CHECK(f["KID_subset_size"].as_int() == 8);
  CHECK(f["random_weights"].as_bool());

  // Text output labels every number made with random weights.
  auto txt = dir / "out.txt";
  REQUIRE(test::run_shell(tool("fid") + " '" + (dir / "s.npz").string() + "' '" + (dir / "ref.npz").string() + "' > '" +
                          txt.string() + "' 2>/dev/null") == 0);
  auto text = test::slurp(txt);
  std::cout << text;
  for (const char* key : {"FID:", "KID:"}) {
    auto pos = text.find(key);
    REQUIRE(pos != std::string::npos);
    CHECK(text.substr(pos, text.find('\n', pos) - pos).find("RANDOM WEIGHTS") != std::string::npos);
  }
}

TEST_CASE("fid A.npz B.npz: FID of two moment files equals scipy's") {
  std::cout << "fixture inception/moments_a.npz moments_b.npz through the fid tool\n";
  test::TempDir dir;
  auto io = h5::File::open_read((test::inception_fixtures() / "inception_io.h5").string());
  const double want = io.read("fid/fid_ab_scipy").item<double>();
  auto j = run_json(tool("fid") + " '" + (test::inception_fixtures() / "moments_a.npz").string() + "' '" +
                        (test::inception_fixtures() / "moments_b.npz").string() + "'",
                    dir);
  CHECK(std::abs(j["FID"].as_double() - want) <= 1e-9 * want);
  CHECK_FALSE(j["random_weights"].as_bool());
}

TEST_CASE("fid refuses: no weights, empty or truncated streams") {
  test::TempDir dir;
  auto err = dir / "err.txt";
  auto run = [&](const std::string& cmd) {
    int rc = test::run_shell(cmd + " > /dev/null 2> '" + err.string() + "'");
    std::cout << "  $ ... -> " << rc << ": " << test::slurp(err);
    return rc;
  };
  { std::ofstream(dir / "empty.msgpack"); }
  CHECK(run(tool("fid") + " - < '" + (dir / "empty.msgpack").string() + "'") == 1);
  CHECK(test::slurp(err).find("no Inception weights") != std::string::npos);
  CHECK(run(tool("fid") + " --random-weights - < '" + (dir / "empty.msgpack").string() + "'") == 1);
  CHECK(test::slurp(err).find("empty stream") != std::string::npos);
  {
    std::ostringstream out;
    SampleStreamHeader h;
    h.height = h.width = 8;
    SampleStreamWriter w(out, h);
    w.write(torch::zeros({4, 3, 8, 8}, torch::kUInt8));
    w.write(torch::zeros({4, 3, 8, 8}, torch::kUInt8));
    auto bytes = out.str();
    std::ofstream(dir / "cut.msgpack", std::ios::binary) << bytes.substr(0, bytes.size() - 10);
  }
  CHECK(run(tool("fid") + " --random-weights - < '" + (dir / "cut.msgpack").string() + "'") == 1);
  CHECK(test::slurp(err).find("frame 2") != std::string::npos);
  CHECK(run(tool("fid") + " --bogus-flag x") == 2);
}
