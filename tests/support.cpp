#include "support.hpp"

#include <doctest/doctest.h>

namespace ctxlog_test {

nlohmann::json parse_line(const std::string& line) {
  REQUIRE_MESSAGE(!line.empty(), "empty line");
  REQUIRE_MESSAGE(line.back() == '\n', "line does not end in a newline: " << line);
  const std::string body = line.substr(0, line.size() - 1);
  REQUIRE_MESSAGE(body.find('\n') == std::string::npos, "newline inside a line: " << line);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body);  // strict: invalid UTF-8 or a trailing object throws
  } catch (const std::exception& e) {
    FAIL("not valid JSON (" << e.what() << "): " << body);
  }
  REQUIRE(j.is_object());
  return j;
}

std::vector<nlohmann::json> capture_sink::parsed() const {
  std::vector<nlohmann::json> out;
  for (const auto& l : lines()) out.push_back(parse_line(l));
  return out;
}

std::shared_ptr<capture_sink> capture_all(ctxlog::level lvl) {
  auto s = std::make_shared<capture_sink>();
  ctxlog::configure({.sinks = {s}, .min_level = lvl});
  return s;
}

}  // namespace ctxlog_test
