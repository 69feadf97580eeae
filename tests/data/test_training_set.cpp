// The training-set reader, the reference's samplers and the batch loader; the data order of the
// reference's fixture run (trajectory/) reproduced from its seed.
#include <ATen/CPUGeneratorImpl.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <iterator>
#include <regex>
#include <set>

#include "libbiggan/data/batch_loader.h"
#include "libbiggan/data/hdf5_dataset.h"
#include "libbiggan/data/sampler.h"
#include "libbiggan/serialization/hdf5_file.h"
#include "tests/data/data_test_util.h"

namespace fs = std::filesystem;
using namespace biggan;
using namespace biggan::data;

namespace {

fs::path trajectory_dir() { return test::fixtures_root() / "trajectory"; }

// Advances torch's global generator by k 32-bit draws (what model construction etc. consume).
void skip_draws(int64_t k) {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  auto* impl = at::check_generator<at::CPUGeneratorImpl>(gen);
  for (int64_t i = 0; i < k; ++i) impl->random();
}

struct TrajectoryLine {
  int64_t itr, first_label, label_sum;
  double x_sum;
};

std::vector<TrajectoryLine> read_trajectory(const fs::path& file) {
  std::vector<TrajectoryLine> out;
  std::ifstream in(file);
  std::string line;
  auto field = [](const std::string& l, const std::string& key) {
    std::smatch m;
    std::regex re("\"" + key + "\": *([-0-9.eE+]+)");
    if (!std::regex_search(l, m, re)) throw std::runtime_error("trajectory line without " + key);
    return std::stod(m[1]);
  };
  while (std::getline(in, line))
    if (!line.empty())
      out.push_back({static_cast<int64_t>(field(line, "itr")), static_cast<int64_t>(field(line, "first_label")),
                     static_cast<int64_t>(field(line, "label_sum")), field(line, "x_sum")});
  return out;
}

std::string small_file(const test::TempDir& dir, int64_t n = 10, int64_t hw = 8) {
  auto path = (dir / "small.hdf5").string();
  auto f = h5::File::create(path);
  f.write("imgs", torch::randint(0, 256, {n, 3, hw, hw}).to(torch::kUInt8), 4);
  f.write("labels", torch::arange(n, torch::kInt64) % 3, 4);
  return path;
}

std::vector<int64_t> to_vec(const torch::Tensor& t) {
  auto c = t.contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

}  // namespace

TEST_CASE("HDF5Dataset reads a file the reference wrote, from disk and in memory") {
  auto path = test::trajectory_hdf5();
  std::cout << "fixture case trajectory/data/ILSVRC32.hdf5" << std::endl;
  HDF5Dataset disk(path.string()), mem(path.string(), true);
  CHECK(disk.size() == 2048);
  CHECK(disk.height() == 32);
  CHECK(disk.width() == 32);
  CHECK(disk.num_classes() == 10);
  CHECK(mem.in_memory());
  auto all = h5::File::open_read(path.string()).read("imgs");
  std::vector<int64_t> idx{2047, 5, 5, 0, 1000, 6};
  auto a = disk.get_batch(idx), b = mem.get_batch(idx);
  CHECK(torch::equal(a, b));
  for (size_t k = 0; k < idx.size(); ++k) CHECK(torch::equal(a[k], all[idx[k]]));
  CHECK(torch::equal(disk.get(7), all[7]));
  CHECK(torch::equal(disk.labels(), mem.labels()));
  CHECK_THROWS_WITH(disk.get(2048), Catch::Contains("out of range"));
}

TEST_CASE("HDF5Dataset names what is wrong with a bad training file") {
  test::TempDir dir;
  auto make = [&](const std::string& name, const std::function<void(h5::File&)>& fill) {
    auto p = (dir / name).string();
    auto f = h5::File::create(p);
    fill(f);
    return p;
  };
  auto u8 = [](std::vector<int64_t> s) { return torch::zeros(s, torch::kUInt8); };
  auto i64 = [](int64_t n) { return torch::zeros({n}, torch::kInt64); };
  CHECK_THROWS_WITH(HDF5Dataset(make("a.h5", [&](h5::File& f) { f.write("labels", i64(4)); })),
                    Catch::Contains("a.h5") && Catch::Contains("no dataset 'imgs'"));
  CHECK_THROWS_WITH(HDF5Dataset(make("b.h5", [&](h5::File& f) { f.write("imgs", u8({4, 3, 2, 2})); })),
                    Catch::Contains("no dataset 'labels'"));
  CHECK_THROWS_WITH(HDF5Dataset(make("c.h5", [&](h5::File& f) { f.write("imgs", u8({4, 3, 2, 2})); f.write("labels", i64(5)); })),
                    Catch::Contains("4 images") && Catch::Contains("5 labels"));
  CHECK_THROWS_WITH(HDF5Dataset(make("d.h5", [&](h5::File& f) { f.write("imgs", u8({4, 12})); f.write("labels", i64(4)); })),
                    Catch::Contains("expected [N, 3, H, W]"));
  CHECK_THROWS_WITH(HDF5Dataset(make("e.h5", [&](h5::File& f) { f.write("imgs", torch::zeros({4, 3, 2, 2})); f.write("labels", i64(4)); })),
                    Catch::Contains("expected uint8"));
  CHECK_THROWS_WITH(HDF5Dataset(make("f.h5", [&](h5::File& f) { f.write("imgs", u8({4, 3, 2, 2})); f.write("labels", torch::zeros({4})); })),
                    Catch::Contains("expected integers"));
  CHECK_THROWS_WITH(HDF5Dataset(make("g.h5", [&](h5::File& f) { f.write("imgs", u8({4, 3, 2, 2})); f.write("labels", torch::zeros({4, 1}, torch::kInt64)); })),
                    Catch::Contains("'labels' has shape [4, 1]"));
  CHECK_THROWS_WITH(HDF5Dataset((dir / "none.h5").string()), Catch::Contains("no such file"));
}

TEST_CASE("MultiEpochSampler: resuming at an iteration continues the uninterrupted order") {
  const int64_t n = 37, epochs = 4, bs = 5;
  torch::manual_seed(11);
  auto full = MultiEpochSampler(n, epochs, 0, bs).draw();
  REQUIRE(full.numel() == n * epochs);
  for (int64_t e = 0; e < epochs; ++e)  // every epoch is a permutation
    CHECK(torch::equal(std::get<0>(full.slice(0, e * n, (e + 1) * n).sort()), torch::arange(n)));
  for (int64_t itr : {1, 3, 7, 8, 15, 29}) {
    torch::manual_seed(11);
    MultiEpochSampler s(n, epochs, itr, bs);
    auto resumed = s.draw();
    INFO("start_itr " << itr);
    CHECK(resumed.numel() == s.size());
    CHECK(torch::equal(resumed, full.slice(0, itr * bs)));
  }
  // Past the end: nothing left, and still the same draws consumed.
  torch::manual_seed(11);
  CHECK(MultiEpochSampler(n, epochs, 30, bs).draw().numel() == 0);
  auto after = torch::randint(0, 1000000, {1}).item<int64_t>();
  torch::manual_seed(11);
  MultiEpochSampler(n, epochs, 0, bs).draw();
  CHECK(torch::randint(0, 1000000, {1}).item<int64_t>() == after);
}

TEST_CASE("samplers draw what torch's Python samplers draw") {
  if (!test::python_oracle_available()) {
    BIGGAN_SKIP("/usr/bin/python3 with torch/torchvision/PIL: the sampler order oracle");
    return;
  }
  test::TempDir dir;
  auto out = dir / "orders.txt";
  // torch's own RandomSampler and a DataLoader's iterator (base-seed draw, then the sampler).
  std::string py =
      "import torch\n"
      "from torch.utils.data import RandomSampler, DataLoader\n"
      "torch.set_num_threads(1)\n"
      "torch.manual_seed(7)\n"
      "a = list(RandomSampler(range(50)))\n"
      "torch.manual_seed(9)\n"
      "it = iter(DataLoader(list(range(30)), batch_size=30, shuffle=True))\n"
      "b = next(it).tolist()\n"
      "c = torch.randint(0, 1000, (3,)).tolist()\n"
      "open('" + out.string() + "', 'w').write(' '.join(map(str, a + b + c)))\n";
  auto script = dir / "oracle.py";
  std::ofstream(script) << py;
  REQUIRE(std::system(("/usr/bin/python3 '" + script.string() + "'").c_str()) == 0);
  std::ifstream in(out);
  std::vector<int64_t> want((std::istream_iterator<int64_t>(in)), std::istream_iterator<int64_t>());
  REQUIRE(want.size() == 83);
  torch::manual_seed(7);
  CHECK(to_vec(random_sampler_order(50)) == std::vector<int64_t>(want.begin(), want.begin() + 50));
  torch::manual_seed(9);
  reference_loader_iter_draw();
  CHECK(to_vec(random_sampler_order(30)) == std::vector<int64_t>(want.begin() + 50, want.begin() + 80));
  CHECK(to_vec(torch::randint(0, 1000, {3})) == std::vector<int64_t>(want.begin() + 80, want.end()));
}

TEST_CASE("the reference fixture run's data order is reproduced from its seed") {
  auto dir = trajectory_dir();
  REQUIRE(fs::exists(dir / "trajectory.jsonl"));
  std::cout << "fixture case trajectory (--seed 3 --batch_size 16 --use_multiepoch_sampler)" << std::endl;
  auto lines = read_trajectory(dir / "trajectory.jsonl");
  REQUIRE(lines.size() == 128);
  auto data = std::make_shared<const HDF5Dataset>(test::trajectory_hdf5().string());
  // seed_rng(3); building G, D and G_ema and the fixed z/y draws take 377,499 32-bit draws (found by
  // searching the mt19937 stream for the fixture's batches; the training loop reproduces them by
  // really building the models); then the DataLoader iterator's base seed, then the sampler.
  auto run_from = [&](int64_t start_itr) {
    torch::manual_seed(3);
    skip_draws(377499);
    reference_loader_iter_draw();
    MultiEpochSampler sampler(data->size(), 1, start_itr, 16);
    LoaderOptions lo;
    lo.batch_size = 16;
    lo.threads = 2;
    BatchLoader loader(data, sampler.draw(), lo);
    int64_t itr = start_itr;
    while (auto b = loader.next()) {
      const auto& want = lines.at(itr++);
      INFO("itr " << want.itr);
      REQUIRE(b->y[0].item<int64_t>() == want.first_label);
      REQUIRE(b->y.sum().item<int64_t>() == want.label_sum);
      CHECK(b->x.to(torch::kFloat64).sum().item<double>() == Approx(want.x_sum).epsilon(1e-9));
    }
    CHECK(itr == 128);
  };
  run_from(0);
  run_from(50);  // resumed run: same seed, same draws, start_itr = 50
}

TEST_CASE("BatchLoader: values, order, partial last batch, thread independence") {
  test::TempDir dir;
  auto path = small_file(dir);
  auto data = std::make_shared<const HDF5Dataset>(path);
  auto all = h5::File::open_read(path).read("imgs");
  auto order = torch::tensor({3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5}, torch::kInt64);
  LoaderOptions lo;
  lo.batch_size = 4;
  lo.threads = 3;
  lo.prefetch = 2;
  BatchLoader loader(data, order, lo);
  CHECK(loader.num_batches() == 3);
  std::vector<int64_t> seen;
  while (auto b = loader.next()) {
    for (int64_t j = 0; j < b->y.size(0); ++j) {
      int64_t i = order[static_cast<int64_t>(seen.size())].item<int64_t>();
      CHECK(torch::equal(b->x[j], ((all[i].to(torch::kFloat32) / 255) - 0.5) * 2));
      CHECK(b->y[j].item<int64_t>() == i % 3);
      seen.push_back(i);
    }
  }
  CHECK(seen == to_vec(order));
  lo.drop_last = true;
  CHECK(BatchLoader(data, order, lo).num_batches() == 2);
  auto table = reference_normalize_table();
  CHECK(table[0] == -1.0f);
  CHECK(table[255] == 1.0f);
  CHECK_THROWS_WITH(BatchLoader(data, torch::tensor({0, 10}, torch::kInt64), lo), Catch::Contains("out of range"));
}

TEST_CASE("BatchLoader augment: a padded random crop plus flip, deterministic by position") {
  test::TempDir dir;
  auto path = small_file(dir, 40, 12);
  auto data = std::make_shared<const HDF5Dataset>(path, true);
  auto all = h5::File::open_read(path).read("imgs").to(torch::kFloat32).div(255).sub(0.5).mul(2);
  torch::manual_seed(1);
  auto order = MultiEpochSampler(40, 2, 0, 8).draw();
  auto collect = [&](torch::Tensor ord, int threads, int64_t offset) {
    LoaderOptions lo;
    lo.batch_size = 8;
    lo.augment = true;
    lo.augment_seed = 1234;
    lo.threads = threads;
    lo.position_offset = offset;
    BatchLoader loader(data, ord, lo);
    std::vector<torch::Tensor> xs;
    while (auto b = loader.next()) xs.push_back(b->x);
    return torch::cat(xs);
  };
  auto x1 = collect(order, 1, 0);
  CHECK(torch::equal(x1, collect(order, 4, 0)));
  CHECK(torch::equal(x1.slice(0, 24), collect(order.slice(0, 24), 2, 24)));  // resumed at itr 3
  // Every augmented image is one of the 9 x 9 x 2 crops/flips of its source, and they vary.
  auto padded = torch::constant_pad_nd(all, {4, 4, 4, 4}, -1.0);
  std::set<std::tuple<int, int, int>> used;
  for (int64_t k = 0; k < x1.size(0); ++k) {
    auto src = padded[order[k].item<int64_t>()];
    bool found = false;
    for (int dy = 0; dy <= 8 && !found; ++dy)
      for (int dx = 0; dx <= 8 && !found; ++dx)
        for (int fl = 0; fl < 2 && !found; ++fl) {
          auto crop = src.slice(1, dy, dy + 12).slice(2, dx, dx + 12);
          if (fl) crop = crop.flip({2});
          if (torch::equal(crop, x1[k])) {
            found = true;
            used.insert({dy, dx, fl});
          }
        }
    CHECK(found);
  }
  CHECK(used.size() > 20);
}
