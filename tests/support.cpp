#include "support.hpp"

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <set>

namespace ctxlog_test {

std::string self_exe_path() {
  char self[4096];
  const ssize_t len = ::readlink("/proc/self/exe", self, sizeof self - 1);
  REQUIRE(len > 0);
  return std::string(self, static_cast<std::size_t>(len));
}

int run_self_child(const std::string& scenario, const std::string& file, child_end end) {
  const std::string self = self_exe_path();
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const std::string e1 = "CTXLOG_TEST_CHILD=" + scenario, e2 = "CTXLOG_TEST_FILE=" + file;
    char* const normal[] = {const_cast<char*>(e1.c_str()), const_cast<char*>(e2.c_str()), nullptr};
    char* const abrupt[] = {const_cast<char*>(e1.c_str()), const_cast<char*>(e2.c_str()),
                            const_cast<char*>("ASAN_OPTIONS=handle_segv=0:handle_abort=0:detect_leaks=0"),
                            const_cast<char*>("TSAN_OPTIONS=handle_segv=0:handle_abort=0:report_signal_unsafe=0"),
                            nullptr};
    ::execle(self.c_str(), scenario.c_str(), static_cast<char*>(nullptr),
             end == child_end::normal ? normal : abrupt);
    std::_Exit(127);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return status;
}

nlohmann::json parse_line(const std::string& line) {
  REQUIRE_MESSAGE(!line.empty(), "empty line");
  REQUIRE_MESSAGE(line.back() == '\n', "line does not end in a newline: " << line);
  const std::string body = line.substr(0, line.size() - 1);
  REQUIRE_MESSAGE(body.find('\n') == std::string::npos, "newline inside a line: " << line);
  nlohmann::json j;
  // Strict: invalid UTF-8 or a trailing object throws, and so does a key that repeats in
  // one object (nlohmann keeps the last one silently; Elasticsearch rejects the line).
  std::vector<std::set<std::string>> keys;  // one set per open object
  std::string duplicate;
  const auto check = [&](int, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
    using ev_t = nlohmann::json::parse_event_t;
    if (ev == ev_t::object_start) keys.emplace_back();
    else if (ev == ev_t::object_end) keys.pop_back();
    else if (ev == ev_t::key && !keys.back().insert(parsed.get<std::string>()).second && duplicate.empty())
      duplicate = parsed.get<std::string>();
    return true;
  };
  try {
    j = nlohmann::json::parse(body, check);
  } catch (const std::exception& e) {
    FAIL("not valid JSON (" << e.what() << "): " << body);
  }
  REQUIRE_MESSAGE(duplicate.empty(), "key \"" << duplicate << "\" appears twice: " << body);
  REQUIRE(j.is_object());
  return j;
}

std::vector<nlohmann::json> capture_sink::parsed() const {
  std::vector<nlohmann::json> out;
  for (const auto& l : lines()) out.push_back(parse_line(l));
  return out;
}

long int_field(std::string_view line, std::string_view key) {
  const auto at = line.find(key);
  if (at == std::string_view::npos) return -1;
  return std::strtol(line.data() + at + key.size(), nullptr, 10);
}

std::shared_ptr<capture_sink> capture_all(ctxlog::level lvl) {
  auto s = std::make_shared<capture_sink>();
  ctxlog::configure({.sinks = {s}, .min_level = lvl});
  return s;
}

std::string render_record(ctxlog::layout& l, const ctxlog::context& c, const ctxlog::call_fields& f,
                          const ctxlog::process_info& p, std::uint64_t time_ns, ctxlog::level lvl,
                          std::string_view message) {
  l.configure(p);
  const ctxlog::record_view r{.time_ns = time_ns,
                              .severity = lvl,
                              .logger = "orders",
                              .message = message,
                              .ctx = c,
                              .context_lost = false,
                              .fields = f,
                              .thread = 4711,
                              .pid = 100,
                              .where = {.file = "orders.cpp", .line = 42, .function = "charge"},
                              .process = p,
                              .site = nullptr};
  ctxlog::buffer out;
  l.render(r, out);
  return std::string(out.data(), out.size());
}

}  // namespace ctxlog_test
