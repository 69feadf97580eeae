// The writing half of pickle.h: pickles a c10::IValue (protocol 2) exactly the way torch.save lays
// out tensors, so that Python's torch.load reads the result. Tensors become persistent ids
// ('storage', torch.<T>Storage, key, 'cpu', numel); their storages are collected (one per distinct
// storage, so views stay views) for the caller to write as data/<key> records.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

namespace biggan::pickle {

struct StorageRecord {
  std::string key;
  c10::Storage storage;  // CPU storage, written whole
  c10::ScalarType dtype;
};

class Pickler {
 public:
  // The pickle bytes of `value`; throws biggan::Error for values torch files cannot hold.
  std::string dump(const c10::IValue& value);
  const std::vector<StorageRecord>& storages() const { return storages_; }

 private:
  void put(const c10::IValue& v);
  void put_int(int64_t v);
  void put_str(const std::string& s);
  void put_global(const char* module, const char* name);
  void put_tensor(const torch::Tensor& t);

  std::string out_;
  std::vector<StorageRecord> storages_;
  std::vector<torch::Tensor> keep_alive_;
  int depth_ = 0;  // CPU copies of non-CPU tensors
};

}  // namespace biggan::pickle
