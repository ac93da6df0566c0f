// copy_bound: how fast host memory reaches device memory on this machine, through ggml as the
// stream loader uses it: from pageable memory, from pinned memory (the device's host buffer
// type), and from pinned memory with asynchronous copies on one stream. The loader's data phase
// is judged against min(read bound, pinned copy bound) measured in the same run.
//
//   copy_bound [--mib N] [--repeat K]     prints one JSON object; {"devices": 0} without a GPU
#include <ggml-alloc.h>
#include <ggml-backend.h>
#include <ggml.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct DeviceTensor {
  ggml_context* ctx = nullptr;
  ggml_backend_buffer_t buf = nullptr;
  ggml_tensor* t = nullptr;
  ~DeviceTensor() {
    if (buf) ggml_backend_buffer_free(buf);
    if (ctx) ggml_free(ctx);
  }
};

bool MakeDeviceTensor(ggml_backend_dev_t dev, size_t bytes, DeviceTensor* out) {
  ggml_init_params p = {ggml_tensor_overhead() * 2, nullptr, true};
  out->ctx = ggml_init(p);
  out->t = ggml_new_tensor_1d(out->ctx, GGML_TYPE_I8, static_cast<int64_t>(bytes));
  out->buf = ggml_backend_alloc_ctx_tensors_from_buft(out->ctx, ggml_backend_dev_buffer_type(dev));
  return out->buf != nullptr;
}

// GB/s of `repeat` copies of `bytes` in `chunk`-sized pieces, the best of three rounds.
template <typename CopyAll>
double Rate(size_t bytes, int repeat, CopyAll copy_all) {
  copy_all();  // warm: first-touch, driver mappings
  double best = 0;
  for (int round = 0; round < 3; ++round) {
    auto t = Clock::now();
    for (int i = 0; i < repeat; ++i) copy_all();
    best = std::max(best, static_cast<double>(bytes) * repeat / Seconds(t) / 1e9);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  size_t mib = 1024;
  int repeat = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--mib")) mib = std::strtoul(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--repeat")) repeat = std::atoi(argv[i + 1]);
  }
  ggml_log_set([](ggml_log_level, const char*, void*) {}, nullptr);
  ggml_backend_dev_t dev = nullptr;
  for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
    if (ggml_backend_dev_type(ggml_backend_dev_get(i)) == GGML_BACKEND_DEVICE_TYPE_GPU) {
      dev = ggml_backend_dev_get(i);
      break;
    }
  }
  if (!dev) {
    std::printf("{\"devices\": 0}\n");
    return 0;
  }
  const size_t bytes = mib << 20;
  const size_t chunk = size_t{8} << 20;  // the loader's default chunk
  DeviceTensor d;
  if (!MakeDeviceTensor(dev, bytes, &d)) {
    std::printf("{\"error\": \"cannot allocate %zu MiB on %s\"}\n", mib, ggml_backend_dev_name(dev));
    return 1;
  }
  std::vector<char> pageable(bytes, 1);
  const double pageable_gbs = Rate(bytes, repeat, [&] {
    for (size_t off = 0; off < bytes; off += chunk) ggml_backend_tensor_set(d.t, pageable.data() + off, off, chunk);
  });

  double pinned_gbs = 0, pinned_async_gbs = 0;
  ggml_backend_buffer_type_t host = ggml_backend_dev_host_buffer_type(dev);
  ggml_backend_buffer_t pinned = host ? ggml_backend_buft_alloc_buffer(host, bytes) : nullptr;
  if (pinned) {
    char* src = static_cast<char*>(ggml_backend_buffer_get_base(pinned));
    std::memset(src, 1, bytes);
    pinned_gbs = Rate(bytes, repeat, [&] {
      for (size_t off = 0; off < bytes; off += chunk) ggml_backend_tensor_set(d.t, src + off, off, chunk);
    });
    ggml_backend_t stream = ggml_backend_dev_init(dev, nullptr);
    if (stream) {
      pinned_async_gbs = Rate(bytes, repeat, [&] {
        for (size_t off = 0; off < bytes; off += chunk) ggml_backend_tensor_set_async(stream, d.t, src + off, off, chunk);
        ggml_backend_synchronize(stream);
      });
      ggml_backend_free(stream);
    }
    ggml_backend_buffer_free(pinned);
  }
  std::printf(
      "{\"device\": \"%s\", \"mib\": %zu, \"chunk_mib\": 8, \"pageable_gbs\": %.2f, \"pinned_gbs\": %.2f, "
      "\"pinned_async_gbs\": %.2f}\n",
      ggml_backend_dev_description(dev), mib, pageable_gbs, pinned_gbs, pinned_async_gbs);
  return 0;
}
