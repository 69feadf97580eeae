// Writing torch files: C++ round trips (every dtype, views, non-contiguous tensors, nested
// containers), and Python's torch.load as the oracle in both directions.
#include <catch2/catch.hpp>
#include <iostream>
#include <sstream>

#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/serialization/zip_archive.h"
#include "libbiggan/util/error.h"
#include "tests/fixtures.h"
#include "tests/serialization/python_oracle.h"

using namespace biggan;
namespace tf = biggan::torchfile;

namespace {

std::string dtype_name(c10::ScalarType t) {
  switch (t) {
    case c10::kFloat: return "float32";
    case c10::kDouble: return "float64";
    case c10::kHalf: return "float16";
    case c10::kBFloat16: return "bfloat16";
    case c10::kLong: return "int64";
    case c10::kInt: return "int32";
    case c10::kShort: return "int16";
    case c10::kChar: return "int8";
    case c10::kByte: return "uint8";
    case c10::kBool: return "bool";
    default: return c10::toString(t);
  }
}

// The same checksum as the Python side computes: position-weighted sum of the raw bytes.
int64_t checksum(const torch::Tensor& t0) {
  auto b = t0.contiguous().reshape(-1);
  if (b.scalar_type() == torch::kBool) b = b.to(torch::kUInt8);
  b = b.view(torch::kUInt8).to(torch::kInt64);
  auto w = torch::arange(b.numel(), torch::kInt64).remainder(251) + 1;
  return (b * w).sum().item<int64_t>();
}

// "path dtype [shape] checksum" for every tensor in a nested value, in traversal order.
void describe(const c10::IValue& v, const std::string& path, std::vector<std::string>& out) {
  if (v.isTensor()) {
    const auto& t = v.toTensor();
    std::ostringstream s;
    s << path << " " << dtype_name(t.scalar_type()) << " [";
    for (int64_t i = 0; i < t.dim(); ++i) s << (i ? ", " : "") << t.size(i);
    s << "] " << checksum(t);
    out.push_back(s.str());
  } else if (v.isGenericDict()) {
    for (const auto& kv : v.toGenericDict()) {
      std::string k = kv.key().isString() ? kv.key().toStringRef() : std::to_string(kv.key().toInt());
      describe(kv.value(), path + "/" + k, out);
    }
  } else if (v.isList()) {
    auto xs = v.toListRef();
    for (size_t i = 0; i < xs.size(); ++i) describe(xs[i], path + "/" + std::to_string(i), out);
  } else if (v.isTuple()) {
    const auto& xs = v.toTupleRef().elements();
    for (size_t i = 0; i < xs.size(); ++i) describe(xs[i], path + "/" + std::to_string(i), out);
  }
}

const char* kDescribePy = R"PY(
import sys, collections
def cks(t):
    b = t.detach().contiguous().reshape(-1)
    if b.dtype == torch.bool: b = b.to(torch.uint8)
    b = b.view(torch.uint8).to(torch.int64)
    w = torch.arange(b.numel(), dtype=torch.int64) % 251 + 1
    return int((b * w).sum())
def describe(v, path, out):
    if isinstance(v, torch.Tensor):
        out.append("%s %s %s %d" % (path, str(v.dtype).replace("torch.", ""), list(v.shape), cks(v)))
    elif isinstance(v, dict):
        for k, x in v.items(): describe(x, path + "/" + str(k), out)
    elif isinstance(v, (list, tuple)):
        for i, x in enumerate(v): describe(x, path + "/" + str(i), out)
)PY";

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string l;
  while (std::getline(in, l)) out.push_back(l);
  return out;
}

void require_bitwise_equal(const c10::IValue& a, const c10::IValue& b) {
  std::vector<std::string> da, db;
  describe(a, "", da);
  describe(b, "", db);
  REQUIRE(da == db);
}

// A value exercising everything the writer supports.
c10::IValue sample_value() {
  torch::manual_seed(1);
  tf::StateDict sd;
  sd.insert("f32", torch::randn({3, 4}));
  sd.insert("f64", torch::randn({5}, torch::kDouble));
  sd.insert("f16", torch::randn({2, 2}).to(torch::kHalf));
  sd.insert("bf16", torch::randn({7}).to(torch::kBFloat16));
  sd.insert("i64", torch::tensor({int64_t(1) << 40, int64_t(-5)}, torch::kLong));
  sd.insert("i32", torch::arange(-3, 3, torch::kInt));
  sd.insert("i16", torch::arange(-300, 300, 7, torch::kShort));
  sd.insert("i8", torch::arange(-128, 127, 3, torch::kChar));
  sd.insert("u8", torch::arange(0, 255, 5, torch::kByte));
  sd.insert("b", torch::tensor({true, false, true}));
  sd.insert("scalar", torch::tensor(3.5));
  sd.insert("empty", torch::empty({0, 3}));
  auto base = torch::randn({4, 6});
  sd.insert("base", base);
  sd.insert("transposed", base.t());                 // shares base's storage, non-contiguous
  sd.insert("slice", base.slice(1, 2, 5));           // offset view
  sd.insert("strided", torch::randn({10}).slice(0, 1, 10, 3));  // view of a storage not saved whole
  c10::impl::GenericDict root(c10::AnyType::get(), c10::AnyType::get());
  root.insert(std::string("model"), tf::to_ivalue(sd));
  c10::impl::GenericDict state(c10::AnyType::get(), c10::AnyType::get());
  c10::impl::GenericDict s0(c10::AnyType::get(), c10::AnyType::get());
  s0.insert(std::string("step"), torch::tensor(1.0f));
  s0.insert(std::string("exp_avg"), torch::randn({3}));
  state.insert(int64_t(0), s0);
  root.insert(std::string("state"), state);
  c10::impl::GenericList list(c10::AnyType::get());
  list.push_back(int64_t(-7));
  list.push_back(int64_t(1) << 50);
  list.push_back(int64_t(-70000));
  list.push_back(0.1);
  list.push_back(std::string("héllo"));
  list.push_back(true);
  list.push_back(c10::IValue());
  list.push_back(c10::ivalue::Tuple::create({c10::IValue(0.0), c10::IValue(0.999)}));
  list.push_back(c10::ivalue::Tuple::create({c10::IValue(1), c10::IValue(2), c10::IValue(3), c10::IValue(4)}));
  root.insert(std::string("misc"), list);
  root.insert(std::string("empty_dict"), c10::impl::GenericDict(c10::AnyType::get(), c10::AnyType::get()));
  return root;
}

c10::IValue member(const c10::IValue& d, const std::string& k) { return d.toGenericDict().at(k); }

}  // namespace

TEST_CASE("save then load gives identical keys, dtypes, shapes, bits and values") {
  test::TempDir tmp;
  auto v = sample_value();
  auto path = (tmp / "value.pth").string();
  tf::save(path, v);
  auto w = tf::load(path);
  require_bitwise_equal(v, w);
  // file order is kept
  auto sd = tf::to_state_dict(member(w, "model"), "model");
  auto orig = tf::to_state_dict(member(v, "model"), "model");
  REQUIRE(sd.keys() == orig.keys());
  for (auto& item : orig) {
    INFO(item.key());
    CHECK(sd[item.key()].strides() == item.value().strides());
    CHECK(sd[item.key()].storage_offset() == item.value().storage_offset());
  }
  // views share their storage after loading, as before saving
  CHECK(sd["transposed"].storage().data() == sd["base"].storage().data());
  CHECK(sd["slice"].storage().data() == sd["base"].storage().data());
  // non-tensor values
  auto misc = member(w, "misc").toListRef();
  REQUIRE(misc.size() == 9);
  CHECK(misc[0].toInt() == -7);
  CHECK(misc[1].toInt() == (int64_t(1) << 50));
  CHECK(misc[2].toInt() == -70000);
  CHECK(misc[3].toDouble() == 0.1);
  CHECK(misc[4].toStringRef() == "héllo");
  CHECK(misc[5].toBool());
  CHECK(misc[6].isNone());
  CHECK(misc[7].toTupleRef().elements()[1].toDouble() == 0.999);
  CHECK(misc[8].toTupleRef().elements().size() == 4);
  CHECK(member(w, "state").toGenericDict().begin()->key().toInt() == 0);
  CHECK(member(w, "empty_dict").toGenericDict().size() == 0);

  // the archive has torch's layout, with 64-byte aligned storages
  zip::Reader zr(path);
  bool has_version = false;
  for (auto& e : zr.entries()) has_version = has_version || e.name == "archive/version";
  CHECK(has_version);
  CHECK(zr.find("archive/data.pkl") != nullptr);
}

TEST_CASE("save_state_dict round trips a fixture state dict and overwrites atomically") {
  test::TempDir tmp;
  auto cases = test::fixture_cases("biggan");
  REQUIRE(!cases.empty());
  for (auto& c : cases) {
    auto src = c / "init" / "G.pth";
    std::cout << "round trip of " << src.string() << std::endl;
    auto sd = tf::load_state_dict(src.string());
    auto out = (tmp / "G.pth").string();
    tf::save_state_dict(out, sd);
    tf::save_state_dict(out, sd);  // over an existing file
    auto back = tf::load_state_dict(out);
    require_bitwise_equal(tf::to_ivalue(sd), tf::to_ivalue(back));
  }
  // no temp files left behind
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(tmp.path)) { (void)e; ++files; }
  CHECK(files == 1);
}

TEST_CASE("writer refuses values torch files cannot hold, with clear errors") {
  test::TempDir tmp;
  auto path = (tmp / "bad.pth").string();
  CHECK_THROWS_WITH(tf::save(path, torch::randn({2}).to(torch::kComplexFloat)), Catch::Contains("dtype"));
  CHECK_THROWS_WITH(tf::save(path, std::string("\xff\xfe")), Catch::Contains("UTF-8"));
  CHECK_THROWS_WITH(tf::save(path, c10::IValue(torch::Tensor())), Catch::Contains("undefined"));
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("Python's torch.load reads our files and sees the same values") {
  if (!test::python_has("torch")) {
    BIGGAN_SKIP("/usr/bin/python3 with torch not found: the Python oracle check");
    return;
  }
  test::TempDir tmp;
  auto v = sample_value();
  auto path = (tmp / "ours.pth").string();
  tf::save(path, v);
  std::string script = std::string(kDescribePy) + R"PY(
obj = torch.load(sys.argv[1])
m = obj["model"]
assert type(m) is collections.OrderedDict, type(m)
assert type(obj) is dict
assert m["transposed"].storage().data_ptr() == m["base"].storage().data_ptr()
assert not m["transposed"].is_contiguous()
assert obj["misc"][:7] == [-7, 1 << 50, -70000, 0.1, "h\u00e9llo", True, None], obj["misc"]
assert obj["misc"][7] == (0.0, 0.999) and obj["misc"][8] == (1, 2, 3, 4)
assert obj["state"][0]["step"].item() == 1.0
assert obj["empty_dict"] == {}
out = []
describe(obj, "", out)
print("\n".join(out))
)PY";
  int rc = 0;
  auto py = test::run_python(tmp, script, path, &rc);
  INFO(py);
  REQUIRE(rc == 0);
  std::vector<std::string> ours;
  describe(v, "", ours);
  CHECK(lines(py) == ours);
}

TEST_CASE("we read what Python's torch.save writes, zip and legacy, with numpy scalars and views") {
  if (!test::python_has("torch") || !test::python_has("numpy")) {
    BIGGAN_SKIP("/usr/bin/python3 with torch and numpy not found: the Python oracle check");
    return;
  }
  test::TempDir tmp;
  std::string script = std::string(kDescribePy) + R"PY(
import numpy as np
torch.manual_seed(0)
base = torch.randn(5, 6)
sd = collections.OrderedDict()
for name, t in [("f32", torch.randn(3, 4)), ("f64", torch.randn(4, dtype=torch.float64)),
                ("f16", torch.randn(6).half()), ("bf16", torch.randn(6).bfloat16()),
                ("i64", torch.arange(-4, 4)), ("i32", torch.arange(5, dtype=torch.int32)),
                ("i16", torch.arange(5, dtype=torch.int16)), ("i8", torch.arange(-5, 5, dtype=torch.int8)),
                ("u8", torch.arange(250, 256, dtype=torch.uint8)), ("b", torch.tensor([True, False])),
                ("base", base), ("t", base.t()), ("sl", base[1:3, 2:5]), ("scalar", torch.tensor(2.5))]:
    sd[name] = t
obj = {"sd": sd, "best_FID": np.float64(12.5), "best_IS": np.float32(3.25), "n": np.int64(-3),
       "flag": np.bool_(True), "cfg": {"lr": 1e-4, "betas": (0.0, 0.999), "name": "x", "none": None},
       "step": 7, "state": {0: {"step": torch.tensor(1.0), "exp_avg": torch.ones(2)}}, "bytes": b"\x00\xff"}
torch.save(obj, sys.argv[1])
torch.save(obj, sys.argv[2], _use_new_zipfile_serialization=False)
torch.save(obj, sys.argv[3], pickle_protocol=4)
out = []
describe(obj, "", out)
print("\n".join(out))
)PY";
  auto zip_path = (tmp / "py_zip.pth").string(), legacy_path = (tmp / "py_legacy.pth").string(),
       p4_path = (tmp / "py_p4.pth").string();
  int rc = 0;
  auto py = test::run_python(tmp, script, zip_path + " " + legacy_path + " " + p4_path, &rc);
  INFO(py);
  REQUIRE(rc == 0);
  for (auto& path : {zip_path, legacy_path, p4_path}) {
    std::cout << "reading Python-written " << path << std::endl;
    auto v = tf::load(path);
    std::vector<std::string> ours;
    describe(v, "", ours);
    CHECK(ours == lines(py));
    CHECK(member(v, "best_FID").toDouble() == 12.5);
    CHECK(member(v, "best_IS").toDouble() == 3.25);
    CHECK(member(v, "n").toInt() == -3);
    CHECK(member(v, "flag").toBool());
    CHECK(member(v, "step").toInt() == 7);
    CHECK(member(v, "bytes").toStringRef() == std::string("\x00\xff", 2));
    CHECK(member(member(v, "cfg"), "lr").toDouble() == 1e-4);
    auto sd = tf::to_state_dict(member(v, "sd"), "sd");
    CHECK(sd["t"].storage().data() == sd["base"].storage().data());
    CHECK(sd["sl"].storage_offset() == 8);
  }
}

// Hugging Face's pytorch-pretrained-BigGAN saves its BN tables as a list of numpy arrays.
TEST_CASE("numpy arrays pickled in a torch file read as tensors of their dtype, shape and values") {
  if (!test::python_has("torch") || !test::python_has("numpy")) {
    BIGGAN_SKIP("/usr/bin/python3 with torch and numpy not found: the Python oracle check");
    return;
  }
  test::TempDir tmp;
  const std::string script = R"PY(
import sys, torch, numpy as np
rng = np.random.default_rng(0)
a = rng.standard_normal((2, 3)).astype(np.float32)
arrays = [a, np.asfortranarray(rng.standard_normal((3, 4))), rng.standard_normal(5).astype('>f4'),
          np.array([True, False, True]), np.arange(250, 256, dtype=np.uint8), np.arange(-3, 3, dtype=np.int16),
          np.arange(-2, 2, dtype=np.int64), rng.standard_normal(4).astype(np.float16), np.zeros((0, 4), np.float32),
          np.array(3.5), a]
torch.save(arrays, sys.argv[1])
torch.save(arrays, sys.argv[2], _use_new_zipfile_serialization=False)
torch.save(arrays, sys.argv[3], pickle_protocol=4)
torch.save([torch.from_numpy(x.astype(x.dtype.newbyteorder('='), order='C')) for x in arrays], sys.argv[4])
torch.save([np.array([1, 'a'], dtype=object)], sys.argv[5])
)PY";
  const auto path = [&](const char* name) { return (tmp / name).string(); };
  int rc = 0;
  const auto py = test::run_python(tmp, script,
                                   path("zip.bin") + " " + path("legacy.bin") + " " + path("p4.bin") + " " +
                                       path("tensors.pth") + " " + path("objects.bin"),
                                   &rc);
  INFO(py);
  REQUIRE(rc == 0);
  const auto want = tf::load(path("tensors.pth")).toList();
  for (const char* name : {"zip.bin", "legacy.bin", "p4.bin"}) {
    INFO(name);
    const auto got = tf::load(path(name)).toList();
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      INFO("array " << i);
      REQUIRE(got.get(i).isTensor());
      const auto g = got.get(i).toTensor(), w = want.get(i).toTensor();
      CHECK(g.scalar_type() == w.scalar_type());
      CHECK(g.sizes() == w.sizes());
      CHECK(torch::equal(g, w));
    }
    // The same array twice (the pickle's memo): one tensor.
    CHECK(got.get(0).toTensor().data_ptr() == got.get(got.size() - 1).toTensor().data_ptr());
  }
  CHECK_THROWS_WITH(tf::load(path("objects.bin")),
                    Catch::StartsWith(path("objects.bin")) && Catch::Contains("arrays of Python objects are refused"));
}

TEST_CASE("zip64 archives (as written past 4 GiB) read back here, in Python's zipfile and torch.load") {
  test::TempDir tmp;
  auto path = (tmp / "z64.pth").string();
  auto t = torch::arange(1000, torch::kFloat);
  std::string pkl;
  {  // a torch file whose every record uses the zip64 fields
    auto plain = (tmp / "plain.pth").string();
    tf::save(plain, t);
    zip::Reader r(plain);
    zip::Writer w(path, 64, /*force_zip64=*/true);
    for (auto& e : r.entries()) w.add(e.name, r.read(e));
    w.finish();
  }
  zip::Reader r(path);
  CHECK(r.entries().size() == 4);
  CHECK(torch::equal(tf::load(path).toTensor(), t));
  if (!test::python_has("torch")) {
    BIGGAN_SKIP("/usr/bin/python3 with torch not found: the zip64 oracle check");
    return;
  }
  int rc = 0;
  auto out = test::run_python(tmp,
                              "import sys, zipfile\n"
                              "z = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\n"
                              "assert torch.equal(torch.load(sys.argv[1]), torch.arange(1000, dtype=torch.float32))\n"
                              "print('ok')\n",
                              path, &rc);
  INFO(out);
  CHECK(rc == 0);
}
