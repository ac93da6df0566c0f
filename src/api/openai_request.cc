#include "api/openai_request.h"

#include "api/json_body.h"

#include <nlohmann/json.hpp>

#include <cmath>

namespace cohost::api {
namespace {

using json = nlohmann::json;

std::string TypeName(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "boolean";
  if (v.is_number_integer() || v.is_number_unsigned()) return "integer";
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  if (v.is_array()) return "array";
  return "object";
}

Status WrongType(const std::string& field, const char* expected, const json& v) {
  return InvalidArgument(field, std::string("expected ") + expected + ", got " + TypeName(v));
}

Status Unsupported(const std::string& field, const std::string& what) {
  return Status(StatusCode::kUnimplemented, what, field);
}

// Reads an optional number field within [lo, hi] into *out.
Status ReadNumber(const json& body, const char* field, double lo, double hi, float* out) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return Status::Ok();
  if (!it->is_number()) return WrongType(field, "a number", *it);
  double v = it->get<double>();
  if (!std::isfinite(v) || v < lo || v > hi) {
    return InvalidArgument(field, "must be between " + json(lo).dump() + " and " + json(hi).dump() +
                                      ", got " + it->dump());
  }
  *out = static_cast<float>(v);
  return Status::Ok();
}

Status ReadInt(const json& body, const char* field, int64_t lo, int64_t hi, std::optional<int64_t>* out) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return Status::Ok();
  if (!it->is_number_integer() && !it->is_number_unsigned()) return WrongType(field, "an integer", *it);
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
    return InvalidArgument(field, "is too large");
  int64_t v = it->get<int64_t>();
  if (v < lo || v > hi) {
    return InvalidArgument(field, "must be between " + std::to_string(lo) + " and " +
                                      std::to_string(hi) + ", got " + std::to_string(v));
  }
  *out = v;
  return Status::Ok();
}

Status ReadBool(const json& body, const char* field, bool* out) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return Status::Ok();
  if (!it->is_boolean()) return WrongType(field, "a boolean", *it);
  *out = it->get<bool>();
  return Status::Ok();
}

Status ReadStop(const json& body, const RequestLimits& limits, std::vector<std::string>* out) {
  auto it = body.find("stop");
  if (it == body.end() || it->is_null()) return Status::Ok();
  std::vector<json> items;
  if (it->is_string()) {
    items.push_back(*it);
  } else if (it->is_array()) {
    items.assign(it->begin(), it->end());
  } else {
    return WrongType("stop", "a string or an array of strings", *it);
  }
  if (static_cast<int>(items.size()) > limits.max_stop_strings)
    return InvalidArgument("stop", "at most " + std::to_string(limits.max_stop_strings) + " strings allowed");
  for (size_t i = 0; i < items.size(); ++i) {
    std::string f = it->is_array() ? "stop[" + std::to_string(i) + "]" : "stop";
    if (!items[i].is_string()) return WrongType(f, "a string", items[i]);
    std::string s = items[i].get<std::string>();
    if (s.empty()) return InvalidArgument(f, "must not be empty");
    if (s.size() > limits.max_stop_length)
      return InvalidArgument(f, "longer than " + std::to_string(limits.max_stop_length) + " bytes");
    out->push_back(std::move(s));
  }
  return Status::Ok();
}

// logit_bias: {"<token id>": bias, ...}, as OpenAI sends it.
Status ReadLogitBias(const json& body, const RequestLimits& limits, std::vector<std::pair<int32_t, float>>* out) {
  auto it = body.find("logit_bias");
  if (it == body.end() || it->is_null()) return Status::Ok();
  if (!it->is_object()) return WrongType("logit_bias", "an object mapping token ids to biases", *it);
  if (static_cast<int>(it->size()) > limits.max_logit_bias)
    return InvalidArgument("logit_bias", "at most " + std::to_string(limits.max_logit_bias) + " entries allowed");
  for (auto e = it->begin(); e != it->end(); ++e) {
    const std::string f = "logit_bias." + e.key();
    int64_t id = -1;
    const std::string& k = e.key();
    if (!k.empty() && k.size() <= 10 && k.find_first_not_of("0123456789") == std::string::npos) id = std::stoll(k);
    if (id < 0 || id > INT32_MAX) return InvalidArgument(f, "keys must be token ids (integers 0 to 2147483647)");
    if (!e->is_number()) return WrongType(f, "a number", *e);
    const double b = e->get<double>();
    if (!std::isfinite(b) || b < -100 || b > 100)
      return InvalidArgument(f, "must be between -100 and 100, got " + e->dump());
    out->emplace_back(static_cast<int32_t>(id), static_cast<float>(b));
  }
  return Status::Ok();
}

Status ReadPrompt(const json& body, std::string* out) {
  auto it = body.find("prompt");
  if (it == body.end() || it->is_null()) return InvalidArgument("prompt", "is required");
  if (it->is_string()) {
    *out = it->get<std::string>();
    return Status::Ok();
  }
  if (it->is_array()) {
    if (it->size() == 1 && (*it)[0].is_string()) {
      *out = (*it)[0].get<std::string>();
      return Status::Ok();
    }
    if (it->size() > 1 && (*it)[0].is_string())
      return Unsupported("prompt", "several prompts in one request are not supported; send one per request");
  }
  return WrongType("prompt", "a string", *it);
}

Status ReadContent(const json& content, const std::string& field, std::string* out) {
  if (content.is_null()) return Status::Ok();
  if (content.is_string()) {
    *out = content.get<std::string>();
    return Status::Ok();
  }
  if (!content.is_array()) return WrongType(field, "a string or an array of content parts", content);
  for (size_t j = 0; j < content.size(); ++j) {
    const json& part = content[j];
    std::string pf = field + "[" + std::to_string(j) + "]";
    if (!part.is_object()) return WrongType(pf, "an object", part);
    auto type = part.find("type");
    if (type == part.end() || !type->is_string()) return InvalidArgument(pf + ".type", "is required");
    if (*type != "text") return Unsupported(pf + ".type", "only \"text\" content is supported, got " + type->dump());
    auto text = part.find("text");
    if (text == part.end() || !text->is_string()) return WrongType(pf + ".text", "a string", text == part.end() ? json() : *text);
    *out += text->get<std::string>();
  }
  return Status::Ok();
}

Status ReadMessages(const json& body, const RequestLimits& limits, std::vector<Message>* out) {
  auto it = body.find("messages");
  if (it == body.end() || it->is_null()) return InvalidArgument("messages", "is required");
  if (!it->is_array()) return WrongType("messages", "an array", *it);
  if (it->empty()) return InvalidArgument("messages", "must not be empty");
  if (static_cast<int>(it->size()) > limits.max_messages)
    return InvalidArgument("messages", "at most " + std::to_string(limits.max_messages) + " allowed");
  static const char* kRoles[] = {"system", "user", "assistant", "tool", "developer"};
  for (size_t i = 0; i < it->size(); ++i) {
    const json& m = (*it)[i];
    std::string f = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return WrongType(f, "an object", m);
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) return InvalidArgument(f + ".role", "is required and must be a string");
    std::string r = role->get<std::string>();
    if (std::find(std::begin(kRoles), std::end(kRoles), r) == std::end(kRoles))
      return InvalidArgument(f + ".role", "must be one of system, user, assistant, tool, developer; got \"" + r + "\"");
    Message msg{r == "developer" ? "system" : r, {}};
    auto content = m.find("content");
    if (content == m.end()) return InvalidArgument(f + ".content", "is required");
    RETURN_IF_ERROR(ReadContent(*content, f + ".content", &msg.content));
    out->push_back(std::move(msg));
  }
  return Status::Ok();
}

// Refuses OpenAI features that would otherwise be silently ignored.
Status RefuseUnsupported(const json& body, RequestKind kind) {
  std::optional<int64_t> n;
  RETURN_IF_ERROR(ReadInt(body, "n", 1, 128, &n));
  if (n && *n != 1) return Unsupported("n", "only n = 1 is supported");
  std::optional<int64_t> best_of;
  RETURN_IF_ERROR(ReadInt(body, "best_of", 1, 128, &best_of));
  if (best_of && *best_of != 1) return Unsupported("best_of", "only best_of = 1 is supported");
  auto lp = body.find("logprobs");
  if (lp != body.end() && !lp->is_null() && *lp != false) return Unsupported("logprobs", "logprobs are not supported");
  auto echo = body.find("echo");
  if (echo != body.end() && *echo == true) return Unsupported("echo", "echo is not supported");
  auto suffix = body.find("suffix");
  if (suffix != body.end() && !suffix->is_null()) return Unsupported("suffix", "suffix is not supported");
  if (kind == RequestKind::kChat) {
    for (const char* f : {"tools", "functions"}) {
      auto t = body.find(f);
      if (t != body.end() && !t->is_null() && !(t->is_array() && t->empty()))
        return Unsupported(f, std::string(f) + " are not supported");
    }
    auto rf = body.find("response_format");
    if (rf != body.end() && !rf->is_null() && !(rf->is_object() && rf->value("type", "") == "text"))
      return Unsupported("response_format", "only {\"type\": \"text\"} is supported");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<InferenceRequest> ParseInferenceRequest(std::string_view text, RequestKind kind,
                                                 const RequestLimits& limits) {
  ASSIGN_OR_RETURN(json body, ParseJsonObject(text));
  InferenceRequest r;
  r.kind = kind;
  if (auto m = body.find("model"); m != body.end() && !m->is_null()) {
    if (!m->is_string()) return WrongType("model", "a string", *m);
    r.model = m->get<std::string>();
  }
  if (kind == RequestKind::kCompletion) {
    RETURN_IF_ERROR(ReadPrompt(body, &r.prompt));
  } else {
    RETURN_IF_ERROR(ReadMessages(body, limits, &r.messages));
  }
  RETURN_IF_ERROR(RefuseUnsupported(body, kind));

  std::optional<int64_t> v;
  RETURN_IF_ERROR(ReadInt(body, "max_tokens", 1, INT32_MAX, &v));
  if (kind == RequestKind::kChat) RETURN_IF_ERROR(ReadInt(body, "max_completion_tokens", 1, INT32_MAX, &v));
  if (v) r.max_tokens = static_cast<int>(*v);
  RETURN_IF_ERROR(ReadNumber(body, "temperature", 0, 2, &r.temperature));
  RETURN_IF_ERROR(ReadNumber(body, "top_p", 0, 1, &r.top_p));
  if (r.top_p <= 0) return InvalidArgument("top_p", "must be greater than 0");
  std::optional<int64_t> top_k;
  RETURN_IF_ERROR(ReadInt(body, "top_k", 0, 1 << 20, &top_k));
  if (top_k) r.top_k = static_cast<int>(*top_k);
  RETURN_IF_ERROR(ReadNumber(body, "min_p", 0, 1, &r.min_p));
  RETURN_IF_ERROR(ReadNumber(body, "frequency_penalty", -2, 2, &r.frequency_penalty));
  RETURN_IF_ERROR(ReadNumber(body, "presence_penalty", -2, 2, &r.presence_penalty));
  RETURN_IF_ERROR(ReadNumber(body, "repeat_penalty", 0.01, 10, &r.repeat_penalty));
  std::optional<int64_t> seed;
  RETURN_IF_ERROR(ReadInt(body, "seed", INT64_MIN, INT64_MAX, &seed));
  if (seed && *seed >= 0) r.seed = static_cast<uint32_t>(*seed & 0xFFFFFFFF);
  RETURN_IF_ERROR(ReadStop(body, limits, &r.stop));
  RETURN_IF_ERROR(ReadLogitBias(body, limits, &r.logit_bias));
  RETURN_IF_ERROR(ReadBool(body, "stream", &r.stream));
  RETURN_IF_ERROR(ReadBool(body, "ignore_eos", &r.ignore_eos));
  if (auto so = body.find("stream_options"); so != body.end() && !so->is_null()) {
    if (!so->is_object()) return WrongType("stream_options", "an object", *so);
    if (auto iu = so->find("include_usage"); iu != so->end() && !iu->is_null()) {
      if (!iu->is_boolean()) return WrongType("stream_options.include_usage", "a boolean", *iu);
      r.include_usage = iu->get<bool>();
    }
  }
  return r;
}

namespace {

// Reads "model" and "stream" of the top-level object as the parser goes, without building the
// document: the router calls this on every request, and a long prompt is then only scanned.
// The whole body is still checked to be valid JSON.
class RoutingSax : public nlohmann::json_sax<json> {
 public:
  explicit RoutingSax(RequestRouting* out) : out_(out) {}

  bool null() override { return Value("null"); }
  bool boolean(bool v) override {
    if (depth_ == 1 && field_ == Field::kStream) out_->stream = v;
    return Value("boolean");
  }
  bool number_integer(number_integer_t) override { return Value("integer"); }
  bool number_unsigned(number_unsigned_t) override { return Value("integer"); }
  bool number_float(number_float_t, const string_t&) override { return Value("number"); }
  bool string(string_t& v) override {
    if (depth_ == 1 && field_ == Field::kModel) out_->model = std::move(v);
    return Value("string");
  }
  bool binary(binary_t&) override { return Value("binary"); }
  bool start_object(std::size_t) override {
    if (depth_ == 0) top_is_object_ = true;
    return Container("object");
  }
  bool start_array(std::size_t) override { return Container("array"); }
  bool end_object() override { return --depth_, true; }
  bool end_array() override { return --depth_, true; }
  bool key(string_t& k) override {
    if (depth_ == 1) field_ = k == "model" ? Field::kModel : k == "stream" ? Field::kStream : Field::kOther;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    error_ = InvalidArgument("body", std::string("malformed JSON: ") + e.what());
    return false;
  }

  Status Finish() {
    if (!error_.ok()) return error_;
    if (!top_is_object_) return InvalidArgument("body", "expected a JSON object, got " + top_type_);
    return Status::Ok();
  }

 private:
  enum class Field { kOther, kModel, kStream };

  // A value of type `type` (null, boolean, ...) begins: checks it when it is model's or stream's.
  bool Value(const char* type) {
    if (depth_ == 0) top_type_ = type;
    if (depth_ != 1 || field_ == Field::kOther) return true;
    const bool model = field_ == Field::kModel;
    const std::string_view want = model ? "string" : "boolean";
    field_ = Field::kOther;
    if (type == want || std::string_view(type) == "null") return true;
    error_ = InvalidArgument(model ? "model" : "stream",
                             std::string("expected ") + (model ? "a string" : "a boolean") + ", got " + type);
    return false;
  }
  bool Container(const char* type) {
    bool ok = Value(type);
    ++depth_;
    return ok;
  }

  RequestRouting* out_;
  int depth_ = 0;
  Field field_ = Field::kOther;
  bool top_is_object_ = false;
  std::string top_type_;
  Status error_;
};

}  // namespace

StatusOr<RequestRouting> ParseRouting(std::string_view text) {
  RequestRouting r;
  RoutingSax sax(&r);
  json::sax_parse(text.begin(), text.end(), &sax);
  RETURN_IF_ERROR(sax.Finish());
  return r;
}

}  // namespace cohost::api
