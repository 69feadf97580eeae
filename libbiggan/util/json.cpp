#include "libbiggan/util/json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "libbiggan/util/atomic_file.h"
#include "libbiggan/util/error.h"

namespace biggan {
namespace {

struct Parser {
  const std::string& s;
  const std::string& what;
  size_t p = 0;

  [[noreturn]] void fail(const std::string& msg) const { fail_at(p, msg); }
  [[noreturn]] void fail_at(size_t at, const std::string& msg) const {
    throw input_error(what, "invalid JSON at offset " + std::to_string(at) + ": " + msg);
  }
  void ws() {
    while (p < s.size() && (s[p] == ' ' || s[p] == '\n' || s[p] == '\t' || s[p] == '\r')) ++p;
  }
  bool take(const char* lit) {
    size_t n = std::char_traits<char>::length(lit);
    if (s.compare(p, n, lit) == 0) {
      p += n;
      return true;
    }
    return false;
  }
  Json value(int depth) {
    if (depth > 200) fail("nesting too deep");
    ws();
    if (p >= s.size()) fail("unexpected end");
    char c = s[p];
    if (c == '{') return object(depth);
    if (c == '[') return array(depth);
    if (c == '"') return Json(string());
    if (take("true")) return Json(true);
    if (take("false")) return Json(false);
    if (take("null")) return Json();
    if (take("NaN")) return Json(std::nan(""));
    if (take("Infinity")) return Json(HUGE_VAL);
    if (take("-Infinity")) return Json(-HUGE_VAL);
    return number();
  }
  Json number() {
    size_t start = p;
    if (p < s.size() && (s[p] == '-' || s[p] == '+')) ++p;
    bool is_int = true;
    while (p < s.size() && (std::isdigit(static_cast<unsigned char>(s[p])) || s[p] == '.' || s[p] == 'e' ||
                            s[p] == 'E' || s[p] == '-' || s[p] == '+')) {
      if (s[p] == '.' || s[p] == 'e' || s[p] == 'E') is_int = false;
      ++p;
    }
    std::string tok = s.substr(start, p - start);
    if (tok.empty() || tok == "-") fail("expected a value");
    char* end = nullptr;
    if (is_int) {
      errno = 0;
      long long v = std::strtoll(tok.c_str(), &end, 10);
      if (*end == '\0' && errno == 0) return Json(static_cast<int64_t>(v));
    }
    double d = std::strtod(tok.c_str(), &end);
    if (*end != '\0') fail("bad number '" + tok + "'");
    return Json(d);
  }
  // Four hex digits after "\\u" (p is at the first); the position of the escape in errors.
  unsigned hex4(size_t escape_at) {
    if (p + 4 > s.size()) fail_at(escape_at, "\\u escape needs 4 hex digits");
    unsigned v = 0;
    for (size_t i = 0; i < 4; ++i) {
      char c = s[p + i];
      unsigned d = c >= '0' && c <= '9' ? unsigned(c - '0')
                   : c >= 'a' && c <= 'f' ? unsigned(c - 'a' + 10)
                   : c >= 'A' && c <= 'F' ? unsigned(c - 'A' + 10)
                                          : 16u;
      if (d == 16) fail_at(escape_at, "\\u escape needs 4 hex digits");
      v = v * 16 + d;
    }
    p += 4;
    return v;
  }
  // A \\uXXXX escape (p just after the 'u'), with a UTF-16 surrogate pair joined; lone surrogates
  // are errors (they have no UTF-8 form).
  unsigned code_point() {
    const size_t at = p - 2;
    unsigned cp = hex4(at);
    if (cp >= 0xDC00 && cp < 0xE000) fail_at(at, "\\u escape is a lone low surrogate");
    if (cp >= 0xD800 && cp < 0xDC00) {
      if (p + 2 > s.size() || s[p] != '\\' || s[p + 1] != 'u')
        fail_at(at, "\\u escape is a high surrogate without its low surrogate");
      p += 2;
      unsigned lo = hex4(p - 2);
      if (lo < 0xDC00 || lo >= 0xE000) fail_at(at, "\\u escape is a high surrogate without its low surrogate");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    return cp;
  }
  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  std::string string() {
    ++p;  // opening quote
    std::string out;
    while (true) {
      if (p >= s.size()) fail("unterminated string");
      char c = s[p++];
      if (c == '"') break;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (p >= s.size()) fail("unterminated escape");
      char e = s[p++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': append_utf8(out, code_point()); break;
        default: fail(std::string("bad escape \\") + e);
      }
    }
    return out;
  }
  Json array(int depth) {
    ++p;
    Json a = Json::array();
    ws();
    if (p < s.size() && s[p] == ']') {
      ++p;
      return a;
    }
    while (true) {
      a.push_back(value(depth + 1));
      ws();
      if (p < s.size() && s[p] == ',') { ++p; continue; }
      if (p < s.size() && s[p] == ']') { ++p; return a; }
      fail("expected ',' or ']'");
    }
  }
  Json object(int depth) {
    ++p;
    Json o = Json::object();
    ws();
    if (p < s.size() && s[p] == '}') {
      ++p;
      return o;
    }
    while (true) {
      ws();
      if (p >= s.size() || s[p] != '"') fail("expected a member name");
      std::string key = string();
      ws();
      if (p >= s.size() || s[p] != ':') fail("expected ':'");
      ++p;
      o.set(key, value(depth + 1));
      ws();
      if (p < s.size() && s[p] == ',') { ++p; continue; }
      if (p < s.size() && s[p] == '}') { ++p; return o; }
      fail("expected ',' or '}'");
    }
  }
};

void dump_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

}  // namespace

Json Json::parse(const std::string& text, const std::string& what) {
  Parser ps{text, what};
  Json v = ps.value(0);
  ps.ws();
  if (ps.p != text.size()) ps.fail("trailing characters");
  return v;
}

Json Json::parse_file(const std::string& path) { return parse(read_file(path), path); }

bool Json::as_bool() const {
  if (type_ != Type::Bool) throw Error("JSON: expected a boolean");
  return b_;
}
double Json::as_double() const {
  if (type_ == Type::Int) return static_cast<double>(i_);
  if (type_ != Type::Double) throw Error("JSON: expected a number");
  return d_;
}
int64_t Json::as_int() const {
  if (type_ == Type::Int) return i_;
  if (type_ == Type::Double && std::floor(d_) == d_ && std::isfinite(d_)) return static_cast<int64_t>(d_);
  throw Error("JSON: expected an integer");
}
const std::string& Json::as_string() const {
  if (type_ != Type::String) throw Error("JSON: expected a string");
  return s_;
}
const std::vector<Json>& Json::as_array() const {
  if (type_ != Type::Array) throw Error("JSON: expected an array");
  return arr_;
}
const std::vector<std::pair<std::string, Json>>& Json::items() const {
  if (type_ != Type::Object) throw Error("JSON: expected an object");
  return obj_;
}
const Json* Json::find(const std::string& key) const {
  if (type_ != Type::Object) return nullptr;
  for (auto& kv : obj_)
    if (kv.first == key) return &kv.second;
  return nullptr;
}
bool Json::contains(const std::string& key) const { return find(key) != nullptr; }
const Json& Json::operator[](const std::string& key) const {
  const Json* v = find(key);
  if (!v) throw Error("JSON: missing member '" + key + "'");
  return *v;
}
size_t Json::size() const {
  if (type_ == Type::Array) return arr_.size();
  if (type_ == Type::Object) return obj_.size();
  return 0;
}
Json& Json::push_back(Json v) {
  if (type_ == Type::Null) type_ = Type::Array;
  if (type_ != Type::Array) throw Error("JSON: push_back on a non-array");
  arr_.push_back(std::move(v));
  return *this;
}
Json& Json::set(const std::string& key, Json v) {
  if (type_ == Type::Null) type_ = Type::Object;
  if (type_ != Type::Object) throw Error("JSON: set on a non-object");
  for (auto& kv : obj_)
    if (kv.first == key) {
      kv.second = std::move(v);
      return *this;
    }
  obj_.emplace_back(key, std::move(v));
  return *this;
}

void Json::dump_to(std::string& out, int indent, int depth) const {
  auto newline = [&](int d) {
    if (indent <= 0) return;
    out += '\n';
    out.append(static_cast<size_t>(indent * d), ' ');
  };
  switch (type_) {
    case Type::Null: out += "null"; break;
    case Type::Bool: out += b_ ? "true" : "false"; break;
    case Type::Int: out += std::to_string(i_); break;
    case Type::Double: {
      if (std::isnan(d_)) out += "NaN";
      else if (std::isinf(d_)) out += d_ > 0 ? "Infinity" : "-Infinity";
      else {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.17g", d_);
        std::string t = buf;
        if (t.find_first_of(".eE") == std::string::npos) t += ".0";
        out += t;
      }
      break;
    }
    case Type::String: dump_string(out, s_); break;
    case Type::Array:
      out += '[';
      for (size_t i = 0; i < arr_.size(); ++i) {
        if (i) out += indent > 0 ? "," : ", ";
        newline(depth + 1);
        arr_[i].dump_to(out, indent, depth + 1);
      }
      if (!arr_.empty()) newline(depth);
      out += ']';
      break;
    case Type::Object:
      out += '{';
      for (size_t i = 0; i < obj_.size(); ++i) {
        if (i) out += indent > 0 ? "," : ", ";
        newline(depth + 1);
        dump_string(out, obj_[i].first);
        out += ": ";
        obj_[i].second.dump_to(out, indent, depth + 1);
      }
      if (!obj_.empty()) newline(depth);
      out += '}';
      break;
  }
}

std::string Json::dump() const {
  std::string out;
  dump_to(out, 0, 0);
  return out;
}
std::string Json::dump_pretty(int indent) const {
  std::string out;
  dump_to(out, indent, 0);
  return out;
}

}  // namespace biggan
