// tests/fuzz/fuzz_json.cpp — the JSON string encoder every layout writes through.
//
// Properties, for any bytes: append_json_string() gives one JSON string literal with no
// raw control character and no invalid UTF-8; a strict decoder reads it back to exactly
// the input with each maximal ill-formed UTF-8 subpart replaced by U+FFFD (the model in
// fuzz_support.hpp); U+2028/U+2029 are written escaped; appending never disturbs what the
// buffer held before.
#include <cstdint>
#include <string>
#include <string_view>

#include "ctxlog/layout.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  ctxlog::buffer out;
  const std::string_view before = "{\"k\":";  // something already in the line
  out.append(before.data(), before.data() + before.size());
  ctxlog::append_json_string(out, in);
  const std::string_view all(out.data(), out.size());
  fuzz::check(all.substr(0, before.size()) == before, "the buffer's earlier bytes changed", all);
  const std::string_view lit = all.substr(before.size());

  fuzz::check(lit.size() >= 2 && lit.front() == '"' && lit.back() == '"', "not a quoted literal", lit);
  for (const char c : lit)
    fuzz::check(static_cast<unsigned char>(c) >= 0x20, "raw control character in the output", lit);
  fuzz::check(fuzz::valid_utf8(lit), "invalid UTF-8 in the output", lit);
  fuzz::check(lit.find("\xE2\x80\xA8") == std::string_view::npos && lit.find("\xE2\x80\xA9") == std::string_view::npos,
              "raw U+2028/U+2029 in the output", lit);

  std::string decoded;
  try {
    decoded = nlohmann::json::parse(lit).get<std::string>();
  } catch (const std::exception& e) {
    fuzz::fail(std::string("a strict decoder rejects the literal: ") + e.what(), lit);
  }
  fuzz::check(decoded == fuzz::repaired_utf8(in), "decodes to something other than the repaired input", lit);
  return 0;
}
