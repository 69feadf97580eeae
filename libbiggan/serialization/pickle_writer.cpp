#include "libbiggan/serialization/pickle_writer.h"

#include <cstring>

#include "libbiggan/serialization/pickle.h"
#include "libbiggan/util/error.h"

namespace biggan::pickle {
namespace {

bool valid_utf8(const std::string& s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    auto c = uint8_t(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > n) return false;
    for (size_t k = 1; k < len; ++k)
      if ((uint8_t(s[i + k]) & 0xC0) != 0x80) return false;
    i += len;
  }
  return true;
}

bool all_tensor_values(const c10::impl::GenericDict& d) {
  if (d.size() == 0) return false;
  for (const auto& kv : d)
    if (!kv.value().isTensor()) return false;
  return true;
}

}  // namespace

std::string Pickler::dump(const c10::IValue& value) {
  out_.clear();
  storages_.clear();
  out_ += "\x80\x02";  // PROTO 2, torch.save's default
  put(value);
  out_ += '.';
  return out_;
}

void Pickler::put_int(int64_t v) {
  if (v >= 0 && v < 256) {
    out_ += 'K';
    out_ += char(v);
  } else if (v >= 0 && v < 65536) {
    out_ += 'M';
    out_ += char(v & 0xFF);
    out_ += char(v >> 8);
  } else if (v >= INT32_MIN && v <= INT32_MAX) {
    out_ += 'J';
    auto u = uint32_t(int32_t(v));
    for (int i = 0; i < 4; ++i) out_ += char((u >> (8 * i)) & 0xFF);
  } else {  // LONG1, 8 bytes of two's complement
    out_ += "\x8a\x08";
    auto u = uint64_t(v);
    for (int i = 0; i < 8; ++i) out_ += char((u >> (8 * i)) & 0xFF);
  }
}

void Pickler::put_str(const std::string& s) {
  if (!valid_utf8(s)) throw Error("torch file: cannot write a string that is not valid UTF-8");
  if (s.size() > 0xFFFFFFFFu) throw Error("torch file: string too long");
  out_ += 'X';
  auto n = uint32_t(s.size());
  for (int i = 0; i < 4; ++i) out_ += char((n >> (8 * i)) & 0xFF);
  out_ += s;
}

void Pickler::put_global(const char* module, const char* name) {
  out_ += 'c';
  out_ += module;
  out_ += '\n';
  out_ += name;
  out_ += '\n';
}

void Pickler::put_tensor(const torch::Tensor& t0) {
  if (!t0.defined()) throw Error("torch file: cannot write an undefined tensor");
  if (t0.layout() != torch::kStrided || t0.is_quantized() || t0.is_mkldnn())
    throw Error("torch file: only dense (strided) tensors can be written");
  torch::Tensor t = t0;
  if (!t.device().is_cpu()) {
    t = t.to(torch::kCPU);
    keep_alive_.push_back(t);
  }
  const auto& storage = t.storage();
  auto dtype = t.scalar_type();
  const std::string cls = storage_class(dtype);  // throws for unsupported dtypes
  int64_t es = int64_t(t.element_size());
  if (storage.nbytes() % size_t(es)) throw Error("torch file: storage size is not a multiple of the element size");
  int64_t numel = int64_t(storage.nbytes()) / es;
  std::string key;
  for (auto& r : storages_) {
    if (r.storage.unsafeGetStorageImpl() == storage.unsafeGetStorageImpl()) {
      if (r.dtype != dtype) throw Error("torch file: tensors of different dtypes share one storage");
      key = r.key;
    }
  }
  if (key.empty()) {
    key = std::to_string(storages_.size());
    storages_.push_back({key, storage, dtype});
  }
  put_global("torch._utils", "_rebuild_tensor_v2");
  out_ += '(';
  {  // persistent id
    out_ += '(';
    put_str("storage");
    put_global("torch", cls.c_str());
    put_str(key);
    put_str("cpu");
    put_int(numel);
    out_ += 't';
    out_ += 'Q';
  }
  put_int(t.storage_offset());
  put(c10::ivalue::Tuple::create(std::vector<c10::IValue>(t.sizes().begin(), t.sizes().end())));
  put(c10::ivalue::Tuple::create(std::vector<c10::IValue>(t.strides().begin(), t.strides().end())));
  out_ += '\x89';  // requires_grad=False
  put_global("collections", "OrderedDict");
  out_ += ")R";  // backward hooks: OrderedDict()
  out_ += "tR";
}

void Pickler::put(const c10::IValue& v) {
  // Containers that contain themselves would recurse forever; real data is never this deep.
  struct Depth {
    int& d;
    explicit Depth(int& d) : d(++d) {}
    ~Depth() { --d; }
  } depth(depth_);
  if (depth_ > 256) throw Error("torch file: values nested deeper than 256 levels (or a container contains itself)");
  if (v.isNone()) {
    out_ += 'N';
  } else if (v.isBool()) {
    out_ += v.toBool() ? '\x88' : '\x89';
  } else if (v.isInt()) {
    put_int(v.toInt());
  } else if (v.isDouble()) {
    out_ += 'G';
    double d = v.toDouble();
    uint64_t u;
    std::memcpy(&u, &d, 8);
    for (int i = 7; i >= 0; --i) out_ += char((u >> (8 * i)) & 0xFF);
  } else if (v.isString()) {
    put_str(v.toStringRef());
  } else if (v.isTensor()) {
    put_tensor(v.toTensor());
  } else if (v.isTuple()) {
    const auto& xs = v.toTupleRef().elements();
    if (xs.empty()) {
      out_ += ')';
    } else if (xs.size() <= 3) {
      for (auto& x : xs) put(x);
      out_ += char(0x84 + xs.size());
    } else {
      out_ += '(';
      for (auto& x : xs) put(x);
      out_ += 't';
    }
  } else if (v.isList()) {
    out_ += ']';
    auto xs = v.toListRef();
    for (size_t i = 0; i < xs.size(); i += 1000) {
      out_ += '(';
      for (size_t k = i; k < std::min(xs.size(), i + 1000); ++k) put(xs[k]);
      out_ += 'e';
    }
  } else if (v.isGenericDict()) {
    auto d = v.toGenericDict();
    if (all_tensor_values(d)) {
      put_global("collections", "OrderedDict");
      out_ += ")R";
    } else {
      out_ += '}';
    }
    size_t i = 0;
    for (const auto& kv : d) {
      if (!(kv.key().isString() || kv.key().isInt() || kv.key().isBool() || kv.key().isDouble() || kv.key().isNone()))
        throw Error(std::string("torch file: cannot write a dict key of type ") + kv.key().tagKind());
      if (i % 1000 == 0) out_ += '(';
      put(kv.key());
      put(kv.value());
      if (++i % 1000 == 0) out_ += 'u';
    }
    if (i % 1000 != 0) out_ += 'u';
  } else {
    throw Error(std::string("torch file: cannot write a value of type ") + v.tagKind());
  }
}

}  // namespace biggan::pickle
