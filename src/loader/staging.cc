#include "loader/staging.h"

#include <ggml-backend.h>
#include <ggml.h>

#include <new>
#include <vector>

namespace cohost::loader {

struct Staging::Impl {
  // Pinned: buffers from the device's host buffer type; otherwise `plain`.
  ggml_backend_buffer_t pinned[2] = {nullptr, nullptr};
  std::vector<char> plain;
  ggml_backend_event_t events[2] = {nullptr, nullptr};
  bool recorded[2] = {false, false};
  int n_buffers = 1;
  int current = 0;

  char* Buffer(int i) {
    return pinned[i] ? static_cast<char*>(ggml_backend_buffer_get_base(pinned[i])) : plain.data();
  }
};

StatusOr<std::unique_ptr<Staging>> Staging::Create(const StagingOptions& o) {
  std::unique_ptr<Staging> s(new Staging());
  s->impl_ = std::make_unique<Impl>();
  s->device_ = o.device;
  Impl& im = *s->impl_;
  ggml_backend_buffer_type_t host_buft = nullptr;
  if (o.device && o.pinned && o.buffer_bytes > 0) {
    ggml_backend_dev_props props;
    ggml_backend_dev_get_props(o.device, &props);
    if (props.caps.host_buffer) host_buft = ggml_backend_dev_host_buffer_type(o.device);
    if (host_buft && o.async && props.caps.async && props.caps.events) {
      s->backend_ = ggml_backend_dev_init(o.device, nullptr);
      if (s->backend_) {
        im.events[0] = ggml_backend_event_new(o.device);
        im.events[1] = ggml_backend_event_new(o.device);
        if (!im.events[0] || !im.events[1]) {
          for (auto& e : im.events) {
            if (e) ggml_backend_event_free(e);
            e = nullptr;
          }
          ggml_backend_free(s->backend_);
          s->backend_ = nullptr;
        }
      }
    }
  }
  im.n_buffers = s->backend_ ? 2 : 1;
  if (host_buft) {
    for (int i = 0; i < im.n_buffers; ++i) {
      im.pinned[i] = ggml_backend_buft_alloc_buffer(host_buft, o.buffer_bytes);
      if (!im.pinned[i]) {
        host_buft = nullptr;  // pinned memory refused: fall back to pageable, synchronous
        break;
      }
    }
    if (!host_buft) {
      s->Finish();
      for (auto& b : im.pinned) {
        if (b) ggml_backend_buffer_free(b);
        b = nullptr;
      }
      for (auto& e : im.events) {
        if (e) ggml_backend_event_free(e);
        e = nullptr;
      }
      if (s->backend_) ggml_backend_free(s->backend_);
      s->backend_ = nullptr;
      im.n_buffers = 1;
    }
  }
  s->pinned_ = host_buft != nullptr;
  if (!s->pinned_) {
    try {
      im.plain.resize(o.buffer_bytes);
    } catch (const std::bad_alloc&) {
      return Status(StatusCode::kResourceExhausted,
                    "cannot allocate a staging buffer of " + std::to_string(o.buffer_bytes) + " bytes");
    }
  }
  return s;
}

Staging::~Staging() {
  if (!impl_) return;
  Finish();
  for (auto& e : impl_->events) {
    if (e) ggml_backend_event_free(e);
  }
  for (auto& b : impl_->pinned) {
    if (b) ggml_backend_buffer_free(b);
  }
  if (backend_) ggml_backend_free(backend_);
}

char* Staging::Acquire() {
  Impl& im = *impl_;
  im.current = (im.current + 1) % im.n_buffers;
  if (im.recorded[im.current]) {
    ggml_backend_event_synchronize(im.events[im.current]);
    im.recorded[im.current] = false;
  }
  return im.Buffer(im.current);
}

void Staging::CopyOut(ggml_tensor* tensor, const char* src, size_t offset, size_t size) {
  if (backend_ && tensor->buffer &&
      ggml_backend_buft_get_device(ggml_backend_buffer_get_type(tensor->buffer)) == device_) {
    ggml_backend_tensor_set_async(backend_, tensor, src, offset, size);
    return;
  }
  ggml_backend_tensor_set(tensor, src, offset, size);
}

void Staging::Submit() {
  Impl& im = *impl_;
  if (!backend_) return;
  ggml_backend_event_record(im.events[im.current], backend_);
  im.recorded[im.current] = true;
}

void Staging::Finish() {
  if (backend_) ggml_backend_synchronize(backend_);
  for (bool& r : impl_->recorded) r = false;
}

std::string Staging::Describe() const {
  if (pinned_ && backend_) return "pinned, async";
  return pinned_ ? "pinned" : "pageable";
}

}  // namespace cohost::loader
