// Image files that must not slip through: a truncated JPEG (PIL refuses it; libjpeg would grey-fill
// it), a header claiming more pixels than PIL's decompression-bomb limit (refused before any pixel is
// allocated, with --fast-decode too), a FIFO named like an image (skipped, never opened), and a
// loader whose worker threads cannot all start (an error, never std::terminate).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <system_error>
#include <thread>

#include <opencv2/imgcodecs.hpp>

#include "libbiggan/data/batch_loader.h"
#include "libbiggan/data/image_folder.h"
#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/util/atomic_file.h"
#include "tests/fixtures.h"

using namespace biggan;
using namespace biggan::data;
namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> encoded(const std::string& ext, int w = 40, int h = 30) {
  cv::Mat img(h, w, CV_8UC3);
  cv::randu(img, 0, 255);
  std::vector<uint8_t> out;
  REQUIRE(cv::imencode(ext, img, out));
  return out;
}

void write_bytes(const fs::path& p, const std::vector<uint8_t>& b) {
  write_file_atomically(p, std::string(b.begin(), b.end()));
}

// Byte offset of the first SOFn marker's height field in a JPEG.
size_t jpeg_sof_size_offset(const std::vector<uint8_t>& b) {
  for (size_t i = 2; i + 9 < b.size(); ++i)
    if (b[i] == 0xFF && b[i + 1] >= 0xC0 && b[i + 1] <= 0xC2) return i + 5;
  FAIL("no SOF marker");
  return 0;
}

test::ToolRun run_tool(const test::TempDir& dir, const std::string& args) {
  // Under `timeout`: a reader that blocks on a FIFO must fail the test, not hang the suite.
  return test::run_tool_cmd("imagenet-to-hdf5", "--threads 1 " + args, dir, 120);
}

}  // namespace

TEST_CASE("JPEG truncation and PNG sizes are read from the bytes", "[images]") {
  auto jpg = encoded(".jpg");
  CHECK_FALSE(jpeg_is_truncated(jpg.data(), jpg.size()));
  for (double keep : {0.3, 0.6, 0.95}) {
    const size_t n = static_cast<size_t>(jpg.size() * keep);
    INFO("kept " << n << " of " << jpg.size() << " bytes");
    CHECK(jpeg_is_truncated(jpg.data(), n));
  }
  // Trailing bytes after the end-of-image marker are fine (PIL ignores them too).
  auto padded = jpg;
  padded.insert(padded.end(), 64, 0);
  CHECK_FALSE(jpeg_is_truncated(padded.data(), padded.size()));

  auto png = encoded(".png", 41, 17);
  int w = 0, h = 0;
  REQUIRE(png_dimensions(png.data(), png.size(), w, h));
  CHECK(w == 41);
  CHECK(h == 17);
  CHECK_FALSE(png_dimensions(jpg.data(), jpg.size(), w, h));
}

TEST_CASE("decode_image_file refuses truncated JPEGs, oversized headers and non-regular files", "[images]") {
  test::TempDir tmp;
  auto jpg = encoded(".jpg");
  write_bytes(tmp / "whole.jpg", jpg);
  write_bytes(tmp / "cut.jpg", std::vector<uint8_t>(jpg.begin(), jpg.begin() + jpg.size() * 2 / 3));
  auto bomb = jpg;
  const size_t at = jpeg_sof_size_offset(bomb);
  bomb[at] = bomb[at + 2] = 0xFD;  // 65000 = 0xFDE8
  bomb[at + 1] = bomb[at + 3] = 0xE8;
  write_bytes(tmp / "bomb.jpg", bomb);
  auto png = encoded(".png");
  png[16] = png[20] = 0x00;
  png[17] = png[21] = 0x00;
  png[18] = png[22] = 0xFD;
  png[19] = png[23] = 0xE8;
  write_bytes(tmp / "bomb.png", png);
  REQUIRE(mkfifo((tmp / "pipe.jpg").c_str(), 0600) == 0);

  std::string why;
  CHECK(!decode_image_file(tmp / "whole.jpg", why).empty());
  for (int min_side : {0, 8}) {
    INFO("min_side " << min_side);
    why.clear();
    CHECK(decode_image_file(tmp / "cut.jpg", why, min_side).empty());
    CHECK_THAT(why, Catch::Contains("truncated"));
    why.clear();
    CHECK(decode_image_file(tmp / "bomb.jpg", why, min_side).empty());
    CHECK_THAT(why, Catch::Contains("65000x65000") && Catch::Contains("limit"));
  }
  why.clear();
  CHECK(decode_image_file(tmp / "bomb.png", why).empty());
  CHECK_THAT(why, Catch::Contains("65000x65000"));
  why.clear();
  CHECK(decode_image_file(tmp / "pipe.jpg", why).empty());
  CHECK_THAT(why, Catch::Contains("not a regular file"));
}

TEST_CASE("imagenet-to-hdf5: a truncated JPEG is skipped (refused with --strict), a FIFO never read", "[images][tool]") {
  test::TempDir tmp;
  const auto root = tmp / "photos";
  fs::create_directories(root / "cat");
  fs::create_directories(root / "dog");
  for (int i = 0; i < 3; ++i) {
    write_bytes(root / "cat" / ("c" + std::to_string(i) + ".jpg"), encoded(".jpg", 50 + i, 40));
    write_bytes(root / "dog" / ("d" + std::to_string(i) + ".png"), encoded(".png", 45, 60 + i));
  }
  auto jpg = encoded(".jpg", 64, 48);
  write_bytes(root / "dog" / "cut.jpg", std::vector<uint8_t>(jpg.begin(), jpg.begin() + jpg.size() / 2));
  REQUIRE(mkfifo((root / "cat" / "fifo.jpg").c_str(), 0600) == 0);

  const auto out = tmp / "out.hdf5";
  auto r = run_tool(tmp, "-r 32 " + root.string() + " " + out.string());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("cut.jpg") && Catch::Contains("truncated"));
  auto f = h5::File::open_read(out.string());
  CHECK(f.read("labels").size(0) == 6);  // 3 + 3: the cut JPEG skipped, the FIFO not listed

  const auto strict_out = tmp / "strict.hdf5";
  r = run_tool(tmp, "-r 32 --strict " + root.string() + " " + strict_out.string());
  INFO(r.err);
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, Catch::Contains("cut.jpg") && Catch::Contains("truncated"));
  CHECK(!fs::exists(strict_out));
}

TEST_CASE("BatchLoader: a worker thread that cannot start is an error, not std::terminate", "[images][threads]") {
  test::TempDir tmp;
  const auto path = tmp / "tiny.hdf5";
  {
    auto f = h5::File::create(path.string());
    f.write("imgs", torch::zeros({4, 3, 8, 8}, torch::kUInt8));
    f.write("labels", torch::zeros({4}, torch::kInt64));
    f.close();
  }
  auto data = std::make_shared<const HDF5Dataset>(path.string());
  // The OS's refusal (pthread_create's EAGAIN, thrown by std::thread as std::system_error) is
  // stood in for by a starter that refuses the second worker after the first has started. In a
  // child process, so that a std::terminate (a started worker left joinable) cannot end the suite:
  // exit 0 if the constructor throws std::system_error cleanly, 3 if it does not throw.
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int started = 0;
    try {
      LoaderOptions lo;
      lo.batch_size = 2;
      lo.threads = 4;
      lo.start_thread = [&started](std::function<void()> body) {
        if (started == 1) throw std::system_error(EAGAIN, std::generic_category(), "thread start refused");
        ++started;
        return std::thread(std::move(body));
      };
      BatchLoader loader(data, torch::arange(4, torch::kInt64), lo);
    } catch (const std::system_error&) {
      _exit(started == 1 ? 0 : 6);
    }
    _exit(3);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  INFO("child status " << status << (WIFSIGNALED(status) ? " (killed by a signal: std::terminate?)" : ""));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("BatchLoader: a given starter starts every worker, and batches come in order", "[images][threads]") {
  test::TempDir tmp;
  const auto path = tmp / "tiny.hdf5";
  {
    auto f = h5::File::create(path.string());
    f.write("imgs", torch::arange(4 * 3 * 8 * 8).remainder(256).to(torch::kUInt8).view({4, 3, 8, 8}));
    f.write("labels", torch::arange(4, torch::kInt64));
    f.close();
  }
  auto data = std::make_shared<const HDF5Dataset>(path.string());
  int started = 0;
  LoaderOptions lo;
  lo.batch_size = 1;
  lo.threads = 3;
  lo.start_thread = [&started](std::function<void()> body) {
    ++started;
    return std::thread(std::move(body));
  };
  BatchLoader loader(data, torch::arange(4, torch::kInt64), lo);
  CHECK(started == 3);
  std::vector<int64_t> labels;
  while (auto b = loader.next()) labels.push_back(b->y.item<int64_t>());
  CHECK(labels == std::vector<int64_t>{0, 1, 2, 3});
}
