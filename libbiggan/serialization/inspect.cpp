#include "libbiggan/serialization/inspect.h"

#include <torch/torch.h>

#include <filesystem>
#include <iomanip>
#include <map>
#include <regex>
#include <sstream>

#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/util/error.h"

namespace biggan {
namespace {

// Buffers by the reference's names (SN's u<i>/sv<i>, BN's stored statistics, torch BN counters).
bool is_buffer_name(const std::string& name) {
  static const std::regex re(R"((^|\.)(u\d+|sv\d+|stored_mean|stored_var|running_mean|running_var|num_batches_tracked|accumulation_counter)$)");
  return std::regex_search(name, re);
}

// "blocks.2.0.conv1.weight" -> "blocks.2"; "linear.weight" -> "linear".
std::string module_group(const std::string& name) {
  auto first = name.find('.');
  if (first == std::string::npos) return name;
  std::string head = name.substr(0, first);
  auto second = name.find('.', first + 1);
  std::string next = name.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
  if (!next.empty() && std::all_of(next.begin(), next.end(), ::isdigit) && second != std::string::npos)
    return head + "." + next;
  return head;
}

Json shape_json(const torch::Tensor& t) {
  Json a = Json::array();
  for (auto s : t.sizes()) a.push_back(static_cast<int64_t>(s));
  return a;
}

Json scalar_json(const c10::IValue& v) {
  if (v.isNone()) return Json();
  if (v.isBool()) return Json(v.toBool());
  if (v.isInt()) return Json(v.toInt());
  if (v.isDouble()) return Json(v.toDouble());
  if (v.isString()) return Json(v.toStringRef());
  if (v.isTensor() && v.toTensor().numel() == 1) return Json(v.toTensor().item<double>());
  if (v.isTuple() || v.isList()) {
    Json a = Json::array();
    const auto& elems = v.isTuple() ? v.toTupleRef().elements().vec() : v.toListRef().vec();
    for (const auto& e : elems) a.push_back(scalar_json(e));
    return a;
  }
  if (v.isTensor()) return Json("<tensor " + c10::str(v.toTensor().sizes()) + ">");
  return Json("<" + v.tagKind() + ">");
}

Json tensors_json(const torch::OrderedDict<std::string, torch::Tensor>& sd, const InspectOptions& opt) {
  Json report = Json::object();
  Json tensors = Json::array();
  std::map<std::string, int64_t> per_module;
  std::vector<std::string> module_order;
  int64_t params = 0, buffers = 0;
  for (const auto& kv : sd) {
    const auto& t = kv.value();
    Json e = Json::object();
    e.set("name", kv.key());
    e.set("shape", shape_json(t));
    e.set("dtype", std::string(c10::toString(t.scalar_type())));
    bool buffer = is_buffer_name(kv.key());
    e.set("kind", buffer ? "buffer" : "parameter");
    if (buffer) {
      buffers += t.numel();
    } else {
      params += t.numel();
      auto g = module_group(kv.key());
      if (!per_module.count(g)) module_order.push_back(g);
      per_module[g] += t.numel();
    }
    if (opt.stats && t.numel() > 0 && t.is_floating_point()) {
      auto d = t.to(torch::kFloat64);
      e.set("min", d.min().item<double>());
      e.set("max", d.max().item<double>());
      e.set("mean", d.mean().item<double>());
      e.set("std", t.numel() > 1 ? d.std().item<double>() : 0.0);
      // SN weights: the top singular value of W (as the reference reshapes it) beside sv0.
      if (kv.key().size() > 7 && kv.key().substr(kv.key().size() - 7) == ".weight" && t.dim() >= 2) {
        std::string prefix = kv.key().substr(0, kv.key().size() - 6);
        if (const torch::Tensor* sv = sd.find(prefix + "sv0")) {
          auto w = d.reshape({t.size(0), -1});
          e.set("sigma_max", torch::linalg_svdvals(w)[0].item<double>());
          e.set("sv0_buffer", sv->to(torch::kFloat64).reshape({-1})[0].item<double>());
        }
      }
    }
    tensors.push_back(e);
  }
  Json modules = Json::object();
  for (const auto& g : module_order) modules.set(g, per_module[g]);
  report.set("parameters", params);
  report.set("buffer_elements", buffers);
  report.set("parameters_per_module", modules);
  report.set("tensors", tensors);
  return report;
}

bool is_tensor_dict(const c10::IValue& v) {
  if (!v.isGenericDict()) return false;
  auto d = v.toGenericDict();
  if (d.size() == 0) return false;
  for (const auto& kv : d)
    if (!kv.key().isString() || !kv.value().isTensor()) return false;
  return true;
}

}  // namespace

Json inspect_torch_file(const std::string& path, const InspectOptions& opt) {
  auto v = torchfile::load(path);
  Json r = Json::object();
  r.set("file", path);
  if (is_tensor_dict(v)) {
    r.set("kind", "state_dict");
    Json tensors = tensors_json(torchfile::to_state_dict(v, path), opt);
    for (auto& kv : tensors.items()) r.set(kv.first, kv.second);
    return r;
  }
  if (v.isGenericDict()) {
    auto d = v.toGenericDict();
    if (d.contains("param_groups") && d.contains("state")) {
      r.set("kind", "optimizer");
      Json groups = Json::array();
      for (const auto& g : d.at("param_groups").toListRef()) {
        Json gj = Json::object();
        for (const auto& kv : g.toGenericDict()) {
          if (kv.key().toStringRef() == "params") gj.set("num_params", static_cast<int64_t>(kv.value().toListRef().size()));
          else gj.set(kv.key().toStringRef(), scalar_json(kv.value()));
        }
        groups.push_back(gj);
      }
      r.set("param_groups", groups);
      auto st = d.at("state").toGenericDict();
      r.set("params_with_state", static_cast<int64_t>(st.size()));
      if (st.size() > 0) {
        auto first = (*st.begin()).value().toGenericDict();
        if (first.contains("step")) r.set("step", scalar_json(first.at("step")));
      }
      return r;
    }
    r.set("kind", d.contains("itr") ? "training_state" : "dict");
    Json entries = Json::object();
    for (const auto& kv : d) {
      std::string key = kv.key().isString() ? kv.key().toStringRef() : c10::str(kv.key());
      if (kv.value().isGenericDict()) {
        Json sub = Json::object();
        for (const auto& c : kv.value().toGenericDict())
          sub.set(c.key().isString() ? c.key().toStringRef() : c10::str(c.key()), scalar_json(c.value()));
        entries.set(key, sub);
      } else {
        entries.set(key, scalar_json(kv.value()));
      }
    }
    r.set("entries", entries);
    return r;
  }
  r.set("kind", "value");
  r.set("value", scalar_json(v));
  return r;
}

Json inspect_path(const std::string& path, const InspectOptions& opt) {
  if (!std::filesystem::exists(path)) throw input_error(path, "no such file or folder");
  if (!std::filesystem::is_directory(path)) return inspect_torch_file(path, opt);
  std::vector<std::string> files;
  for (auto& e : std::filesystem::directory_iterator(path))
    if (e.is_regular_file() && e.path().extension() == ".pth" && e.path().filename().string()[0] != '.')
      files.push_back(e.path().string());
  if (files.empty()) throw input_error(path, "no .pth files in this folder");
  // The reference's order first (state, G, G_ema, D, optimisers), then copies and bests.
  auto rank = [](const std::string& p) {
    static const std::vector<std::string> order = {"state_dict", "G", "G_ema", "D", "G_optim", "D_optim"};
    auto stem = std::filesystem::path(p).stem().string();
    for (size_t i = 0; i < order.size(); ++i)
      if (stem == order[i]) return static_cast<int>(i);
    return static_cast<int>(order.size());
  };
  std::sort(files.begin(), files.end(), [&](const std::string& a, const std::string& b) {
    return rank(a) != rank(b) ? rank(a) < rank(b) : a < b;
  });
  Json r = Json::object();
  r.set("folder", path);
  Json list = Json::array();
  for (const auto& f : files) list.push_back(inspect_torch_file(f, opt));
  r.set("files", list);
  return r;
}

namespace {

std::string fmt_number(const Json& v) {
  if (v.is_int()) return std::to_string(v.as_int());
  if (v.is_number()) {
    std::ostringstream s;
    s << std::setprecision(6) << v.as_double();
    return s.str();
  }
  if (v.is_string()) return v.as_string();
  return v.dump();
}

void format_file(const Json& f, std::ostringstream& out) {
  out << "== " << f["file"].as_string() << " (" << f["kind"].as_string() << ")\n";
  const std::string kind = f["kind"].as_string();
  if (kind == "state_dict") {
    out << "parameters: " << f["parameters"].as_int() << "   buffer elements: " << f["buffer_elements"].as_int() << "\n";
    out << "parameters per module:\n";
    for (const auto& kv : f["parameters_per_module"].items()) out << "  " << std::left << std::setw(28) << kv.first << " " << kv.second.as_int() << "\n";
    out << "tensors:\n";
    for (const auto& t : f["tensors"].as_array()) {
      std::string shape;
      for (const auto& s : t["shape"].as_array()) shape += (shape.empty() ? "" : "x") + std::to_string(s.as_int());
      out << "  " << std::left << std::setw(40) << t["name"].as_string() << " " << std::setw(16)
          << (shape.empty() ? "scalar" : shape) << " " << std::setw(8) << t["dtype"].as_string()
          << (t["kind"].as_string() == "buffer" ? " buffer" : "");
      if (t.contains("mean"))
        out << "  min " << fmt_number(t["min"]) << " max " << fmt_number(t["max"]) << " mean "
            << fmt_number(t["mean"]) << " std " << fmt_number(t["std"]);
      if (t.contains("sigma_max"))
        out << "  sigma_max " << fmt_number(t["sigma_max"]) << " (sv0 " << fmt_number(t["sv0_buffer"]) << ")";
      out << "\n";
    }
  } else if (kind == "optimizer") {
    out << "parameters with state: " << f["params_with_state"].as_int();
    if (f.contains("step")) out << "   step: " << fmt_number(f["step"]);
    out << "\n";
    for (const auto& g : f["param_groups"].as_array()) {
      out << " ";
      for (const auto& kv : g.items()) out << " " << kv.first << "=" << fmt_number(kv.second);
      out << "\n";
    }
  } else if (f.contains("entries")) {
    for (const auto& kv : f["entries"].items()) {
      if (kv.second.is_object()) {
        out << kv.first << ":\n";
        for (const auto& c : kv.second.items()) out << "  " << c.first << " = " << fmt_number(c.second) << "\n";
      } else {
        out << kv.first << " = " << fmt_number(kv.second) << "\n";
      }
    }
  } else if (f.contains("value")) {
    out << f["value"].dump() << "\n";
  }
}

}  // namespace

std::string format_inspection(const Json& report) {
  std::ostringstream out;
  if (report.contains("files")) {
    out << "weights folder " << report["folder"].as_string() << "\n";
    for (const auto& f : report["files"].as_array()) format_file(f, out);
  } else {
    format_file(report, out);
  }
  return out.str();
}

}  // namespace biggan
