// shm_fuzz_replay: runs every file of a target's seed corpus (and any crasher given on the command
// line) through that target's body, so a normal build re-checks every input the fuzzers ever
// found interesting, without clang.
//
//   shm_fuzz_replay TARGET DIR_OR_FILE...   exit 0 when every input ran; aborts on a finding
//   TARGET is frame, dispatch, client or journal.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_targets.hpp"

namespace {

std::vector<std::filesystem::path> inputs_in(const std::filesystem::path& arg) {
  std::vector<std::filesystem::path> files;
  if (std::filesystem::is_directory(arg)) {
    for (const auto& entry : std::filesystem::directory_iterator(arg))
      if (entry.is_regular_file()) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
  } else if (std::filesystem::is_regular_file(arg)) {
    files.push_back(arg);
  }
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  const FuzzTarget* target = nullptr;
  if (argc >= 2)
    for (const FuzzTarget& t : kFuzzTargets)
      if (t.name == argv[1]) target = &t;
  if (argc < 3 || target == nullptr) {
    std::fprintf(stderr, "usage: shm_fuzz_replay frame|dispatch|client|journal DIR_OR_FILE...\n");
    return 2;
  }
  std::size_t ran = 0;
  for (int i = 2; i < argc; ++i) {
    const auto files = inputs_in(argv[i]);
    if (files.empty()) {
      std::fprintf(stderr, "shm_fuzz_replay: no input files in %s\n", argv[i]);
      return 1;
    }
    for (const auto& file : files) {
      std::ifstream in(file, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (!in.good() && !in.eof()) {
        std::fprintf(stderr, "shm_fuzz_replay: cannot read %s\n", file.c_str());
        return 1;
      }
      std::fprintf(stderr, "replaying %s (%zu bytes)\n", file.filename().c_str(), bytes.size());
      target->body(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
      ++ran;
    }
  }
  std::printf("replayed %zu %s inputs\n", ran, argv[1]);
  return 0;
}
