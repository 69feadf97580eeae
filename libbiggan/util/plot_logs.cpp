// Reading training logs into plot series: gan-train's JSONL logs and the reference's per-metric
// "itr: value" text logs, and plot_jsonl (read + save_plot). The drawing itself is in plots.cpp.
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "libbiggan/util/error.h"
#include "libbiggan/util/json.h"
#include "libbiggan/util/plots.h"

namespace biggan {

std::vector<PlotSeries> read_jsonl_series(const std::filesystem::path& path, const std::vector<std::string>& keys,
                                          const std::string& x_key) {
  std::ifstream in(path);
  if (!in) throw input_error(path.string(), "cannot open the log (missing or unreadable)");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);

  std::vector<PlotSeries> out;
  std::map<std::string, size_t> index;  // series name -> position in out
  for (auto& k : keys)
    if (k.empty() || k.back() != '*') {
      if (!index.count(k)) { index[k] = out.size(); out.push_back({k, {}, {}}); }
    }
  auto value_of = [](const Json& v) {
    if (v.is_number()) return v.as_double();
    return std::numeric_limits<double>::quiet_NaN();  // null, NaN written as null, strings
  };
  size_t last_nonblank = lines.size();
  for (size_t i = lines.size(); i-- > 0;)
    if (lines[i].find_first_not_of(" \t\r") != std::string::npos) { last_nonblank = i; break; }

  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find_first_not_of(" \t\r") == std::string::npos) continue;
    Json row;
    try {
      row = Json::parse(lines[i], path.string() + " line " + std::to_string(i + 1));
    } catch (const Error&) {
      if (i == last_nonblank) break;  // a line still being written
      throw;
    }
    if (!row.is_object())
      throw input_error(path.string(), "line " + std::to_string(i + 1) + " is not a JSON object");
    const Json* xv = row.find(x_key);
    if (!xv || !xv->is_number()) continue;
    const double x = xv->as_double();
    for (auto& [name, v] : row.items()) {
      if (name == x_key) continue;
      auto it = index.find(name);
      if (it == index.end()) {
        bool wanted = false;
        for (auto& k : keys)
          if (!k.empty() && k.back() == '*' && name.compare(0, k.size() - 1, k, 0, k.size() - 1) == 0) wanted = true;
        if (!wanted) continue;
        it = index.emplace(name, out.size()).first;
        out.push_back({name, {}, {}});
      }
      out[it->second].x.push_back(x);
      out[it->second].y.push_back(value_of(v));
    }
  }
  return out;
}

PlotSeries read_itr_value_log(const std::filesystem::path& path, const std::string& name) {
  std::ifstream in(path);
  if (!in) throw input_error(path.string(), "cannot open the log (missing or unreadable)");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (line.find_first_not_of(" \t\r") != std::string::npos) lines.push_back(line);
  PlotSeries s{name.empty() ? path.stem().string() : name, {}, {}};
  for (size_t i = 0; i < lines.size(); ++i) {
    const char* p = lines[i].c_str();
    char* end = nullptr;
    const double itr = std::strtod(p, &end);
    bool ok = end != p && *end == ':';
    double v = 0;
    if (ok) {
      const char* q = end + 1;
      v = std::strtod(q, &end);  // also reads "nan", "inf", "-inf"
      ok = end != q && std::string(end).find_first_not_of(" \t\r") == std::string::npos;
    }
    if (!ok) {
      if (i + 1 == lines.size()) break;  // a line still being written
      throw input_error(path.string(), "line " + std::to_string(i + 1) + " is not 'itr: value'");
    }
    s.x.push_back(itr);
    s.y.push_back(std::isfinite(v) ? v : std::numeric_limits<double>::quiet_NaN());
  }
  return s;
}

void plot_jsonl(const std::filesystem::path& jsonl_path, const std::vector<std::string>& keys,
                const std::filesystem::path& png_path, PlotOptions options, const std::string& x_key) {
  if (options.title.empty()) options.title = jsonl_path.filename().string();
  if (options.x_label == "itr") options.x_label = x_key;
  save_plot(png_path, read_jsonl_series(jsonl_path, keys, x_key), options);
}

}  // namespace biggan
