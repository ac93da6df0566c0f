#include "cli/memory_need_command.h"

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "engine/llama_runtime.h"
#include "engine/memory_estimate.h"
#include "loader/gguf_check.h"

namespace cohost::cli {
namespace {

struct MemoryNeedFlags {
  std::string model;
  int context = 2048;
  int parallel = 4;
  int batch = 0;
  int ubatch = 0;
  int gpu_layers = -1;
};

int Run(const MemoryNeedFlags& f) {
  engine::InitLlamaRuntime(false);
  engine::SchedulerOptions o;
  o.context = f.context;
  o.parallel = f.parallel;
  o.batch = f.batch > 0 ? f.batch : std::max(o.batch, o.parallel);
  if (f.ubatch > 0) o.ubatch = f.ubatch;
  o.ubatch = std::min(o.ubatch, o.batch);
  o.threads = 1;  // sizes do not depend on it; one thread starts fastest
  // A context beyond what the model was trained on is refused before the dry run: it measures
  // nothing the runner could use, and a huge one made the dry run take minutes and gigabytes.
  auto shape = loader::CheckGgufFileHeader(f.model);
  StatusOr<engine::MemoryEstimate> m = shape.status();
  if (shape.ok() && shape->n_ctx_train > 0 && f.context > shape->n_ctx_train) {
    m = InvalidArgument("startup.context_length",
                        "must not exceed the model's trained context (" + shape->arch + ".context_length = " +
                            std::to_string(shape->n_ctx_train) + "), got " + std::to_string(f.context));
  } else if (shape.ok()) {
    m = engine::EstimateMemory({f.model, f.gpu_layers, true}, o);
  }
  nlohmann::json out;
  if (!m.ok()) {
    out["error"] = {{"code", StatusCodeName(m.status().code())},
                    {"message", m.status().message()},
                    {"field", m.status().field()}};
    std::printf("%s\n", out.dump().c_str());
    return 1;
  }
  nlohmann::json by_device = nlohmann::json::object();
  for (const auto& [name, b] : m->by_device) by_device[name] = b.total();
  out = {{"total_bytes", m->total.total()},
         {"total_mib", m->total.total_mib()},
         {"weights_bytes", m->total.weights_bytes},
         {"kv_bytes", m->total.kv_bytes},
         {"compute_bytes", m->total.compute_bytes},
         {"n_params", m->n_params},
         {"by_device", by_device}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace

void AddMemoryNeedCommand(CLI::App& app) {
  auto f = std::make_shared<MemoryNeedFlags>();
  CLI::App* cmd = app.add_subcommand(
      "memory-need", "Internal: one copy's memory need (llama.cpp dry run) as JSON");
  cmd->group("");  // hidden: serve's helper
  cmd->add_option("--model", f->model, "GGUF model file")->required();
  cmd->add_option("--context", f->context, "tokens of context per slot")->capture_default_str();
  cmd->add_option("--parallel", f->parallel, "slots")->capture_default_str();
  cmd->add_option("--batch", f->batch,
                  "most tokens in one decode step (0: the runner's default, at least --parallel)");
  cmd->add_option("--ubatch", f->ubatch, "physical micro-batch (0: the runner's default)");
  cmd->add_option("--gpu-layers", f->gpu_layers, "layers on accelerators (-1 = all)")
      ->capture_default_str();
  cmd->callback([f] { throw CLI::RuntimeError(Run(*f)); });
}

}  // namespace cohost::cli
