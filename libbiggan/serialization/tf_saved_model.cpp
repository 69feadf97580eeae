#include "libbiggan/serialization/tf_saved_model.h"

#include <cstring>

#include "libbiggan/serialization/protobuf_wire.h"
#include "libbiggan/util/atomic_file.h"
#include "libbiggan/util/error.h"

namespace biggan {
namespace {

using protowire::Field;
using protowire::Reader;

constexpr int kDtFloat = 1;  // types.proto DT_FLOAT

std::vector<int64_t> read_shape(std::string_view msg, const std::string& ctx) {  // TensorShapeProto
  std::vector<int64_t> dims;
  Reader r(msg, ctx);
  Field f;
  while (r.next(f)) {
    if (f.number != 2 || f.type != protowire::kLengthDelimited) continue;  // dim
    Reader d(f.bytes, ctx);
    Field g;
    int64_t size = 0;
    while (d.next(g))
      if (g.number == 1 && g.type == protowire::kVarint) size = static_cast<int64_t>(g.value);
    dims.push_back(size);
  }
  return dims;
}

// A TensorProto of floats: tensor_content, or float_val (packed or not; one value fills the shape).
torch::Tensor read_float_tensor(std::string_view msg, const std::string& ctx) {
  Reader r(msg, ctx);
  Field f;
  int dtype = 0;
  std::vector<int64_t> shape;
  std::string_view content;
  std::vector<float> vals;
  auto push_fixed32 = [&](uint32_t bits) {
    float v;
    std::memcpy(&v, &bits, 4);
    vals.push_back(v);
  };
  while (r.next(f)) {
    if (f.number == 1 && f.type == protowire::kVarint) dtype = static_cast<int>(f.value);
    else if (f.number == 2 && f.type == protowire::kLengthDelimited) shape = read_shape(f.bytes, ctx);
    else if (f.number == 4 && f.type == protowire::kLengthDelimited) content = f.bytes;
    else if (f.number == 5 && f.type == protowire::kFixed32) push_fixed32(static_cast<uint32_t>(f.value));
    else if (f.number == 5 && f.type == protowire::kLengthDelimited) {
      if (f.bytes.size() % 4) throw input_error(ctx, "packed float_val of " + std::to_string(f.bytes.size()) + " bytes");
      for (size_t i = 0; i < f.bytes.size(); i += 4) {
        uint32_t bits;
        std::memcpy(&bits, f.bytes.data() + i, 4);
        push_fixed32(bits);
      }
    }
  }
  if (dtype != kDtFloat) return {};
  // Element count and the product of the non-zero dimensions both bounded (LibTorch sizes even an
  // empty tensor's storage from all dimensions); a one-value fill may not ask for more than 2^28.
  const int64_t kMaxElements = int64_t(1) << 28;
  int64_t n = 1, extent = 1;
  for (auto d : shape) {
    if (d < 0 || d > kMaxElements) throw input_error(ctx, "tensor dimension " + std::to_string(d) + " out of range");
    if (d && extent > kMaxElements / d) throw input_error(ctx, "tensor too large");
    if (d) extent *= d;
    n *= d;
  }
  auto out = torch::empty(shape, torch::kFloat32);
  if (!content.empty()) {
    if (static_cast<int64_t>(content.size()) != 4 * n)
      throw input_error(ctx, "tensor_content of " + std::to_string(content.size()) + " bytes for " + std::to_string(n) + " floats");
    std::memcpy(out.data_ptr<float>(), content.data(), content.size());
  } else if (static_cast<int64_t>(vals.size()) == n) {
    if (n > 0) std::memcpy(out.data_ptr<float>(), vals.data(), 4 * vals.size());  // empty: data_ptr() is null
  } else if (vals.size() == 1) {
    out.fill_(vals[0]);
  } else {
    throw input_error(ctx, std::to_string(vals.size()) + " float_val for " + std::to_string(n) + " floats");
  }
  return out;
}

TfGraphNode read_node(std::string_view msg, const std::string& file) {  // NodeDef
  TfGraphNode n;
  Reader r(msg, file);
  Field f;
  std::vector<std::string_view> attrs;
  while (r.next(f)) {
    if (f.type != protowire::kLengthDelimited) continue;
    if (f.number == 1) n.name = std::string(f.bytes);
    else if (f.number == 2) n.op = std::string(f.bytes);
    else if (f.number == 3) n.inputs.emplace_back(f.bytes);
    else if (f.number == 5) attrs.push_back(f.bytes);
  }
  if (n.op != "Const") return n;
  for (auto entry : attrs) {  // map<string, AttrValue> entry: 1 key, 2 value
    Reader e(entry, file);
    Field g;
    std::string key;
    std::string_view value;
    while (e.next(g)) {
      if (g.number == 1 && g.type == protowire::kLengthDelimited) key = std::string(g.bytes);
      if (g.number == 2 && g.type == protowire::kLengthDelimited) value = g.bytes;
    }
    if (key != "value") continue;
    Reader v(value, file);
    while (v.next(g))
      if (g.number == 8 && g.type == protowire::kLengthDelimited)  // AttrValue.tensor
        n.value = read_float_tensor(g.bytes, file + ": node '" + n.name + "'");
  }
  return n;
}

}  // namespace

std::vector<TfGraph> read_saved_model_graphs(const std::filesystem::path& path) {
  const std::string file = path.string();
  const std::string bytes = read_file(path);
  std::vector<TfGraph> out;
  Reader saved(bytes, file);
  Field f;
  while (saved.next(f)) {
    if (f.number != 2 || f.type != protowire::kLengthDelimited) continue;  // meta_graphs
    TfGraph g;
    g.source = file;
    Reader meta(f.bytes, file);
    Field m;
    while (meta.next(m)) {
      if (m.number != 2 || m.type != protowire::kLengthDelimited) continue;  // graph_def
      Reader graph(m.bytes, file);
      Field n;
      while (graph.next(n)) {
        if (n.number != 1 || n.type != protowire::kLengthDelimited) continue;  // node
        auto node = read_node(n.bytes, file);
        g.nodes[node.name] = std::move(node);
      }
    }
    out.push_back(std::move(g));
  }
  return out;
}

torch::Tensor tf_graph_constant(const TfGraph& graph, const std::string& input) {
  std::string name = input;
  for (int hops = 0; hops < 64; ++hops) {
    if (const auto colon = name.find(':'); colon != std::string::npos) name = name.substr(0, colon);
    auto it = graph.nodes.find(name);
    if (it == graph.nodes.end()) throw input_error(graph.source, "no graph node '" + name + "'");
    const auto& node = it->second;
    if (node.op == "Const") {
      if (!node.value.defined()) throw input_error(graph.source, "node '" + name + "' is not a float32 constant");
      return node.value;
    }
    if (node.op != "Identity" || node.inputs.empty())
      throw input_error(graph.source, "node '" + name + "' is a " + node.op + ", not a constant (Const or Identity of one)");
    name = node.inputs.front();
  }
  throw input_error(graph.source, "node '" + input + "': a chain of 64 Identity nodes");
}

}  // namespace biggan
