// ctxlog/redact.hpp — redaction rules: which field values never reach a sink, and what
// replaces them. Given once in config::redact; the back-end applies them to every
// record before any layout renders it (docs/redaction.md).
//
// Example:
//   ctxlog::configure({.redact = {.keys = {"password", "*.token", "authorization"}}});
//   LOG_INFO("login", ctxlog::kv("password", pw));  // {"...","password":"[redacted]"}
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace ctxlog {
inline namespace v1 {

struct redact_options {
  // Key patterns. A key path is the field's key, then the keys of the objects inside a
  // structured value, joined by '.', and split into segments at every '.' (array
  // elements add no segment). A pattern matches a whole path, segment by segment, with
  // ASCII letters compared case-insensitively; a `*` segment matches any one segment and
  // a `**` segment any number of them (none included): "password", "*.token",
  // "**.secret". An empty pattern, an empty segment, '*' inside a segment ("tok*"),
  // whitespace or a control character make configure() throw std::invalid_argument.
  std::vector<std::string> keys{};
  // What replaces the value of a matching field (always written as a string).
  std::string censor = "[redacted]";
  // Optional: computes the replacement from the key path ("user.token") and the value's
  // text (a string as it is, a number or a structured value as JSON text). Called on the
  // back-end thread, at most once per context frame for context fields; it must not log.
  // When it throws, `censor` is written instead: never the raw value.
  std::function<std::string(std::string_view key, std::string_view value)> censor_fn{};
};

}  // namespace v1
}  // namespace ctxlog
