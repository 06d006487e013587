// A driver for the harnesses of fuzz/ without libFuzzer, so the normal g++ build (and a clean
// clone's `make test`) runs them: each harness's LLVMFuzzerTestOneInput is linked with this
// main, which feeds it every file of the corpus folders given, then a fixed number of
// deterministic mutations of each file. A crash or an assertion ends the process with a signal,
// an exception the harness does not expect (anything but the reader's own error) escapes into
// the catch below and fails the run, and ctest's TIMEOUT catches a hang. The mutations are drawn
// from a fixed seed, so a failure is the same on every run and the printed mutation index
// reproduces it.
//
//   fuzz_replay_NAME [--mutations N] DIR_OR_FILE...
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

// SplitMix64: a tiny generator whose sequence is fixed by its seed on every platform.
struct SplitMix {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
};

// Pieces that reach a parser's edge cases more often than random bytes do: YAML structure,
// anchors and aliases, quotes, numbers at and past the limits, units, JSON punctuation.
constexpr std::string_view k_tokens[] = {
    "\n",  ":",   " ",    "- ",   "{",    "}",    "[",    "]",     "&a ",  "*a",     "<<: *a",
    "\"",  "'",   "#",    ",",    "-1",   "0",    "0s",   "1ms",   "10000h", "99999999999999999999",
    "4294967297", "1e308", "nan", "~",  "null", "\t",   "---\n", "...\n", "!!str ", "\\u0000",
    "\"trace\":", "\"engine\":", "\"steps\":", "{\"t\":", "=",    "1/s",  "ms",   "%",  "\xff"};

std::vector<std::uint8_t> mutate(std::vector<std::uint8_t> in, SplitMix& rng) {
  const int edits = 1 + static_cast<int>(rng.below(4));
  for (int e = 0; e < edits; ++e) {
    const std::size_t at = rng.below(in.size() + 1);
    switch (rng.below(6)) {
      case 0:  // flip one bit
        if (!in.empty()) in[rng.below(in.size())] ^= static_cast<std::uint8_t>(1u << rng.below(8));
        break;
      case 1:  // delete a range
        in.erase(in.begin() + static_cast<std::ptrdiff_t>(at),
                 in.begin() + static_cast<std::ptrdiff_t>(
                                  std::min(in.size(), at + 1 + rng.below(16))));
        break;
      case 2: {  // insert a token
        const std::string_view tok = k_tokens[rng.below(std::size(k_tokens))];
        in.insert(in.begin() + static_cast<std::ptrdiff_t>(at), tok.begin(), tok.end());
        break;
      }
      case 3:  // truncate
        in.resize(at);
        break;
      case 4: {  // copy a piece of the input elsewhere
        if (in.empty()) break;
        const std::size_t from = rng.below(in.size());
        const std::size_t len = std::min(in.size() - from, 1 + rng.below(64));
        std::vector<std::uint8_t> piece(in.begin() + static_cast<std::ptrdiff_t>(from),
                                        in.begin() + static_cast<std::ptrdiff_t>(from + len));
        in.insert(in.begin() + static_cast<std::ptrdiff_t>(at), piece.begin(), piece.end());
        break;
      }
      default:  // overwrite one byte with any value
        if (!in.empty()) in[rng.below(in.size())] = static_cast<std::uint8_t>(rng.next());
        break;
    }
  }
  return in;
}

std::vector<fs::path> inputs_of(const std::vector<std::string>& args) {
  std::vector<fs::path> out;
  for (const std::string& a : args) {
    if (fs::is_directory(a)) {
      for (const auto& entry : fs::directory_iterator(a))
        if (entry.is_regular_file()) out.push_back(entry.path());
    } else {
      out.emplace_back(a);
    }
  }
  // Directory order is the file system's: sort so the mutations' seeds follow the names.
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::uint8_t> read_all(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) {
    std::fprintf(stderr, "fuzz_replay: cannot read %s\n", p.c_str());
    std::exit(2);
  }
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::uint64_t seed_of(const std::string& name) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a: the seed depends on the file name only
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ULL;
  return h;
}

void run_one(const std::vector<std::uint8_t>& data, const fs::path& file, long mutation) {
  try {
    LLVMFuzzerTestOneInput(data.data(), data.size());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_replay: %s (mutation %ld): unexpected exception: %s\n",
                 file.c_str(), mutation, e.what());
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  long mutations = 0;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--mutations") == 0 && i + 1 < argc)
      mutations = std::strtol(argv[++i], nullptr, 10);
    else
      args.emplace_back(argv[i]);
  }
  const std::vector<fs::path> files = inputs_of(args);
  if (files.empty()) {
    std::fprintf(stderr, "fuzz_replay: no input files\n");
    return 2;
  }
  for (const fs::path& file : files) {
    const std::vector<std::uint8_t> data = read_all(file);
    run_one(data, file, -1);
    SplitMix rng{seed_of(file.filename().string())};
    for (long m = 0; m < mutations; ++m) run_one(mutate(data, rng), file, m);
  }
  std::printf("fuzz_replay: %zu inputs, %ld mutations each, no finding\n", files.size(),
              mutations);
  return 0;
}
