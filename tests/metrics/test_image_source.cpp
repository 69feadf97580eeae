// Image folders and sample .npz files as image sources: RGB order, sizes never mixed in a batch,
// the reference's NHWC layout.
#include <opencv2/imgcodecs.hpp>

#include "libbiggan/metrics/image_source.h"
#include "tests/metrics/metrics_test_util.h"

using namespace biggan;
using namespace biggan::metrics;

TEST_CASE("image folder source: RGB, sorted, one size per batch") {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "class_b");
  // Pure red 4×4 PNGs (OpenCV writes BGR), then a 6×5 one in a subfolder, then a text file to skip.
  cv::Mat red(4, 4, CV_8UC3, cv::Scalar(0, 0, 255));
  cv::imwrite((dir / "a1.png").string(), red);
  cv::imwrite((dir / "a2.png").string(), red);
  cv::imwrite((dir / "class_b" / "b1.png").string(), cv::Mat(6, 5, CV_8UC3, cv::Scalar(255, 0, 0)));
  std::ofstream(dir / "notes.txt") << "not an image";
  auto src = open_image_source(dir.path.string());
  CHECK(src->size_hint() == 3);
  torch::Tensor im, lb;
  REQUIRE(src->next(10, im, lb));
  CHECK(im.sizes() == torch::IntArrayRef({2, 3, 4, 4}));  // stops before the differently sized image
  CHECK(im.select(1, 0).eq(1.f).all().item<bool>());      // red channel first, 255 -> 1
  CHECK(im.select(1, 2).eq(-1.f).all().item<bool>());
  REQUIRE(src->next(10, im, lb));
  CHECK(im.sizes() == torch::IntArrayRef({1, 3, 6, 5}));
  CHECK(im.select(1, 2).eq(1.f).all().item<bool>());  // blue
  CHECK_FALSE(src->next(10, im, lb));
  test::TempDir empty;
  REQUIRE_THROWS_WITH(open_image_source(empty.path.string()), Catch::Contains("no image files"));
}

TEST_CASE("samples .npz source: the reference's x [N, H, W, 3] uint8 and y") {
  auto x = torch::randint(0, 256, {5, 8, 6, 3}).to(torch::kUInt8);
  auto src = npz_image_source({{"x", x}, {"y", torch::arange(5)}}, "samples.npz");
  torch::Tensor im, lb;
  REQUIRE(src->next(3, im, lb));
  CHECK(im.sizes() == torch::IntArrayRef({3, 3, 8, 6}));
  CHECK(torch::equal(im, uint8_to_unit_range(x.narrow(0, 0, 3).permute({0, 3, 1, 2}))));
  CHECK(torch::equal(lb, torch::arange(3)));
  REQUIRE(src->next(3, im, lb));
  CHECK(im.size(0) == 2);
  REQUIRE_THROWS_WITH(npz_image_source({{"y", torch::arange(5)}}, "bad.npz"), Catch::Contains("bad.npz"));
}
