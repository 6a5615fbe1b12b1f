// src/redaction.hpp — applying config::redact to a record before its layouts see it.
//
// The sink router (sink_router.cpp) owns one redactor per configuration, and none when no
// rule is set: then a record costs one null-pointer test and nothing is copied. With
// rules, a record's per-call fields are copied into a scratch buffer only when a key
// could match, and a context's redacted twin is derived once per frame and cached by
// frame id. Used under the router lock only (one thread at a time).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ctxlog/context.hpp"
#include "ctxlog/layout.hpp"
#include "ctxlog/redact.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {

class redactor {
 public:
  // Throws std::invalid_argument for a pattern that cannot match.
  explicit redactor(redact_options o);

  // The fields to render: in, or a redacted copy in this redactor's scratch buffer
  // (valid until the next call).
  call_fields fields(const std::byte* begin, const std::byte* end);
  // The context to render: ctx, or its redacted twin (valid until the next call).
  const context& context_of(const context& ctx);

  // Not API (tests): rewrites the JSON text of the value at path key, replacing the
  // values of matching members; false when the text is not valid JSON.
  bool rewrite_json(std::string_view key, std::string_view json, std::string& out);

 private:
  struct segment {
    enum class kind : std::uint8_t { name, one, any } type;
    std::string text;  // name: lower-case ASCII
  };
  using pattern = std::vector<segment>;
  using path = std::vector<std::string_view>;

  bool matches(const path& p) const;
  bool may_match_below(const path& p) const;
  std::string replacement(const path& p, std::string_view value);
  bool rewrite_value(std::string_view& in, std::string& out, path& p, std::deque<std::string>& keys, int depth);

  struct cached_context {
    std::uint64_t id = 0;  // frame ids are never reused: a hit is the same frame
    bool changed = false;
    context redacted;
  };

  redact_options o_;
  std::vector<pattern> patterns_;
  bool nested_ = false;  // some pattern has more than one segment (or a **)
  std::vector<std::byte> scratch_;
  std::string json_;
  path path_;
  static constexpr unsigned k_context_bits = 10;
  std::unique_ptr<std::array<cached_context, std::size_t{1} << k_context_bits>> contexts_;
};

// nullptr when o sets no rule.
std::unique_ptr<redactor> make_redactor(const redact_options& o);

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
