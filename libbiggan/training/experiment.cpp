#include "libbiggan/training/experiment.h"

#include <chrono>
#include <cstdio>
#include <cctype>
#include <ctime>
#include <functional>
#include <fstream>

#include "libbiggan/util/atomic_file.h"
#include "libbiggan/util/error.h"
#include "libbiggan/util/provenance.h"

namespace biggan {
namespace {

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// Keeps the lines of `file` for which keep(line) holds, and drops a last line without its newline
// (a write cut short by a kill); rewrites the file only if a line goes.
void filter_lines(const std::filesystem::path& file, const std::function<bool(const std::string&)>& keep) {
  if (!std::filesystem::is_regular_file(file)) return;
  const std::string text = read_file(file);
  std::string kept;
  bool dropped = false;
  for (size_t at = 0; at < text.size();) {
    const size_t nl = text.find('\n', at);
    if (nl == std::string::npos) {
      dropped = true;
      break;
    }
    const std::string line = text.substr(at, nl - at);
    if (keep(line)) kept += line + "\n";
    else dropped = true;
    at = nl + 1;
  }
  if (dropped) write_file_atomically(file, kept);
}

// The itr of a log line, or -1 when the line has none that can be read.
int64_t jsonl_itr(const std::string& line) {
  try {
    auto j = Json::parse(line);
    return j.contains("itr") ? j["itr"].as_int() : -1;
  } catch (const std::exception&) {
    return -1;
  }
}
int64_t text_log_itr(const std::string& line) {  // "123: 4.5e-01"
  size_t n = 0;
  while (n < line.size() && std::isdigit(static_cast<unsigned char>(line[n]))) ++n;
  if (n == 0 || n > 18 || n >= line.size() || line[n] != ':') return -1;
  return std::stoll(line.substr(0, n));
}

}  // namespace

void drop_log_records_after(const ExperimentPaths& p, int64_t itr) {
  for (const auto& f : {p.train_log, p.logs / "sv_log.jsonl", p.test_log})
    filter_lines(f, [&](const std::string& line) { return jsonl_itr(line) <= itr; });
  if (!std::filesystem::is_directory(p.logs)) return;
  for (const auto& e : std::filesystem::directory_iterator(p.logs))
    if (e.path().extension() == ".log")
      filter_lines(e.path(), [&](const std::string& line) { return text_log_itr(line) <= itr; });
}

std::string experiment_name_from_config(const Config& c) {
  if (c.hashname) throw Error("--hashname is not supported: give --experiment_name instead");
  std::vector<std::string> parts;
  auto add = [&](bool cond, const std::string& s) {
    if (cond) parts.push_back(s);
  };
  add(true, "Big" + c.which_train_fn);
  add(true, c.dataset);
  add(c.model != "BigGAN", c.model);
  add(true, "seed" + std::to_string(c.seed));
  add(true, "Gch" + std::to_string(c.G_ch));
  add(true, "Dch" + std::to_string(c.D_ch));
  add(c.G_depth > 1, "Gd" + std::to_string(c.G_depth));
  add(c.D_depth > 1, "Dd" + std::to_string(c.D_depth));
  add(true, "bs" + std::to_string(c.batch_size));
  add(c.G_fp16, "Gfp16");
  add(c.D_fp16, "Dfp16");
  add(c.num_D_steps > 1, "nDs" + std::to_string(c.num_D_steps));
  add(c.num_D_accumulations > 1, "nDa" + std::to_string(c.num_D_accumulations));
  add(c.num_G_accumulations > 1, "nGa" + std::to_string(c.num_G_accumulations));
  add(true, "Glr" + fmt("%2.1e", c.G_lr));
  add(true, "Dlr" + fmt("%2.1e", c.D_lr));
  add(c.G_B1 != 0.0, "GB" + fmt("%3.3f", c.G_B1));
  add(c.G_B2 != 0.999, "GBB" + fmt("%3.3f", c.G_B2));
  add(c.D_B1 != 0.0, "DB" + fmt("%3.3f", c.D_B1));
  add(c.D_B2 != 0.999, "DBB" + fmt("%3.3f", c.D_B2));
  add(true, "Gnl" + c.G_nl);
  add(true, "Dnl" + c.D_nl);
  add(true, "Ginit" + c.G_init);
  add(true, "Dinit" + c.D_init);
  add(c.G_param != "SN", "G" + c.G_param);
  add(c.D_param != "SN", "D" + c.D_param);
  add(c.G_attn != "0", "Gattn" + c.G_attn);
  add(c.D_attn != "0", "Dattn" + c.D_attn);
  add(c.G_ortho > 0.0, "Gortho" + fmt("%2.1e", c.G_ortho));
  add(c.D_ortho > 0.0, "Dortho" + fmt("%2.1e", c.D_ortho));
  add(c.norm_style != "bn", c.norm_style);
  add(c.cross_replica, "cr");
  add(c.G_shared, "Gshared");
  add(c.hier, "hier");
  add(c.ema, "ema");
  add(!c.name_suffix.empty(), c.name_suffix);
  std::string name;
  for (const auto& p : parts) name += (name.empty() ? "" : "_") + p;
  return name;
}

ExperimentPaths experiment_paths(const Config& c, const std::string& name) {
  ExperimentPaths p;
  p.weights = std::filesystem::path(c.weights_root) / name;
  p.logs = std::filesystem::path(c.logs_root) / name;
  p.samples = std::filesystem::path(c.samples_root) / name;
  p.test_log = std::filesystem::path(c.logs_root) / (name + "_log.jsonl");
  p.train_log = p.logs / "train_log.jsonl";
  return p;
}

void create_experiment_folders(const ExperimentPaths& p) {
  for (const auto& d : {p.weights, p.logs, p.samples}) {
    std::error_code ec;
    std::filesystem::create_directories(d, ec);
    if (ec) throw input_error(d.string(), "cannot create folder: " + ec.message());
  }
}

MetricTextLogger::MetricTextLogger(std::filesystem::path dir, bool reinitialize, std::string logstyle)
    : dir_(std::move(dir)), reinitialize_(reinitialize), logstyle_(std::move(logstyle)) {
  validate_logstyle(logstyle_, "gan-train");
}

void MetricTextLogger::log(int64_t itr, const std::vector<std::pair<std::string, double>>& values) {
  for (const auto& [name, v] : values) {
    auto file = dir_ / (name + ".log");
    if (!seen_[name]) {
      seen_[name] = true;
      if (reinitialize_) std::filesystem::remove(file);
    }
    std::ofstream out(file, std::ios::app);
    if (!out) throw input_error(file.string(), "cannot append to log");
    out << itr << ": " << fmt(logstyle_.c_str(), v) << "\n";
  }
}

JsonlLogger::JsonlLogger(std::filesystem::path file, bool reinitialize, bool stamp)
    : file_(std::move(file)), stamp_(stamp) {
  if (reinitialize) std::filesystem::remove(file_);
}

void JsonlLogger::log(Json record) {
  if (stamp_) {
    double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    record.set("_stamp", now);
  }
  // The first record of each run (a fresh start or a resume) says who wrote what follows.
  if (!wrote_) record.set("provenance", provenance_json());
  wrote_ = true;
  std::ofstream out(file_, std::ios::app);
  if (!out) throw input_error(file_.string(), "cannot append to log");
  out << record.dump() << "\n";
  out.flush();
}

void write_metadata(const ExperimentPaths& paths, const Config& config, const Json& state) {
  std::ofstream out(paths.logs / "metalog.txt");
  if (!out) throw input_error((paths.logs / "metalog.txt").string(), "cannot write");
  std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
  out << "datetime: " << buf << "\n";
  out << "config: " << config.to_json().dump() << "\n";
  out << "state: " << state.dump() << "\n";
}

}  // namespace biggan
