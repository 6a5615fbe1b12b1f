// src/propagation/span.cpp — the span scope: a child context, and one line at its end.
#include "ctxlog/span.hpp"

#include <cxxabi.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <typeinfo>

#include "ctxlog/log.hpp"
#include "ctxlog/trace.hpp"
#include "ids.hpp"

namespace ctxlog {
inline namespace v1 {

namespace {

// The current span's child: a new spanId under the same trace, the old spanId as parent;
// a new trace when there is none.
context child_of(const context& parent) {
  if (parent.trace_id().empty()) return start_trace(parent);
  char id[16];
  detail::fill_span_id(id);
  return parent.with(fields{}.span_id(std::string_view(id, 16)).parent_span_id(parent.span_id()));
}

std::uint64_t unix_nanos() noexcept {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}
std::uint64_t steady_nanos() noexcept {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> p(abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  return status == 0 && p ? std::string(p.get()) : std::string(mangled);
}

}  // namespace

std::pair<std::string, std::string> detail::describe_exception(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return {demangle(typeid(x).name()), x.what()};
  } catch (...) {
    const std::type_info* t = abi::__cxa_current_exception_type();
    return {t ? demangle(t->name()) : std::string("unknown"), std::string()};
  }
}

namespace {

// One site per level: the end line's level is chosen at run time. No file/line: the
// library's own would mislead, and the span's name says where it is.
#define CTXLOG_SPAN_SITE(l) \
  detail::site { level::l, "span {} {} in {:.3f} ms", "", 0, "" }
constexpr detail::site k_sites[] = {CTXLOG_SPAN_SITE(trace), CTXLOG_SPAN_SITE(debug), CTXLOG_SPAN_SITE(info),
                                    CTXLOG_SPAN_SITE(warn),  CTXLOG_SPAN_SITE(error), CTXLOG_SPAN_SITE(critical)};
#undef CTXLOG_SPAN_SITE

}  // namespace

std::string_view to_string(span_kind k) noexcept {
  switch (k) {
    case span_kind::server: return "server";
    case span_kind::client: return "client";
    case span_kind::producer: return "producer";
    case span_kind::consumer: return "consumer";
    case span_kind::internal: break;
  }
  return "internal";
}

span::span(std::string_view name, span_options o)
    : name_(name),
      opts_(o),
      ctx_(child_of(current())),
      scope_(ctx_),
      start_mono_(steady_nanos()),
      unwinding_(std::uncaught_exceptions()) {}

void span::fail(std::string_view type, std::string_view message) {
  failed_ = true;
  error_type_ = type;
  error_message_ = message;
}

void span::fail(const std::exception& e) { fail(demangle(typeid(e).name()), e.what()); }

void span::fail(std::exception_ptr e) {
  if (!e) return;
  auto [type, what] = detail::describe_exception(e);
  fail(type, what);
}

namespace detail {
void report_spawned_failure(const context& ctx, std::exception_ptr e) noexcept {
  static constexpr site s{level::error, "task failed: {}: {}", "", 0, ""};
  try {
    const auto error = detail::describe_exception(e);  // (clang 14: no structured bindings in the lambda)
    const std::string_view type = error.first, what = error.second;
    run(ctx, [&] { emit(default_logger(), s, record_kind::line, type, what, kv("errorType", type), kv("errorMessage", what)); });
  } catch (...) {
    emit_failed();  // counted as a record that could not be written
  }
}
}  // namespace detail

std::string_view span::span_id() const noexcept { return ctx_.span_id(); }

span::~span() {
  // The scope is still installed here: the end line carries the span's own ids.
  const bool error = failed_ || std::uncaught_exceptions() > unwinding_;
  static const logger& span_logger = get_logger("span");
  const logger& log = opts_.log ? *opts_.log : span_logger;
  level lvl = opts_.end_level;
  if (error && lvl < level::error) lvl = level::error;
  const detail::record_kind admitted = lvl == level::off ? detail::record_kind::none : log.admit(lvl);
  if (lvl == level::off || admitted == detail::record_kind::none) return;
  // One wall-clock read, at the end: the start is the end minus the steady duration.
  const std::uint64_t duration = steady_nanos() - start_mono_;
  const std::uint64_t start_ns = unix_nanos() - duration;
  const detail::site& s = k_sites[static_cast<int>(lvl)];
  const double ms = static_cast<double>(duration) / 1e6;
  const std::string_view kind = to_string(opts_.kind);
  if (!error) {
    detail::emit(log, s, admitted, name_, "ok", ms, kv("span", name_), kv("spanKind", kind), kv("startUnixNano", start_ns),
                 kv("durationNs", duration), kv("outcome", "ok"));
    return;
  }
  const std::string_view type = failed_ ? std::string_view(error_type_) : "unknown";
  const std::string_view what = failed_ ? std::string_view(error_message_) : "an exception passed through the span";
  detail::emit(log, s, admitted, name_, "failed", ms, kv("span", name_), kv("spanKind", kind), kv("startUnixNano", start_ns),
               kv("durationNs", duration), kv("outcome", "error"), kv("errorType", type), kv("errorMessage", what));
}

}  // namespace v1
}  // namespace ctxlog
