#include "loader/stream_loader.h"

#include <ggml-backend.h>
#include <sys/mman.h>
#include <unistd.h>
#include <ggml.h>
#include <gguf.h>
#include <llama.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <set>
#include <thread>
#include <vector>

#include "loader/gguf_check.h"
#include "loader/manifest.h"
#include "loader/staging.h"

namespace cohost::loader {
namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Serves gguf's many small sequential header reads from one cached block.
struct HeaderReader {
  const ByteSource* src = nullptr;
  size_t block = size_t{1} << 20;
  uint64_t cached_at = 0;
  std::vector<char> cache;
  Status error;

  size_t Read(void* out, uint64_t offset, size_t len) {
    auto* dst = static_cast<char*>(out);
    size_t done = 0;
    while (done < len) {
      uint64_t at = offset + done;
      if (at >= src->size()) break;
      if (cache.empty() || at < cached_at || at >= cached_at + cache.size()) {
        uint64_t start = at - at % block;
        size_t n = static_cast<size_t>(std::min<uint64_t>(block, src->size() - start));
        cache.resize(n);
        Status s = src->ReadAt(start, cache.data(), n);
        if (!s.ok()) {
          error = s;
          cache.clear();
          break;
        }
        cached_at = start;
      }
      size_t from = static_cast<size_t>(at - cached_at);
      size_t n = std::min(len - done, cache.size() - from);
      std::memcpy(dst + done, cache.data() + from, n);
      done += n;
    }
    return done;
  }
  static size_t Callback(void* ud, void* out, uint64_t offset, size_t len) {
    return static_cast<HeaderReader*>(ud)->Read(out, offset, len);
  }
};

struct Target {
  ggml_tensor* tensor;
  uint64_t offset;  // absolute file offset
  size_t size;
};

// State shared by llama.cpp's per-tensor callback.
struct Collect {
  gguf_context* meta = nullptr;
  std::vector<Target> targets;
  std::vector<std::pair<ggml_tensor*, std::string>> fill_from;  // output.weight <- token_embd
  Status error;
};

void SetConstant(ggml_tensor* t, float v) {
  std::vector<float> vals(static_cast<size_t>(ggml_nelements(t)), v);
  ggml_backend_tensor_set(t, vals.data(), 0, ggml_nbytes(t));
}

void OnTensor(ggml_tensor* t, void* ud) {
  auto* c = static_cast<Collect*>(ud);
  if (!c->error.ok()) return;
  const std::string name = ggml_get_name(t);
  int64_t tid = gguf_find_tensor(c->meta, name.c_str());
  if (tid >= 0) {
    size_t want = gguf_get_tensor_size(c->meta, tid);
    if (ggml_nbytes(t) != want || t->type != gguf_get_tensor_type(c->meta, tid)) {
      c->error = DataLoss("tensor " + name + ": llama.cpp expects " + std::to_string(ggml_nbytes(t)) +
                          " bytes of " + ggml_type_name(t->type) + ", the file has " +
                          std::to_string(want));
      return;
    }
    c->targets.push_back({t, gguf_get_data_offset(c->meta) + gguf_get_tensor_offset(c->meta, tid), want});
    return;
  }
  // Optional tensors the file lacks: fill with values that leave the computation unchanged.
  auto ends_with = [&](const char* s) {
    size_t n = std::strlen(s);
    return name.size() >= n && name.compare(name.size() - n, n, s) == 0;
  };
  if (t->type == GGML_TYPE_F32 && ends_with(".bias")) return SetConstant(t, 0.0f);
  if (t->type == GGML_TYPE_F32 && name.find("rope_freqs") != std::string::npos) return SetConstant(t, 1.0f);
  if (t->type == GGML_TYPE_F32 && (ends_with(".scale") || ends_with(".input_scale"))) {
    return SetConstant(t, 1.0f);  // per-matrix output/input scale factors
  }
  if (name == "output.weight" && gguf_find_tensor(c->meta, "token_embd.weight") >= 0) {
    c->fill_from.emplace_back(t, "token_embd.weight");
    return;
  }
  c->error = DataLoss("tensor " + name + " is not in the file and the stream loader cannot derive it; "
                      "load this model with --load-mode mmap or read");
}

// Copies token_embd (any type, dequantised to the created tensor's F32) into output.weight.
Status FillTiedOutput(const ByteSource& src, gguf_context* meta, ggml_tensor* out, const std::string& from) {
  int64_t tid = gguf_find_tensor(meta, from.c_str());
  ggml_type type = gguf_get_tensor_type(meta, tid);
  size_t bytes = gguf_get_tensor_size(meta, tid);
  std::vector<char> raw(bytes);
  RETURN_IF_ERROR(src.ReadAt(gguf_get_data_offset(meta) + gguf_get_tensor_offset(meta, tid), raw.data(), bytes));
  if (type == out->type && bytes == ggml_nbytes(out)) {
    ggml_backend_tensor_set(out, raw.data(), 0, bytes);
    return Status::Ok();
  }
  const auto* traits = ggml_get_type_traits(type);
  int64_t n = ggml_nelements(out);
  if (out->type != GGML_TYPE_F32 || !traits->to_float || static_cast<size_t>(n) * ggml_type_size(type) / ggml_blck_size(type) != bytes) {
    return DataLoss("cannot derive output.weight from " + from);
  }
  std::vector<float> f(static_cast<size_t>(n));
  traits->to_float(raw.data(), f.data(), n);
  ggml_backend_tensor_set(out, f.data(), 0, f.size() * sizeof(float));
  return Status::Ok();
}

struct Chunk {
  size_t index;  // in the manifest's grid, or sequential
  uint64_t offset;
  size_t size;
};

// The chunks covering every target, in file order. With a manifest, its grid (from byte 0);
// otherwise a grid starting at the first tensor byte.
std::vector<Chunk> PlanChunks(const std::vector<Target>& targets, size_t chunk_bytes, bool from_zero, uint64_t file_size) {
  std::vector<Chunk> chunks;
  if (targets.empty()) return chunks;
  uint64_t begin = targets.front().offset, end = 0;
  for (const Target& t : targets) end = std::max<uint64_t>(end, t.offset + t.size);
  uint64_t base = from_zero ? 0 : begin;
  for (size_t i = (begin - base) / chunk_bytes; base + i * chunk_bytes < end; ++i) {
    uint64_t off = base + i * chunk_bytes;
    uint64_t stop = std::min<uint64_t>(off + chunk_bytes, from_zero ? file_size : end);
    chunks.push_back({i, off, static_cast<size_t>(stop - off)});
  }
  return chunks;
}

bool OnHost(const ggml_tensor* t) { return t->buffer && ggml_backend_buffer_is_host(t->buffer); }

// The device most bytes of device-memory tensors go to (null when every tensor is in host memory).
ggml_backend_dev_t MainDevice(const std::vector<Target>& targets, uint64_t* device_bytes) {
  std::vector<std::pair<ggml_backend_dev_t, uint64_t>> per;
  *device_bytes = 0;
  for (const Target& t : targets) {
    if (!t.tensor->buffer || OnHost(t.tensor)) continue;
    ggml_backend_dev_t d = ggml_backend_buft_get_device(ggml_backend_buffer_get_type(t.tensor->buffer));
    if (!d) continue;
    *device_bytes += t.size;
    auto it = std::find_if(per.begin(), per.end(), [d](const auto& p) { return p.first == d; });
    if (it == per.end()) per.emplace_back(d, t.size);
    else it->second += t.size;
  }
  auto best = std::max_element(per.begin(), per.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  return best == per.end() ? nullptr : best->first;
}

class DataStreamer {
 public:
  DataStreamer(const ByteSource& src, const StreamOptions& o, std::vector<Target> targets)
      : src_(src), o_(o), targets_(std::move(targets)) {
    std::sort(targets_.begin(), targets_.end(), [](const Target& a, const Target& b) { return a.offset < b.offset; });
    size_t cb = o.manifest ? o.manifest->chunk_bytes() : o.chunk_bytes;
    chunks_ = PlanChunks(targets_, cb, o.manifest != nullptr, src.size());
    for (const Target& t : targets_) total_ += t.size;
    device_ = MainDevice(targets_, &device_bytes_);
  }

  Status Run(StreamStats* stats) {
    AdviseHugePages();
    start_ = Clock::now();
    last_report_ = start_;
    int n = std::max(1, std::min<int>(o_.concurrency, static_cast<int>(chunks_.size())));
    std::vector<std::thread> workers;
    for (int i = 0; i < n; ++i) workers.emplace_back([this] { Work(); });
    for (auto& w : workers) w.join();
    if (stats) {
      stats->data_bytes = total_;
      stats->device_bytes = device_bytes_;
      stats->chunks = chunks_.size();
      std::lock_guard<std::mutex> lock(mu_);
      stats->staging = staging_;
    }
    Report(true);
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }

 private:
  void Fail(Status s) {
    std::lock_guard<std::mutex> lock(mu_);
    if (error_.ok()) error_ = std::move(s);
    failed_ = true;
  }

  void Work() {
    StagingOptions so;
    so.buffer_bytes = chunks_.empty() ? 0 : (o_.manifest ? o_.manifest->chunk_bytes() : o_.chunk_bytes);
    so.device = device_;
    so.pinned = o_.pinned_staging;
    so.async = o_.async_copies;
    auto staging = Staging::Create(so);
    if (!staging.ok()) return Fail(staging.status());
    {
      std::lock_guard<std::mutex> lock(mu_);
      staging_ = (*staging)->Describe();
    }
    for (;;) {
      size_t i = next_.fetch_add(1);
      if (i >= chunks_.size() || failed_.load()) break;
      Status s = LoadChunk(chunks_[i], **staging);
      if (!s.ok()) {
        Fail(s);
        break;
      }
    }
    (*staging)->Finish();
  }

  // Fresh host buffers fault in one 4 KiB page at a time as the reads land in them; asking for
  // transparent huge pages (where the kernel grants them on request, as Debian's does) makes
  // that up to 512 times fewer faults. Advice only: nothing changes where it is refused. Only
  // with StreamOptions::huge_pages (see there why it is off by default).
  void AdviseHugePages() const {
    if (!o_.huge_pages) return;
    std::set<ggml_backend_buffer_t> seen;
    const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    for (const Target& t : targets_) {
      ggml_backend_buffer_t b = t.tensor->buffer;
      if (!b || !ggml_backend_buffer_is_host(b) || !seen.insert(b).second) continue;
      auto base = reinterpret_cast<uintptr_t>(ggml_backend_buffer_get_base(b));
      uintptr_t start = (base + page - 1) & ~(page - 1);
      uintptr_t end = (base + ggml_backend_buffer_get_size(b)) & ~(page - 1);
      if (end > start) ::madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);
    }
  }

  // Where each byte of a chunk goes: runs in file order that together cover the chunk. A run
  // inside a host-memory tensor is read straight into it (`host`); the rest (device tensors,
  // and the padding between tensors) lands at its place in the staging buffer.
  struct Piece {
    uint64_t offset;
    size_t size;
    char* host;            // null: staging
    const Target* target;  // null: padding between tensors
  };

  std::vector<Piece> Pieces(const Chunk& c) const {
    std::vector<Piece> pieces;
    const uint64_t end = c.offset + c.size;
    uint64_t at = c.offset;
    auto it = std::upper_bound(targets_.begin(), targets_.end(), c.offset,
                               [](uint64_t off, const Target& t) { return off < t.offset; });
    if (it != targets_.begin()) --it;
    for (; it != targets_.end() && it->offset < end; ++it) {
      uint64_t lo = std::max<uint64_t>(at, it->offset);
      uint64_t hi = std::min<uint64_t>(end, it->offset + it->size);
      if (lo >= hi) continue;
      if (lo > at) pieces.push_back({at, static_cast<size_t>(lo - at), nullptr, nullptr});
      bool host = OnHost(it->tensor);
      char* dst = host ? static_cast<char*>(it->tensor->data) + (lo - it->offset) : nullptr;
      pieces.push_back({lo, static_cast<size_t>(hi - lo), dst, &*it});
      at = hi;
    }
    if (at < end) pieces.push_back({at, static_cast<size_t>(end - at), nullptr, nullptr});
    return pieces;
  }

  // Reads the chunk, then checks its checksum. `whole`: in one read, into the staging buffer;
  // otherwise piece by piece to where each belongs (padding only when it is checksummed).
  Status Fetch(const Chunk& c, const std::vector<Piece>& pieces, bool whole, char* staging) {
    std::vector<ByteSpan> parts;
    if (whole) {
      RETURN_IF_ERROR(src_.ReadAt(c.offset, staging, c.size));
      parts.push_back({staging, c.size});
    } else {
      for (const Piece& p : pieces) {
        if (!p.target && !o_.manifest) continue;
        char* dst = p.host ? p.host : staging + (p.offset - c.offset);
        RETURN_IF_ERROR(src_.ReadAt(p.offset, dst, p.size));
        parts.push_back({dst, p.size});
      }
    }
    if (o_.manifest) return o_.manifest->VerifyChunk(c.index, parts, src_.uri());
    return Status::Ok();
  }

  Status LoadChunk(const Chunk& c, Staging& staging) {
    const std::vector<Piece> pieces = Pieces(c);
    // A remote source gets one request per chunk: then only a chunk that lies wholly inside one
    // host tensor is read in place; any other is read whole into staging and copied out after.
    const bool whole = !src_.small_reads_are_cheap() && !(pieces.size() == 1 && pieces[0].host);
    char* buf = staging.Acquire();
    Status s;
    for (int attempt = 0; attempt <= o_.retries; ++attempt) {
      s = Fetch(c, pieces, whole, buf);
      if (s.ok()) break;
      if (s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound ||
          s.code() == StatusCode::kFailedPrecondition) break;  // retrying cannot help
    }
    if (!s.ok()) {
      return Status(s.code(), "chunk " + std::to_string(c.index) + " (bytes " + std::to_string(c.offset) +
                                  "-" + std::to_string(c.offset + c.size) + ") failed after " +
                                  std::to_string(o_.retries + 1) + " attempts: " + s.message());
    }
    for (const Piece& p : pieces) {  // what landed in staging goes to its tensor
      if (p.target && (whole || !p.host)) {
        staging.CopyOut(p.target->tensor, buf + (p.offset - c.offset), p.offset - p.target->offset, p.size);
      }
    }
    staging.Submit();
    done_ += c.size;
    Report(false);
    return Status::Ok();
  }

  void Report(bool final) {
    if (!o_.on_progress) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto now = Clock::now();
    if (!final && std::chrono::duration<double>(now - last_report_).count() < o_.progress_interval_s) return;
    last_report_ = now;
    o_.on_progress({std::min<uint64_t>(done_.load(), total_), total_, Since(start_)});
  }

  const ByteSource& src_;
  const StreamOptions& o_;
  std::vector<Target> targets_;
  std::vector<Chunk> chunks_;
  uint64_t total_ = 0;
  uint64_t device_bytes_ = 0;
  ggml_backend_dev_t device_ = nullptr;
  std::atomic<size_t> next_{0};
  std::atomic<uint64_t> done_{0};
  std::atomic<bool> failed_{false};
  Clock::time_point start_;
  std::mutex mu_;
  Clock::time_point last_report_;  // guarded by mu_
  Status error_;                   // guarded by mu_
  std::string staging_ = "pageable";  // guarded by mu_
};

struct GgufDeleter {
  void operator()(gguf_context* g) const { gguf_free(g); }
};

}  // namespace

Status ValidateStreamOptions(const StreamOptions& o) {
  if (o.chunk_bytes < 4096 || o.chunk_bytes > (size_t{1} << 30))
    return InvalidArgument("chunk_bytes", "must be between 4 KiB and 1 GiB, got " + std::to_string(o.chunk_bytes));
  if (o.concurrency < 1 || o.concurrency > 64)
    return InvalidArgument("concurrency", "must be 1..64, got " + std::to_string(o.concurrency));
  if (o.retries < 0 || o.retries > 10)
    return InvalidArgument("retries", "must be 0..10, got " + std::to_string(o.retries));
  return Status::Ok();
}

StatusOr<llama_model*> StreamModel(const ByteSource& source, const llama_model_params& params,
                                   const StreamOptions& options, StreamStats* stats) {
  RETURN_IF_ERROR(ValidateStreamOptions(options));
  StreamStats local;
  if (!stats) stats = &local;
  auto t0 = Clock::now();
  char magic[4] = {};
  if (source.size() < 4) return DataLoss("not a GGUF file (" + std::to_string(source.size()) + " bytes): " + source.uri());
  RETURN_IF_ERROR(source.ReadAt(0, magic, 4));
  if (std::memcmp(magic, "GGUF", 4) != 0) return DataLoss("not a GGUF file (bad magic): " + source.uri());
  HeaderReader reader;
  reader.src = &source;
  std::unique_ptr<gguf_context, GgufDeleter> meta(gguf_init_from_callback(
      &HeaderReader::Callback, &reader, 0, source.size(), gguf_init_params{true, nullptr}));
  if (!meta) {
    if (!reader.error.ok()) return reader.error;
    return DataLoss("unreadable GGUF header in " + source.uri());
  }
  RETURN_IF_ERROR(CheckGgufHeader(meta.get(), source.size(), source.uri()));
  if (options.manifest && options.manifest->file_size() != source.size()) {
    return DataLoss("manifest does not match " + source.uri() + ": it describes " +
                    std::to_string(options.manifest->file_size()) + " bytes, the artifact has " +
                    std::to_string(source.size()));
  }
  stats->header_s = Since(t0);

  auto t1 = Clock::now();
  Collect collect;
  collect.meta = meta.get();
  llama_model* model = llama_model_init_from_user(meta.get(), &OnTensor, &collect, params);
  stats->create_s = Since(t1);
  if (!model) {
    if (!collect.error.ok()) return collect.error;
    return DataLoss("llama.cpp could not create the model from " + source.uri());
  }
  auto fail = [&](Status s) -> StatusOr<llama_model*> {
    llama_model_free(model);
    return s;
  };
  if (!collect.error.ok()) return fail(collect.error);

  stats->n_params = 0;
  for (const Target& t : collect.targets) stats->n_params += static_cast<uint64_t>(ggml_nelements(t.tensor));
  auto t2 = Clock::now();
  DataStreamer streamer(source, options, std::move(collect.targets));
  Status s = streamer.Run(stats);
  if (!s.ok()) return fail(s);
  for (auto& [tensor, from] : collect.fill_from) {
    Status f = FillTiedOutput(source, meta.get(), tensor, from);
    if (!f.ok()) return fail(f);
  }
  stats->data_s = Since(t2);
  return model;
}

}  // namespace cohost::loader
