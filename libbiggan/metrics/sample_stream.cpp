#include "libbiggan/metrics/sample_stream.h"

#include <cstring>
#include <istream>
#include <msgpack.hpp>
#include <ostream>

#include "libbiggan/util/error.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the sample stream stores little-endian data");

namespace biggan::metrics {
namespace {

constexpr const char* kFormat = "biggan-samples";
constexpr int64_t kVersion = 1;
// The most images (and so labels) one frame may hold; the writer splits nothing, callers send batches.
constexpr uint32_t kMaxFrameImages = 1 << 20;

int64_t element_size(const std::string& dtype) { return dtype == "float32" ? 4 : 1; }

// Strings and binaries stay in the unpacker's buffer (no copy), as msgpack does by default.
bool reference_buffer(msgpack::type::object_type, std::size_t, void*) { return true; }

using Packer = msgpack::packer<msgpack::sbuffer>;
void pack_str(Packer& p, const std::string& s) {
  p.pack_str(static_cast<uint32_t>(s.size()));
  p.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

// A decoded frame: a msgpack map, looked up by key, with errors that name stream and frame.
struct Frame {
  const msgpack::object& obj;
  std::string where;  // "stream: frame K"

  Error error(const std::string& what) const { return Error(one_line(where + ": " + what)); }
  const msgpack::object* find(const char* key) const {
    for (uint32_t i = 0; i < obj.via.map.size; ++i) {
      auto& k = obj.via.map.ptr[i].key;
      if (k.type == msgpack::type::STR && k.via.str.size == std::strlen(key) &&
          std::memcmp(k.via.str.ptr, key, k.via.str.size) == 0)
        return &obj.via.map.ptr[i].val;
    }
    return nullptr;
  }
  const msgpack::object& need(const char* key) const {
    auto* v = find(key);
    if (!v) throw error(std::string("missing field '") + key + "'");
    return *v;
  }
  std::string str(const char* key) const {
    auto& v = need(key);
    if (v.type != msgpack::type::STR) throw error(std::string("field '") + key + "' is not a string");
    return std::string(v.via.str.ptr, v.via.str.size);
  }
  static bool is_int(const msgpack::object& v) {
    return v.type == msgpack::type::POSITIVE_INTEGER || v.type == msgpack::type::NEGATIVE_INTEGER;
  }
  int64_t integer(const msgpack::object& v, const std::string& what) const {
    if (v.type == msgpack::type::POSITIVE_INTEGER) {
      if (v.via.u64 > static_cast<uint64_t>(INT64_MAX)) throw error(what + " is out of range");
      return static_cast<int64_t>(v.via.u64);
    }
    if (v.type == msgpack::type::NEGATIVE_INTEGER) return v.via.i64;
    throw error(what + " is not an integer");
  }
  int64_t integer(const char* key) const { return integer(need(key), std::string("field '") + key + "'"); }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
SampleStreamWriter::SampleStreamWriter(std::ostream& out, SampleStreamHeader header)
    : out_(out), header_(std::move(header)) {
  if (header_.dtype != "uint8" && header_.dtype != "float32")
    throw Error("sample stream: dtype must be uint8 or float32, not '" + header_.dtype + "'");
  if (header_.channels <= 0 || header_.height <= 0 || header_.width <= 0)
    throw Error("sample stream: the header needs positive channels, height and width");
  msgpack::sbuffer buf;
  Packer p(buf);
  p.pack_map(9);
  pack_str(p, "type"), pack_str(p, "header");
  pack_str(p, "format"), pack_str(p, kFormat);
  pack_str(p, "version"), p.pack_int64(kVersion);
  pack_str(p, "dtype"), pack_str(p, header_.dtype);
  pack_str(p, "channels"), p.pack_int64(header_.channels);
  pack_str(p, "height"), p.pack_int64(header_.height);
  pack_str(p, "width"), p.pack_int64(header_.width);
  pack_str(p, "count");
  if (header_.count >= 0) p.pack_int64(header_.count); else p.pack_nil();
  pack_str(p, "meta");
  p.pack_map(static_cast<uint32_t>(header_.meta.size()));
  for (auto& [k, v] : header_.meta) pack_str(p, k), pack_str(p, v);
  emit(std::string(buf.data(), buf.size()));
}

void SampleStreamWriter::emit(const std::string& bytes) {
  out_.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out_) throw Error("sample stream: write failed (closed pipe or full disk?)");
  ++frames_;
}

void SampleStreamWriter::write(const torch::Tensor& images_in, const torch::Tensor& labels_in) {
  if (finished_) throw Error("sample stream: write after finish()");
  auto want = header_.dtype == "float32" ? torch::kFloat32 : torch::kUInt8;
  if (images_in.scalar_type() != want)
    throw Error("sample stream: images are " + std::string(c10::toString(images_in.scalar_type())) +
                ", the header says " + header_.dtype);
  if (images_in.dim() != 4 || images_in.size(0) < 1 || images_in.size(1) != header_.channels ||
      images_in.size(2) != header_.height || images_in.size(3) != header_.width) {
    std::ostringstream os;
    os << "sample stream: images of shape " << images_in.sizes() << " do not match the header's N×"
       << header_.channels << "×" << header_.height << "×" << header_.width;
    throw Error(os.str());
  }
  const int64_t n = images_in.size(0);
  if (n > kMaxFrameImages)
    throw Error("sample stream: " + std::to_string(n) + " images in one frame, more than the " +
                std::to_string(kMaxFrameImages) + " a reader accepts: write them in batches");
  auto images = images_in.to(torch::kCPU).contiguous();
  torch::Tensor labels;
  if (labels_in.defined()) {
    if (labels_in.numel() != n) throw Error("sample stream: " + std::to_string(labels_in.numel()) +
                                            " labels for " + std::to_string(n) + " images");
    labels = labels_in.to(torch::kCPU, torch::kInt64).contiguous();
  }
  msgpack::sbuffer buf(images.nbytes() + 64 + n * 9);
  Packer p(buf);
  p.pack_map(labels.defined() ? 4 : 3);
  pack_str(p, "type"), pack_str(p, "images");
  pack_str(p, "shape");
  p.pack_array(4);
  for (int i = 0; i < 4; ++i) p.pack_int64(images.size(i));
  pack_str(p, "data");
  p.pack_bin(static_cast<uint32_t>(images.nbytes()));
  p.pack_bin_body(static_cast<const char*>(images.data_ptr()), static_cast<uint32_t>(images.nbytes()));
  if (labels.defined()) {
    pack_str(p, "labels");
    p.pack_array(static_cast<uint32_t>(n));
    auto* l = labels.data_ptr<int64_t>();
    for (int64_t i = 0; i < n; ++i) p.pack_int64(l[i]);
  }
  emit(std::string(buf.data(), buf.size()));
  images_ += n;
}

void SampleStreamWriter::finish() {
  if (finished_) return;
  msgpack::sbuffer buf;
  Packer p(buf);
  p.pack_map(3);
  pack_str(p, "type"), pack_str(p, "end");
  pack_str(p, "frames"), p.pack_int64(frames_ + 1);
  pack_str(p, "images"), p.pack_int64(images_);
  emit(std::string(buf.data(), buf.size()));
  out_.flush();
  if (!out_) throw Error("sample stream: flush failed");
  finished_ = true;
}

// ---------------------------------------------------------------------------------------------
struct SampleStreamReader::Impl {
  std::istream& in;
  msgpack::unpacker unp;
  bool eof = false;
  // msgpack allocates an array's or map's elements as soon as it reads their count, so a 5-byte
  // frame could ask for 100 GB: counts are bounded (labels: kMaxFrameImages per frame).
  explicit Impl(std::istream& i)
      : in(i),
        unp(reference_buffer, nullptr, MSGPACK_UNPACKER_INIT_BUFFER_SIZE,
            msgpack::unpack_limit(/*array=*/kMaxFrameImages, /*map=*/1 << 16, /*str=*/1 << 20,
                                  /*bin=*/0xFFFFFFFFu, /*ext=*/0, /*depth=*/8)) {}

  // The next complete msgpack object, or false at a clean end of input (nothing left over).
  // Throws std::string-described errors through `fail`.
  bool next(msgpack::object_handle& oh, const std::function<Error(const std::string&)>& fail) {
    for (;;) {
      try {
        if (unp.next(oh)) return true;
      } catch (const std::exception& e) {
        throw fail(std::string("not a valid msgpack frame (") + e.what() + ")");
      }
      if (eof) {
        if (unp.nonparsed_size() > 0) throw fail("the stream ends inside this frame (truncated)");
        return false;
      }
      const size_t chunk = 1 << 16;  // a pipe's buffer
      unp.reserve_buffer(chunk);
      in.read(unp.buffer(), chunk);
      auto got = in.gcount();
      unp.buffer_consumed(static_cast<size_t>(got));
      if (got == 0 || !in) eof = true;
      if (in.bad()) throw fail("read error");
    }
  }
};

SampleStreamReader::SampleStreamReader(std::istream& in, std::string name)
    : impl_(std::make_unique<Impl>(in)), name_(std::move(name)) {
  msgpack::object_handle oh;
  auto fail = [&](const std::string& what) { return Error(name_ + ": frame 0 (header): " + what); };
  if (!impl_->next(oh, fail)) throw Error(name_ + ": empty stream (no header frame, no images)");
  Frame f{oh.get(), name_ + ": frame 0 (header)"};
  if (f.obj.type != msgpack::type::MAP) throw f.error("not a header frame (expected a msgpack map)");
  if (f.find("format") == nullptr || f.str("format") != kFormat || f.str("type") != "header")
    throw f.error(std::string("not a ") + kFormat + " stream header");
  auto version = f.integer("version");
  if (version != kVersion)
    throw f.error("stream version " + std::to_string(version) + " is not supported (this reader knows " +
                  std::to_string(kVersion) + ")");
  header_.dtype = f.str("dtype");
  if (header_.dtype != "uint8" && header_.dtype != "float32")
    throw f.error("dtype '" + header_.dtype + "' is not uint8 or float32");
  header_.channels = f.integer("channels");
  header_.height = f.integer("height");
  header_.width = f.integer("width");
  if (header_.channels <= 0 || header_.height <= 0 || header_.width <= 0 || header_.channels > 4096 ||
      header_.height > 65536 || header_.width > 65536)
    throw f.error("implausible image size in the header");
  if (auto* c = f.find("count"); c && c->type != msgpack::type::NIL) header_.count = f.integer(*c, "count");
  if (auto* m = f.find("meta"); m && m->type == msgpack::type::MAP) {
    for (uint32_t i = 0; i < m->via.map.size; ++i) {
      auto& k = m->via.map.ptr[i].key;
      auto& v = m->via.map.ptr[i].val;
      if (k.type == msgpack::type::STR && v.type == msgpack::type::STR)
        header_.meta[std::string(k.via.str.ptr, k.via.str.size)] = std::string(v.via.str.ptr, v.via.str.size);
    }
  }
  frames_ = 1;
}

SampleStreamReader::~SampleStreamReader() = default;

bool SampleStreamReader::next(torch::Tensor& images, torch::Tensor& labels) {
  if (ended_) return false;
  const int64_t k = frames_;
  const std::string where = name_ + ": frame " + std::to_string(k);
  auto fail = [&](const std::string& what) { return Error(where + ": " + what); };
  msgpack::object_handle oh;
  if (!impl_->next(oh, fail))
    throw Error(name_ + ": the stream ends after frame " + std::to_string(k - 1) +
                " without an end frame (truncated: did the writer die?)");
  Frame f{oh.get(), where};
  if (f.obj.type != msgpack::type::MAP) throw f.error("not a frame (expected a msgpack map)");
  const std::string type = f.str("type");
  ++frames_;
  if (type == "end") {
    auto n = f.find("images");
    if (n && f.integer(*n, "field 'images'") != images_)
      throw f.error("the end frame counts " + std::to_string(f.integer(*n, "images")) + " images, but " +
                    std::to_string(images_) + " arrived");
    msgpack::object_handle extra;
    auto after = [&](const std::string& what) { return Error(name_ + ": after the end frame: " + what); };
    if (impl_->next(extra, after)) throw Error(name_ + ": data after the end frame (frame " + std::to_string(k) + ")");
    if (images_ == 0) throw Error(name_ + ": the stream holds no images");
    ended_ = true;
    return false;
  }
  if (type != "images") throw f.error("unknown frame type '" + type + "'");
  auto& shape = f.need("shape");
  if (shape.type != msgpack::type::ARRAY || shape.via.array.size != 4)
    throw f.error("field 'shape' is not [N, C, H, W]");
  int64_t dims[4];
  for (int i = 0; i < 4; ++i) dims[i] = f.integer(shape.via.array.ptr[i], "shape entry");
  if (dims[0] < 1 || dims[1] != header_.channels || dims[2] != header_.height || dims[3] != header_.width) {
    std::ostringstream os;
    os << "images of shape [" << dims[0] << ", " << dims[1] << ", " << dims[2] << ", " << dims[3]
       << "] do not match the header's [N>=1, " << header_.channels << ", " << header_.height << ", "
       << header_.width << "]";
    throw f.error(os.str());
  }
  auto& data = f.need("data");
  if (data.type != msgpack::type::BIN) throw f.error("field 'data' is not binary");
  // The header bounds C, H and W (one image is at most 2^46 bytes), but N is the frame's own: it is
  // checked against the data actually present before anything is multiplied by it or allocated.
  const int64_t image_bytes = dims[1] * dims[2] * dims[3] * element_size(header_.dtype);
  const int64_t have = static_cast<int64_t>(data.via.bin.size);
  if (dims[0] > have / image_bytes || dims[0] * image_bytes != have)
    throw f.error("data has " + std::to_string(have) + " bytes, but the shape [" + std::to_string(dims[0]) + ", " +
                  std::to_string(dims[1]) + ", " + std::to_string(dims[2]) + ", " + std::to_string(dims[3]) +
                  "] of " + header_.dtype + " needs " +
                  (dims[0] > have / image_bytes ? "more" : std::to_string(dims[0] * image_bytes)));
  const int64_t want = have;
  images = torch::empty({dims[0], dims[1], dims[2], dims[3]},
                        header_.dtype == "float32" ? torch::kFloat32 : torch::kUInt8);
  std::memcpy(images.data_ptr(), data.via.bin.ptr, static_cast<size_t>(want));
  labels = torch::Tensor();
  if (auto* l = f.find("labels"); l && l->type != msgpack::type::NIL) {
    labels = torch::empty({dims[0]}, torch::kInt64);
    auto* out = labels.data_ptr<int64_t>();
    if (l->type == msgpack::type::ARRAY) {
      if (l->via.array.size != dims[0])
        throw f.error(std::to_string(l->via.array.size) + " labels for " + std::to_string(dims[0]) + " images");
      for (int64_t i = 0; i < dims[0]; ++i) out[i] = f.integer(l->via.array.ptr[i], "label");
    } else if (l->type == msgpack::type::BIN) {
      if (static_cast<int64_t>(l->via.bin.size) != dims[0] * 8)
        throw f.error("binary labels need " + std::to_string(dims[0] * 8) + " bytes (int64 each)");
      std::memcpy(out, l->via.bin.ptr, static_cast<size_t>(dims[0] * 8));
    } else {
      throw f.error("field 'labels' is neither an array nor int64 binary");
    }
  }
  images_ += dims[0];
  return true;
}

torch::Tensor quantize_like_reference(const torch::Tensor& images) {
  return (255.0 * (images.to(torch::kFloat32).clamp(-1, 1) + 1) / 2).to(torch::kUInt8);
}

}  // namespace biggan::metrics
