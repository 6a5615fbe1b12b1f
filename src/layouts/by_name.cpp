// src/layouts/by_name.cpp — make_layout(): a layout chosen by its name, for programs that
// take it from a command line or the environment.
#include <stdexcept>
#include <string>

#include "ctxlog/console.hpp"
#include "ctxlog/schemas.hpp"

namespace ctxlog {
inline namespace v1 {

layout_ptr make_layout(std::string_view name) {
  if (name == "json") return json_layout();
  if (name == "console") return console_layout();
  if (name == "ecs") return ecs_layout();
  if (name == "otel") return otel_layout();
  if (name == "gcp") return gcp_layout();
  if (name == "datadog") return datadog_layout();
  if (name == "logfmt") return logfmt_layout();
  throw std::invalid_argument("ctxlog::make_layout: unknown layout \"" + std::string(name) +
                              "\"; valid names: json, console, ecs, otel, gcp, datadog, logfmt");
}

}  // namespace v1
}  // namespace ctxlog
