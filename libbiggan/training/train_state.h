// The reference's `state_dict` (train.py): counters, best scores and the config, saved as
// state_dict.pth next to the weights.
#pragma once
#include <torch/torch.h>

#include <string>

#include "libbiggan/models/config.h"

namespace biggan {

struct TrainState {
  int64_t itr = 0;
  int64_t epoch = 0;
  int64_t save_num = 0;
  int64_t save_best_num = 0;
  double best_IS = 0;
  double best_FID = 999999;
  Config config;

  // {'itr', 'epoch', 'save_num', 'save_best_num', 'best_IS', 'best_FID', 'config'} in that order.
  c10::IValue to_ivalue() const;
  // Reads the reference's or our state_dict.pth contents; a missing counter is a clear error.
  static TrainState from_ivalue(const c10::IValue& v, const std::string& source);
};

}  // namespace biggan
