// A small JSON value: enough for configs (fixtures' config.json, our metadata) and JSONL logs.
// Objects keep their member order; numbers keep whether they were written as integers.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace biggan {

class Json {
 public:
  enum class Type { Null, Bool, Int, Double, String, Array, Object };

  Json() = default;
  Json(std::nullptr_t) {}
  Json(bool b) : type_(Type::Bool), b_(b) {}
  Json(int v) : type_(Type::Int), i_(v) {}
  Json(int64_t v) : type_(Type::Int), i_(v) {}
  Json(double v) : type_(Type::Double), d_(v) {}
  Json(const char* s) : type_(Type::String), s_(s) {}
  Json(std::string s) : type_(Type::String), s_(std::move(s)) {}
  static Json array() { Json j; j.type_ = Type::Array; return j; }
  static Json object() { Json j; j.type_ = Type::Object; return j; }

  // Parses text; `what` names the input in error messages.
  static Json parse(const std::string& text, const std::string& what = "JSON");
  static Json parse_file(const std::string& path);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_number() const { return type_ == Type::Int || type_ == Type::Double; }
  bool is_int() const { return type_ == Type::Int; }
  bool is_string() const { return type_ == Type::String; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_object() const { return type_ == Type::Object; }

  bool as_bool() const;
  double as_double() const;   // ints convert
  int64_t as_int() const;     // doubles with an integral value convert
  const std::string& as_string() const;
  const std::vector<Json>& as_array() const;
  const std::vector<std::pair<std::string, Json>>& items() const;

  bool contains(const std::string& key) const;
  const Json& operator[](const std::string& key) const;  // throws if missing
  const Json* find(const std::string& key) const;        // nullptr if missing
  size_t size() const;

  Json& push_back(Json v);
  Json& set(const std::string& key, Json v);  // replaces an existing member in place

  // Compact single-line text; doubles are written with 17 significant digits (exact round trip),
  // non-finite doubles as NaN / Infinity / -Infinity (as Python's json module does).
  std::string dump() const;
  // Indented text for files people read.
  std::string dump_pretty(int indent = 1) const;

 private:
  void dump_to(std::string& out, int indent, int depth) const;
  Type type_ = Type::Null;
  bool b_ = false;
  int64_t i_ = 0;
  double d_ = 0;
  std::string s_;
  std::vector<Json> arr_;
  std::vector<std::pair<std::string, Json>> obj_;
};

}  // namespace biggan
