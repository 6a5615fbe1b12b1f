// The JSON encoder: every input gives one valid JSON string on one line that parses back
// to the same text, after U+FFFD replacement of invalid UTF-8.
#include <doctest/doctest.h>

#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "ctxlog/ctxlog.hpp"
#include "ctxlog/detail/json.hpp"
#include "support.hpp"

namespace {

std::string encode(std::string_view s) {
  ctxlog::detail::line_buffer b;
  ctxlog::detail::append_json_string(b, s);
  return std::string(b.data(), b.size());
}

std::string roundtrip(std::string_view s) {
  const std::string enc = encode(s);
  REQUIRE(enc.find('\n') == std::string::npos);
  REQUIRE(enc.find('\r') == std::string::npos);
  return nlohmann::json::parse(enc).get<std::string>();
}

// A plain reference: decode UTF-8 by the Unicode rules, replacing each maximal
// ill-formed subpart with U+FFFD (written independently of the encoder's table).
std::string repaired(std::string_view s) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    std::uint32_t cp = len == 4 ? c & 7u : len == 3 ? c & 15u : c & 31u;
    std::size_t k = 1;
    bool ok = len > 0 && c >= 0xC2 && c <= 0xF4;
    for (; ok && k < static_cast<std::size_t>(len); ++k) {
      if (i + k >= s.size()) {
        ok = false;
        break;
      }
      const auto t = static_cast<unsigned char>(s[i + k]);
      // the second byte's range depends on the lead byte
      unsigned char lo = 0x80, hi = 0xBF;
      if (k == 1 && c == 0xE0) lo = 0xA0;
      if (k == 1 && c == 0xED) hi = 0x9F;
      if (k == 1 && c == 0xF0) lo = 0x90;
      if (k == 1 && c == 0xF4) hi = 0x8F;
      if (t < lo || t > hi) {
        ok = false;
        break;
      }
      cp = (cp << 6) | (t & 0x3Fu);
    }
    if (ok) {
      out.append(s.substr(i, static_cast<std::size_t>(len)));
      i += static_cast<std::size_t>(len);
    } else {
      out += "\xEF\xBF\xBD";
      i += std::max<std::size_t>(k, 1);
    }
  }
  return out;
}

}  // namespace

TEST_SUITE("json") {
  TEST_CASE("quotes, backslashes and every control character are escaped") {
    std::string all;
    for (int c = 0; c < 0x20; ++c) all += static_cast<char>(c);
    all += "\"\\/\x7f";
    CHECK(roundtrip(all) == all);
    CHECK(encode("a\"b\\c\n") == R"("a\"b\\c\n")");
    CHECK(encode(std::string("\0", 1)) == R"("\u0000")");
  }

  TEST_CASE("valid UTF-8 passes through; U+2028/U+2029 are escaped") {
    const std::string s = "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80 \xE2\x80\xA8\xE2\x80\xA9";
    CHECK(roundtrip(s) == s);
    CHECK(encode("\xE2\x80\xA8").find("\\u2028") != std::string::npos);
  }

  TEST_CASE("invalid UTF-8 becomes U+FFFD per maximal subpart") {
    CHECK(roundtrip("\xff") == "\xEF\xBF\xBD");
    CHECK(roundtrip("a\xC3") == "a\xEF\xBF\xBD");                       // truncated
    CHECK(roundtrip("\xE2\x82") == "\xEF\xBF\xBD");                     // one subpart
    CHECK(roundtrip("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");         // overlong
    CHECK(roundtrip("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // lone surrogate D800
    CHECK(roundtrip("\xF4\x90\x80\x80") == repaired("\xF4\x90\x80\x80"));  // above U+10FFFF
  }

  TEST_CASE("random byte strings always give valid JSON equal to the reference repair") {
    std::mt19937 rng(12345);
    for (int n = 0; n < 20000; ++n) {
      std::string s(rng() % 24, '\0');
      for (auto& ch : s) {
        const auto r = rng() % 8;
        ch = static_cast<char>(r < 3 ? rng() % 0x80 : r < 6 ? 0x80 + rng() % 0x40 : 0xC0 + rng() % 0x40);
      }
      REQUIRE_MESSAGE(roundtrip(s) == repaired(s), "input bytes: " << nlohmann::json(repaired(s)).dump());
    }
  }
}

TEST_SUITE("json lines") {
  TEST_CASE("adversarial messages, arguments, keys and context never break a line") {
    auto sink = ctxlog_test::capture_all();
    const std::string nul("x\0y", 3);
    const std::string nasty = "\"}\n{\"level\":\"critical\",\"msg\":\"forged\"}\r\n\\\xed\xa0\x80\xff" + nul;
    const std::string big(1 << 20, 'v');  // 1 MB value
    ctxlog::run({{"requestId", nasty}, {nasty, nasty}, {"msg", "shadow"}}, [&] {
      LOG_INFO("{} and {}", nasty, big, ctxlog::kv(nasty, nasty), ctxlog::kv("level", "forged"), ctxlog::kv("big", big));
      LOG_INFO("{}", std::string_view(nasty), ctxlog::kv("", nul));
    });
    const auto lines = sink->parsed();
    REQUIRE(lines.size() == 2);
    const auto& j = lines[0];
    CHECK(j["level"] == "info");
    CHECK(j["msg"].get<std::string>() == repaired(nasty) + " and " + big);
    CHECK(j["requestId"].get<std::string>() == repaired(nasty));
    CHECK(j[repaired(nasty)].get<std::string>() == repaired(nasty));
    CHECK(j["_msg"] == "shadow");  // a custom field cannot shadow msg
    CHECK(j["_level"] == "forged");
    CHECK(j["big"].get<std::string>().size() == big.size());
    CHECK(lines[1][""].get<std::string>() == nul);
  }
}
