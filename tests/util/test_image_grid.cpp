#include <catch2/catch.hpp>

#include <fstream>

#include "libbiggan/util/error.h"
#include "libbiggan/util/image_grid.h"
#include "tests/fixtures.h"

using namespace biggan;

namespace {
int px(const torch::Tensor& rgb, int64_t y, int64_t x, int c) { return rgb.index({y, x, c}).item<int>(); }
}  // namespace

TEST_CASE("make_grid lays images out as torchvision's save_image") {
  // 5 images of 4×3 (H×W), each a constant value, nrow 2 -> 3 rows × 2 cols, padding 2.
  auto imgs = torch::zeros({5, 3, 4, 3});
  for (int k = 0; k < 5; ++k) imgs[k].fill_(-1.0 + 0.5 * k);  // -1, -0.5, 0, 0.5, 1
  GridOptions o;
  o.nrow = 2;
  auto g = make_grid(imgs, o);
  // Size: H' = (4+2)*3 + 2 = 20, W' = (3+2)*2 + 2 = 12.
  REQUIRE(g.sizes() == torch::IntArrayRef({20, 12, 3}));
  REQUIRE(g.scalar_type() == torch::kUInt8);
  // Min-max normalisation over the batch: -1 -> 0, 1 -> 255; -0.5 -> 0.25 -> uint8(63.75+0.5) = 64.
  CHECK(px(g, 0, 0, 0) == 0);            // border padding (pad_value 0)
  CHECK(px(g, 2, 2, 0) == 0);            // image 0 top-left: -1
  CHECK(px(g, 2, 7, 1) == 64);           // image 1 (row 0, col 1) starts at x = 2 + 5
  CHECK(px(g, 2, 6, 1) == 0);            // the padding column between them
  CHECK(px(g, 8, 2, 2) == 128);          // image 2 (row 1, col 0): 0 -> 0.5 -> 128
  CHECK(px(g, 8 + 3, 7 + 2, 0) == 191);  // image 3 last pixel: 0.75 -> 191.75 -> 191
  CHECK(px(g, 14, 2, 0) == 255);         // image 4 (row 2, col 0)
  CHECK(px(g, 14, 7, 0) == 0);           // the empty cell stays padding
}

TEST_CASE("make_grid: fixed range, gray input, one image, errors") {
  GridOptions o;
  o.normalize = GridOptions::Normalize::FixedRange;  // [-1, 1]
  auto imgs = torch::full({2, 1, 2, 2}, 0.0);         // gray, repeated to RGB
  imgs[1].fill_(2.0);                                 // clamped to 1
  auto g = make_grid(imgs, o);
  REQUIRE(g.sizes() == torch::IntArrayRef({6, 10, 3}));
  CHECK(px(g, 2, 2, 0) == 128);
  CHECK(px(g, 2, 2, 2) == 128);
  CHECK(px(g, 2, 6, 1) == 255);
  // One image: no padding at all (torchvision returns the image itself).
  auto one = make_grid(torch::zeros({1, 3, 5, 7}), o);
  CHECK(one.sizes() == torch::IntArrayRef({5, 7, 3}));
  CHECK_THROWS_AS(make_grid(torch::zeros({3, 4, 4}), o), Error);
  CHECK_THROWS_AS(make_grid(torch::zeros({2, 2, 4, 4}), o), Error);
}

TEST_CASE("save_image_grid writes a PNG that reads back pixel-exact") {
  test::TempDir dir;
  torch::manual_seed(0);
  auto imgs = torch::rand({6, 3, 8, 8}) * 2 - 1;
  GridOptions o;
  o.nrow = 3;
  auto path = dir / "sheet.png";
  save_image_grid(imgs, path, o);
  auto back = read_image_rgb(path);
  CHECK(torch::equal(back, make_grid(imgs, o)));
  // Only the PNG is left (no temp file).
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path)) (void)e, ++n;
  CHECK(n == 1);
  CHECK_THROWS_WITH(read_image_rgb(dir / "missing.png"), Catch::Contains("missing.png"));
}

TEST_CASE("make_grid matches torchvision's save_image bytes (Python oracle)") {
  test::TempDir dir;
  if (std::system("/usr/bin/python3 -c 'import torch, torchvision' >/dev/null 2>&1") != 0) {
    BIGGAN_SKIP("python3 with torch/torchvision not found: the torchvision oracle check");
    return;
  }
  torch::manual_seed(1);
  auto imgs = (torch::randn({7, 3, 5, 6}) * 0.7).clamp(-1.2, 1.2);
  GridOptions o;
  o.nrow = 3;
  save_image_grid(imgs, dir / "ours.png", o);
  // Hand the exact floats to Python as text (17 digits round-trip).
  {
    std::ofstream f(dir / "x.txt");
    f.precision(9);
    auto flat = imgs.flatten();
    for (int64_t i = 0; i < flat.numel(); ++i) f << flat[i].item<float>() << "\n";
  }
  std::string cmd = "cd " + dir.path.string() +
                    " && /usr/bin/python3 -c \"import torch, numpy as np, torchvision; torch.set_num_threads(1);"
                    " x = torch.from_numpy(np.loadtxt('x.txt', dtype=np.float32)).reshape(7,3,5,6);"
                    " torchvision.utils.save_image(x, 'ref.png', nrow=3, normalize=True)\"";
  REQUIRE(std::system(cmd.c_str()) == 0);
  auto ours = read_image_rgb(dir / "ours.png"), ref = read_image_rgb(dir / "ref.png");
  REQUIRE(ours.sizes() == ref.sizes());
  CHECK(torch::equal(ours, ref));
}
