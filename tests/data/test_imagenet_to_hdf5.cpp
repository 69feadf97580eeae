// imagenet-to-hdf5: an ImageFolder made here with OpenCV (mixed sizes, grayscale, PNG with alpha, a
// nested folder, a corrupt and an empty file), byte-identity across thread counts, error cases, and
// the Fashion-MNIST IDX import.
#include <hdf5.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "libbiggan/data/idx_file.h"
#include "libbiggan/data/image_folder.h"
#include "libbiggan/data/image_preprocess.h"
#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/serialization/hdf5_rows.h"
#include "libbiggan/util/atomic_file.h"
#include "tests/data/data_test_util.h"

namespace fs = std::filesystem;
using namespace biggan;

namespace {

// A photo-like test image: smooth colour gradients plus fixed noise.
cv::Mat test_image(int w, int h, int seed) {
  cv::Mat img(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      img.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>((x * 255) / w), static_cast<uint8_t>((y * 255) / h),
                                          static_cast<uint8_t>((x * y + seed * 37) % 256));
  cv::Mat noise(h, w, CV_8UC3);
  cv::RNG rng(seed);
  rng.fill(noise, cv::RNG::UNIFORM, 0, 40);
  return img + noise;
}

void write_bytes(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }

// The folder of the acceptance test. Returns the readable images in the order the converter must
// store them, with their labels.
std::vector<std::pair<fs::path, int64_t>> make_folder(const fs::path& root) {
  fs::create_directories(root / "cat" / "sub");
  fs::create_directories(root / "dog");
  cv::imwrite((root / "cat" / "big.jpg").string(), test_image(120, 80, 1));
  cv::imwrite((root / "cat" / "tall.png").string(), test_image(37, 90, 2));
  cv::Mat gray;
  cv::cvtColor(test_image(50, 50, 3), gray, cv::COLOR_BGR2GRAY);
  cv::imwrite((root / "cat" / "gray.png").string(), gray);
  cv::Mat bgra;
  cv::cvtColor(test_image(40, 30, 4), bgra, cv::COLOR_BGR2BGRA);
  for (int y = 0; y < bgra.rows; ++y)
    for (int x = 0; x < bgra.cols; ++x) bgra.at<cv::Vec4b>(y, x)[3] = static_cast<uint8_t>(x * 6);
  cv::imwrite((root / "cat" / "alpha.png").string(), bgra);
  cv::imwrite((root / "cat" / "sub" / "nested.jpg").string(), test_image(33, 61, 5));
  write_bytes(root / "cat" / "notes.txt", "not an image, not picked up");
  cv::imwrite((root / "dog" / "a.JPEG").string(), test_image(64, 64, 6));
  write_bytes(root / "dog" / "bad.jpg", std::string("\xff\xd8\xff garbage that is no JPEG at all", 34));
  write_bytes(root / "dog" / "empty.png", "");
  cv::imwrite((root / "dog" / "c.bmp").string(), test_image(20, 25, 7));
  return {{root / "cat" / "alpha.png", 0}, {root / "cat" / "big.jpg", 0}, {root / "cat" / "gray.png", 0},
          {root / "cat" / "tall.png", 0},  {root / "cat" / "sub" / "nested.jpg", 0},
          {root / "dog" / "a.JPEG", 1},    {root / "dog" / "c.bmp", 1}};
}

std::vector<hsize_t> chunk_dims(const std::string& file, const std::string& dataset, std::vector<hsize_t>* maxdims) {
  auto f = h5::File::open_read(file);
  hid_t d = H5Dopen2(f.id(), dataset.c_str(), H5P_DEFAULT);
  hid_t p = H5Dget_create_plist(d);
  std::vector<hsize_t> c(4, 0);
  int rank = H5Pget_chunk(p, 4, c.data());
  c.resize(std::max(rank, 0));
  hid_t s = H5Dget_space(d);
  maxdims->assign(4, 0);
  rank = H5Sget_simple_extent_dims(s, nullptr, maxdims->data());
  maxdims->resize(std::max(rank, 0));
  H5Sclose(s);
  H5Pclose(p);
  H5Dclose(d);
  return c;
}

}  // namespace

TEST_CASE("center crop places the square as torchvision does (round half to even)") {
  cv::Mat wide(6, 11, CV_8UC1), wide2(6, 9, CV_8UC1), tall(13, 6, CV_8UC1);
  cv::Size whole;
  cv::Point off;
  data::center_crop_long_edge(wide).locateROI(whole, off);
  CHECK(off == cv::Point(2, 0));  // round(2.5) = 2
  data::center_crop_long_edge(wide2).locateROI(whole, off);
  CHECK(off == cv::Point(2, 0));  // round(1.5) = 2
  data::center_crop_long_edge(tall).locateROI(whole, off);
  CHECK(off == cv::Point(0, 4));  // round(3.5) = 4
  CHECK(data::center_crop_long_edge(tall).size() == cv::Size(6, 6));
}

TEST_CASE("JPEG dimensions are read from the frame header") {
  std::vector<uint8_t> buf;
  cv::imencode(".jpg", test_image(77, 31, 1), buf);
  int w = 0, h = 0;
  REQUIRE(data::jpeg_dimensions(buf.data(), buf.size(), w, h));
  CHECK(w == 77);
  CHECK(h == 31);
  std::vector<uint8_t> png;
  cv::imencode(".png", test_image(5, 5, 1), png);
  CHECK_FALSE(data::jpeg_dimensions(png.data(), png.size(), w, h));
}

TEST_CASE("imagenet-to-hdf5 converts an image folder as specified") {
  test::TempDir dir;
  auto expected = make_folder(dir / "root");
  const int R = 24;
  const std::string out1 = (dir / "t1.hdf5").string(), out3 = (dir / "t3.hdf5").string();
  auto r1 = test::run_tool_cmd("imagenet-to-hdf5", "-r 24 --threads 1 --chunk-size 3 '" + (dir / "root").string() + "' '" + out1 + "'", dir);
  INFO(r1.err);
  REQUIRE(r1.exit_code == 0);
  CHECK_THAT(r1.err, Catch::Contains("skipped 2") && Catch::Contains("bad.jpg") && Catch::Contains("empty.png"));
  auto r3 = test::run_tool_cmd("imagenet-to-hdf5", "-r 24 --threads 3 --chunk-size 3 '" + (dir / "root").string() + "' '" + out3 + "'", dir);
  REQUIRE(r3.exit_code == 0);

  {
    // The same data and attributes across thread counts; only the recorded command lines differ.
    std::cout << "check: " << "output is identical across thread counts" << std::endl;
    auto f1 = h5::File::open_read(out1), f3 = h5::File::open_read(out3);
    CHECK(torch::equal(f1.read("imgs"), f3.read("imgs")));
    CHECK(torch::equal(f1.read("labels"), f3.read("labels")));
    for (const char* a : {"resize", "source"}) CHECK(f1.attr_string("/", a) == f3.attr_string("/", a));
    for (const char* a : {"resolution", "num_skipped"}) CHECK(f1.attr_double("/", a) == f3.attr_double("/", a));
    CHECK(f1.attr_string("/", "biggan_tool") == "imagenet-to-hdf5");
    CHECK(f3.attr_string("/", "biggan_command_line").find("--threads 3") != std::string::npos);
  }

  {
    std::cout << "check: " << "layout, labels, attributes and chunking as make_hdf5.py writes them" << std::endl;
    auto f = h5::File::open_read(out1);
    auto imgs = f.read("imgs");
    auto labels = f.read("labels");
    CHECK(imgs.scalar_type() == torch::kUInt8);
    CHECK(imgs.sizes() == torch::IntArrayRef({7, 3, R, R}));
    CHECK(labels.scalar_type() == torch::kInt64);
    std::vector<int64_t> want;
    for (auto& e : expected) want.push_back(e.second);
    CHECK(std::vector<int64_t>(labels.data_ptr<int64_t>(), labels.data_ptr<int64_t>() + labels.numel()) == want);
    CHECK(h5::attr_strings(f, "/", "classes") == std::vector<std::string>{"cat", "dog"});
    CHECK(f.attr_double("/", "num_skipped") == 2);
    auto skipped = h5::attr_strings(f, "/", "skipped");
    REQUIRE(skipped.size() == 2);
    CHECK_THAT(skipped[0], Catch::StartsWith("dog/bad.jpg"));
    CHECK_THAT(skipped[1], Catch::StartsWith("dog/empty.png"));
    // The grayscale image has three equal planes.
    auto g = imgs[2];
    CHECK(torch::equal(g[0], g[1]));
    CHECK(torch::equal(g[0], g[2]));
    std::vector<hsize_t> maxdims;
    CHECK(chunk_dims(out1, "imgs", &maxdims) == std::vector<hsize_t>{3, 3, R, R});
    CHECK(maxdims == std::vector<hsize_t>{9, 3, R, R});  // resizable up to the number of inputs
    CHECK(chunk_dims(out1, "labels", &maxdims) == std::vector<hsize_t>{3});
  }

  {
    std::cout << "check: " << "pixels equal torchvision + PIL (the reference's preprocessing) exactly" << std::endl;
    if (test::python_oracle_available()) {
      auto list = dir / "list.txt";
      {
        std::ofstream l(list);
        for (auto& e : expected) l << e.first.string() << "\n";
      }
      auto raw = dir / "pil.raw";
      std::string cmd = "/usr/bin/python3 '" + test::source_path("tests/data/pil_reference.py") + "' '" +
                        list.string() + "' 24 '" + raw.string() + "'";
      REQUIRE(std::system(cmd.c_str()) == 0);
      std::string bytes = read_file(raw);
      auto want = torch::from_blob(bytes.data(), {7, 3, R, R}, torch::kUInt8);
      auto got = h5::File::open_read(out1).read("imgs");
      for (int64_t i = 0; i < 7; ++i) {
        INFO("image " << expected[i].first.string());
        CHECK((got[i].to(torch::kInt) - want[i].to(torch::kInt)).abs().max().item<int>() == 0);
      }
    } else {
      BIGGAN_SKIP("/usr/bin/python3 with torch/torchvision/PIL: the PIL-exact pixel check");
    }
  }

  {
    std::cout << "check: " << "--compression stores the same data" << std::endl;
    auto outz = (dir / "z.hdf5").string();
    auto rz = test::run_tool_cmd("imagenet-to-hdf5", "-q -r 24 --compression 4 '" + (dir / "root").string() + "' '" + outz + "'", dir);
    REQUIRE(rz.exit_code == 0);
    CHECK(torch::equal(h5::File::open_read(outz).read("imgs"), h5::File::open_read(out1).read("imgs")));
  }

  {
    std::cout << "check: " << "--fast-decode stays close to the exact decode" << std::endl;
    auto outf = (dir / "fast.hdf5").string();
    auto rf = test::run_tool_cmd("imagenet-to-hdf5", "-q -r 24 --fast-decode '" + (dir / "root").string() + "' '" + outf + "'", dir);
    REQUIRE(rf.exit_code == 0);
    auto fast = h5::File::open_read(outf).read("imgs").to(torch::kFloat);
    auto exact = h5::File::open_read(out1).read("imgs").to(torch::kFloat);
    double diff = (fast - exact).abs().mean().item<double>();
    INFO("mean abs difference " << diff);
    CHECK(diff > 0);  // big.jpg (80 px short side) was decoded at half scale
    CHECK(diff < 6);
  }

  {
    std::cout << "check: " << "--strict fails on the corrupt file and leaves no output" << std::endl;
    auto outs = dir / "strict.hdf5";
    auto rs = test::run_tool_cmd("imagenet-to-hdf5", "-r 24 --strict '" + (dir / "root").string() + "' '" + outs.string() + "'", dir);
    CHECK(rs.exit_code == 1);
    CHECK_THAT(rs.err, Catch::Contains("bad.jpg"));
    CHECK_FALSE(fs::exists(outs));
    for (auto& e : fs::directory_iterator(dir.path)) CHECK_THAT(e.path().filename().string(), !Catch::Contains(".tmp"));
  }

  {
    std::cout << "check: " << "an existing folder as OUTPUT gets ILSVRC<R>.hdf5" << std::endl;
    fs::create_directories(dir / "outdir");
    auto rd = test::run_tool_cmd("imagenet-to-hdf5", "-q -r 24 '" + (dir / "root").string() + "' '" + (dir / "outdir").string() + "'", dir);
    CHECK(rd.exit_code == 0);
    CHECK(fs::exists(dir / "outdir" / "ILSVRC24.hdf5"));
  }
}

TEST_CASE("imagenet-to-hdf5 reports bad input clearly") {
  test::TempDir dir;
  fs::create_directories(dir / "r" / "full");
  fs::create_directories(dir / "r" / "hollow");
  cv::imwrite((dir / "r" / "full" / "x.png").string(), test_image(10, 10, 1));
  auto run = [&](const std::string& args) { return test::run_tool_cmd("imagenet-to-hdf5", args, dir); };

  auto r = run("'" + (dir / "r").string() + "' '" + (dir / "o.hdf5").string() + "'");
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("hollow") && Catch::Contains("no image files"));

  r = run("'" + (dir / "nope").string() + "' '" + (dir / "o.hdf5").string() + "'");
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("no such folder"));

  fs::create_directories(dir / "noclass");
  r = run("'" + (dir / "noclass").string() + "' '" + (dir / "o.hdf5").string() + "'");
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("no class folders"));

  fs::create_directories(dir / "junk" / "a");
  write_bytes(dir / "junk" / "a" / "j.jpg", "junk");
  r = run("'" + (dir / "junk").string() + "' '" + (dir / "o.hdf5").string() + "'");
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("none of the 1 images could be read"));
  CHECK_FALSE(fs::exists(dir / "o.hdf5"));

  fs::remove_all(dir / "r" / "hollow");
  r = run("'" + (dir / "r").string() + "' '" + (dir / "missing" / "o.hdf5").string() + "'");
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("does not exist"));

  r = run("--resolution x '" + (dir / "r").string() + "' o.hdf5");
  CHECK(r.exit_code == 2);
  r = run("--format zip '" + (dir / "r").string() + "' o.hdf5");
  CHECK(r.exit_code == 2);
}

TEST_CASE("imagenet-to-hdf5 --format idx imports Fashion-MNIST (60,000 + 10,000)") {
  const fs::path fm = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(fm / "train-images-idx3-ubyte.gz")) {
    BIGGAN_SKIP("Debian's dataset-fashion-mnist is not installed: the Fashion-MNIST import");
    return;
  }
  test::TempDir dir;
  for (auto [split, n, prefix] : {std::tuple<std::string, int64_t, std::string>{"train", 60000, "train"},
                                  {"test", 10000, "t10k"}}) {
    std::cout << "fashion-mnist split " << split << std::endl;
    auto out = (dir / (split + ".hdf5")).string();
    auto r = test::run_tool_cmd("imagenet-to-hdf5", "-q --format idx --split " + split + " '" + fm.string() + "' '" + out + "'", dir);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto f = h5::File::open_read(out);
    CHECK(f.shape("imgs") == std::vector<int64_t>{n, 3, 32, 32});
    auto labels = f.read("labels");
    auto idx = data::read_idx_ubyte(fm / (prefix + "-labels-idx1-ubyte.gz"));
    auto want = torch::from_blob(idx.data.data(), {n}, torch::kUInt8).to(torch::kInt64);
    CHECK(torch::equal(labels, want));
    CHECK(torch::equal(torch::bincount(labels), torch::full({10}, n / 10, torch::kInt64)));
    auto classes = h5::attr_strings(f, "/", "classes");
    REQUIRE(classes.size() == 10);
    CHECK(classes[9] == "Ankle boot");
    if (split == "train") {
      // The reference fixture's training file holds the first 2,048 training images, resized by PIL.
      auto ref = h5::File::open_read(test::trajectory_hdf5().string());
      CHECK(torch::equal(f.read_rows("imgs", 0, 2048), ref.read("imgs")));
      CHECK(torch::equal(labels.slice(0, 0, 2048), ref.read("labels")));
    } else {
      // Plain (not gzipped) IDX files give the same data.
      fs::create_directories(dir / "plain");
      for (auto name : {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
        std::string cmd = "gzip -dc '" + (fm / (std::string(name) + ".gz")).string() + "' > '" + (dir / "plain" / name).string() + "'";
        REQUIRE(std::system(cmd.c_str()) == 0);
      }
      auto outp = (dir / "plain.hdf5").string();
      auto rp = test::run_tool_cmd("imagenet-to-hdf5", "-q --format idx --split test -r 32 '" + (dir / "plain").string() + "' '" + outp + "'", dir);
      REQUIRE(rp.exit_code == 0);
      CHECK(torch::equal(h5::File::open_read(outp).read("imgs"), f.read("imgs")));
    }
  }
}
