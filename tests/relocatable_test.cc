// An installed or copied `cohost` works anywhere: the binary alone, copied to a fresh directory and
// run from another working directory with HOME and the cache variables pointing at empty places,
// makes a model (the built-in vocabulary) and profiles it (the built-in device catalog, a runner
// started from the copy). And no path of the build, the source tree or llama.cpp's data files is
// left in what the binary loads. (The source tree is still on this machine, so a binary that
// fell back to a compiled-in path would pass the first test here; the second one catches it.)
#include <elf.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "support/harness.h"

namespace cohost::testing {
namespace {

namespace fs = std::filesystem;

// Runs `binary args...` in `cwd` with HOME, XDG_CACHE_HOME and cohost's cache variables set to
// directories under `home` (through env(1), which changes directory before it runs the program).
ExitResult RunElsewhere(const std::string& binary, const std::string& cwd, const std::string& home,
                        const std::vector<std::string>& args) {
  TempDir log_dir;
  std::vector<std::string> argv{"/usr/bin/env",
                                "-C",
                                cwd,
                                "HOME=" + home,
                                "XDG_CACHE_HOME=" + home + "/.cache",
                                "COHOST_CACHE_DIR=" + home + "/cohost-cache",
                                "COHOST_CACHE=" + home + "/cohost-cache",
                                binary};
  argv.insert(argv.end(), args.begin(), args.end());
  auto p = sys::Process::Spawn({argv, log_dir.File("out.log"), {}});
  ExitResult r;
  if (!p.ok()) return r;
  auto st = p->WaitFor(std::chrono::minutes(5));
  r.status = st ? *st : -1;
  r.output = ReadFile(log_dir.File("out.log"));
  return r;
}

TEST(RelocatableTest, ACopiedBinaryMakesAndProfilesAModelWithNothingElse) {
  TempDir install, work, home;
  const std::string binary = install.File("cohost");
  fs::copy_file(COHOST_BINARY, binary);
  fs::permissions(binary, fs::perms::owner_all);

  ExitResult made = RunElsewhere(binary, work.path(), home.path(),
                                 {"make-model", "--params", "5M", "--output", "x.gguf"});
  ASSERT_EQ(made.status, 0) << made.output;
  ASSERT_TRUE(fs::exists(work.File("x.gguf"))) << made.output;
  EXPECT_NE(made.output.find("vocab=32000"), std::string::npos) << made.output;

  // The quickest profile: one step of one request; the host's bandwidth given, not measured.
  ExitResult prof =
      RunElsewhere(binary, work.path(), home.path(),
                   {"profile", "x.gguf", "--context", "64", "--prompt-tokens", "8",
                    "--output-tokens", "4", "--max-concurrency", "1", "--requests-per-client", "1",
                    "--threads", "2", "--host-bandwidth-gbs", "10", "--output", "json"});
  ASSERT_EQ(prof.status, 0) << prof.output;
  json report = json::parse(prof.output.substr(std::min(prof.output.find('{'), prof.output.size())),
                            nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << prof.output;
  EXPECT_EQ(report["catalog"]["path"], "built-in devices.yaml");
  EXPECT_GE(report["projected"].size(), 7u);
  EXPECT_EQ(report["measured"]["steps"].size(), 1u);
  EXPECT_GT(report["measured"]["steps"][0]["decode_tokens_per_s"].get<double>(), 0);
  // Nothing was written where the binary lives or under HOME: it needed no data files or caches.
  EXPECT_EQ(std::distance(fs::directory_iterator(install.path()), fs::directory_iterator()), 1);
  EXPECT_EQ(std::distance(fs::directory_iterator(home.path()), fs::directory_iterator()), 0);
}

// The bytes of the sections the binary loads (SHF_ALLOC: code, read-only data, ...), leaving
// out debugging information and symbol tables, which name source files but are never used.
std::string LoadedBytes(const std::string& path) {
  const std::string file = ReadFile(path);
  if (file.size() < sizeof(Elf64_Ehdr)) return {};
  Elf64_Ehdr eh;
  std::memcpy(&eh, file.data(), sizeof eh);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64)
    return {};
  std::string loaded;
  for (int i = 0; i < eh.e_shnum; ++i) {
    Elf64_Shdr sh;
    const size_t at = eh.e_shoff + static_cast<size_t>(i) * eh.e_shentsize;
    if (at + sizeof sh > file.size()) return {};
    std::memcpy(&sh, file.data() + at, sizeof sh);
    if ((sh.sh_flags & SHF_ALLOC) == 0 || sh.sh_type == SHT_NOBITS) continue;
    if (sh.sh_offset + sh.sh_size > file.size()) return {};
    loaded.append(file, sh.sh_offset, sh.sh_size);
  }
  return loaded;
}

TEST(RelocatableTest, NoBuildOrDataPathIsCompiledIn) {
  const std::string loaded = LoadedBytes(COHOST_BINARY);
  ASSERT_GT(loaded.size(), 1000000u) << "cannot read the sections of " << COHOST_BINARY;
  // The embedded catalog is there (so the search below looks at the right bytes) ...
  EXPECT_NE(loaded.find("memory_bandwidth_gbs"), std::string::npos);
  // ... and no path of this checkout, of the build, or of llama.cpp's vocabulary files.
  for (const std::string& path :
       {std::string(COHOST_SOURCE_DIR) + "/", std::string(COHOST_BUILD_DIR) + "/",
        std::string(COHOST_LLAMA_SRC) + "/models"}) {
    EXPECT_EQ(loaded.find(path), std::string::npos)
        << path << " is compiled into " << COHOST_BINARY;
  }
  EXPECT_EQ(loaded.find("ggml-vocab-llama-spm.gguf"), std::string::npos);
}

}  // namespace
}  // namespace cohost::testing
