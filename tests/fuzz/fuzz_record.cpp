// tests/fuzz/fuzz_record.cpp — the record path as a whole: log calls with arguments of
// fuzzed types, values and sizes, encoded by the calling thread into its queue, decoded
// and formatted by the back-end, rendered by the JSON layout into a sink; against a model
// that formats the same values at the call site with fmt and builds the expected JSON.
//
// Each input is up to 16 calls (shapes: 1-2 message arguments and 0-2 kv(); types
// int64, uint64, double from any bit pattern, bool, char, std::string of 0 bytes to
// 2.4 MB, const char* with embedded NULs), some inside a request context with a fuzzed
// requestId. After ctxlog::flush(), properties: every line is strict JSON (one object,
// unique keys, valid UTF-8, no raw control character); its msg is the model's text with
// ill-formed UTF-8 repaired; each kv() is its JSON value (numbers as numbers, non-finite
// doubles as their names, strings repaired); the requestId is the context's; the lines
// are in call order; and every call is accounted for: issued grows by the calls, and
// each is either written (its line is there) or counted as dropped (too large for the
// queue), written + dropped == issued.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "ctxlog/ctxlog.hpp"
#include "fuzz_support.hpp"

namespace {

class capture final : public ctxlog::sink {
 public:
  void write(const ctxlog::log_line& l) override {
    const std::lock_guard g(m_);
    lines_.emplace_back(l.text);
  }
  std::vector<std::string> take() {
    const std::lock_guard g(m_);
    return std::exchange(lines_, {});
  }

 private:
  std::mutex m_;
  std::vector<std::string> lines_;
};

capture& sink() {
  static capture* const c = [] {
    auto s = std::make_shared<capture>();
    ctxlog::config cfg;
    cfg.sinks = {s};
    cfg.level_env = "";         // the environment does not change what is tested
    cfg.crash_handler = false;  // libFuzzer's own handlers report crashes
    ctxlog::configure(std::move(cfg));
    return s.get();  // the configuration keeps it for the whole run
  }();
  return *c;
}

// What one call must produce.
struct expected {
  std::uint64_t seq;
  std::string msg;                                     // before UTF-8 repair
  std::vector<std::pair<std::string, nlohmann::json>> kvs;
};

// A string of 0..191 bytes, 1..56 KiB, or 0.3..2.4 MB (larger than the 1 MiB queue): up
// to 64 bytes from the input, repeated to the length.
std::string sized_text(fuzz::reader& r, int& big_left) {
  const std::uint8_t b = r.byte();
  std::size_t n = b < 192 ? b : b < 248 ? std::size_t{b - 191u} * 1024 : std::size_t{b - 247u} * 300000;
  if (n > 4096 && big_left-- <= 0) n = 4096;  // at most two large strings per input
  std::string seed;
  while (seed.size() < std::min<std::size_t>(n, 64)) seed.push_back(static_cast<char>(r.byte()));
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = seed[i % seed.size()];
  return s;
}

// Calls f with a value of a type the input chooses.
template <class F>
void with_value(fuzz::reader& r, int& big_left, F&& f) {
  switch (r.below(7)) {
    case 0: f(static_cast<std::int64_t>(r.u64())); break;
    case 1: f(r.u64()); break;
    case 2: {
      const std::uint64_t bits = r.u64();
      double d;
      std::memcpy(&d, &bits, sizeof d);
      f(d);
      break;
    }
    case 3: f(r.flag()); break;
    case 4: f(static_cast<char>(r.byte())); break;
    case 5: f(sized_text(r, big_left)); break;
    default: {
      const std::string s = sized_text(r, big_left);  // a C string stops at its first NUL
      f(s.c_str());
      break;
    }
  }
}

template <class T>
nlohmann::json kv_model(const T& v) {
  using D = std::decay_t<T>;
  if constexpr (std::is_same_v<D, bool> || std::is_same_v<D, std::int64_t> || std::is_same_v<D, std::uint64_t>) {
    return v;
  } else if constexpr (std::is_same_v<D, double>) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
    return v;
  } else if constexpr (std::is_same_v<D, char>) {
    return fuzz::repaired_utf8(std::string(1, v));
  } else {
    return fuzz::repaired_utf8(std::string(v));
  }
}

// One call of the shape the input chooses; what it must write goes to `want`.
void one_call(fuzz::reader& r, std::uint64_t seq, int& big_left, std::vector<expected>& want) {
  expected e{seq, {}, {}};
  switch (r.below(5)) {
    case 0:
      with_value(r, big_left, [&](const auto& a) {
        e.msg = fmt::format("#{} {}", seq, a);
        LOG_INFO("#{} {}", seq, a);
      });
      break;
    case 1:
      with_value(r, big_left, [&](const auto& a) {
        with_value(r, big_left, [&](const auto& b) {
          e.msg = fmt::format("#{} {}|{}", seq, a, b);
          LOG_INFO("#{} {}|{}", seq, a, b);
        });
      });
      break;
    case 2:
      with_value(r, big_left, [&](const auto& a) {
        with_value(r, big_left, [&](const auto& b) {
          e.msg = fmt::format("#{} {}", seq, a);
          e.kvs.emplace_back("k0", kv_model(b));
          LOG_INFO("#{} {}", seq, a, ctxlog::kv("k0", b));
        });
      });
      break;
    case 3:
      with_value(r, big_left, [&](const auto& a) {
        with_value(r, big_left, [&](const auto& b) {
          e.msg = fmt::format("#{}", seq);
          e.kvs.emplace_back("k0", kv_model(a));
          e.kvs.emplace_back("k1", kv_model(b));
          LOG_INFO("#{}", seq, ctxlog::kv("k0", a), ctxlog::kv("k1", b));
        });
      });
      break;
    default:  // the same values as message arguments and as kv(): 49 type pairs, not 343
      with_value(r, big_left, [&](const auto& a) {
        with_value(r, big_left, [&](const auto& b) {
          e.msg = fmt::format("#{} {}|{}", seq, a, b);
          e.kvs.emplace_back("k0", kv_model(b));
          e.kvs.emplace_back("k1", kv_model(a));
          LOG_INFO("#{} {}|{}", seq, a, b, ctxlog::kv("k0", b), ctxlog::kv("k1", a));
        });
      });
      break;
  }
  want.push_back(std::move(e));
}

// The seq a line's msg starts with ("#<seq>"), or nullopt.
std::optional<std::uint64_t> seq_of(const std::string& msg) {
  if (msg.size() < 2 || msg[0] != '#') return std::nullopt;
  std::uint64_t v = 0;
  std::size_t i = 1;
  for (; i < msg.size() && msg[i] >= '0' && msg[i] <= '9'; ++i) v = v * 10 + static_cast<unsigned>(msg[i] - '0');
  if (i == 1) return std::nullopt;
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  capture& out = sink();
  fuzz::reader r(data, size);
  const std::size_t calls = 1 + r.below(16);
  const bool in_request = r.flag();
  const std::string request_id = in_request ? r.text(64) : std::string();
  int big_left = 2;
  std::vector<expected> want;
  const ctxlog::stats before = ctxlog::get_stats();
  const auto log_all = [&] {
    for (std::size_t i = 0; i < calls; ++i) one_call(r, i, big_left, want);
  };
  if (in_request) ctxlog::run(ctxlog::fields{}.request_id(request_id), log_all);
  else log_all();
  ctxlog::flush();
  const ctxlog::stats after = ctxlog::get_stats();
  const std::vector<std::string> lines = out.take();

  const std::uint64_t issued = after.issued - before.issued, written = after.written - before.written,
                      dropped = after.dropped - before.dropped;
  fuzz::check(issued == calls, "issued does not grow by the calls made");
  fuzz::check(written + dropped == issued, "a call neither written nor counted as dropped");
  fuzz::check(lines.size() == written, "lines at the sink differ from written");

  std::size_t next = 0;  // index into want: lines come in call order, dropped ones missing
  for (const std::string& line : lines) {
    std::string why;
    const auto j = fuzz::strict_line(line, why);
    if (!j) fuzz::fail(why, line);
    fuzz::check(j->contains("msg") && (*j)["msg"].is_string(), "no msg", line);
    const std::string msg = (*j)["msg"].get<std::string>();
    const auto seq = seq_of(msg);
    fuzz::check(seq.has_value(), "msg does not start with its call's #seq", line);
    while (next < want.size() && want[next].seq < *seq) ++next;
    fuzz::check(next < want.size() && want[next].seq == *seq, "a line out of call order, or twice", line);
    const expected& e = want[next++];
    fuzz::check(msg == fuzz::repaired_utf8(e.msg), "msg differs from the model's", line);
    for (const auto& [key, value] : e.kvs) {
      fuzz::check(j->contains(key), "a kv() is missing", line);
      fuzz::check((*j)[key] == value, "a kv() value differs from the model's", line);
    }
    if (!request_id.empty()) {
      fuzz::check(j->contains("requestId") && (*j)["requestId"] == fuzz::repaired_utf8(request_id),
                  "requestId differs from the context's", line);
    } else {
      fuzz::check(!j->contains("requestId"), "a requestId without a context that has one", line);
    }
  }
  return 0;
}
