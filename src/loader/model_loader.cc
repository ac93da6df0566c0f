#include "loader/model_loader.h"

#include <llama.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <filesystem>

#include "core/log.h"
#include "loader/gguf_check.h"
#include "loader/manifest.h"

namespace cohost::loader {
namespace {

// Reads the manifest beside `uri`, if there is one. NotFound means "none"; other errors are real.
StatusOr<std::optional<Manifest>> FindManifest(const std::string& uri, const SourceOptions& sources) {
  auto src = OpenSource(ManifestUriFor(uri), sources);
  if (!src.ok()) {
    if (src.status().code() == StatusCode::kNotFound) return std::optional<Manifest>();
    return src.status();
  }
  std::string text((*src)->size(), '\0');
  RETURN_IF_ERROR((*src)->ReadAt(0, text.data(), text.size()));
  ASSIGN_OR_RETURN(Manifest m, Manifest::Parse(text, (*src)->uri()));
  return std::optional<Manifest>(std::move(m));
}

// Streams `source`, verified against the manifest beside `manifest_base` when there is one.
StatusOr<llama_model*> Stream(const ByteSource& source, const std::string& manifest_base, const LoaderOptions& options,
                              const llama_model_params& params, LoadReport* report,
                              std::optional<Manifest>* found = nullptr) {
  StreamOptions stream = options.stream;
  std::optional<Manifest> manifest;
  if (options.verify && !stream.manifest) {
    ASSIGN_OR_RETURN(manifest, FindManifest(manifest_base, options.sources));
    if (manifest) stream.manifest = &*manifest;
  }
  report->verified = stream.manifest != nullptr;
  if (!report->verified) {
    log::Warn("no manifest beside the model: loading unverified",
              {{"uri", source.uri()}, {"manifest", ManifestUriFor(manifest_base)}});
  }
  ASSIGN_OR_RETURN(llama_model* m, StreamModel(source, params, stream, &report->stream));
  report->bytes = report->stream.data_bytes;
  if (found) *found = std::move(manifest);
  return m;
}

Status WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << text;
    if (!f.flush()) return Status(StatusCode::kResourceExhausted, "cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Internal("cannot rename " + tmp);
  return Status::Ok();
}

StatusOr<llama_model*> StreamThroughCache(const std::string& uri, const LoaderOptions& options,
                                          const llama_model_params& params, LoadReport* report) {
  ASSIGN_OR_RETURN(std::unique_ptr<DiskCache> cache, DiskCache::Open(options.cache));
  ASSIGN_OR_RETURN(std::unique_ptr<CacheLock> lock, cache->Lock(uri));
  const std::string entry = cache->PathFor(uri);
  if (cache->Has(uri)) {
    log::Info("loading from the disk cache", {{"uri", uri}, {"path", entry}});
    ASSIGN_OR_RETURN(auto local, OpenSource(entry, options.sources));
    auto m = Stream(*local, entry, options, params, report);
    if (m.ok()) {
      report->from_cache = true;
      return m;
    }
    if (m.status().code() != StatusCode::kDataLoss) return m.status();
    log::Warn("cached copy is corrupt; fetching it again", {{"path", entry}, {"error", m.status().message()}});
    cache->Remove(uri);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> remote, OpenSource(uri, options.sources));
  std::unique_ptr<CachingSource> caching;
  Status room = cache->MakeRoom(remote->size(), uri);
  if (room.ok()) {
    auto c = CachingSource::Create(*remote, entry);
    if (c.ok()) caching = std::move(*c);
    else room = c.status();
  }
  if (!room.ok()) log::Warn("disk cache: loading without caching", {{"uri", uri}, {"error", room.message()}});
  std::optional<Manifest> manifest;
  ASSIGN_OR_RETURN(llama_model* m, Stream(caching ? static_cast<const ByteSource&>(*caching) : *remote, uri,
                                          options, params, report, &manifest));
  if (caching) {
    Status c = manifest ? WriteFileAtomically(ManifestUriFor(entry), manifest->ToJson()) : Status::Ok();
    if (c.ok()) c = caching->Commit();
    if (c.ok()) {
      report->cached = true;
      log::Info("cached", {{"uri", uri}, {"path", entry}});
    } else {
      log::Warn("disk cache: model loaded but not cached", {{"uri", uri}, {"error", c.message()}});
    }
  }
  return m;
}

}  // namespace

StatusOr<LoadMode> ParseLoadMode(const std::string& t) {
  if (t == "auto") return LoadMode::kAuto;
  if (t == "mmap") return LoadMode::kMmap;
  if (t == "read") return LoadMode::kRead;
  if (t == "stream") return LoadMode::kStream;
  return InvalidArgument("load-mode", "must be auto, mmap, read or stream, got '" + t + "'");
}

const char* LoadModeName(LoadMode m) {
  switch (m) {
    case LoadMode::kAuto: return "auto";
    case LoadMode::kMmap: return "mmap";
    case LoadMode::kRead: return "read";
    case LoadMode::kStream: return "stream";
  }
  return "?";
}

LoadMode ResolveAutoMode(const ParsedUri& uri) {
  // Local files: mmap measured faster on the CPU for a warm page cache, and gives llama.cpp's own
  // model (see the header on streaming a local file onto a GPU). Every remote source streams.
  return uri.scheme == UriScheme::kFile ? LoadMode::kMmap : LoadMode::kStream;
}

StatusOr<llama_model*> LoadModel(const std::string& uri, const LoaderOptions& options, LoadReport* report) {
  LoadReport local;
  if (!report) report = &local;
  ASSIGN_OR_RETURN(ParsedUri parsed, ParseModelUri(uri));
  LoadMode mode = options.mode == LoadMode::kAuto ? ResolveAutoMode(parsed) : options.mode;
  report->mode_used = mode;
  llama_model_params params = llama_model_default_params();
  params.n_gpu_layers = options.gpu_layers;
  auto t0 = std::chrono::steady_clock::now();
  auto finish = [&](llama_model* m) {
    report->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return m;
  };

  if (mode == LoadMode::kMmap || mode == LoadMode::kRead) {
    if (parsed.scheme != UriScheme::kFile) {
      return InvalidArgument("load-mode", std::string(LoadModeName(mode)) +
                                              " works on local files only; use stream (or auto) for " + uri);
    }
    std::error_code ec;
    RETURN_IF_ERROR(CheckGgufFileHeader(parsed.path).status());
    params.load_mode = mode == LoadMode::kMmap ? LLAMA_LOAD_MODE_MMAP : LLAMA_LOAD_MODE_NONE;
    llama_model* m = llama_model_load_from_file(parsed.path.c_str(), params);
    if (!m) return DataLoss("llama.cpp could not load " + parsed.path);
    report->bytes = std::filesystem::file_size(parsed.path, ec);
    return finish(m);
  }

  if (parsed.scheme == UriScheme::kFile || options.cache.dir.empty()) {
    ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> source, OpenSource(uri, options.sources));
    ASSIGN_OR_RETURN(llama_model* m, Stream(*source, uri, options, params, report));
    return finish(m);
  }
  ASSIGN_OR_RETURN(llama_model* m, StreamThroughCache(uri, options, params, report));
  return finish(m);
}

}  // namespace cohost::loader
