// tests/fuzz/fuzz_support.hpp — what the fuzz targets share: a reader that turns the
// fuzzer's bytes into choices and strings, a strict JSON line check, an independent model
// of UTF-8 repair, and a failure that stops the run with the input's story.
//
// Each target defines LLVMFuzzerTestOneInput. Built with clang's -fsanitize=fuzzer it is
// a libFuzzer binary (scripts/fuzz.sh); built with replay_main.cpp it runs a corpus
// folder as a regression test (tests/fuzz/meson.build, every build).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace fuzz {

// Reports a broken property and aborts: libFuzzer saves the input as a crash, the replay
// driver fails the test. `what` says which property, `text` the output that broke it.
[[noreturn]] inline void fail(std::string_view what, std::string_view text = {}) {
  std::fprintf(stderr, "fuzz property broken: %.*s\n", static_cast<int>(what.size()), what.data());
  if (!text.empty()) {
    std::fprintf(stderr, "output (%zu bytes): ", text.size());
    for (const char c : text) {
      const auto u = static_cast<unsigned char>(c);
      if (u >= 0x20 && u < 0x7f) std::fputc(u, stderr);
      else std::fprintf(stderr, "\\x%02x", u);
    }
    std::fputc('\n', stderr);
  }
  std::abort();
}

inline void check(bool ok, std::string_view what, std::string_view text = {}) {
  if (!ok) fail(what, text);
}

// The fuzzer's bytes as a sequence of choices. Past the end every read yields zeros and
// empty strings, so a short input is still a complete (small) case.
class reader {
 public:
  reader(const std::uint8_t* data, std::size_t size) : p_(data), end_(data + size) {}

  bool empty() const noexcept { return p_ == end_; }
  std::uint8_t byte() noexcept { return p_ == end_ ? 0 : *p_++; }
  bool flag() noexcept { return byte() & 1; }
  // A number in [0, n) (n > 0).
  std::size_t below(std::size_t n) noexcept { return byte() % n; }
  std::uint64_t u64() noexcept {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | byte();
    return v;
  }
  // A string of up to max bytes: a length byte, then that many bytes as they are.
  std::string text(std::size_t max = 64) {
    const std::size_t n = std::min<std::size_t>(byte(), max);
    std::string s;
    while (s.size() < n && p_ != end_) s.push_back(static_cast<char>(*p_++));
    return s;
  }
  // All that is left.
  std::string rest() {
    std::string s(reinterpret_cast<const char*>(p_), static_cast<std::size_t>(end_ - p_));
    p_ = end_;
    return s;
  }

 private:
  const std::uint8_t* p_;
  const std::uint8_t* end_;
};

// The length of the longest prefix of s[i..] that is the start of a well-formed UTF-8
// sequence, and whether that prefix is the whole sequence. Written from the definition
// (Unicode 15, 3.9 D92: the bytes encode a scalar value in the shortest form), by
// ranges of code points, not from the lead-byte table src/json.cpp uses, so the two
// can disagree only if one of them is wrong.
struct utf8_prefix {
  std::size_t length;
  bool complete;
};
inline utf8_prefix longest_utf8_prefix(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n;
  std::uint32_t value;
  if (c < 0x80) return {1, true};
  if ((c & 0xE0) == 0xC0) n = 2, value = c & 0x1Fu;
  else if ((c & 0xF0) == 0xE0) n = 3, value = c & 0x0Fu;
  else if ((c & 0xF8) == 0xF0) n = 4, value = c & 0x07u;
  else return {0, false};
  const std::uint32_t min_for[] = {0, 0, 0x80, 0x800, 0x10000};
  const std::uint32_t max_for[] = {0, 0, 0x7FF, 0xFFFF, 0x10FFFF};
  // Does some completion of the first k bytes (value so far) give a valid scalar value?
  const auto possible = [&](std::size_t k, std::uint32_t v) {
    const unsigned missing = static_cast<unsigned>(6 * (n - k));
    const std::uint32_t lo = v << missing, hi = ((v + 1) << missing) - 1;
    const std::uint32_t a = std::max(lo, min_for[n]), b = std::min(hi, max_for[n]);
    if (a > b) return false;
    return !(a >= 0xD800 && b <= 0xDFFF);  // an interval wholly inside the surrogates
  };
  if (!possible(1, value)) return {0, false};
  std::size_t k = 1;
  for (; k < n; ++k) {
    if (i + k >= s.size()) return {k, false};
    const auto t = static_cast<unsigned char>(s[i + k]);
    if ((t & 0xC0) != 0x80 || !possible(k + 1, value << 6 | (t & 0x3Fu))) return {k, false};
    value = value << 6 | (t & 0x3Fu);
  }
  return {n, true};
}

// s with every maximal ill-formed subpart replaced by U+FFFD (the Unicode "best practice"
// the encoder promises), from longest_utf8_prefix().
inline std::string repaired_utf8(std::string_view s) {
  std::string r;
  std::size_t i = 0;
  while (i < s.size()) {
    const utf8_prefix p = longest_utf8_prefix(s, i);
    if (p.complete) {
      r.append(s.substr(i, p.length));
      i += p.length;
    } else {
      r.append("\xEF\xBF\xBD");
      i += std::max<std::size_t>(p.length, 1);
    }
  }
  return r;
}

inline bool valid_utf8(std::string_view s) { return repaired_utf8(s) == s; }

// One log line as the JSON layouts promise it: ends in exactly one '\n', holds no other
// line break, no raw control character and no invalid UTF-8, parses as one JSON object
// in which no object repeats a key. nullopt (and `why` set) when it does not.
inline std::optional<nlohmann::json> strict_line(std::string_view line, std::string& why) {
  if (line.empty() || line.back() != '\n') return why = "line does not end in '\\n'", std::nullopt;
  const std::string_view body = line.substr(0, line.size() - 1);
  for (const char c : body)
    if (static_cast<unsigned char>(c) < 0x20) return why = "raw control character", std::nullopt;
  if (!valid_utf8(body)) return why = "invalid UTF-8", std::nullopt;
  std::vector<std::set<std::string>> keys;
  bool repeated = false;
  const auto watch = [&](int, nlohmann::json::parse_event_t ev, nlohmann::json& v) {
    using ev_t = nlohmann::json::parse_event_t;
    if (ev == ev_t::object_start) keys.emplace_back();
    else if (ev == ev_t::object_end) keys.pop_back();
    else if (ev == ev_t::key && !keys.back().insert(v.get<std::string>()).second) repeated = true;
    return true;
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body, watch);
  } catch (const std::exception& e) {
    return why = std::string("not JSON: ") + e.what(), std::nullopt;
  }
  if (repeated) return why = "a key appears twice in one object", std::nullopt;
  if (!j.is_object()) return why = "not an object", std::nullopt;
  return j;
}

}  // namespace fuzz
