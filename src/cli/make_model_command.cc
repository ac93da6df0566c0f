#include "cli/make_model_command.h"

#include <chrono>
#include <cstdio>
#include <memory>

#include "engine/llama_runtime.h"
#include "engine/synthetic_model.h"

namespace cohost::cli {
namespace {

struct MakeModelFlags {
  std::string params;
  std::string output;
  std::string type = "f32";
  std::string vocab;
  std::string name;
  std::string chat_template;
  uint64_t seed = 42;
  int n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0, context = 4096;
};

int Run(const MakeModelFlags& f) {
  engine::InitLlamaRuntime(false);
  engine::SyntheticModelOptions o;
  o.vocab_path = f.vocab.empty() ? engine::DefaultVocabPath() : f.vocab;
  auto type = engine::ParseWeightType(f.type);
  if (!type.ok()) {
    fprintf(stderr, "error: --%s\n", type.status().ToString().c_str());
    return 2;
  }
  o.weight_type = *type;
  o.seed = f.seed;
  o.chat_template = f.chat_template;
  int64_t requested = 0;  // --params, when given
  if (!f.params.empty()) {
    auto p = engine::ParseParamCount(f.params);
    if (!p.ok()) {
      fprintf(stderr, "error: --params: %s\n", p.status().message().c_str());
      return 2;
    }
    o.shape = engine::ShapeForParams(*p, 32000);
    requested = *p;
  }
  if (f.n_embd) o.shape.n_embd = f.n_embd;
  if (f.n_layer) o.shape.n_layer = f.n_layer;
  if (f.n_head) o.shape.n_head = f.n_head;
  o.shape.n_head_kv = f.n_head_kv ? f.n_head_kv : (f.n_head ? f.n_head : o.shape.n_head_kv);
  if (f.n_ff) o.shape.n_ff = f.n_ff;
  o.shape.n_ctx_train = f.context;
  o.name = f.name.empty() ? "cohost-synthetic-" + std::to_string(o.shape.ParamCount() / 1000000) + "M" : f.name;
  auto start = std::chrono::steady_clock::now();
  Status st = engine::WriteSyntheticModel(o, f.output);
  if (!st.ok()) {
    fprintf(stderr, "error: %s\n", st.ToString().c_str());
    return 1;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  printf("wrote %s: %.1fM parameters (n_embd=%d n_layer=%d n_head=%d n_head_kv=%d n_ff=%d "
         "vocab=%d) %s, seed %llu, in %.1f s\n",
         f.output.c_str(), static_cast<double>(o.shape.ParamCount()) / 1e6, o.shape.n_embd,
         o.shape.n_layer, o.shape.n_head, o.shape.n_head_kv, o.shape.n_ff, 32000,
         engine::WeightTypeName(o.weight_type), static_cast<unsigned long long>(o.seed), secs);
  if (requested > 0 && o.shape.ParamCount() > requested + requested / 5) {
    // Small sizes: the embedding and output matrices (2 x vocabulary x width) alone exceed the
    // budget, and a model needs at least one layer.
    const int64_t vocab_params = 2LL * 32000 * o.shape.n_embd;
    printf("note: asked for %.1fM parameters, wrote %.1fM: the 32000-token vocabulary's embedding and "
           "output matrices take %.1fM of them at width %d; use --n-embd for a smaller model\n",
           static_cast<double>(requested) / 1e6, static_cast<double>(o.shape.ParamCount()) / 1e6,
           static_cast<double>(vocab_params) / 1e6, o.shape.n_embd);
  }
  return 0;
}

}  // namespace

void AddMakeModelCommand(CLI::App& app) {
  auto flags = std::make_shared<MakeModelFlags>();
  CLI::App* cmd = app.add_subcommand("make-model", "Write a synthetic GGUF llama model (random weights, real tokenizer)");
  cmd->add_option("--output,-o", flags->output, "file to write")->required();
  cmd->add_option("--params", flags->params, "approximate size: 20M, 60M, 100M, 1B, ... (picks a shape)");
  cmd->add_option("--type", flags->type, "weight type: f32, f16, q8_0, q4_0")->capture_default_str();
  cmd->add_option("--seed", flags->seed, "random seed; the same seed and options give the same bytes")->capture_default_str();
  cmd->add_option("--n-embd", flags->n_embd, "width (overrides --params)");
  cmd->add_option("--n-layer", flags->n_layer, "layers (overrides --params)");
  cmd->add_option("--n-head", flags->n_head, "attention heads (overrides --params)");
  cmd->add_option("--n-head-kv", flags->n_head_kv, "key/value heads; fewer than --n-head is grouped-query attention");
  cmd->add_option("--n-ff", flags->n_ff, "feed-forward width (overrides --params)");
  cmd->add_option("--context", flags->context, "trained context length written to the model")->capture_default_str();
  cmd->add_option("--vocab", flags->vocab, "vocab-only GGUF to copy the tokenizer from (default: builtin:llama-spm, 32000 tokens, built into cohost)");
  cmd->add_option("--name", flags->name, "general.name in the file");
  cmd->add_option("--chat-template", flags->chat_template, "tokenizer.chat_template to write (e.g. chatml)");
  cmd->callback([flags] { throw CLI::RuntimeError(Run(*flags)); });
}

}  // namespace cohost::cli
