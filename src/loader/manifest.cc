#include "loader/manifest.h"

#include <gguf.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <nlohmann/json.hpp>
#include <thread>

namespace cohost::loader {
namespace {

using json = nlohmann::json;

// The tensor map from the GGUF header (the first `header_bytes` of the file suffice; grown
// until gguf can parse it).
StatusOr<std::vector<ManifestTensor>> TensorMap(const ByteSource& src, size_t chunk_bytes) {
  size_t want = std::min<uint64_t>(src.size(), size_t{4} << 20);
  for (;;) {
    std::vector<char> head(want);
    RETURN_IF_ERROR(src.ReadAt(0, head.data(), want));
    gguf_context* g = gguf_init_from_buffer(head.data(), head.size(), gguf_init_params{true, nullptr});
    if (!g) {
      if (want == src.size()) return DataLoss("unreadable GGUF header in " + src.uri());
      want = static_cast<size_t>(std::min<uint64_t>(src.size(), uint64_t{want} * 4));
      continue;
    }
    std::vector<ManifestTensor> out;
    for (int64_t i = 0; i < gguf_get_n_tensors(g); ++i) {
      ManifestTensor t;
      t.name = gguf_get_tensor_name(g, i);
      t.offset = gguf_get_data_offset(g) + gguf_get_tensor_offset(g, i);
      t.size = gguf_get_tensor_size(g, i);
      t.first_chunk = t.offset / chunk_bytes;
      t.last_chunk = t.size ? (t.offset + t.size - 1) / chunk_bytes : t.first_chunk;
      if (t.offset + t.size > src.size()) {
        gguf_free(g);
        return DataLoss("model file is truncated: " + src.uri() + " has " + std::to_string(src.size()) +
                        " bytes, tensor " + t.name + " ends at " + std::to_string(t.offset + t.size));
      }
      out.push_back(std::move(t));
    }
    gguf_free(g);
    return out;
  }
}

}  // namespace

std::string Sha256HexOf(const void* data, size_t len) { return Sha256HexOf(std::vector<ByteSpan>{{data, len}}); }

std::string Sha256HexOf(const std::vector<ByteSpan>& parts) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  unsigned int n = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) throw std::bad_alloc();
  for (const ByteSpan& p : parts) EVP_DigestUpdate(ctx.get(), p.data, p.size);
  EVP_DigestFinal_ex(ctx.get(), d, &n);
  static const char* kDigits = "0123456789abcdef";
  std::string out(2 * sizeof(d), '0');
  for (size_t i = 0; i < sizeof(d); ++i) {
    out[2 * i] = kDigits[d[i] >> 4];
    out[2 * i + 1] = kDigits[d[i] & 15];
  }
  return out;
}

std::string ManifestUriFor(const std::string& model_uri) { return model_uri + ".manifest.json"; }

size_t Manifest::chunk_size(size_t i) const {
  return static_cast<size_t>(std::min<uint64_t>(chunk_bytes_, file_size_ - chunk_offset(i)));
}

StatusOr<Manifest> Manifest::Build(const ByteSource& source, size_t chunk_bytes, int concurrency) {
  if (chunk_bytes < 4096) return InvalidArgument("chunk_bytes", "must be at least 4096");
  Manifest m;
  m.file_size_ = source.size();
  m.chunk_bytes_ = chunk_bytes;
  ASSIGN_OR_RETURN(m.tensors_, TensorMap(source, chunk_bytes));
  size_t n = static_cast<size_t>((source.size() + chunk_bytes - 1) / chunk_bytes);
  m.sha256_.assign(n, "");
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status error;
  auto work = [&] {
    std::vector<char> buf(chunk_bytes);
    for (size_t i; (i = next.fetch_add(1)) < n;) {
      size_t len = m.chunk_size(i);
      Status s = source.ReadAt(m.chunk_offset(i), buf.data(), len);
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (error.ok()) error = s;
        return;
      }
      m.sha256_[i] = Sha256HexOf(buf.data(), len);
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < std::max(1, concurrency); ++i) threads.emplace_back(work);
  for (auto& t : threads) t.join();
  RETURN_IF_ERROR(error);
  return m;
}

std::string Manifest::ToJson() const {
  json j;
  j["format"] = kFormat;
  j["file_size"] = file_size_;
  j["chunk_bytes"] = chunk_bytes_;
  j["chunks"] = sha256_;
  json ts = json::array();
  for (const ManifestTensor& t : tensors_) {
    ts.push_back({{"name", t.name}, {"offset", t.offset}, {"size", t.size},
                  {"first_chunk", t.first_chunk}, {"last_chunk", t.last_chunk}});
  }
  j["tensors"] = ts;
  return j.dump(1);
}

StatusOr<Manifest> Manifest::Parse(const std::string& text, const std::string& origin) {
  Manifest m;
  try {
    json j = json::parse(text);
    if (j.value("format", "") != kFormat)
      return DataLoss("manifest " + origin + ": field 'format' must be \"" + kFormat + "\"");
    m.file_size_ = j.at("file_size").get<uint64_t>();
    m.chunk_bytes_ = j.at("chunk_bytes").get<size_t>();
    m.sha256_ = j.at("chunks").get<std::vector<std::string>>();
    if (m.chunk_bytes_ < 4096 || m.chunk_bytes_ > (size_t{1} << 30))
      return DataLoss("manifest " + origin + ": field 'chunk_bytes' must be 4096..1073741824");
    size_t want = static_cast<size_t>((m.file_size_ + m.chunk_bytes_ - 1) / m.chunk_bytes_);
    if (m.sha256_.size() != want)
      return DataLoss("manifest " + origin + ": field 'chunks' has " + std::to_string(m.sha256_.size()) +
                      " entries, file_size/chunk_bytes needs " + std::to_string(want));
    for (const json& t : j.at("tensors")) {
      m.tensors_.push_back({t.at("name").get<std::string>(), t.at("offset").get<uint64_t>(),
                            t.at("size").get<uint64_t>(), t.at("first_chunk").get<size_t>(),
                            t.at("last_chunk").get<size_t>()});
    }
  } catch (const std::exception& e) {
    return DataLoss("manifest " + origin + " is not valid: " + e.what());
  }
  return m;
}

Status Manifest::VerifyChunk(size_t i, const void* data, size_t len, const std::string& uri) const {
  return VerifyChunk(i, std::vector<ByteSpan>{{data, len}}, uri);
}

Status Manifest::VerifyChunk(size_t i, const std::vector<ByteSpan>& parts, const std::string& uri) const {
  size_t len = 0;
  for (const ByteSpan& p : parts) len += p.size;
  if (i >= sha256_.size() || len != chunk_size(i)) {
    return DataLoss("chunk " + std::to_string(i) + " of " + uri + " is outside the manifest");
  }
  std::string got = Sha256HexOf(parts);
  if (got != sha256_[i]) {
    return DataLoss("checksum mismatch in chunk " + std::to_string(i) + " (bytes " +
                    std::to_string(chunk_offset(i)) + "-" + std::to_string(chunk_offset(i) + len) +
                    ") of " + uri + ": manifest " + sha256_[i].substr(0, 16) + "..., read " +
                    got.substr(0, 16) + "...");
  }
  return Status::Ok();
}

}  // namespace cohost::loader
