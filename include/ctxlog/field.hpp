// ctxlog/field.hpp — one custom field of a context, as context::custom() returns it.
//
// Part of the context store (context.hpp); the logger never sees this type.
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <string_view>

namespace ctxlog {
inline namespace v1 {

// A custom (not well-known) context field: its JSON name and its value. Both views point
// into the context's frame: they stay valid as long as the context they came from (or a
// copy of it) lives. Plain data, safe to read from any thread.
//
// Example:
//   for (const ctxlog::field& f : ctxlog::current().custom()) out[f.key] = f.value;
struct field {
  std::string_view key;
  std::string_view value;
};

}  // namespace v1
}  // namespace ctxlog
