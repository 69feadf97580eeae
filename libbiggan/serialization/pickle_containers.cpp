#include "libbiggan/serialization/pickle_containers.h"

#include "libbiggan/util/error.h"

namespace biggan::pickle {

namespace {

bool is_container(const c10::IValue& v) { return v.isList() || v.isGenericDict() || v.isTuple(); }

std::vector<c10::IValue> child_containers(const c10::IValue& v) {
  std::vector<c10::IValue> out;
  auto add = [&](const c10::IValue& x) {
    if (is_container(x)) out.push_back(x);
  };
  if (v.isList())
    for (auto& x : v.toListRef()) add(x);
  else if (v.isTuple())
    for (auto& x : v.toTupleRef().elements()) add(x);
  else if (v.isGenericDict())
    for (const auto& kv : v.toGenericDict()) add(kv.value());
  return out;
}

}  // namespace

std::unordered_set<const void*> check_nesting(const c10::IValue& root, int max_depth, const std::string& source) {
  std::unordered_set<const void*> done, on_path;
  if (!is_container(root)) return done;
  auto fail = [&](const std::string& what) { throw input_error(source, "pickle: " + what); };
  // Depth-first with an explicit stack of frames (memoised: shared sub-values are walked once).
  struct Frame {
    c10::IValue v;
    std::vector<c10::IValue> kids;
    size_t next = 0;
  };
  std::vector<Frame> frames;
  frames.push_back({root, child_containers(root)});
  on_path.insert(root.internalToPointer());
  while (!frames.empty()) {
    Frame& f = frames.back();
    if (f.next < f.kids.size()) {
      c10::IValue k = f.kids[f.next++];
      const void* p = k.internalToPointer();
      if (done.count(p)) continue;
      if (on_path.count(p)) fail("a list or dict contains itself");
      if (int(frames.size()) + 1 > max_depth) fail("values nested deeper than " + std::to_string(max_depth) + " levels");
      on_path.insert(p);
      auto kids = child_containers(k);
      frames.push_back({std::move(k), std::move(kids)});
    } else {
      const void* p = f.v.internalToPointer();
      on_path.erase(p);
      done.insert(p);
      frames.pop_back();
    }
  }
  return done;
}

void DeferredRelease::hold(const c10::IValue& v) {
  if (is_container(v)) held_.push_back(v);
}

DeferredRelease::~DeferredRelease() {
  std::vector<c10::IValue> work, containers;
  work.swap(held_);
  std::unordered_set<const void*> seen = std::move(spared_);
  while (!work.empty()) {
    c10::IValue v = std::move(work.back());
    work.pop_back();
    if (!is_container(v)) continue;
    if (!seen.insert(v.internalToPointer()).second) continue;
    containers.push_back(v);
    if (v.isList())
      for (auto& x : v.toListRef()) work.push_back(x);
    else if (v.isTuple())
      for (auto& x : v.toTupleRef().elements()) work.push_back(x);
    else
      for (const auto& kv : v.toGenericDict()) work.push_back(kv.value());
  }
  for (auto& c : containers) {
    if (c.isList()) c.toList().clear();
    else if (c.isGenericDict()) c.toGenericDict().clear();
  }
}

}  // namespace biggan::pickle
