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

// The newest save (main, rolling copies, best copies) made at or before `onset_itr`, copied to the
// suffix "precollapse", where no later save rotates it out. Returns what was done, as a sentence.
std::string Trainer::keep_precollapse_save(int64_t onset_itr) {
  std::vector<std::string> suffixes{""};
  for (int64_t k = 0; k < config_.num_save_copies; ++k) suffixes.push_back("copy" + std::to_string(k));
  for (int64_t k = 0; k < config_.num_best_copies; ++k) suffixes.push_back("best" + std::to_string(k));
  std::string chosen;
  int64_t chosen_itr = -1;
  for (const auto& suffix : suffixes) {
    try {
      const auto file = verified_weights_file(paths_.weights, suffix, "state_dict");
      const auto itr = TrainState::from_ivalue(torchfile::load(file.string()), file.string()).itr;
      if (itr <= onset_itr && itr > chosen_itr) chosen = suffix, chosen_itr = itr;
    } catch (const Error&) {  // no such save (yet), or unreadable: not a candidate
    }
  }
  if (chosen_itr < 0) return "no save predates itr " + std::to_string(onset_itr) + ", so none is kept";
  try {
    save_weights_folder(paths_.weights, "precollapse", load_weights_folder(paths_.weights, chosen, {"G", "state_dict"}));
  } catch (const Error& e) {
    return std::string("keeping the save of itr ") + std::to_string(chosen_itr) + " failed: " + e.what();
  }
  return "the save of itr " + std::to_string(chosen_itr) + " is kept as " +
         (paths_.weights / weights_file_name("G", "precollapse")).string() + " and its siblings (--suffix precollapse)";
}

}  // namespace biggan
