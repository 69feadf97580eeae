// ckpt-inspect's report: what serialization/inspect.h reports of a weights folder or a .pth file,
// plus the architecture read off the G / D tensors (config_from_tensors.h), where the stored config
// disagrees with them, what the tensors cannot show, and whether models of that architecture take
// every tensor.
#pragma once
#include <string>

#include "libbiggan/serialization/inspect.h"
#include "libbiggan/util/json.h"

namespace biggan {

// inspect_path's report with an "architecture" member ({"error": ...} when the tensors are no
// BigGAN G / D; absent when the path holds neither).
Json inspect_checkpoint(const std::string& path, const InspectOptions& options);
std::string format_checkpoint_report(const Json& report);

}  // namespace biggan
