// tests/fuzz/replay_main.cpp — runs a fuzz target without libFuzzer, as a regression test:
// every file of the corpus folders (and files) given on the command line, then, with
// `--generated N`, N pseudo-random inputs from a fixed seed (so a run is repeatable).
// A broken property aborts (fuzz::fail), which fails the test; the file being run is
// printed first, so the failing input is named.
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

const char* g_current = "(none)";

void run(const std::vector<std::uint8_t>& input) {
  LLVMFuzzerTestOneInput(input.empty() ? nullptr : input.data(), input.size());
}

std::size_t run_path(const std::filesystem::path& p) {
  std::vector<std::filesystem::path> files;
  if (std::filesystem::is_directory(p)) {
    for (const auto& e : std::filesystem::directory_iterator(p))
      if (e.is_regular_file()) files.push_back(e.path());
  } else {
    files.push_back(p);
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string name = f.string();
    g_current = name.c_str();
    run(bytes);
  }
  return files.size();
}

}  // namespace

int main(int argc, char** argv) {
  // A broken property aborts: name the input first.
  std::signal(SIGABRT, [](int) {
    const char msg[] = "replay: the input that broke it: ";
    (void)!::write(2, msg, sizeof msg - 1);
    (void)!::write(2, g_current, std::strlen(g_current));
    (void)!::write(2, "\n", 1);
    std::signal(SIGABRT, SIG_DFL);
    std::raise(SIGABRT);
  });
  std::size_t files = 0, generated = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--generated" && i + 1 < argc) {
      const unsigned long n = std::strtoul(argv[++i], nullptr, 10);
      std::uint64_t s = 0x9E3779B97F4A7C15ull;  // xorshift64*, fixed seed
      const auto next = [&s] {
        s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
        return s * 0x2545F4914F6CDD1Dull;
      };
      std::vector<std::uint8_t> input;
      for (unsigned long k = 0; k < n; ++k) {
        input.resize(next() % 600);
        for (auto& b : input) b = static_cast<std::uint8_t>(next() >> 56);
        // Skew toward the bytes the targets branch on: ASCII, quotes, escapes, UTF-8 leads.
        static constexpr char skew[] = "\"\\\n-=,;%0af \xc3\xa9\xe2\x80\xa8\xed\xa0\xf0\x9f";
        for (auto& b : input)
          if ((b & 3) == 0) b = static_cast<std::uint8_t>(skew[b % (sizeof skew - 1)]);
        g_current = "(generated)";
        run(input);
        ++generated;
      }
      continue;
    }
    if (!std::filesystem::exists(a)) {
      std::fprintf(stderr, "replay: no such corpus: %s\n", a.c_str());
      return 2;
    }
    files += run_path(a);
  }
  std::printf("replayed %zu corpus files and %zu generated inputs: every property held\n", files, generated);
  return 0;
}
