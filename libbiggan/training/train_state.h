// The reference's `state_dict` (train.py): counters, best scores and the config, saved as
// state_dict.pth next to the weights.
#pragma once
#include <torch/torch.h>

#include <string>

#include "libbiggan/training/config.h"

namespace biggan {

struct TrainState {
  int64_t itr = 0;
  int64_t epoch = 0;
  int64_t save_num = 0;
  int64_t save_best_num = 0;
  double best_IS = 0;
  double best_FID = 999999;
  Config config;

  // Ours, for an exact resume (the reference ignores keys it does not know): torch's CPU generator
  // state after the saved iteration, the state when the current epoch's data order was drawn, and
  // the itr at which that epoch started. Undefined / -1 when absent (e.g. a reference save).
  torch::Tensor rng_state, epoch_rng_state;
  torch::Tensor cuda_rng_state;  // the CUDA generator's, when the run trains on CUDA
  int64_t epoch_start_itr = -1;

  // {'itr', 'epoch', 'save_num', 'save_best_num', 'best_IS', 'best_FID', 'config'} in that order,
  // then our resume keys when set.
  c10::IValue to_ivalue() const;
  // Reads the reference's or our state_dict.pth contents; a missing counter is a clear error.
  static TrainState from_ivalue(const c10::IValue& v, const std::string& source);
};

}  // namespace biggan
