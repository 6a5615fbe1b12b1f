// libFuzzer target for the trace-context parsers (clang only; `ninja fuzz_trace`, then
// ./tests/propagation/fuzz_trace -max_total_time=60). Each parser is checked against a
// simple property: whatever it accepts, ctxlog formats back into something it accepts
// again with the same meaning.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ctxlog/trace.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  if (auto tp = ctxlog::parse_traceparent(in)) {
    const auto again = ctxlog::parse_traceparent(ctxlog::format_traceparent(tp->trace_id, tp->parent_id, tp->flags));
    if (!again || again->trace_id != tp->trace_id || again->parent_id != tp->parent_id ||
        again->flags != (tp->flags & ctxlog::trace_flags_known))
      std::abort();
  }
  const auto b = ctxlog::parse_baggage(in);
  if (ctxlog::parse_baggage(ctxlog::format_baggage(b.members)).members != b.members) std::abort();
  if (auto ts = ctxlog::tracestate::parse(in)) {
    const auto again = ctxlog::tracestate::parse(ts->to_string(1u << 20));
    if (!again || *again != *ts) std::abort();
  }
  (void)ctxlog::safe_header_value(in);
  return 0;
}
