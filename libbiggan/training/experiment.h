// An experiment's names and files, as BigGAN-PyTorch lays them out so that its log scripts and
// loaders read ours: the name generated from the config (utils.name_from_config), the per-metric
// text logs (utils.MyLogger: logs/<name>/<metric>.log with "itr: value" lines), the JSONL test log
// (utils.MetricsLogger: logs/<name>_log.jsonl), metalog.txt, and our own full-precision JSONL train log.
#pragma once
#include <filesystem>
#include <map>
#include <string>

#include "libbiggan/training/config.h"
#include "libbiggan/util/json.h"

namespace biggan {

// utils.name_from_config (without hashname's animal names: hashname is refused with a clear error).
std::string experiment_name_from_config(const Config& config);

struct ExperimentPaths {
  std::filesystem::path weights;   // weights_root/<name>
  std::filesystem::path logs;      // logs_root/<name>
  std::filesystem::path samples;   // samples_root/<name>
  std::filesystem::path test_log;  // logs_root/<name>_log.jsonl
  std::filesystem::path train_log; // logs_root/<name>/train_log.jsonl (ours: every itr, full precision)
};
ExperimentPaths experiment_paths(const Config& config, const std::string& name);
void create_experiment_folders(const ExperimentPaths& paths);

// utils.MyLogger: appends "itr: <logstyle % value>" to <dir>/<metric>.log per metric. With
// `reinitialize` (a fresh run) existing logs of a metric are removed the first time it is logged.
class MetricTextLogger {
 public:
  MetricTextLogger(std::filesystem::path dir, bool reinitialize, std::string logstyle);
  void log(int64_t itr, const std::vector<std::pair<std::string, double>>& values);

 private:
  std::filesystem::path dir_;
  bool reinitialize_;
  std::string logstyle_;
  std::map<std::string, bool> seen_;
};

// Appends one JSON object per line (flushed each time), optionally adding "_stamp" (unix time) as
// utils.MetricsLogger does. The first record a logger writes also holds "provenance" (util/provenance.h). With `reinitialize`, an existing file is removed first.
class JsonlLogger {
 public:
  JsonlLogger(std::filesystem::path file, bool reinitialize, bool stamp);
  void log(Json record);
  const std::filesystem::path& path() const { return file_; }

 private:
  std::filesystem::path file_;
  bool stamp_;
  bool wrote_ = false;
};

// For a resume from a save at `itr`: removes the records of later iterations (they are trained and
// logged again) from the train, SV and test JSONL logs and the per-metric text logs, so that no
// iteration appears twice. Lines it cannot read are kept; each file is rewritten atomically.
void drop_log_records_after(const ExperimentPaths& paths, int64_t itr);

// utils.write_metadata: logs/<name>/metalog.txt with the date, the config and the state.
void write_metadata(const ExperimentPaths& paths, const Config& config, const Json& state);

}  // namespace biggan
