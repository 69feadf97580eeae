// The restricted unpickler on its own, from memory (the fastest way to reach its opcodes). Storages
// are resolved as torch_file's zip loader does: one tensor per key, its size taken from the id.
#include <map>

#include "fuzz/fuzz_util.h"
#include "libbiggan/serialization/pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  std::map<std::string, torch::Tensor> storages;
  biggan::pickle::StorageLoader loader = [&](const biggan::pickle::StorageRef& ref) {
    auto it = storages.find(ref.key);
    if (it != storages.end()) return it->second;
    // A real loader checks the size against its record; here no record is larger than 1 MiB.
    if (ref.numel > (1 << 20)) throw biggan::Error("fuzz: storage larger than its record");
    auto t = torch::zeros({ref.numel}, torch::TensorOptions().dtype(ref.dtype));
    storages.emplace(ref.key, t);
    return t;
  };
  biggan::fuzz::expect_clean([&] {
    biggan::pickle::MemorySource src(bytes, "fuzz.pkl");
    biggan::pickle::unpickle(src, loader);
  });
  return 0;
}
