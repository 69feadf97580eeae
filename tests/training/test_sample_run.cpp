// The one sample path (libbiggan/training/sample_run.h, sample_sinks.h): batches reach every sink in
// order with the rows G makes of the latents; the HDF5 and npz sinks, writing as the batches come,
// give what the whole-array writers give (the npz byte for byte, and numpy reads it); a sink failing
// mid-run leaves no file behind and an older file of that name untouched; no batch is held past its
// turn and the files grow on disk as the run goes (memory does not grow with the number of samples).
#include <catch2/catch.hpp>
#include <sys/stat.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <sstream>

#include "libbiggan/metrics/sample_stream.h"
#include "libbiggan/training/config.h"
#include "libbiggan/models/model.h"
#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/serialization/npz.h"
#include "libbiggan/training/sample_run.h"
#include "libbiggan/training/sample_sinks.h"
#include "libbiggan/training/sampling.h"
#include "libbiggan/util/atomic_file.h"
#include "libbiggan/util/error.h"
#include "libbiggan/util/provenance.h"
#include "tests/fixtures.h"
#include "tests/serialization/python_oracle.h"

using namespace biggan;
using namespace biggan::test;
namespace fs = std::filesystem;

namespace {

Generator tiny_generator() {
  Config c;
  c.resolution = 32;
  c.n_classes = 3;
  c.G_ch = c.D_ch = 4;
  c.dim_z = 8;
  c.G_attn = c.D_attn = "0";
  torch::manual_seed(0);
  Generator G = make_generator(model_config(c));
  G->eval();
  return G;
}

// Records what it is handed; `on_write` runs on every batch.
struct RecordingSink : SampleSink {
  std::vector<int64_t> firsts, sizes;
  std::vector<torch::Tensor> images, z, y;  // clones: the test's own copies
  std::vector<c10::weak_intrusive_ptr<c10::StorageImpl>> storages;
  std::function<void(const SampleBatch&)> on_write;
  int finished = 0;
  void write(const SampleBatch& b) override {
    firsts.push_back(b.first);
    sizes.push_back(b.images.size(0));
    images.push_back(b.images.clone());
    z.push_back(b.z.clone());
    y.push_back(b.y.clone());
    storages.push_back(b.images.storage().getWeakStorageImpl());
    if (on_write) on_write(b);
  }
  void finish() override { ++finished; }
};

struct FailingSink : SampleSink {
  int64_t fail_at;
  explicit FailingSink(int64_t at) : fail_at(at) {}
  void write(const SampleBatch& b) override {
    if (b.first >= fail_at) throw Error("a sink failed on purpose");
  }
};

// Bytes the folder's files hold on disk (allocated blocks: the HDF5 file's datasets are laid out
// whole up front, so its size alone says little).
uint64_t folder_bytes(const fs::path& dir) {
  uint64_t n = 0;
  for (auto& e : fs::directory_iterator(dir)) {
    struct stat st {};
    if (e.is_regular_file() && ::stat(e.path().c_str(), &st) == 0) n += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  return n;
}

// How many of G's spectral-normed layers hold a frozen W / sigma.
int64_t frozen_layers(GeneratorImpl& G) {
  int64_t n = 0;
  for (auto& [name, layer] : weight_layers(G)) n += layer->frozen();
  return n;
}

std::vector<std::string> folder_names(const fs::path& dir) {
  std::vector<std::string> names;
  for (auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("sample run: every sink gets every batch in order; files equal the whole-array writers'", "[sample_run]") {
  Generator G = tiny_generator();
  TempDir tmp;
  const int64_t count = 10, batch = 4;  // batches of 4, 4, 2 (the last cut from a whole draw)
  torch::manual_seed(5);
  LatentSampler sampler(batch, G->dim_z(), G->n_classes(), {});
  auto latents = drawn_latents(sampler, count);
  const SampleShape shape{count, 32, G->dim_z()};
  RecordingSink first, last;
  Hdf5SampleSink h5(tmp / "s.h5", shape, {{"which", "G"}, {"mode", "eval"}});
  NpzSampleSink npz(tmp / "s.npz", shape);
  SheetSampleSink sheet(tmp / "sheet.png", 6);
  std::ostringstream stream_bytes;
  metrics::SampleStreamHeader header;
  header.dtype = "uint8";
  header.height = header.width = 32;
  header.count = count;
  StreamSampleSink stream(stream_bytes, header);
  run_samples(*G, *latents, {&first, &h5, &npz, &sheet, &stream, &last});

  for (auto* r : {&first, &last}) {
    CHECK(r->firsts == std::vector<int64_t>{0, 4, 8});
    CHECK(r->sizes == std::vector<int64_t>{4, 4, 2});
    CHECK(r->finished == 1);
  }
  CHECK(sheet.held() == 6);
  auto images = torch::cat(first.images), z = torch::cat(first.z), y = torch::cat(first.y);
  CHECK(torch::equal(images, torch::cat(last.images)));
  // The same draws as the sampler alone, and the images G makes of them batch by batch.
  torch::manual_seed(5);
  LatentSampler again(batch, G->dim_z(), G->n_classes(), {});
  std::vector<torch::Tensor> want_z, want_y;
  for (int i = 0; i < 3; ++i) {
    torch::Tensor zb, yb;
    again.next(zb, yb);
    want_z.push_back(zb.clone()), want_y.push_back(yb.clone());
  }
  CHECK(torch::equal(z, torch::cat(want_z).slice(0, 0, count)));
  CHECK(torch::equal(y, torch::cat(want_y).slice(0, 0, count)));
  CHECK(torch::equal(images.slice(0, 0, 8), generate_images(*G, z.slice(0, 0, 8), y.slice(0, 0, 8), 4)));

  // HDF5: the datasets and attributes; npz: the bytes npz::save writes of the whole arrays.
  auto f = h5::File::open_read((tmp / "s.h5").string());
  CHECK(torch::equal(f.read("images"), images));
  CHECK(torch::equal(f.read("z"), z));
  CHECK(torch::equal(f.read("y"), y));
  CHECK(f.attr_string("/", "which") == "G");
  CHECK(f.attr_string("/", "mode") == "eval");
  npz::save((tmp / "whole.npz").string(),
            {{"x", metrics::quantize_like_reference(images)}, {"y", y}, {"provenance", provenance_bytes()}});
  CHECK(read_file(tmp / "s.npz") == read_file(tmp / "whole.npz"));
  CHECK(fs::exists(tmp / "sheet.png"));
  {
    std::istringstream in(stream_bytes.str());
    metrics::SampleStreamReader reader(in, "stream");
    torch::Tensor im, lab;
    std::vector<torch::Tensor> got;
    while (reader.next(im, lab)) got.push_back(im.clone());
    CHECK(torch::equal(torch::cat(got), metrics::quantize_like_reference(images)));
  }
  if (!python_has("numpy")) {
    BIGGAN_SKIP("python3 with numpy is missing: numpy.load of the streamed npz");
    return;
  }
  int rc = 0;
  auto out = run_python(tmp,
                        "import numpy as np, sys\n"
                        "d = np.load(sys.argv[1])\n"
                        "print(d['x'].dtype, d['x'].shape, int(d['x'].astype(np.int64).sum()), list(d['y']))\n",
                        (tmp / "s.npz").string(), &rc, false);
  INFO(out);
  REQUIRE(rc == 0);
  std::ostringstream want;
  want << "uint8 (10, 3, 32, 32) " << metrics::quantize_like_reference(images).to(torch::kInt64).sum().item<int64_t>()
       << " [";
  for (int64_t i = 0; i < count; ++i) want << (i ? ", " : "") << y[i].item<int64_t>();
  want << "]\n";
  CHECK(out == want.str());
}

TEST_CASE("sample run: a sink failing mid-run leaves no half-written file, an older one untouched", "[sample_run]") {
  Generator G = tiny_generator();
  TempDir tmp;
  write_file_atomically(tmp / "s.npz", "the older file");
  const SampleShape shape{12, 32, G->dim_z()};
  LatentSampler sampler(4, G->dim_z(), G->n_classes(), {});
  auto latents = drawn_latents(sampler, 12);
  {
    Hdf5SampleSink h5(tmp / "s.h5", shape, {});
    NpzSampleSink npz(tmp / "s.npz", shape);
    FailingSink fail(8);  // fails on the third batch, after two went to the files
    SheetSampleSink sheet(tmp / "sheet.png", 4);
    CHECK_THROWS_WITH(run_samples(*G, *latents, {&h5, &npz, &fail, &sheet}), Catch::Contains("on purpose"));
  }
  CHECK(folder_names(tmp.path) == std::vector<std::string>{"s.npz"});
  CHECK(read_file(tmp / "s.npz") == "the older file");

  // A file sink whose target folder is missing fails when made, naming the target.
  CHECK_THROWS_WITH(Hdf5SampleSink(tmp / "nowhere" / "s.h5", shape, {}), Catch::Contains("nowhere/s.h5"));
  CHECK_THROWS_WITH(NpzSampleSink(tmp / "nowhere" / "s.npz", shape), Catch::Contains("nowhere/s.npz"));
}

TEST_CASE("sample run: no batch outlives its turn and the files grow on disk as the run goes", "[sample_run]") {
  Generator G = tiny_generator();
  TempDir tmp;
  fs::create_directories(tmp / "out");
  const int64_t count = 48, batch = 8;
  const SampleShape shape{count, 32, G->dim_z()};
  LatentSampler sampler(batch, G->dim_z(), G->n_classes(), {});
  auto latents = drawn_latents(sampler, count);
  Hdf5SampleSink h5(tmp / "out" / "s.h5", shape, {});
  NpzSampleSink npz(tmp / "out" / "s.npz", shape);
  SheetSampleSink sheet(tmp / "out" / "sheet.png", 3);
  RecordingSink watch;
  std::vector<uint64_t> bytes;
  int64_t expired_before = 0;
  watch.on_write = [&](const SampleBatch&) {
    bytes.push_back(folder_bytes(tmp / "out"));
    // Every earlier batch's images are gone: neither the run nor any sink kept them.
    for (size_t i = 0; i + 1 < watch.storages.size(); ++i) expired_before += watch.storages[i].expired() ? 1 : 0;
  };
  run_samples(*G, *latents, {&h5, &npz, &sheet, &watch});
  const int64_t batches = count / batch;
  CHECK(expired_before == batches * (batches - 1) / 2);
  CHECK(sheet.held() == 3);
  // The batches reach the disk as they come (an 8-image batch is 96 KiB of float32 pixels in the
  // HDF5 file and 24 KiB in the npz; a few KiB may wait in write buffers).
  REQUIRE(bytes.size() == static_cast<size_t>(batches));
  const uint64_t per_batch = 8 * 3 * 32 * 32 * 5;
  for (size_t i = 1; i < bytes.size(); ++i) CHECK(bytes[i] + 16384 >= bytes[i - 1] + per_batch);
  CHECK(fs::file_size(tmp / "out" / "s.h5") >= static_cast<uintmax_t>(count * 3 * 32 * 32 * 4));
}

TEST_CASE("latents from a file: read in chunks, checked whole before any batch", "[sample_run]") {
  Generator G = tiny_generator();
  TempDir tmp;
  torch::manual_seed(3);
  auto z = torch::randn({7, G->dim_z()});
  auto y = torch::arange(7, torch::kInt64) % G->n_classes();
  auto write = [&](const fs::path& p, const torch::Tensor& zz, const torch::Tensor& yy) {
    auto f = h5::File::create(p.string());
    f.write("z", zz);
    f.write("y", yy);
    f.close();
  };
  write(tmp / "ok.h5", z, y);
  FileLatents file((tmp / "ok.h5").string(), G->dim_z(), G->n_classes(), 3, torch::kCPU);
  CHECK(file.rows() == 7);
  file.keep_first(5);
  RecordingSink r;
  run_samples(*G, file, {&r});
  CHECK(r.sizes == std::vector<int64_t>{3, 2});
  CHECK(torch::equal(torch::cat(r.z), z.slice(0, 0, 5)));
  CHECK(torch::equal(torch::cat(r.images), generate_images(*G, z.slice(0, 0, 5), y.slice(0, 0, 5), 3)));

  // A bad row anywhere (even past the rows kept) is refused when the file is opened.
  auto bad_z = z.clone();
  bad_z[6][0] = std::numeric_limits<float>::quiet_NaN();
  write(tmp / "nan.h5", bad_z, y);
  CHECK_THROWS_WITH(FileLatents((tmp / "nan.h5").string(), G->dim_z(), G->n_classes(), 3, torch::kCPU),
                    Catch::Contains("nan.h5") && Catch::Contains("NaN"));
  auto bad_y = y.clone();
  bad_y[5] = 3;
  write(tmp / "class.h5", z, bad_y);
  CHECK_THROWS_WITH(FileLatents((tmp / "class.h5").string(), G->dim_z(), G->n_classes(), 3, torch::kCPU),
                    Catch::Contains("classes outside 0..2"));
}

TEST_CASE("evaluation latents: one private draw, labels k % n_classes, G's global generator untouched", "[sample_run]") {
  Generator G = tiny_generator();
  torch::manual_seed(9);
  const auto before = torch::rand({1});
  torch::manual_seed(9);
  auto latents = evaluation_latents(10, 77, 1.0, G->dim_z(), G->n_classes(), 4, torch::kCPU);
  CollectSampleSink all;
  run_samples(*G, *latents, {&all});
  CHECK(torch::equal(torch::rand({1}), before));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(77);
  auto want_z = torch::empty({10, G->dim_z()}).normal_(0, 1.0, gen);
  CHECK(torch::equal(all.labels(), torch::arange(10, torch::kInt64) % G->n_classes()));
  CHECK(all.images().size(0) == 10);
  CHECK(torch::equal(all.images().slice(0, 0, 4),
                     generate_images(*G, want_z.slice(0, 0, 4), all.labels().slice(0, 0, 4), 4)));
}

TEST_CASE("rank shares of latents: each forward split as DataParallel splits a batch; joined, the rows come back in order",
          "[sample_run]") {
  // 250 rows in forwards of 100 (the last 50) over 3 ranks; a sampler-like source that always hands
  // out whole forwards of 100 (the run keeps the rows it needs) and one that hands out only those.
  const int64_t total = 250, b = 100;
  auto z = torch::arange(total, torch::kFloat32).unsqueeze(1), y = torch::arange(total, torch::kInt64);
  for (bool whole_forwards : {false, true}) {
    std::vector<torch::Tensor> joined;
    int64_t rows = 0;
    for (int r = 0; r < 3; ++r) {
      auto padded_z = torch::cat({z, torch::full({b - total % b, 1}, -1.0f)}),
           padded_y = torch::cat({y, torch::full({b - total % b}, -1, torch::kInt64)});
      auto inner = whole_forwards ? tensor_latents(padded_z, padded_y, b) : tensor_latents(z, y, b);
      struct Counted : LatentSource {  // inner with the count of rows wanted, whatever it hands out
        LatentSource& in;
        int64_t n;
        Counted(LatentSource& i, int64_t c) : in(i), n(c) {}
        int64_t count() const override { return n; }
        void next(torch::Tensor& zz, torch::Tensor& yy) override { in.next(zz, yy); }
      } counted(*inner, total);
      RankShareLatents share(counted, b, r, 3);
      std::vector<torch::Tensor> mine;
      int64_t got = 0;
      torch::Tensor zz, yy;
      while (got < share.count()) {
        share.next(zz, yy);
        CHECK(torch::equal(zz.squeeze(1).to(torch::kInt64), yy));
        // a third of each forward: 33 / 33 / 34 of 100, 16 / 17 / 17 of 50
        CHECK((zz.size(0) == 33 || zz.size(0) == 34 || zz.size(0) == 16 || zz.size(0) == 17));
        mine.push_back(yy);
        got += yy.size(0);
      }
      CHECK(got == share.count());
      rows += got;
      joined.push_back(torch::cat(mine));
    }
    CHECK(rows == total);
    auto order = rank_share_order(total, b, 3);
    CHECK(torch::equal(torch::cat(joined).index_select(0, order), y));
  }
}

TEST_CASE("frozen spectral norm: a sample run's images to the bit; training mode, autograd and later weights bypass it",
          "[sample_run]") {
  auto G = tiny_generator();  // eval mode
  torch::manual_seed(1);
  auto z = torch::randn({5, 8});
  auto y = torch::tensor({0, 1, 2, 0, 1}, torch::kInt64);
  auto forward = [&] { return G->forward(z, G->shared(y)); };
  torch::Tensor plain;
  {
    torch::NoGradGuard ng;
    plain = forward();
  }
  // A sample run freezes G for its lifetime and gives the unfrozen forward's images exactly.
  {
    // Two batches of the same five rows: the second reuses what the first froze.
    auto latents = tensor_latents(torch::cat({z, z}), torch::cat({y, y}), 5);
    RecordingSink sink;
    SampleRun run(*G, *latents, {&sink});
    CHECK(frozen_layers(*G) > 10);
    SampleBatch batch;
    while (run.next(batch)) {
    }
    run.finish();
    REQUIRE(sink.images.size() == 2);
    CHECK(torch::equal(sink.images[0], plain));
    CHECK(torch::equal(sink.images[1], plain));
  }
  CHECK(frozen_layers(*G) == 0);

  auto params = G->named_parameters();
  auto buffers = G->named_buffers();
  auto w = params["output_layer.2.weight"];
  auto u = buffers["output_layer.2.u0"];
  // A model in training mode is not frozen.
  G->train();
  {
    FrozenSpectralNorm none(*G);
    CHECK(frozen_layers(*G) == 0);
  }
  G->eval();
  FrozenSpectralNorm frozen(*G);
  torch::NoGradGuard ng;
  CHECK(torch::equal(forward(), plain));
  // The frozen W / sigma is what eval forwards use: a weight changed under it changes nothing (spectral
  // norm is blind to scale, so the change is not one)...
  const auto saved = w.clone();
  w.add_(torch::randn_like(w));
  CHECK(torch::equal(forward(), plain));
  // ...but a forward with autograd on computes W / sigma afresh,
  {
    torch::AutoGradMode grad(true);
    CHECK_FALSE(torch::equal(forward().detach(), plain));
  }
  // and so does one in training mode (its power iteration moves u).
  const auto u_before = u.clone();
  G->train();
  forward();
  CHECK_FALSE(torch::equal(u, u_before));
  w.copy_(saved);
}
