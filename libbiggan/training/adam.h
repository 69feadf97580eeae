// Adam exactly as Python torch 1.13 computes it on the CPU (the single-tensor path BigGAN-PyTorch's
// `optim.Adam` takes), with its state dict in the layout `torch.optim.Adam.state_dict()` writes, so
// optimizer files move between the reference and us in both directions.
//
// Flat buffers (speed, not arithmetic): once every parameter has a gradient, the parameters, their
// gradients and the two moment estimates are moved into one buffer each (the parameters and
// gradients stay the same tensors, now views into it), so that a step is 8 tensor ops instead of
// 9 per parameter and zero_grad is one. The update is element-wise, so the numbers are the
// per-parameter update's bit for bit (tests/training compare both). Autograd accumulates into the
// gradient views in place (it adds into a defined .grad). Whatever replaces a parameter's storage or
// its .grad (a load, a device move) is seen at the next step, which then rebuilds the buffers; the
// per-parameter path remains for parameters that differ in dtype or device or lack a gradient.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

namespace biggan {

struct AdamOptions {
  double lr = 1e-4;
  double beta1 = 0.0;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
};

class Adam {
 public:
  // `params` in the order of the module's parameters() (the reference's state indices follow it).
  Adam(std::vector<torch::Tensor> params, AdamOptions options);

  // Sets every parameter's gradient to zero (keeps the tensors, as torch 1.13's zero_grad() does).
  void zero_grad();
  // One update. Parameters whose gradient is undefined are skipped and get no state, as in Python.
  void step();

  const AdamOptions& options() const { return options_; }
  AdamOptions& options() { return options_; }
  const std::vector<torch::Tensor>& params() const { return params_; }
  // Whether the last step() went through the flat buffers (for tests and benchmarks).
  bool flat() const { return flat_used_; }
  // Off: every step takes the per-parameter path (the flat buffers' reference in tests).
  void set_flat_enabled(bool on) { flat_enabled_ = on; }

  // {'state': {i: {'step': f32 scalar tensor, 'exp_avg', 'exp_avg_sq'}}, 'param_groups': [{...}]}
  c10::IValue state_dict() const;
  // Loads a state dict from the reference or from us. Checks the parameter count and every state
  // tensor's shape against the parameters; `source` names the file in errors.
  void load_state_dict(const c10::IValue& sd, const std::string& source);

 private:
  struct ParamState {
    bool initialized = false;
    double step = 0;  // a whole number: torch 1.13's float32 step tensor, made for state_dict()
    torch::Tensor exp_avg, exp_avg_sq;
  };
  void step_one(size_t i);          // the per-parameter update
  bool flat_buffers_valid() const;  // every parameter, gradient and moment still a view of the buffers
  bool build_flat_buffers();        // false where the parameters cannot share buffers
  bool grads_are_flat() const;

  std::vector<torch::Tensor> params_;
  std::vector<ParamState> state_;
  AdamOptions options_;
  bool flat_enabled_ = true, flat_used_ = false;
  torch::Tensor flat_param_, flat_grad_, flat_avg_, flat_avg_sq_;  // undefined until built
  std::vector<int64_t> offset_;  // element offset of each parameter in the buffers
};

}  // namespace biggan
