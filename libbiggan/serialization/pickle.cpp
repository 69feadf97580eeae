// The restricted unpickler: one state machine (stack, marks, memo) over the opcodes torch.save's
// pickles use. Its opcode table (`step`, one case per opcode as pickletools lists them, hence its
// length) and the allow-listed callables share that state, so they stay in this file; what can
// stand alone is beside it: pickle_source.cpp (byte sources, storage names), pickle_objects.cpp
// (tensors, numpy scalars), pickle_containers.cpp (nesting checks, recursion-free clean-up).
#include "libbiggan/serialization/pickle.h"

#include <cerrno>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "libbiggan/serialization/npz.h"
#include "libbiggan/serialization/pickle_containers.h"
#include "libbiggan/serialization/pickle_objects.h"
#include "libbiggan/util/error.h"

namespace biggan::pickle {

// ---------------------------------------------------------------------------------------------
// Unpickler

namespace {

// A value on the pickle stack. Most are plain IValues; a few Python objects have no IValue form and
// only live on the stack until something consumes them.
struct StackValue {
  enum Kind { Plain, Global, NumpyDtype, NumpyArray, Tuple, BigInt } kind = Plain;
  c10::IValue iv;            // Plain
  std::string s;             // Global: "module.name"; NumpyDtype: e.g. "f8"; BigInt: little-endian bytes
  char byteorder = '=';      // NumpyDtype
  std::shared_ptr<const std::vector<StackValue>> items;  // Tuple holding non-plain items (shared: DUP is cheap)
  // NumpyArray: made by _reconstruct, its data set by BUILD; shared with the memo's copy of it.
  std::shared_ptr<torch::Tensor> array;
  int depth = 0;             // nesting depth of tuples (lists and dicts are checked at the end)

  static StackValue plain(c10::IValue v) {
    StackValue x;
    x.iv = std::move(v);
    return x;
  }
};

const std::vector<std::string>& allowed_globals() {
  static const std::vector<std::string> g = {
      "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor", "torch._utils._rebuild_parameter",
      "torch._utils._rebuild_parameter_with_state", "collections.OrderedDict", "numpy.core.multiarray.scalar",
      "numpy._core.multiarray.scalar", "numpy.dtype", "_codecs.encode", "numpy.core.multiarray._reconstruct",
      "numpy._core.multiarray._reconstruct", "numpy.ndarray", "__builtin__.bytes", "builtins.bytes"};
  return g;
}

constexpr int kMaxDepth = 256;

class Unpickler {
 public:
  Unpickler(ByteSource& src, const StorageLoader& loader, bool big_int_result_as_hex)
      : src_(src), loader_(loader), big_int_hex_(big_int_result_as_hex) {}

  // Everything still on the stack or in the memo is released with the rest (see DeferredRelease).
  ~Unpickler() {
    for (auto& v : stack_) defer_release(v);
    for (auto& [k, v] : memo_) defer_release(v);
  }

  c10::IValue run() {
    for (;;) {
      uint64_t at = src_.position();
      unsigned char op = u8();
      if (op == '.') {
        if (stack_.size() != 1 || !marks_.empty()) fail("malformed pickle: stack not single at STOP");
        if (big_int_hex_ && stack_.back().kind == StackValue::BigInt) return little_endian_hex(stack_.back().s);
        c10::IValue result = to_ivalue(stack_.back(), "the result");
        released_.spare(check_nesting(result, kMaxDepth, src_.name()));
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
  // Values leaving the stack or the memo are held until the end (see DeferredRelease).
  void defer_release(const StackValue& v) {
    if (v.kind == StackValue::Plain) released_.hold(v.iv);
    if (v.kind == StackValue::Tuple)
      for (auto& x : *v.items) defer_release(x);  // special tuples are shallow (make_tuple bounds them)
  }

  [[noreturn]] void fail(const std::string& what) const { throw input_error(src_.name(), "pickle: " + what); }
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
  StackValue pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail("stack underflow");
    defer_release(stack_.back());
    StackValue v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  StackValue& top() {
    if (stack_.empty()) fail("stack underflow");
    return stack_.back();
  }
  std::vector<StackValue> pop_mark() {
    if (marks_.empty()) fail("MARK expected");
    size_t m = marks_.back();
    marks_.pop_back();
    if (m > stack_.size()) fail("corrupt mark");
    for (size_t i = m; i < stack_.size(); ++i) defer_release(stack_[i]);
    std::vector<StackValue> items(std::make_move_iterator(stack_.begin() + m), std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }
  void push(c10::IValue v) { stack_.push_back(StackValue::plain(std::move(v))); }

  static std::string describe(const StackValue& v) {
    switch (v.kind) {
      case StackValue::Global: return "global " + v.s;
      case StackValue::NumpyDtype: return "numpy.dtype(" + v.s + ")";
      case StackValue::NumpyArray: return "numpy.ndarray";
      case StackValue::Tuple: return "tuple";
      case StackValue::BigInt: return "integer wider than 64 bits";
      default: return v.iv.tagKind();
    }
  }

  c10::IValue to_ivalue(const StackValue& v, const std::string& where) const {
    if (v.kind == StackValue::Plain) return v.iv;
    if (v.kind == StackValue::NumpyArray) {
      if (!v.array->defined()) fail("numpy array used before its data (BUILD) in " + where);
      return *v.array;
    }
    if (v.kind == StackValue::Tuple) {
      std::vector<c10::IValue> xs;
      for (auto& x : *v.items) xs.push_back(to_ivalue(x, where));
      return c10::ivalue::Tuple::create(std::move(xs));
    }
    fail("unsupported value (" + describe(v) + ") in " + where);
  }

  StackValue make_tuple(std::vector<StackValue> items) {
    bool plain = true;
    int depth = 0;
    for (auto& x : items) {
      plain = plain && x.kind == StackValue::Plain;
      depth = std::max(depth, x.depth);
    }
    if (depth + 1 > kMaxDepth) fail("values nested deeper than " + std::to_string(kMaxDepth) + " levels");
    StackValue t;
    if (!plain) {
      t.kind = StackValue::Tuple;
      t.items = std::make_shared<const std::vector<StackValue>>(std::move(items));
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
  std::vector<StackValue> tuple_items(const StackValue& v, const std::string& what, size_t max_items = 8) const {
    size_t n = v.kind == StackValue::Tuple                    ? v.items->size()
               : v.kind == StackValue::Plain && v.iv.isTuple() ? v.iv.toTupleRef().elements().size()
                                                         : SIZE_MAX;
    if (n == SIZE_MAX) fail(what + " must be a tuple, got " + describe(v));
    if (n > max_items) fail(what + " has " + std::to_string(n) + " items, at most " + std::to_string(max_items) + " expected");
    if (v.kind == StackValue::Tuple) return *v.items;
    std::vector<StackValue> out;
    for (auto& x : v.iv.toTupleRef().elements()) out.push_back(StackValue::plain(x));
    return out;
  }

  void check_key(const c10::IValue& k) const {
    if (!(k.isString() || k.isInt() || k.isBool() || k.isDouble() || k.isNone()))
      fail(std::string("unsupported dict key type ") + k.tagKind());
  }
  void deepen(StackValue& container, const StackValue& item) {
    container.depth = std::max(container.depth, item.depth + 1);
    if (container.depth > kMaxDepth) fail("values nested deeper than " + std::to_string(kMaxDepth) + " levels");
  }
  void set_item(StackValue& dict, StackValue key, StackValue value) {
    if (dict.kind != StackValue::Plain || !dict.iv.isGenericDict()) fail("SETITEM on a non-dict (" + describe(dict) + ")");
    deepen(dict, value);
    auto k = to_ivalue(key, "a dict key");
    check_key(k);
    dict.iv.toGenericDict().insert_or_assign(std::move(k), to_ivalue(value, "a dict value"));
  }
  void append(StackValue& list, StackValue value) {
    if (list.kind != StackValue::Plain || !list.iv.isList()) fail("APPEND on a non-list (" + describe(list) + ")");
    deepen(list, value);
    list.iv.toList().push_back(to_ivalue(value, "a list"));
  }

  static c10::impl::GenericDict new_dict() { return c10::impl::GenericDict(c10::AnyType::get(), c10::AnyType::get()); }

  int64_t as_int(const StackValue& v, const std::string& what) const {
    if (v.kind == StackValue::Plain && v.iv.isInt()) return v.iv.toInt();
    if (v.kind == StackValue::Plain && v.iv.isBool()) return v.iv.toBool();
    fail(what + " must be an int, got " + describe(v));
  }
  std::string as_str(const StackValue& v, const std::string& what) const {
    if (v.kind == StackValue::Plain && v.iv.isString()) return v.iv.toStringRef();
    fail(what + " must be a str, got " + describe(v));
  }
  std::vector<int64_t> int_tuple(const StackValue& v, const std::string& what) const {
    std::vector<int64_t> out;
    for (auto& x : tuple_items(v, what, 64)) out.push_back(as_int(x, what));
    return out;
  }

  // --- the opcodes: one case per opcode, as pickletools lists them. Longer than ~80 lines on
  // purpose: a table reads best whole, and every case shares the machine's stack and memo.
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
        for (size_t i = stack_.size() - n; i < stack_.size(); ++i) defer_release(stack_[i]);
        std::vector<StackValue> items(std::make_move_iterator(stack_.end() - n), std::make_move_iterator(stack_.end()));
        stack_.resize(stack_.size() - n);
        stack_.push_back(make_tuple(std::move(items)));
        break;
      }
      case 'd': {  // DICT
        auto items = pop_mark();
        if (items.size() % 2) fail("odd number of items for DICT");
        StackValue d = StackValue::plain(new_dict());
        for (size_t i = 0; i < items.size(); i += 2) set_item(d, std::move(items[i]), std::move(items[i + 1]));
        stack_.push_back(std::move(d));
        break;
      }
      case 'l': {  // LIST
        auto items = pop_mark();
        StackValue l = StackValue::plain(c10::impl::GenericList(c10::AnyType::get()));
        for (auto& x : items) append(l, std::move(x));
        stack_.push_back(std::move(l));
        break;
      }
      case 'a': { StackValue v = pop(); append(top(), std::move(v)); break; }
      case 'e': { auto items = pop_mark(); StackValue& l = top(); for (auto& x : items) append(l, std::move(x)); break; }
      case 's': { StackValue v = pop(); StackValue k = pop(); set_item(top(), std::move(k), std::move(v)); break; }
      case 'u': {
        auto items = pop_mark();
        if (items.size() % 2) fail("odd number of items for SETITEMS");
        StackValue& d = top();
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
          StackValue v;
          v.kind = StackValue::BigInt;
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
        StackValue name = pop(), module = pop();
        stack_.push_back(global(as_str(module, "STACK_GLOBAL module"), as_str(name, "STACK_GLOBAL name")));
        break;
      }
      case 'R': {  // REDUCE
        StackValue args = pop();
        StackValue fn = pop();
        stack_.push_back(call(fn, tuple_items(args, "REDUCE arguments")));
        break;
      }
      case 0x81: {  // NEWOBJ: only the classes we allow to be called
        StackValue args = pop();
        StackValue cls = pop();
        stack_.push_back(call(cls, tuple_items(args, "NEWOBJ arguments")));
        break;
      }
      case 'b': {  // BUILD
        StackValue state = pop();
        build(top(), state);
        break;
      }
      case 'Q': {  // BINPERSID
        StackValue pid = pop();
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
    if (it != memo_.end()) defer_release(it->second);
    memo_[idx] = top();
  }

  void get(uint64_t idx) {
    auto it = memo_.find(idx);
    if (it == memo_.end()) fail("memo key " + std::to_string(idx) + " not found (corrupt pickle)");
    stack_.push_back(it->second);
  }

  StackValue global(const std::string& module, const std::string& name) {
    std::string q = module + "." + name;
    bool ok = storage_dtype(q).has_value();
    for (auto& g : allowed_globals()) ok = ok || g == q;
    if (!ok)
      fail("refusing to load global '" + q +
           "': only tensors, storages, OrderedDict and numpy scalars and arrays may appear in a torch file "
           "(a pickle naming other globals could execute code)");
    StackValue v;
    v.kind = StackValue::Global;
    v.s = q;
    return v;
  }

  c10::IValue persistent(const StackValue& pid) {
    auto t = tuple_items(pid, "persistent id");
    if (t.empty() || as_str(t[0], "persistent id tag") != "storage")
      fail("unsupported persistent id (only storages are allowed)");
    if (t.size() != 5 && t.size() != 6) fail("storage persistent id has " + std::to_string(t.size()) + " fields");
    if (t[1].kind != StackValue::Global) fail("storage persistent id without a storage type");
    auto dtype = storage_dtype(t[1].s);
    if (!dtype) fail("unsupported storage type " + t[1].s);
    StorageRef ref;
    ref.dtype = *dtype;
    ref.key = t[2].kind == StackValue::Plain && t[2].iv.isInt() ? std::to_string(t[2].iv.toInt()) : as_str(t[2], "storage key");
    ref.location = as_str(t[3], "storage location");
    ref.numel = as_int(t[4], "storage size");
    if (ref.numel < 0) fail("negative storage size");
    if (t.size() == 6 && !(t[5].kind == StackValue::Plain && t[5].iv.isNone())) {
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
  StackValue call(const StackValue& fn, const std::vector<StackValue>& args) {
    if (fn.kind != StackValue::Global) fail("refusing to call " + describe(fn) + " (only allow-listed globals may be called)");
    const std::string& q = fn.s;
    if (q == "torch._utils._rebuild_tensor_v2" || q == "torch._utils._rebuild_tensor") {
      if (args.size() < 4) fail(q + " needs at least 4 arguments");
      const StackValue& storage = args[0];
      if (storage.kind != StackValue::Plain || !storage.iv.isTensor())
        fail("tensor rebuilt from a non-storage (" + describe(storage) + ")");
      return StackValue::plain(rebuild_tensor(storage.iv.toTensor(), as_int(args[1], "storage offset"),
                                              int_tuple(args[2], "tensor size"), int_tuple(args[3], "tensor stride"),
                                              src_.name()));
    }
    if (q == "torch._utils._rebuild_parameter" || q == "torch._utils._rebuild_parameter_with_state") {
      if (args.empty() || args[0].kind != StackValue::Plain || !args[0].iv.isTensor()) fail(q + " expects a tensor");
      return args[0];
    }
    if (q == "collections.OrderedDict") {
      StackValue d = StackValue::plain(new_dict());
      if (!args.empty()) {  // OrderedDict([(k, v), ...])
        if (args.size() != 1 || args[0].kind != StackValue::Plain || !args[0].iv.isList())
          fail("OrderedDict(...) with unsupported arguments");
        for (auto& kv : args[0].iv.toListRef()) {
          if (!kv.isTuple() || kv.toTupleRef().elements().size() != 2) fail("OrderedDict item is not a pair");
          set_item(d, StackValue::plain(kv.toTupleRef().elements()[0]), StackValue::plain(kv.toTupleRef().elements()[1]));
        }
      }
      return d;
    }
    if (q == "numpy.dtype") {  // numpy.dtype('f8', False, True)
      if (args.empty()) fail("numpy.dtype() without arguments");
      StackValue d;
      d.kind = StackValue::NumpyDtype;
      d.s = as_str(args[0], "numpy dtype");
      return d;
    }
    if (q == "numpy.core.multiarray.scalar" || q == "numpy._core.multiarray.scalar") {
      if (args.size() != 2 || args[0].kind != StackValue::NumpyDtype) fail(q + " expects (dtype, bytes)");
      return StackValue::plain(
          numpy_scalar(args[0].s, args[0].byteorder, as_str(args[1], "numpy scalar data"), src_.name()));
    }
    if (q == "numpy.core.multiarray._reconstruct" || q == "numpy._core.multiarray._reconstruct") {
      // ndarray.__reduce__: _reconstruct(numpy.ndarray, (0,), b'b'), then BUILD with the data.
      if (args.size() != 3 || args[0].kind != StackValue::Global || args[0].s != "numpy.ndarray")
        fail(q + " expects (numpy.ndarray, shape, typecode)");
      StackValue a;
      a.kind = StackValue::NumpyArray;
      a.array = std::make_shared<torch::Tensor>();
      return a;
    }
    if (q == "__builtin__.bytes" || q == "builtins.bytes") {  // protocol 2's b'' (an empty array's data)
      if (!args.empty()) fail(q + " is only accepted without arguments (b'')");
      return StackValue::plain(std::string());
    }
    if (q == "_codecs.encode") {  // protocol 2's way to pickle bytes: encode(str, 'latin1')
      if (args.size() != 2) fail("_codecs.encode expects 2 arguments");
      auto enc = as_str(args[1], "encoding");
      if (enc != "latin1" && enc != "latin-1") fail("_codecs.encode with encoding " + enc + " is not supported");
      return StackValue::plain(utf8_to_latin1(as_str(args[0], "_codecs.encode text"), src_.name()));
    }
    fail("refusing to call global '" + q + "' here");
  }

  void build(StackValue& obj, const StackValue& state) {
    if (obj.kind == StackValue::NumpyDtype) {  // state (version, byteorder, ...)
      auto t = tuple_items(state, "numpy dtype state");
      if (t.size() < 2) fail("short numpy dtype state");
      auto bo = as_str(t[1], "numpy byte order");
      obj.byteorder = bo.empty() ? '=' : bo[0];
      return;
    }
    if (obj.kind == StackValue::NumpyArray) {  // state (version, shape, dtype, Fortran order, data)
      if (obj.array->defined()) fail("numpy array built twice");
      auto t = tuple_items(state, "numpy array state");
      if (t.size() != 5) fail("numpy array state has " + std::to_string(t.size()) + " fields, 5 expected");
      if (t[2].kind != StackValue::NumpyDtype) fail("numpy array state without a dtype (" + describe(t[2]) + ")");
      if (!(t[4].kind == StackValue::Plain && t[4].iv.isString()))
        fail("numpy array of dtype " + t[2].s + " holds " + describe(t[4]) +
             ", not raw data (arrays of Python objects are refused)");
      const std::string descr = std::string(1, t[2].byteorder) + t[2].s;
      const std::string& data = t[4].iv.toStringRef();
      *obj.array = npz::numpy_array(descr, int_tuple(t[1], "numpy array shape"), as_int(t[3], "numpy Fortran order") != 0,
                                    data.data(), data.size(), src_.name());
      obj.kind = StackValue::Plain;
      obj.iv = *obj.array;
      return;
    }
    if (obj.kind == StackValue::Plain && obj.iv.isGenericDict()) {
      // OrderedDict attributes (state dicts carry `_metadata`): accepted and dropped.
      if (state.kind == StackValue::Plain && (state.iv.isNone() || state.iv.isGenericDict())) return;
      if (state.kind == StackValue::Tuple || (state.kind == StackValue::Plain && state.iv.isTuple())) return;
    }
    if (obj.kind == StackValue::Plain && obj.iv.isTensor()) {
      // _rebuild_parameter_with_state / tensor attribute dicts: plain attributes only, dropped.
      if (state.kind == StackValue::Plain && (state.iv.isNone() || state.iv.isGenericDict() || state.iv.isTuple())) return;
    }
    fail("refusing BUILD on " + describe(obj) + " with state " + describe(state));
  }

  ByteSource& src_;
  const StorageLoader& loader_;
  std::vector<StackValue> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, StackValue> memo_;
  bool big_int_hex_;
  DeferredRelease released_;  // declared after stack_ and memo_: released before they are destroyed
};

}  // namespace

c10::IValue unpickle(ByteSource& src, const StorageLoader& loader, bool big_int_result_as_hex) {
  Unpickler u(src, loader, big_int_result_as_hex);
  return u.run();
}

}  // namespace biggan::pickle
