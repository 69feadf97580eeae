#include "libbiggan/serialization/tf_variables.h"

#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/serialization/tf_bundle.h"
#include "libbiggan/util/error.h"

namespace biggan {
namespace fs = std::filesystem;
namespace {

class BundleVariables : public TfVariables {
 public:
  BundleVariables(const fs::path& dir, const fs::path& prefix) : dir_(dir.string()), reader_(prefix) {
    for (const auto& e : reader_.index().tensors) vars_[e.name] = Info{tfbundle::dtype_name(e.dtype), e.shape};
  }
  const std::map<std::string, Info>& variables() const override { return vars_; }
  torch::Tensor read(const std::string& name) const override {
    const auto* e = reader_.index().find(name);
    if (!e) throw input_error(reader_.index_path(), "no tensor '" + name + "'");
    return reader_.read(*e);
  }
  std::string file_of(const std::string& name) const override {
    const auto* e = reader_.index().find(name);
    return e ? tfbundle::shard_path(reader_.prefix(), e->shard_id, reader_.index().num_shards).string()
             : reader_.index_path();
  }
  std::string source() const override { return dir_; }

 private:
  std::string dir_;
  tfbundle::BundleReader reader_;
  std::map<std::string, Info> vars_;
};

std::string dtype_name_of(c10::ScalarType t) {
  switch (t) {
    case c10::ScalarType::Float: return "float32";
    case c10::ScalarType::Double: return "float64";
    case c10::ScalarType::Int: return "int32";
    case c10::ScalarType::Long: return "int64";
    case c10::ScalarType::Short: return "int16";
    case c10::ScalarType::Char: return "int8";
    case c10::ScalarType::Byte: return "uint8";
    case c10::ScalarType::Bool: return "bool";
    default: return c10::toString(t);
  }
}

// converter.py's dump: tf.global_variables() names, i.e. "module/" + checkpoint name + ":0".
class Hdf5DumpVariables : public TfVariables {
 public:
  explicit Hdf5DumpVariables(const fs::path& path) : file_(h5::File::open_read(path.string())) {
    if (!file_.is_group("module"))
      throw input_error(file_.path(), "no 'module' group: not the HDF5 dump of BigGAN-PyTorch's TFHub/converter.py");
    walk("module");
  }
  const std::map<std::string, Info>& variables() const override { return vars_; }
  torch::Tensor read(const std::string& name) const override {
    if (!vars_.count(name)) throw input_error(file_.path(), "no dataset for variable '" + name + "'");
    return file_.read(dataset_of(name)).contiguous();
  }
  std::string file_of(const std::string&) const override { return file_.path(); }
  std::string source() const override { return file_.path(); }

 private:
  static std::string dataset_of(const std::string& name) { return "module/" + name + ":0"; }

  void walk(const std::string& group) {
    for (const auto& member : file_.list(group)) {
      const std::string path = group + "/" + member;
      if (file_.is_group(path)) {
        walk(path);
        continue;
      }
      const auto colon = path.rfind(":0");
      if (colon == std::string::npos || colon + 2 != path.size()) continue;  // not a variable's value
      const std::string name = path.substr(std::string("module/").size(), colon - std::string("module/").size());
      hid_t d = H5Dopen2(file_.id(), path.c_str(), H5P_DEFAULT);
      if (d < 0) throw input_error(file_.path(), "cannot open dataset '" + path + "'");
      hid_t type = H5Dget_type(d);
      std::string dtype;
      try {
        dtype = dtype_name_of(h5::scalar_type_of(type, file_.path() + ": dataset '" + path + "'"));
      } catch (const Error&) {
        dtype = "an HDF5 type without a torch dtype";
      }
      H5Tclose(type);
      H5Dclose(d);
      vars_[name] = Info{dtype, file_.shape(path)};
    }
  }

  h5::File file_;
  std::map<std::string, Info> vars_;
};

}  // namespace

std::unique_ptr<TfVariables> open_tf_variables(const fs::path& input) {
  std::error_code ec;
  if (fs::is_directory(input, ec)) {
    const auto prefix = input / "variables" / "variables";
    if (!fs::exists(prefix.string() + ".index", ec))
      throw input_error(input.string(), "not a TF-Hub module directory (no variables/variables.index)");
    return std::make_unique<BundleVariables>(input, prefix);
  }
  if (!fs::exists(input, ec)) throw input_error(input.string(), "no such module directory or HDF5 file");
  h5::quiet_errors();
  return std::make_unique<Hdf5DumpVariables>(input);
}

}  // namespace biggan
