// The msgpack sample stream: round trips, and every kind of malformed stream is a clear error that
// names the frame.
#include <msgpack.hpp>

#include "libbiggan/metrics/image_source.h"
#include "libbiggan/metrics/sample_stream.h"
#include "tests/metrics/metrics_test_util.h"

using namespace biggan;
using namespace biggan::metrics;

namespace {

std::string make_stream(const std::string& dtype, int frames, int64_t n, bool labels, bool finish = true) {
  std::ostringstream out;
  SampleStreamHeader h;
  h.dtype = dtype;
  h.height = 5;
  h.width = 4;
  h.count = frames * n;
  h.meta["generator"] = "test";
  SampleStreamWriter w(out, h);
  for (int f = 0; f < frames; ++f) {
    auto img = dtype == "uint8" ? torch::randint(0, 256, {n, 3, 5, 4}).to(torch::kUInt8)
                                : torch::rand({n, 3, 5, 4}) * 2 - 1;
    w.write(img, labels ? torch::arange(n) + f * n : torch::Tensor());
  }
  if (finish) w.finish();
  return out.str();
}

void read_all(const std::string& bytes) {
  std::istringstream in(bytes);
  SampleStreamReader r(in, "s.msgpack");
  torch::Tensor im, lb;
  while (r.next(im, lb)) {
  }
}

// Packs one msgpack map of string keys (values given as a packing callback) as a raw frame.
std::string frame(const std::function<void(msgpack::packer<msgpack::sbuffer>&)>& body) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> p(buf);
  body(p);
  return std::string(buf.data(), buf.size());
}

}  // namespace

TEST_CASE("sample stream round trip, uint8 and float32, with and without labels") {
  for (std::string dtype : {"uint8", "float32"}) {
    for (bool labels : {true, false}) {
      std::ostringstream out;
      SampleStreamHeader h;
      h.dtype = dtype;
      h.height = 6;
      h.width = 7;
      h.meta["truncation"] = "0.5";
      std::vector<torch::Tensor> sent;
      {
        SampleStreamWriter w(out, h);
        for (int64_t n : {3, 1, 5}) {
          auto img = dtype == "uint8" ? torch::randint(0, 256, {n, 3, 6, 7}).to(torch::kUInt8)
                                      : torch::randn({n, 3, 6, 7});
          sent.push_back(img);
          w.write(img, labels ? torch::full({n}, n, torch::kInt32) : torch::Tensor());
        }
        w.finish();
        CHECK(w.images_written() == 9);
      }
      std::istringstream in(out.str());
      SampleStreamReader r(in, "mem");
      CHECK(r.header().dtype == dtype);
      CHECK(r.header().height == 6);
      CHECK(r.header().width == 7);
      CHECK(r.header().meta.at("truncation") == "0.5");
      torch::Tensor im, lb;
      for (auto& s : sent) {
        REQUIRE(r.next(im, lb));
        CHECK(torch::equal(im, s));
        if (labels) CHECK(torch::equal(lb, torch::full({s.size(0)}, s.size(0), torch::kInt64)));
        else CHECK_FALSE(lb.defined());
      }
      CHECK_FALSE(r.next(im, lb));
      CHECK(r.images_read() == 9);
    }
  }
}

TEST_CASE("sample stream re-batched by the image source, uint8 mapped as the reference's loader") {
  test::TempDir dir;
  auto bytes = make_stream("uint8", 3, 4, true);
  { std::ofstream(dir / "s.msgpack", std::ios::binary) << bytes; }
  auto src = open_image_source((dir / "s.msgpack").string());
  std::istringstream in(bytes);
  SampleStreamReader r(in, "mem");
  torch::Tensor all, im, lb;
  std::vector<torch::Tensor> parts;
  while (r.next(im, lb)) parts.push_back(im);
  all = torch::cat(parts, 0);
  std::vector<torch::Tensor> got, labels;
  while (src->next(5, im, lb)) {
    CHECK(im.size(0) <= 5);
    got.push_back(im);
    labels.push_back(lb);
  }
  CHECK(got.size() == 3);  // 12 images in batches of 5, 5, 2
  CHECK(torch::equal(torch::cat(got, 0), (all.to(torch::kFloat32) / 255.f - 0.5f) * 2.f));
  CHECK(torch::equal(torch::cat(labels, 0), torch::arange(12)));
}

TEST_CASE("malformed sample streams are clear errors naming the frame") {
  auto good = make_stream("float32", 3, 2, true);
  SECTION("empty") { REQUIRE_THROWS_WITH(read_all(""), Catch::Contains("empty stream")); }
  SECTION("truncated inside a frame") {
    REQUIRE_THROWS_WITH(read_all(good.substr(0, good.size() - 150)),
                        Catch::Contains("frame 3") && Catch::Contains("truncated"));
  }
  SECTION("no end frame") {
    REQUIRE_THROWS_WITH(read_all(make_stream("uint8", 2, 2, false, false)),
                        Catch::Contains("after frame 2") && Catch::Contains("without an end frame"));
  }
  SECTION("not msgpack / not our header") {
    REQUIRE_THROWS_WITH(read_all("hello, this is not a stream"), Catch::Contains("frame 0"));
  }
  SECTION("header only, then end: no images") {
    std::ostringstream out;
    SampleStreamHeader h;
    h.height = h.width = 2;
    SampleStreamWriter w(out, h);
    w.finish();
    REQUIRE_THROWS_WITH(read_all(out.str()), Catch::Contains("no images"));
  }
  // Hand-made bad frames after a valid header.
  std::ostringstream hdr;
  SampleStreamHeader h;
  h.dtype = "uint8";
  h.height = 2;
  h.width = 2;
  { SampleStreamWriter w(hdr, h); }
  auto images_frame = [](std::vector<int64_t> shape, size_t bytes) {
    return frame([&](auto& p) {
      p.pack_map(3);
      p.pack(std::string("type")), p.pack(std::string("images"));
      p.pack(std::string("shape")), p.pack(shape);
      std::string data(bytes, '\x01');
      p.pack(std::string("data"));
      p.pack_bin(static_cast<uint32_t>(bytes));
      p.pack_bin_body(data.data(), static_cast<uint32_t>(bytes));
    });
  };
  SECTION("wrong shape") {
    REQUIRE_THROWS_WITH(read_all(hdr.str() + images_frame({1, 3, 2, 2}, 12) + images_frame({1, 3, 4, 2}, 24)),
                        Catch::Contains("frame 2") && Catch::Contains("do not match"));
  }
  SECTION("data size disagrees with the shape") {
    REQUIRE_THROWS_WITH(read_all(hdr.str() + images_frame({2, 3, 2, 2}, 20)),
                        Catch::Contains("frame 1") && Catch::Contains("bytes"));
  }
  SECTION("a frame count N whose byte size overflows (it used to wrap to the data size)") {
    // (2^62 + 1) * 12 bytes wraps to 12 in 64 bits: refused from the data present, no allocation.
    const int64_t n = (int64_t(1) << 62) + 1;
    REQUIRE_THROWS_WITH(read_all(hdr.str() + images_frame({n, 3, 2, 2}, 12)),
                        Catch::Contains("frame 1") && Catch::Contains("data has 12 bytes") &&
                            Catch::Contains("needs more"));
  }
  SECTION("a 5-byte frame declaring a 4-billion-element array is refused before allocation") {
    REQUIRE_THROWS_WITH(read_all(hdr.str() + std::string("\xdd\xff\xff\xff\xff", 5)),
                        Catch::Contains("frame 1") && Catch::Contains("array size overflow"));
  }
  SECTION("unknown frame type") {
    auto bad = frame([](auto& p) {
      p.pack_map(1);
      p.pack(std::string("type")), p.pack(std::string("video"));
    });
    REQUIRE_THROWS_WITH(read_all(hdr.str() + bad), Catch::Contains("frame 1") && Catch::Contains("video"));
  }
  SECTION("a frame type with a newline is named on one line (fuzzer finding)") {
    auto bad = frame([](auto& p) {
      p.pack_map(1);
      p.pack(std::string("type")), p.pack(std::string("vi\ndeo"));
    });
    REQUIRE_THROWS_WITH(read_all(hdr.str() + bad), Catch::Contains("'vi\\ndeo'") && !Catch::Contains("\n"));
  }
  SECTION("a frame that is not a map") {
    REQUIRE_THROWS_WITH(read_all(hdr.str() + frame([](auto& p) { p.pack(42); })), Catch::Contains("frame 1"));
  }
  SECTION("writer refuses images that disagree with its header") {
    std::ostringstream out;
    SampleStreamWriter w(out, h);
    REQUIRE_THROWS_WITH(w.write(torch::zeros({1, 3, 2, 2})), Catch::Contains("header says uint8"));
    REQUIRE_THROWS_WITH(w.write(torch::zeros({1, 3, 3, 2}, torch::kUInt8)), Catch::Contains("do not match"));
  }
  SECTION("writer refuses a frame larger than readers accept") {
    std::ostringstream out;
    SampleStreamHeader tiny;
    tiny.channels = tiny.height = tiny.width = 1;
    SampleStreamWriter w(out, tiny);
    REQUIRE_THROWS_WITH(w.write(torch::zeros({(1 << 20) + 1, 1, 1, 1}, torch::kUInt8)),
                        Catch::Contains("1048577 images in one frame"));
    w.write(torch::zeros({1 << 20, 1, 1, 1}, torch::kUInt8), torch::zeros({1 << 20}, torch::kInt64));
    w.finish();
    std::istringstream in(out.str());
    SampleStreamReader r(in, "big");
    torch::Tensor im, lb;
    REQUIRE(r.next(im, lb));
    CHECK(lb.numel() == (1 << 20));
  }
}

TEST_CASE("quantize_like_reference truncates as np.uint8(255 (x+1)/2)") {
  auto x = torch::tensor({-1.f, -0.999f, 0.f, 0.5f, 1.f, 1.5f});
  auto q = quantize_like_reference(x);
  CHECK(torch::equal(q, torch::tensor({0, 0, 127, 191, 255, 255}, torch::kUInt8)));
}
