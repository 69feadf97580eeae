// A TF-Hub module's variables by checkpoint name ("Generator/GBlock/conv0/w/ema_b999900"), from
// either place they are found on disk: the module directory's tensor bundle (variables/variables.*,
// tf_bundle.h), or the HDF5 dump that BigGAN-PyTorch's TFHub/converter.py writes first
// (biggan-128.h5: one dataset per variable, named "module/<name>:0", each "/" a group).
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace biggan {

class TfVariables {
 public:
  struct Info {
    std::string dtype;  // "float32", ... (tfbundle::dtype_name's names)
    std::vector<int64_t> shape;
  };
  virtual ~TfVariables() = default;
  // Every variable, by checkpoint name.
  virtual const std::map<std::string, Info>& variables() const = 0;
  // The values (CPU, contiguous); a bundle's CRC is checked. Errors name the file and the tensor.
  virtual torch::Tensor read(const std::string& name) const = 0;
  // The file an error about variable `name` should name (the shard or index, or the HDF5 file).
  virtual std::string file_of(const std::string& name) const = 0;
  // What was opened (the module directory or the HDF5 file), for messages.
  virtual std::string source() const = 0;
};

// A module directory (it has variables/variables.index) or an HDF5 dump (a file). Reads and checks
// the whole index (or lists the HDF5 file) up front; tensors are read on demand.
std::unique_ptr<TfVariables> open_tf_variables(const std::filesystem::path& input);

}  // namespace biggan
