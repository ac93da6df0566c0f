#include "cli/artifact_commands.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "core/log.h"
#include "loader/file_source.h"
#include "loader/manifest.h"
#include "loader/s3_upload.h"
#include "loader/source_uri.h"

namespace cohost::cli {
namespace {

struct PackArgs {
  std::string model;
  double chunk_mib = 8;
  int concurrency = 4;
};

// Writes the manifest beside the model (atomically: temp file, then rename).
int Pack(const PackArgs& a) {
  auto src = loader::FileSource::Open(a.model);
  if (!src.ok()) {
    std::fprintf(stderr, "cohost pack: %s\n", src.status().message().c_str());
    return 1;
  }
  auto m = loader::Manifest::Build(**src, static_cast<size_t>(a.chunk_mib * (1 << 20)), a.concurrency);
  if (!m.ok()) {
    std::fprintf(stderr, "cohost pack: %s\n", m.status().message().c_str());
    return 1;
  }
  const std::string out = loader::ManifestUriFor(a.model);
  const std::string tmp = out + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << m->ToJson();
    if (!f) {
      std::fprintf(stderr, "cohost pack: cannot write %s\n", tmp.c_str());
      return 1;
    }
  }
  if (std::rename(tmp.c_str(), out.c_str()) != 0) {
    std::fprintf(stderr, "cohost pack: cannot rename to %s\n", out.c_str());
    return 1;
  }
  std::printf("%s: %zu chunks of %zu bytes, %zu tensors\n", out.c_str(), m->n_chunks(), m->chunk_bytes(),
              m->tensors().size());
  return 0;
}

int Push(const PackArgs& pack, const std::string& dest) {
  auto uri = loader::ParseModelUri(dest);
  if (!uri.ok() || uri->scheme != loader::UriScheme::kS3) {
    std::fprintf(stderr, "cohost push: destination must be s3://bucket/key, got '%s'\n", dest.c_str());
    return 2;
  }
  if (!std::filesystem::exists(loader::ManifestUriFor(pack.model))) {
    if (int rc = Pack(pack); rc != 0) return rc;
  }
  const char* home = std::getenv("HOME");
  auto s3 = loader::ResolveS3Config([](const char* n) { return std::getenv(n); }, home ? home : "");
  if (!s3.ok()) {
    std::fprintf(stderr, "cohost push: %s\n", s3.status().message().c_str());
    return 1;
  }
  loader::HttpOptions http;
  for (auto [local, key] : {std::pair{pack.model, uri->key},
                            std::pair{loader::ManifestUriFor(pack.model), loader::ManifestUriFor(uri->key)}}) {
    Status s = loader::PutObject(*s3, uri->bucket, key, local, http);
    if (!s.ok()) {
      std::fprintf(stderr, "cohost push: %s\n", s.message().c_str());
      return 1;
    }
    std::printf("uploaded %s -> s3://%s/%s\n", local.c_str(), uri->bucket.c_str(), key.c_str());
  }
  return 0;
}

void AddPackOptions(CLI::App* cmd, PackArgs* a) {
  cmd->add_option("--chunk-mib", a->chunk_mib, "chunk size in MiB")->check(CLI::Range(0.0625, 1024.0))->capture_default_str();
  cmd->add_option("--concurrency", a->concurrency, "parallel reads while hashing")->check(CLI::Range(1, 64))->capture_default_str();
}

}  // namespace

void AddArtifactCommands(CLI::App& app) {
  auto pack = std::make_shared<PackArgs>();
  CLI::App* p = app.add_subcommand("pack", "Write a manifest (chunk SHA-256s, tensor map) beside a GGUF model");
  p->add_option("model", pack->model, "GGUF model file")->required();
  AddPackOptions(p, pack.get());
  p->callback([pack] { throw CLI::RuntimeError(Pack(*pack)); });

  auto push = std::make_shared<PackArgs>();
  auto dest = std::make_shared<std::string>();
  CLI::App* u = app.add_subcommand("push", "Upload a model and its manifest (packing it first if needed) to S3");
  u->add_option("model", push->model, "GGUF model file")->required();
  u->add_option("destination", *dest, "s3://bucket/key")->required();
  AddPackOptions(u, push.get());
  u->callback([push, dest] { throw CLI::RuntimeError(Push(*push, *dest)); });
}

}  // namespace cohost::cli
