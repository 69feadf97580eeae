#include "libbiggan/training/truncation_tables.h"

#include <ATen/core/ivalue.h>

#include <fstream>

#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/serialization/tf_saved_model.h"
#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/util/error.h"

namespace biggan {
namespace fs = std::filesystem;
namespace {

bool is_hdf5(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  char magic[8] = {};
  in.read(magic, 8);
  return std::string(magic, 8) == std::string("\x89HDF\r\n\x1a\n", 8);
}

// A table [levels, C] of floats with the levels every other table has.
torch::Tensor checked(torch::Tensor t, TruncationTables& out, const std::string& name) {
  if (t.dim() != 2 || !t.is_floating_point())
    throw input_error(out.source, "table '" + name + "' is not a 2-D float array [levels, channels]");
  if (out.levels == 0) out.levels = t.size(0);
  if (t.size(0) != out.levels)
    throw input_error(out.source, "table '" + name + "' has " + std::to_string(t.size(0)) + " levels, the first had " +
                                      std::to_string(out.levels));
  if (out.levels < 2) throw input_error(out.source, "table '" + name + "' has fewer than 2 truncation levels");
  return t.to(torch::kFloat32).contiguous();
}

}  // namespace

TruncationTables read_truncation_tables(const fs::path& file, const std::vector<std::string>& scopes) {
  TruncationTables out;
  out.source = file.string();
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) throw input_error(out.source, "no such file (--bn-stats)");
  if (is_hdf5(file)) {
    const auto f = h5::File::open_read(out.source);
    for (const auto& s : scopes) {
      for (const char* part : {"/means", "/vars"})
        if (!f.exists(s + part)) throw input_error(out.source, "no table '" + s + part + "'");
      auto means = checked(f.read(s + "/means"), out, s + "/means");
      auto vars = checked(f.read(s + "/vars"), out, s + "/vars");
      out.by_scope[s] = {means, vars};
    }
    return out;
  }
  const c10::IValue v = torchfile::load(out.source);  // tensors, or numpy arrays (Hugging Face's .bin)
  if (!v.isList()) throw input_error(out.source, "not a list of tables (means, vars per BN)");
  const auto list = v.toList();
  if (list.size() != 2 * scopes.size())
    throw input_error(out.source, "holds " + std::to_string(list.size()) + " tables, the module's " +
                                      std::to_string(scopes.size()) + " BNs need " + std::to_string(2 * scopes.size()));
  for (size_t i = 0; i < scopes.size(); ++i) {
    const c10::IValue m = list.get(2 * i), s = list.get(2 * i + 1);
    const std::string name = "[" + std::to_string(2 * i) + "] (" + scopes[i] + ")";
    if (!m.isTensor() || !s.isTensor()) throw input_error(out.source, "table " + name + " is not a tensor");
    auto means = checked(m.toTensor(), out, name + " means");
    auto vars = checked(s.toTensor(), out, name + " vars");
    out.by_scope[scopes[i]] = {means, vars};
  }
  return out;
}

TruncationTables read_saved_model_tables(const fs::path& pb, const std::vector<std::string>& scopes) {
  TruncationTables out;
  out.source = pb.string();
  std::error_code ec;
  if (!fs::is_regular_file(pb, ec)) return out;
  for (const auto& graph : read_saved_model_graphs(pb)) {
    if (!graph.nodes.count("stack_1")) continue;
    for (size_t k = 0; k < 2 * scopes.size(); ++k) {
      static const int offsets[] = {1, 3, 6, 8};
      const std::string name = "stack_" + std::to_string(10 * (k / 4) + offsets[k % 4]);
      auto it = graph.nodes.find(name);
      if (it == graph.nodes.end() || it->second.op != "Pack")
        throw input_error(out.source, "no Pack node '" + name + "' for the " + (k % 2 ? "vars" : "means") + " of '" +
                                          scopes[k / 2] + "' (the graph has stack_1)");
      std::vector<torch::Tensor> rows;
      for (const auto& input : it->second.inputs)
        if (input.empty() || input[0] != '^') rows.push_back(tf_graph_constant(graph, input).reshape({-1}));
      torch::Tensor table;
      try {
        table = torch::stack(rows);
      } catch (const c10::Error&) {
        throw input_error(out.source, "Pack node '" + name + "' stacks constants of different sizes");
      }
      table = checked(table, out, name + " (" + scopes[k / 2] + ")");
      auto& entry = out.by_scope[scopes[k / 2]];
      (k % 2 ? entry.second : entry.first) = table;
    }
    return out;
  }
  return out;
}

}  // namespace biggan
