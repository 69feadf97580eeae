#include "libbiggan/util/provenance.h"

#include <cstring>
#include <mutex>

#include "libbiggan/util/version.h"

namespace biggan {
namespace {

std::mutex g_mutex;
Provenance g_invocation{"biggan-cpp", "", ""};

}  // namespace

std::string shell_quote(const std::string& arg) {
  if (!arg.empty() && arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                            "@%+=:,./-_") == std::string::npos)
    return arg;
  std::string out = "'";
  for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

void record_invocation(const std::string& tool, const std::vector<std::string>& args) {
  std::string line = tool;
  for (const auto& a : args) line += " " + shell_quote(a);
  std::lock_guard<std::mutex> lock(g_mutex);
  g_invocation = {tool, "", line};
}

void record_invocation(const std::string& tool, int argc, const char* const* argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  record_invocation(tool, args);
}

Provenance provenance() {
  std::lock_guard<std::mutex> lock(g_mutex);
  Provenance p = g_invocation;
  p.version = toolkit_version() + " (git " + git_commit() + ")";
  return p;
}

Json provenance_json() {
  const auto p = provenance();
  return Json::object().set("tool", p.tool).set("version", p.version).set("command_line", p.command_line);
}

torch::Tensor provenance_bytes() {
  const std::string text = provenance_json().dump();
  auto bytes = torch::empty({int64_t(text.size())}, torch::kUInt8);
  if (!text.empty()) std::memcpy(bytes.data_ptr(), text.data(), text.size());
  return bytes;
}

}  // namespace biggan
