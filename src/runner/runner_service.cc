#include "runner/runner_service.h"

#include <nlohmann/json.hpp>

#include <ctime>
#include <limits>
#include <random>

#include "api/openai_response.h"
#include "core/log.h"
#include "net/async_queue.h"

namespace cohost::runner {
namespace {

using net::asio::awaitable;
using net::http::status;
using engine::GenerationEvent;
using EventQueue = net::AsyncQueue<GenerationEvent>;

constexpr std::string_view kRoutes[] = {"/v1/completions", "/v1/chat/completions", "/healthz",
                                        "/v1/models", "/stats"};

// A seed for a request that names none. Not std::random_device per request: constructing one
// runs cpuid, which on a virtual machine exits to the hypervisor (35-40 us each on the 2-core
// VM, in every request's path); a per-thread generator seeded once costs nanoseconds.
uint32_t FreshSeed() {
  thread_local std::mt19937 gen{std::random_device{}()};
  return static_cast<uint32_t>(gen());
}

engine::SamplingParams ToSampling(const api::InferenceRequest& r) {
  engine::SamplingParams p;
  p.temperature = r.temperature;
  p.top_p = r.top_p;
  p.top_k = r.top_k;
  p.min_p = r.min_p;
  p.frequency_penalty = r.frequency_penalty;
  p.presence_penalty = r.presence_penalty;
  p.repeat_penalty = r.repeat_penalty;
  p.seed = r.seed ? *r.seed : FreshSeed();
  p.ignore_eos = r.ignore_eos;
  // OpenAI: -100 "should result in a ban"; an additive -100 may not be one, -infinity is.
  for (const auto& [token, bias] : r.logit_bias)
    p.logit_bias.emplace_back(token, bias <= -100 ? -std::numeric_limits<float>::infinity() : bias);
  return p;
}

// Every logit_bias token id must be in the vocabulary. Errors: kInvalidArgument naming the entry.
Status CheckLogitBias(const api::InferenceRequest& r, int n_vocab) {
  for (const auto& [token, bias] : r.logit_bias) {
    if (token >= n_vocab) {
      return InvalidArgument("logit_bias." + std::to_string(token),
                             "is not a token id of this model (its vocabulary has " + std::to_string(n_vocab) +
                                 " tokens: 0 to " + std::to_string(n_vocab - 1) + ")");
    }
  }
  return Status::Ok();
}

// The outcome of relaying one generation.
struct Relayed {
  std::string text;
  GenerationEvent finished;
  bool client_gone = false;
};

// Collects events until the kFinished one.
awaitable<Relayed> Collect(std::shared_ptr<EventQueue> queue) {
  Relayed out;
  for (;;) {
    for (GenerationEvent& e : co_await queue->PopAll()) {
      if (e.kind == GenerationEvent::Kind::kText) {
        out.text += e.text;
      } else {
        out.finished = std::move(e);
        co_return out;
      }
    }
  }
}

// Streams events as SSE chunks until kFinished or until the client is gone.
awaitable<Relayed> Stream(net::Exchange& ex, std::shared_ptr<EventQueue> queue,
                          const api::ResponseMeta& meta) {
  Relayed out;
  for (;;) {
    std::string text;
    bool finished = false;
    for (GenerationEvent& e : co_await queue->PopAll()) {
      if (e.kind == GenerationEvent::Kind::kText) {
        text += e.text;
      } else {
        out.finished = std::move(e);
        finished = true;
      }
    }
    if (!text.empty() && !co_await ex.SendEvent(api::TextChunk(meta, text))) {
      out.client_gone = true;
      co_return out;
    }
    if (finished) co_return out;
  }
}

}  // namespace

RunnerService::RunnerService(const engine::Model& model, engine::Scheduler& scheduler,
                             RunnerServiceOptions options)
    : model_(model),
      scheduler_(scheduler),
      options_(std::move(options)),
      started_unix_(static_cast<int64_t>(std::time(nullptr))) {}

awaitable<void> RunnerService::Handle(net::Exchange& ex) {
  const auto& req = ex.request();
  std::string_view target = req.target();
  if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  const bool get = req.method() == net::http::verb::get;
  const bool post = req.method() == net::http::verb::post;
  if (target == "/v1/completions" && post) co_return co_await HandleInference(ex, api::RequestKind::kCompletion);
  if (target == "/v1/chat/completions" && post) co_return co_await HandleInference(ex, api::RequestKind::kChat);
  if (target == "/healthz" && get) co_return co_await ex.Respond(status::ok, std::string(R"({"status":"ok"})"));
  if (target == "/v1/models" && get) {
    std::vector<std::string> ids(1, options_.model_name);  // (a braced list trips GCC 12 in coroutines)
    co_return co_await ex.Respond(status::ok, api::ModelListBody(ids, started_unix_));
  }
  if (target == "/stats" && get) co_return co_await ex.Respond(status::ok, StatsJson());
  for (std::string_view k : kRoutes) {
    if (target == k) {
      co_return co_await ex.RespondError(status::method_not_allowed,
                                         InvalidArgument("method", std::string(req.method_string()) +
                                                                       " is not allowed on " + std::string(k)));
    }
  }
  co_await ex.RespondError(status::not_found, NotFound("no such path: " + std::string(target)));
}

awaitable<void> RunnerService::HandleInference(net::Exchange& ex, api::RequestKind kind) {
  auto parsed = api::ParseInferenceRequest(ex.request().body(), kind, options_.limits);
  if (!parsed.ok()) co_return co_await ex.RespondError(net::HttpStatusFor(parsed.status()), parsed.status());
  api::InferenceRequest& r = *parsed;
  if (!r.model.empty() && r.model != options_.model_name) {
    co_return co_await ex.RespondError(
        status::not_found, Status(StatusCode::kNotFound,
                                  "model '" + r.model + "' not found; this runner serves '" +
                                      options_.model_name + "'",
                                  "model"));
  }
  if (Status bias = CheckLogitBias(r, model_.n_vocab()); !bias.ok())
    co_return co_await ex.RespondError(status::bad_request, bias);

  std::string prompt = r.prompt;
  if (kind == api::RequestKind::kChat) {
    std::vector<engine::ChatMessage> messages;
    for (auto& m : r.messages) messages.push_back({m.role, m.content});
    auto rendered = model_.ApplyChatTemplate(messages);
    if (!rendered.ok()) co_return co_await ex.RespondError(status::bad_request, rendered.status());
    prompt = std::move(*rendered);
  }
  const char* prompt_field = kind == api::RequestKind::kChat ? "messages" : "prompt";
  if (prompt.size() > options_.max_prompt_bytes) {
    co_return co_await ex.RespondError(
        status::payload_too_large,
        Status(StatusCode::kPayloadTooLarge,
               "prompt is " + std::to_string(prompt.size()) + " bytes; the limit is " +
                   std::to_string(options_.max_prompt_bytes),
               prompt_field));
  }
  auto tokens = model_.Tokenize(prompt);
  if (!tokens.ok()) co_return co_await ex.RespondError(status::bad_request, tokens.status());

  engine::GenerationRequest g;
  g.prompt = std::move(*tokens);
  const int room = scheduler_.slot_context() - static_cast<int>(g.prompt.size());
  g.max_tokens = r.max_tokens ? *r.max_tokens
                              : (kind == api::RequestKind::kChat
                                     ? std::max(1, room)
                                     : std::min(options_.default_completion_max_tokens, std::max(1, room)));
  g.stop = r.stop;
  g.sampling = ToSampling(r);
  auto queue = std::make_shared<EventQueue>(ex.executor());
  g.on_event = [queue](const GenerationEvent& e) { queue->Push(e); };

  auto id = scheduler_.Submit(std::move(g));
  if (!id.ok()) {
    Status st = id.status();
    if (st.code() == StatusCode::kInvalidArgument && st.field() == "prompt")
      st = Status(st.code(), st.message(), prompt_field);
    net::Headers extra;
    if (st.code() == StatusCode::kResourceExhausted) extra.emplace_back("Retry-After", "1");
    co_return co_await ex.RespondError(net::HttpStatusFor(st), st, extra);
  }

  api::ResponseMeta meta{kind, api::NewResponseId(kind), options_.model_name,
                         static_cast<int64_t>(std::time(nullptr))};
  Relayed out;
  bool gone = false;
  if (r.stream) {
    bool ok = co_await ex.StartEventStream();
    if (ok && kind == api::RequestKind::kChat) ok = co_await ex.SendEvent(api::RoleChunk(meta));
    if (ok) {
      std::optional<Relayed> result = co_await ex.UnlessDisconnected(Stream(ex, queue, meta));
      if (result) out = std::move(*result);
      gone = !result || out.client_gone;
    } else {
      gone = true;
    }
  } else {
    std::optional<Relayed> result = co_await ex.UnlessDisconnected(Collect(queue));
    if (result) out = std::move(*result);
    gone = !result;
  }
  if (gone) {
    scheduler_.Cancel(*id);
    log::Debug("client went away; request cancelled", {{"id", meta.id}});
    co_return;
  }

  const GenerationEvent& fin = out.finished;
  if (fin.finish == engine::FinishReason::kError || fin.finish == engine::FinishReason::kCancelled) {
    Status err = fin.error.ok() ? Unavailable("the request was cancelled: the runner is stopping") : fin.error;
    if (r.stream) {
      co_await ex.SendEvent(net::ErrorBody(err.message(), "server_error"));
      co_await ex.SendEvent("[DONE]");
      co_return co_await ex.EndEventStream();
    }
    co_return co_await ex.RespondError(net::HttpStatusFor(err), err);
  }
  api::Usage usage{fin.prompt_tokens, fin.completion_tokens};
  const char* reason = engine::FinishReasonName(fin.finish);
  if (r.stream) {
    co_await ex.SendEvent(api::FinishChunk(meta, reason));
    if (r.include_usage) co_await ex.SendEvent(api::UsageChunk(meta, usage));
    co_await ex.SendEvent("[DONE]");
    co_return co_await ex.EndEventStream();
  }
  co_await ex.Respond(status::ok, api::CompletionBody(meta, out.text, reason, usage));
}

std::string RunnerService::StatsJson() const {
  engine::SchedulerStats s = scheduler_.GetStats();
  return nlohmann::json({{"model", options_.model_name},
                         {"slots_total", s.slots_total},
                         {"slots_busy", s.slots_busy},
                         {"queue_length", s.queue_length},
                         {"kv_cells_used", s.kv_cells_used},
                         {"slot_context", scheduler_.slot_context()},
                         {"requests_finished", s.requests_finished},
                         {"tokens_generated", s.tokens_generated},
                         {"prompt_tokens", s.prompt_tokens},
                         {"memory_bytes", scheduler_.allocated_bytes()},
                         {"decode_steps", s.decode_steps},
                         {"decode_us", s.decode_us},
                         {"step_us", s.step_us}})
      .dump();
}

}  // namespace cohost::runner
