// The trainer's answer to a collapse the watchdog reports (training/collapse_watchdog.h): the
// record, the last save before it kept as "precollapse", and the stop when asked.
#include <cstdio>
#include <string>
#include <vector>

#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/training/trainer.h"
#include "libbiggan/training/train_state.h"
#include "libbiggan/util/json.h"
#include "libbiggan/util/error.h"

namespace biggan {

// A collapse: logged (collapse.jsonl, stderr), the last save before it kept, and the run stopped
// when asked (the loop ends after this iteration, saving as on a signal).
void Trainer::on_collapse(const std::optional<CollapseEvent>& event) {
  if (!event) return;
  collapse_ = event;
  const std::string kept = keep_precollapse_save(event->onset_itr);
  collapse_log_->log(Json::object()
                         .set("itr", event->itr)
                         .set("onset_itr", event->onset_itr)
                         .set("signal", event->signal)
                         .set("detail", event->detail)
                         .set("kept", kept));
  std::fprintf(stderr, "%sgan-train: collapse at itr %lld (%s: %s); %s%s\n", options_.progress ? "\n" : "",
               static_cast<long long>(event->itr), event->signal.c_str(), event->detail.c_str(), kept.c_str(),
               options_.stop_on_collapse ? "; stopping (--stop_on_collapse)" : "");
  if (options_.stop_on_collapse) request_stop();
}

// The newest save (main, rolling copies, best copies) made at or before `onset_itr`, kept under
// the suffix "precollapse", where no later save rotates it out (weights_folder's keep_newest_save).
std::string Trainer::keep_precollapse_save(int64_t onset_itr) {
  std::vector<std::string> suffixes{""};
  for (int64_t k = 0; k < config_.num_save_copies; ++k) suffixes.push_back("copy" + std::to_string(k));
  for (int64_t k = 0; k < config_.num_best_copies; ++k) suffixes.push_back("best" + std::to_string(k));
  return keep_newest_save(paths_.weights, suffixes, onset_itr, "precollapse");
}

}  // namespace biggan
