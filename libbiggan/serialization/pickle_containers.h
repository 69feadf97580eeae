// Lists, dicts and tuples built by an untrusted pickle: a hostile file can nest them a million
// levels deep (e.g. through two memo slots) or make one contain itself. Both the check of a
// result and the clean-up of everything else work without recursion.
#pragma once
#include <ATen/core/ivalue.h>

#include <string>
#include <unordered_set>
#include <vector>

namespace biggan::pickle {

// Refuses (biggan::Error naming `source`) a result nested deeper than max_depth or containing
// itself. Returns the containers of the result (to be spared by DeferredRelease).
std::unordered_set<const void*> check_nesting(const c10::IValue& root, int max_depth, const std::string& source);

// Keeps every container that left the unpickler's stack or memo referenced until the end, then
// takes them all apart iteratively (clearing lists and dicts), so that destroying a deeply nested
// value never recurses. Containers of the result are spared.
class DeferredRelease {
 public:
  DeferredRelease() = default;
  DeferredRelease(const DeferredRelease&) = delete;
  DeferredRelease& operator=(const DeferredRelease&) = delete;
  ~DeferredRelease();
  // Holds `v` (if it is a container) until destruction.
  void hold(const c10::IValue& v);
  // These containers belong to the result: left intact.
  void spare(std::unordered_set<const void*> containers) { spared_ = std::move(containers); }

 private:
  std::vector<c10::IValue> held_;
  std::unordered_set<const void*> spared_;
};

}  // namespace biggan::pickle
