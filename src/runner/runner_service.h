// RunnerService: the HTTP API of one runner (one copy of one model).
//
//   POST /v1/completions, POST /v1/chat/completions   (OpenAI-compatible, streaming or not)
//   GET  /v1/models, GET /healthz, GET /stats
//
// It validates and tokenizes on the connection's coroutine, submits to the Scheduler, and
// relays the Scheduler's events as a response or a Server-Sent Events stream. A client that
// disconnects cancels its request (within one decode step).
// Thread safety: Handle() may run concurrently on many connections.
#pragma once

#include <string>

#include "api/openai_request.h"
#include "engine/model.h"
#include "engine/scheduler.h"
#include "net/http_server.h"

namespace cohost::runner {

struct RunnerServiceOptions {
  std::string model_name;              // the id clients send as "model"
  int default_completion_max_tokens = 16;  // OpenAI's default for /v1/completions
  size_t max_prompt_bytes = 512 * 1024;    // prompt text (or rendered chat) larger than this: 413
  api::RequestLimits limits;
};

class RunnerService {
 public:
  // `model` and `scheduler` must outlive the service.
  RunnerService(const engine::Model& model, engine::Scheduler& scheduler, RunnerServiceOptions options);

  net::asio::awaitable<void> Handle(net::Exchange& ex);

 private:
  net::asio::awaitable<void> HandleInference(net::Exchange& ex, api::RequestKind kind);
  std::string StatsJson() const;

  const engine::Model& model_;
  engine::Scheduler& scheduler_;
  const RunnerServiceOptions options_;
  const int64_t started_unix_;
};

}  // namespace cohost::runner
