// read_bound: reference bounds for the load benchmark (bench/load_bench.sh), measured on the
// model file itself with the loader's own read size and thread count.
//
//   read_bound FILE [--threads N] [--chunk-mib M]
//
// Prints one JSON object with two rates, each the best of three passes over the warm file:
//   cached_gb_s  N threads pread the file in M MiB pieces into one reused buffer each (as dd
//                does): the page cache's read bandwidth, the destination staying in the CPU's
//                caches. The figure a loader that stages bytes on their way to an accelerator
//                can approach.
//   fresh_gb_s   the same reads into a freshly allocated buffer of the file's size: every byte is
//                also written to memory the kernel must first fault in and zero. The bound for a
//                load into host memory, where the tensors are that buffer. Measured with 4 KiB
//                pages (fresh_4k_gb_s) and with transparent huge pages asked for
//                (fresh_huge_gb_s, as `--load-huge-pages` does); fresh_gb_s is the faster.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Args {
  std::string path;
  int threads = 4;
  size_t chunk = size_t{8} << 20;
};

[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr, "read_bound: %s\nusage: read_bound FILE [--threads N] [--chunk-mib M]\n", why);
  std::exit(2);
}

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if ((k == "--threads" || k == "--chunk-mib") && i + 1 < argc) {
      long v = std::strtol(argv[++i], nullptr, 10);
      if (k == "--threads") {
        if (v < 1 || v > 64) Usage("--threads must be 1..64");
        a.threads = static_cast<int>(v);
      } else {
        if (v < 1 || v > 1024) Usage("--chunk-mib must be 1..1024");
        a.chunk = static_cast<size_t>(v) << 20;
      }
    } else if (a.path.empty() && k.rfind("--", 0) != 0) {
      a.path = k;
    } else {
      Usage(("unknown argument " + k).c_str());
    }
  }
  if (a.path.empty()) Usage("FILE is required");
  return a;
}

// Reads [0, size) of fd with `threads` workers taking `chunk`-sized pieces in order; piece i lands
// at dest(i) (nullptr: the worker's own reused buffer). Returns seconds.
template <typename Dest>
double ReadAll(int fd, size_t size, const Args& a, Dest dest) {
  std::atomic<size_t> next{0};
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < a.threads; ++t) {
    workers.emplace_back([&] {
      std::vector<char> own;
      for (;;) {
        size_t i = next.fetch_add(1);
        size_t off = i * a.chunk;
        if (off >= size) return;
        size_t len = std::min(a.chunk, size - off);
        char* to = dest(i);
        if (!to) {
          if (own.empty()) own.resize(a.chunk);
          to = own.data();
        }
        for (size_t done = 0; done < len;) {
          ssize_t n = ::pread(fd, to + done, len - done, static_cast<off_t>(off + done));
          if (n <= 0) {
            std::perror("read_bound: pread");
            std::exit(1);
          }
          done += static_cast<size_t>(n);
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  Args a = Parse(argc, argv);
  int fd = ::open(a.path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || st.st_size <= 0) {
    std::fprintf(stderr, "read_bound: cannot read %s: %s\n", a.path.c_str(), std::strerror(errno));
    return 1;
  }
  const size_t size = static_cast<size_t>(st.st_size);
  ReadAll(fd, size, a, [](size_t) -> char* { return nullptr; });  // warm the page cache
  double cached = 1e9, fresh[2] = {1e9, 1e9};  // [0]: 4 KiB pages, [1]: huge pages asked for
  for (int pass = 0; pass < 3; ++pass) {
    cached = std::min(cached, ReadAll(fd, size, a, [](size_t) -> char* { return nullptr; }));
    for (int huge = 0; huge < 2; ++huge) {
      void* buf = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (buf == MAP_FAILED) {
        std::perror("read_bound: mmap");
        return 1;
      }
      ::madvise(buf, size, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
      char* base = static_cast<char*>(buf);
      fresh[huge] = std::min(fresh[huge], ReadAll(fd, size, a, [&](size_t i) { return base + i * a.chunk; }));
      ::munmap(buf, size);
    }
  }
  auto gbs = [&](double s) { return size / 1e9 / s; };
  std::printf("{\"bytes\": %zu, \"threads\": %d, \"chunk_bytes\": %zu, \"cached_gb_s\": %.3f, "
              "\"fresh_gb_s\": %.3f, \"fresh_4k_gb_s\": %.3f, \"fresh_huge_gb_s\": %.3f}\n",
              size, a.threads, a.chunk, gbs(cached), gbs(std::min(fresh[0], fresh[1])), gbs(fresh[0]), gbs(fresh[1]));
  ::close(fd);
  return 0;
}
