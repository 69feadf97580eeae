#include "libbiggan/serialization/pickle.h"

#include <cerrno>
#include <cstring>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "libbiggan/util/error.h"

namespace biggan::pickle {

// ---------------------------------------------------------------------------------------------
// Sources

void MemorySource::read(void* dst, uint64_t n) {
  if (n > remaining()) throw input_error(name_, "pickle: unexpected end of data (truncated?)");
  std::memcpy(dst, bytes_.data() + pos_, n);
  pos_ += n;
}

FileSource::FileSource(const std::string& path) : ByteSource(path) {
  f_ = std::fopen(path.c_str(), "rb");
  if (!f_) throw input_error(path, std::string("cannot open: ") + std::strerror(errno));
  if (std::fseek(f_, 0, SEEK_END) != 0) throw input_error(path, "cannot seek (not a regular file?)");
  long s = std::ftell(f_);
  if (s < 0) throw input_error(path, "cannot tell the file size");
  size_ = uint64_t(s);
  std::fseek(f_, 0, SEEK_SET);
}

FileSource::~FileSource() {
  if (f_) std::fclose(f_);
}

void FileSource::read(void* dst, uint64_t n) {
  if (n > remaining()) throw input_error(name_, "unexpected end of file (truncated?)");
  if (n && std::fread(dst, 1, n, f_) != n) throw input_error(name_, "read error");
  pos_ += n;
}

// ---------------------------------------------------------------------------------------------
// Names

namespace {
const std::vector<std::pair<std::string, c10::ScalarType>>& storage_types() {
  static const std::vector<std::pair<std::string, c10::ScalarType>> t = {
      {"FloatStorage", c10::kFloat},  {"DoubleStorage", c10::kDouble}, {"HalfStorage", c10::kHalf},
      {"BFloat16Storage", c10::kBFloat16}, {"LongStorage", c10::kLong}, {"IntStorage", c10::kInt},
      {"ShortStorage", c10::kShort},  {"CharStorage", c10::kChar},     {"ByteStorage", c10::kByte},
      {"BoolStorage", c10::kBool}};
  return t;
}
}  // namespace

std::optional<c10::ScalarType> storage_dtype(const std::string& q) {
  if (q.rfind("torch.", 0) != 0) return std::nullopt;
  auto n = q.substr(6);
  for (auto& [name, t] : storage_types())
    if (name == n) return t;
  return std::nullopt;
}

std::string storage_class(c10::ScalarType t) {
  for (auto& [name, s] : storage_types())
    if (s == t) return name;
  throw Error(std::string("torch files: no storage class for dtype ") + c10::toString(t));
}

// ---------------------------------------------------------------------------------------------
// Unpickler

namespace {

// A value on the pickle stack. Most are plain IValues; a few Python objects have no IValue form and
// only live on the stack until something consumes them.
struct Val {
  enum Kind { Plain, Global, NumpyDtype, Tuple, BigInt } kind = Plain;
  c10::IValue iv;            // Plain
  std::string s;             // Global: "module.name"; NumpyDtype: e.g. "f8"; BigInt: little-endian bytes
  char byteorder = '=';      // NumpyDtype
  std::shared_ptr<const std::vector<Val>> items;  // Tuple holding non-plain items (shared: DUP is cheap)
  int depth = 0;             // nesting depth of tuples (lists and dicts are checked at the end)

  static Val plain(c10::IValue v) {
    Val x;
    x.iv = std::move(v);
    return x;
  }
};

const std::vector<std::string>& allowed_globals() {
  static const std::vector<std::string> g = {
      "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor", "torch._utils._rebuild_parameter",
      "torch._utils._rebuild_parameter_with_state", "collections.OrderedDict", "numpy.core.multiarray.scalar",
      "numpy._core.multiarray.scalar", "numpy.dtype", "_codecs.encode"};
  return g;
}

constexpr int kMaxDepth = 256;

class Unpickler {
 public:
  Unpickler(ByteSource& src, const StorageLoader& loader, bool big_int_result_as_hex)
      : src_(src), loader_(loader), big_int_hex_(big_int_result_as_hex) {}

  // Takes apart, without recursion, every container built and not part of the result: a hostile
  // pickle can nest lists or dicts a million levels deep (e.g. through two memo slots), and
  // destroying that recursively would overflow the stack. Values leaving the stack or the memo are
  // "buried" (kept referenced) until here, so nothing deep is ever destroyed recursively.
  ~Unpickler() {
    std::vector<c10::IValue> work, containers;
    std::unordered_set<const void*> seen = std::move(result_containers_);
    for (auto& v : stack_) bury(v);
    for (auto& [k, v] : memo_) bury(v);
    work.swap(graveyard_);
    while (!work.empty()) {
      c10::IValue v = std::move(work.back());
      work.pop_back();
      if (!(v.isList() || v.isGenericDict() || v.isTuple())) continue;
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

  c10::IValue run() {
    for (;;) {
      uint64_t at = src_.position();
      unsigned char op = u8();
      if (op == '.') {
        if (stack_.size() != 1 || !marks_.empty()) fail("malformed pickle: stack not single at STOP");
        if (big_int_hex_ && stack_.back().kind == Val::BigInt) return hex(stack_.back().s);
        c10::IValue result = to_ivalue(stack_.back(), "the result");
        check_nesting(result);
        return result;
      }
      try {
        step(op);
      } catch (const Error&) {
        throw;
      } catch (const std::exception& e) {  // c10 errors from malformed input: one clear line
        fail("malformed pickle at offset " + std::to_string(at) + ": " + first_line(e.what()));
      }
    }
  }

 private:
  // Refuses results nested deeper than kMaxDepth or containing themselves (iterative, memoised).
  void check_nesting(const c10::IValue& root) {
    auto children = [](const c10::IValue& v) {
      std::vector<c10::IValue> out;
      auto add = [&](const c10::IValue& x) {
        if (x.isList() || x.isGenericDict() || x.isTuple()) out.push_back(x);
      };
      if (v.isList()) for (auto& x : v.toListRef()) add(x);
      else if (v.isTuple()) for (auto& x : v.toTupleRef().elements()) add(x);
      else if (v.isGenericDict()) for (const auto& kv : v.toGenericDict()) add(kv.value());
      return out;
    };
    if (!(root.isList() || root.isGenericDict() || root.isTuple())) return;
    struct Frame { c10::IValue v; std::vector<c10::IValue> kids; size_t next = 0; };
    std::unordered_set<const void*> done, on_path;
    std::vector<Frame> frames;
    frames.push_back({root, children(root)});
    on_path.insert(root.internalToPointer());
    while (!frames.empty()) {
      Frame& f = frames.back();
      if (f.next < f.kids.size()) {
        c10::IValue k = f.kids[f.next++];
        const void* p = k.internalToPointer();
        if (done.count(p)) continue;
        if (on_path.count(p)) fail("a list or dict contains itself");
        if (int(frames.size()) + 1 > kMaxDepth) fail("values nested deeper than " + std::to_string(kMaxDepth) + " levels");
        on_path.insert(p);
        auto kids = children(k);
        frames.push_back({std::move(k), std::move(kids)});
      } else {
        const void* p = f.v.internalToPointer();
        on_path.erase(p);
        done.insert(p);
        frames.pop_back();
      }
    }
    result_containers_ = std::move(done);  // spared by the destructor's clean-up
  }

  void bury(const Val& v) {
    if (v.kind == Val::Plain && (v.iv.isList() || v.iv.isGenericDict() || v.iv.isTuple())) graveyard_.push_back(v.iv);
    if (v.kind == Val::Tuple)
      for (auto& x : *v.items) bury(x);  // special tuples are shallow (make_tuple bounds them)
  }

  [[noreturn]] void fail(const std::string& what) const { throw input_error(src_.name(), "pickle: " + what); }
  static std::string hex(const std::string& le) {
    static const char* digits = "0123456789abcdef";
    std::string out = "0x";
    for (size_t i = le.size(); i-- > 0;) {
      out.push_back(digits[uint8_t(le[i]) >> 4]);
      out.push_back(digits[uint8_t(le[i]) & 15]);
    }
    return out;
  }
  static std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

  // --- raw reads
  unsigned char u8() {
    unsigned char c;
    src_.read(&c, 1);
    return c;
  }
  uint64_t uint_le(int n) {
    unsigned char b[8];
    src_.read(b, n);
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | b[i];
    return v;
  }
  std::string bytes(uint64_t n) {
    if (n > src_.remaining()) fail("declared length " + std::to_string(n) + " exceeds the data left (truncated or corrupt)");
    std::string s(n, '\0');
    src_.read(s.data(), n);
    return s;
  }
  std::string line() {
    std::string s;
    for (;;) {
      char c = char(u8());
      if (c == '\n') return s;
      s.push_back(c);
      if (s.size() > 4096) fail("text line too long");
    }
  }

  // --- stack helpers
  Val pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail("stack underflow");
    bury(stack_.back());
    Val v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  Val& top() {
    if (stack_.empty()) fail("stack underflow");
    return stack_.back();
  }
  std::vector<Val> pop_mark() {
    if (marks_.empty()) fail("MARK expected");
    size_t m = marks_.back();
    marks_.pop_back();
    if (m > stack_.size()) fail("corrupt mark");
    for (size_t i = m; i < stack_.size(); ++i) bury(stack_[i]);
    std::vector<Val> items(std::make_move_iterator(stack_.begin() + m), std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }
  void push(c10::IValue v) { stack_.push_back(Val::plain(std::move(v))); }

  static std::string describe(const Val& v) {
    switch (v.kind) {
      case Val::Global: return "global " + v.s;
      case Val::NumpyDtype: return "numpy.dtype(" + v.s + ")";
      case Val::Tuple: return "tuple";
      case Val::BigInt: return "integer wider than 64 bits";
      default: return v.iv.tagKind();
    }
  }

  c10::IValue to_ivalue(const Val& v, const std::string& where) const {
    if (v.kind == Val::Plain) return v.iv;
    if (v.kind == Val::Tuple) {
      std::vector<c10::IValue> xs;
      for (auto& x : *v.items) xs.push_back(to_ivalue(x, where));
      return c10::ivalue::Tuple::create(std::move(xs));
    }
    fail("unsupported value (" + describe(v) + ") in " + where);
  }

  Val make_tuple(std::vector<Val> items) {
    bool plain = true;
    int depth = 0;
    for (auto& x : items) {
      plain = plain && x.kind == Val::Plain;
      depth = std::max(depth, x.depth);
    }
    if (depth + 1 > kMaxDepth) fail("values nested deeper than " + std::to_string(kMaxDepth) + " levels");
    Val t;
    if (!plain) {
      t.kind = Val::Tuple;
      t.items = std::make_shared<const std::vector<Val>>(std::move(items));
    } else {
      std::vector<c10::IValue> xs;
      xs.reserve(items.size());
      for (auto& x : items) xs.push_back(std::move(x.iv));
      t.iv = c10::ivalue::Tuple::create(std::move(xs));
    }
    t.depth = depth + 1;
    return t;
  }
  // Elements of a tuple value, whatever its representation; at most max_items of them (the
  // callables and ids we accept take few arguments, so a long tuple is refused before any copy).
  std::vector<Val> tuple_items(const Val& v, const std::string& what, size_t max_items = 8) const {
    size_t n = v.kind == Val::Tuple                    ? v.items->size()
               : v.kind == Val::Plain && v.iv.isTuple() ? v.iv.toTupleRef().elements().size()
                                                         : SIZE_MAX;
    if (n == SIZE_MAX) fail(what + " must be a tuple, got " + describe(v));
    if (n > max_items) fail(what + " has " + std::to_string(n) + " items, at most " + std::to_string(max_items) + " expected");
    if (v.kind == Val::Tuple) return *v.items;
    std::vector<Val> out;
    for (auto& x : v.iv.toTupleRef().elements()) out.push_back(Val::plain(x));
    return out;
  }

  void check_key(const c10::IValue& k) const {
    if (!(k.isString() || k.isInt() || k.isBool() || k.isDouble() || k.isNone()))
      fail(std::string("unsupported dict key type ") + k.tagKind());
  }
  void deepen(Val& container, const Val& item) {
    container.depth = std::max(container.depth, item.depth + 1);
    if (container.depth > kMaxDepth) fail("values nested deeper than " + std::to_string(kMaxDepth) + " levels");
  }
  void set_item(Val& dict, Val key, Val value) {
    if (dict.kind != Val::Plain || !dict.iv.isGenericDict()) fail("SETITEM on a non-dict (" + describe(dict) + ")");
    deepen(dict, value);
    auto k = to_ivalue(key, "a dict key");
    check_key(k);
    dict.iv.toGenericDict().insert_or_assign(std::move(k), to_ivalue(value, "a dict value"));
  }
  void append(Val& list, Val value) {
    if (list.kind != Val::Plain || !list.iv.isList()) fail("APPEND on a non-list (" + describe(list) + ")");
    deepen(list, value);
    list.iv.toList().push_back(to_ivalue(value, "a list"));
  }

  static c10::impl::GenericDict new_dict() { return c10::impl::GenericDict(c10::AnyType::get(), c10::AnyType::get()); }

  int64_t as_int(const Val& v, const std::string& what) const {
    if (v.kind == Val::Plain && v.iv.isInt()) return v.iv.toInt();
    if (v.kind == Val::Plain && v.iv.isBool()) return v.iv.toBool();
    fail(what + " must be an int, got " + describe(v));
  }
  std::string as_str(const Val& v, const std::string& what) const {
    if (v.kind == Val::Plain && v.iv.isString()) return v.iv.toStringRef();
    fail(what + " must be a str, got " + describe(v));
  }
  std::vector<int64_t> int_tuple(const Val& v, const std::string& what) const {
    std::vector<int64_t> out;
    for (auto& x : tuple_items(v, what, 64)) out.push_back(as_int(x, what));
    return out;
  }

  // --- the opcodes
  void step(unsigned char op) {
    switch (op) {
      case 0x80: {  // PROTO
        int p = u8();
        if (p < 2 || p > 5) fail("unsupported pickle protocol " + std::to_string(p));
        break;
      }
      case 0x95: uint_le(8); break;  // FRAME: framing is only a read-ahead hint
      case '(': marks_.push_back(stack_.size()); break;
      case '0': pop(); break;
      case '1': pop_mark(); break;
      case '2': stack_.push_back(top()); break;
      case '}': push(new_dict()); break;
      case ']': push(c10::impl::GenericList(c10::AnyType::get())); break;
      case ')': push(c10::ivalue::Tuple::create(std::vector<c10::IValue>{})); break;
      case 't': stack_.push_back(make_tuple(pop_mark())); break;
      case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
        size_t n = op - 0x84;
        if (stack_.size() < n || (!marks_.empty() && stack_.size() - n < marks_.back())) fail("stack underflow");
        for (size_t i = stack_.size() - n; i < stack_.size(); ++i) bury(stack_[i]);
        std::vector<Val> items(std::make_move_iterator(stack_.end() - n), std::make_move_iterator(stack_.end()));
        stack_.resize(stack_.size() - n);
        stack_.push_back(make_tuple(std::move(items)));
        break;
      }
      case 'd': {  // DICT
        auto items = pop_mark();
        if (items.size() % 2) fail("odd number of items for DICT");
        Val d = Val::plain(new_dict());
        for (size_t i = 0; i < items.size(); i += 2) set_item(d, std::move(items[i]), std::move(items[i + 1]));
        stack_.push_back(std::move(d));
        break;
      }
      case 'l': {  // LIST
        auto items = pop_mark();
        Val l = Val::plain(c10::impl::GenericList(c10::AnyType::get()));
        for (auto& x : items) append(l, std::move(x));
        stack_.push_back(std::move(l));
        break;
      }
      case 'a': { Val v = pop(); append(top(), std::move(v)); break; }
      case 'e': { auto items = pop_mark(); Val& l = top(); for (auto& x : items) append(l, std::move(x)); break; }
      case 's': { Val v = pop(); Val k = pop(); set_item(top(), std::move(k), std::move(v)); break; }
      case 'u': {
        auto items = pop_mark();
        if (items.size() % 2) fail("odd number of items for SETITEMS");
        Val& d = top();
        for (size_t i = 0; i < items.size(); i += 2) set_item(d, std::move(items[i]), std::move(items[i + 1]));
        break;
      }
      case 'J': push(int64_t(int32_t(uint32_t(uint_le(4))))); break;
      case 'K': push(int64_t(u8())); break;
      case 'M': push(int64_t(uint_le(2))); break;
      case 0x8a: case 0x8b: {  // LONG1, LONG4: little-endian two's complement
        uint64_t n = op == 0x8a ? u8() : uint_le(4);
        std::string b = bytes(n);
        if (n > 8) {
          Val v;
          v.kind = Val::BigInt;
          v.s = b;
          stack_.push_back(std::move(v));
          break;
        }
        uint64_t u = 0;
        for (int i = int(n) - 1; i >= 0; --i) u = (u << 8) | uint8_t(b[i]);
        if (n > 0 && n < 8 && (uint8_t(b[n - 1]) & 0x80)) u |= ~uint64_t(0) << (8 * n);  // sign-extend
        push(int64_t(u));
        break;
      }
      case 'I': {  // INT (text): also protocol 0's bools
        auto s = line();
        if (s == "00") push(false);
        else if (s == "01") push(true);
        else push(int64_t(parse_int(s)));
        break;
      }
      case 'L': {
        auto s = line();
        if (!s.empty() && s.back() == 'L') s.pop_back();
        push(int64_t(parse_int(s)));
        break;
      }
      case 'F': {
        auto s = line();
        char* end = nullptr;
        double d = std::strtod(s.c_str(), &end);
        if (s.empty() || *end) fail("bad FLOAT text");
        push(d);
        break;
      }
      case 'G': {  // BINFLOAT: big-endian double
        unsigned char b[8];
        src_.read(b, 8);
        uint64_t u = 0;
        for (int i = 0; i < 8; ++i) u = (u << 8) | b[i];
        double d;
        std::memcpy(&d, &u, 8);
        push(d);
        break;
      }
      case 'X': push(bytes(uint_le(4))); break;      // BINUNICODE (utf-8)
      case 0x8c: push(bytes(u8())); break;          // SHORT_BINUNICODE
      case 0x8d: push(bytes(uint_le(8))); break;    // BINUNICODE8
      case 'B': push(bytes(uint_le(4))); break;      // BINBYTES
      case 'C': push(bytes(u8())); break;           // SHORT_BINBYTES
      case 0x8e: push(bytes(uint_le(8))); break;    // BINBYTES8
      case 'T': push(bytes(uint_le(4))); break;      // BINSTRING (python 2 str)
      case 'U': push(bytes(u8())); break;           // SHORT_BINSTRING
      case 'N': push(c10::IValue()); break;
      case 0x88: push(true); break;
      case 0x89: push(false); break;
      case 'c': {  // GLOBAL "module\nname\n"
        auto module = line();
        auto name = line();
        stack_.push_back(global(module, name));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        Val name = pop(), module = pop();
        stack_.push_back(global(as_str(module, "STACK_GLOBAL module"), as_str(name, "STACK_GLOBAL name")));
        break;
      }
      case 'R': {  // REDUCE
        Val args = pop();
        Val fn = pop();
        stack_.push_back(call(fn, tuple_items(args, "REDUCE arguments")));
        break;
      }
      case 0x81: {  // NEWOBJ: only the classes we allow to be called
        Val args = pop();
        Val cls = pop();
        stack_.push_back(call(cls, tuple_items(args, "NEWOBJ arguments")));
        break;
      }
      case 'b': {  // BUILD
        Val state = pop();
        build(top(), state);
        break;
      }
      case 'Q': {  // BINPERSID
        Val pid = pop();
        push(persistent(pid));
        break;
      }
      case 'q': put(u8()); break;
      case 'r': put(uint_le(4)); break;
      case 'p': put(uint64_t(parse_int(line()))); break;
      case 0x94: put(memo_.size()); break;  // MEMOIZE
      case 'h': get(u8()); break;
      case 'j': get(uint_le(4)); break;
      case 'g': get(parse_int(line())); break;
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        fail(std::string("unsupported opcode ") + hex + " at offset " + std::to_string(src_.position() - 1) +
             " (not a state-dict pickle, or corrupt)");
      }
    }
  }

  int64_t parse_int(const std::string& s) const {
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end || errno) fail("bad integer text '" + s.substr(0, 40) + "'");
    return v;
  }

  void put(uint64_t idx) {
    auto it = memo_.find(idx);
    if (it != memo_.end()) bury(it->second);
    memo_[idx] = top();
  }

  void get(uint64_t idx) {
    auto it = memo_.find(idx);
    if (it == memo_.end()) fail("memo key " + std::to_string(idx) + " not found (corrupt pickle)");
    stack_.push_back(it->second);
  }

  Val global(const std::string& module, const std::string& name) {
    std::string q = module + "." + name;
    bool ok = storage_dtype(q).has_value();
    for (auto& g : allowed_globals()) ok = ok || g == q;
    if (!ok)
      fail("refusing to load global '" + q +
           "': only tensors, storages, OrderedDict and numpy scalars may appear in a torch file "
           "(a pickle naming other globals could execute code)");
    Val v;
    v.kind = Val::Global;
    v.s = q;
    return v;
  }

  c10::IValue persistent(const Val& pid) {
    auto t = tuple_items(pid, "persistent id");
    if (t.empty() || as_str(t[0], "persistent id tag") != "storage")
      fail("unsupported persistent id (only storages are allowed)");
    if (t.size() != 5 && t.size() != 6) fail("storage persistent id has " + std::to_string(t.size()) + " fields");
    if (t[1].kind != Val::Global) fail("storage persistent id without a storage type");
    auto dtype = storage_dtype(t[1].s);
    if (!dtype) fail("unsupported storage type " + t[1].s);
    StorageRef ref;
    ref.dtype = *dtype;
    ref.key = t[2].kind == Val::Plain && t[2].iv.isInt() ? std::to_string(t[2].iv.toInt()) : as_str(t[2], "storage key");
    ref.location = as_str(t[3], "storage location");
    ref.numel = as_int(t[4], "storage size");
    if (ref.numel < 0) fail("negative storage size");
    if (t.size() == 6 && !(t[5].kind == Val::Plain && t[5].iv.isNone())) {
      auto v = tuple_items(t[5], "storage view metadata");
      if (v.size() != 3) fail("storage view metadata must have 3 fields");
      ref.view_key = as_str(v[0], "view key");
      ref.view_offset = as_int(v[1], "view offset");
      ref.view_numel = as_int(v[2], "view size");
    }
    if (!loader_) fail("storage found but no storage loader given");
    return loader_(ref);
  }

  // The only callables: the allow-listed globals.
  Val call(const Val& fn, const std::vector<Val>& args) {
    if (fn.kind != Val::Global) fail("refusing to call " + describe(fn) + " (only allow-listed globals may be called)");
    const std::string& q = fn.s;
    if (q == "torch._utils._rebuild_tensor_v2" || q == "torch._utils._rebuild_tensor") {
      if (args.size() < 4) fail(q + " needs at least 4 arguments");
      return Val::plain(rebuild_tensor(args[0], as_int(args[1], "storage offset"), int_tuple(args[2], "tensor size"),
                                       int_tuple(args[3], "tensor stride")));
    }
    if (q == "torch._utils._rebuild_parameter" || q == "torch._utils._rebuild_parameter_with_state") {
      if (args.empty() || args[0].kind != Val::Plain || !args[0].iv.isTensor()) fail(q + " expects a tensor");
      return args[0];
    }
    if (q == "collections.OrderedDict") {
      Val d = Val::plain(new_dict());
      if (!args.empty()) {  // OrderedDict([(k, v), ...])
        if (args.size() != 1 || args[0].kind != Val::Plain || !args[0].iv.isList())
          fail("OrderedDict(...) with unsupported arguments");
        for (auto& kv : args[0].iv.toListRef()) {
          if (!kv.isTuple() || kv.toTupleRef().elements().size() != 2) fail("OrderedDict item is not a pair");
          set_item(d, Val::plain(kv.toTupleRef().elements()[0]), Val::plain(kv.toTupleRef().elements()[1]));
        }
      }
      return d;
    }
    if (q == "numpy.dtype") {  // numpy.dtype('f8', False, True)
      if (args.empty()) fail("numpy.dtype() without arguments");
      Val d;
      d.kind = Val::NumpyDtype;
      d.s = as_str(args[0], "numpy dtype");
      return d;
    }
    if (q == "numpy.core.multiarray.scalar" || q == "numpy._core.multiarray.scalar") {
      if (args.size() != 2 || args[0].kind != Val::NumpyDtype) fail(q + " expects (dtype, bytes)");
      return Val::plain(numpy_scalar(args[0], as_str(args[1], "numpy scalar data")));
    }
    if (q == "_codecs.encode") {  // protocol 2's way to pickle bytes: encode(str, 'latin1')
      if (args.size() != 2) fail("_codecs.encode expects 2 arguments");
      auto enc = as_str(args[1], "encoding");
      if (enc != "latin1" && enc != "latin-1") fail("_codecs.encode with encoding " + enc + " is not supported");
      return Val::plain(utf8_to_latin1(as_str(args[0], "_codecs.encode text")));
    }
    fail("refusing to call global '" + q + "' here");
  }

  std::string utf8_to_latin1(const std::string& s) const {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      auto c = uint8_t(s[i]);
      if (c < 0x80) out.push_back(char(c));
      else if ((c & 0xE0) == 0xC0 && i + 1 < s.size() && c <= 0xC3)
        out.push_back(char(((c & 0x1F) << 6) | (uint8_t(s[++i]) & 0x3F)));
      else fail("_codecs.encode: text is not latin-1");
    }
    return out;
  }

  c10::IValue numpy_scalar(const Val& dtype, const std::string& data) const {
    const std::string& d = dtype.s;
    if (d.size() < 2) fail("unsupported numpy dtype " + d);
    char kind = d[0];
    int size = std::atoi(d.c_str() + 1);
    if (!((kind == 'f' && (size == 4 || size == 8)) || ((kind == 'i' || kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8)) ||
          (kind == 'b' && size == 1)))
      fail("unsupported numpy scalar dtype " + d);
    if (int(data.size()) != size) fail("numpy scalar of dtype " + d + " has " + std::to_string(data.size()) + " bytes");
    unsigned char b[8];
    std::memcpy(b, data.data(), size);
    if (dtype.byteorder == '>') std::reverse(b, b + size);
    uint64_t u = 0;
    for (int i = size - 1; i >= 0; --i) u = (u << 8) | b[i];
    if (kind == 'b') return bool(u);
    if (kind == 'f') {
      if (size == 4) {
        float f;
        uint32_t u32 = uint32_t(u);
        std::memcpy(&f, &u32, 4);
        return double(f);
      }
      double x;
      std::memcpy(&x, &u, 8);
      return x;
    }
    if (kind == 'u') {
      if (size == 8 && u > uint64_t(INT64_MAX)) fail("numpy uint64 scalar too large for int64");
      return int64_t(u);
    }
    if (size < 8 && (u >> (8 * size - 1)) & 1) u |= ~uint64_t(0) << (8 * size);
    return int64_t(u);
  }

  torch::Tensor rebuild_tensor(const Val& storage, int64_t offset, const std::vector<int64_t>& size,
                               const std::vector<int64_t>& stride) const {
    if (storage.kind != Val::Plain || !storage.iv.isTensor()) fail("tensor rebuilt from a non-storage (" + describe(storage) + ")");
    if (size.size() != stride.size()) fail("tensor size and stride differ in length");
    const torch::Tensor& s = storage.iv.toTensor();
    int64_t capacity = s.numel();
    if (offset < 0) fail("negative storage offset");
    bool empty = false;
    int64_t extent = offset;  // last element index reached
    for (size_t i = 0; i < size.size(); ++i) {
      if (size[i] < 0 || stride[i] < 0) fail("negative tensor size or stride");
      if (size[i] == 0) empty = true;
    }
    if (!empty) {
      for (size_t i = 0; i < size.size(); ++i) {
        if (stride[i] != 0 && size[i] - 1 > (INT64_MAX - extent) / stride[i]) fail("tensor extent overflows");
        extent += (size[i] - 1) * stride[i];
      }
      if (extent >= capacity)
        fail("tensor of size " + c10::str(c10::IntArrayRef(size)) + " at offset " + std::to_string(offset) +
             " exceeds its storage of " + std::to_string(capacity) + " elements");
    } else if (offset > capacity) {
      fail("storage offset past the end of its storage");
    }
    return torch::empty({0}, s.options()).set_(s.storage(), s.storage_offset() + offset, size, stride);
  }

  void build(Val& obj, const Val& state) {
    if (obj.kind == Val::NumpyDtype) {  // state (version, byteorder, ...)
      auto t = tuple_items(state, "numpy dtype state");
      if (t.size() < 2) fail("short numpy dtype state");
      auto bo = as_str(t[1], "numpy byte order");
      obj.byteorder = bo.empty() ? '=' : bo[0];
      return;
    }
    if (obj.kind == Val::Plain && obj.iv.isGenericDict()) {
      // OrderedDict attributes (state dicts carry `_metadata`): accepted and dropped.
      if (state.kind == Val::Plain && (state.iv.isNone() || state.iv.isGenericDict())) return;
      if (state.kind == Val::Tuple || (state.kind == Val::Plain && state.iv.isTuple())) return;
    }
    if (obj.kind == Val::Plain && obj.iv.isTensor()) {
      // _rebuild_parameter_with_state / tensor attribute dicts: plain attributes only, dropped.
      if (state.kind == Val::Plain && (state.iv.isNone() || state.iv.isGenericDict() || state.iv.isTuple())) return;
    }
    fail("refusing BUILD on " + describe(obj) + " with state " + describe(state));
  }

  ByteSource& src_;
  const StorageLoader& loader_;
  std::vector<Val> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Val> memo_;
  bool big_int_hex_;
  std::vector<c10::IValue> graveyard_;
  std::unordered_set<const void*> result_containers_;
};

}  // namespace

c10::IValue unpickle(ByteSource& src, const StorageLoader& loader, bool big_int_result_as_hex) {
  Unpickler u(src, loader, big_int_result_as_hex);
  return u.run();
}

}  // namespace biggan::pickle
