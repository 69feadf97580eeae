// Adam exactly as Python torch 1.13 computes it on the CPU (the single-tensor path BigGAN-PyTorch's
// `optim.Adam` takes), with its state dict in the layout `torch.optim.Adam.state_dict()` writes, so
// optimizer files move between the reference and us in both directions.
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

  // {'state': {i: {'step': f32 scalar tensor, 'exp_avg', 'exp_avg_sq'}}, 'param_groups': [{...}]}
  c10::IValue state_dict() const;
  // Loads a state dict from the reference or from us. Checks the parameter count and every state
  // tensor's shape against the parameters; `source` names the file in errors.
  void load_state_dict(const c10::IValue& sd, const std::string& source);

 private:
  struct ParamState {
    bool initialized = false;
    torch::Tensor step;  // float32 scalar, as torch 1.13 stores it
    torch::Tensor exp_avg, exp_avg_sq;
  };
  std::vector<torch::Tensor> params_;
  std::vector<ParamState> state_;
  AdamOptions options_;
};

}  // namespace biggan
