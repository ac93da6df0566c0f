#include "api/json_body.h"

#include <string>
#include <vector>

namespace cohost::api {
namespace {

using json = nlohmann::json;

// Walks the text only to learn where the parser stopped: the path of the value being read.
class FieldPathSax : public nlohmann::json_sax<json> {
 public:
  bool null() override { return Value(); }
  bool boolean(bool) override { return Value(); }
  bool number_integer(number_integer_t) override { return Value(); }
  bool number_unsigned(number_unsigned_t) override { return Value(); }
  bool number_float(number_float_t, const string_t&) override { return Value(); }
  bool string(string_t&) override { return Value(); }
  bool binary(binary_t&) override { return Value(); }
  bool start_object(std::size_t) override { return Push(false); }
  bool start_array(std::size_t) override { return Push(true); }
  bool end_object() override { return Pop(); }
  bool end_array() override { return Pop(); }
  bool key(string_t& k) override {
    stack_.back().key = k;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    path_ = Path();
    return false;
  }
  const std::string& path() const { return path_; }

 private:
  struct Level {
    bool array = false;
    size_t index = 0;  // arrays: the element being read
    std::string key;   // objects: the key being read
  };
  bool Value() {
    if (!stack_.empty() && stack_.back().array) ++stack_.back().index;
    return true;
  }
  bool Push(bool array) {
    stack_.push_back({array, 0, {}});
    return true;
  }
  bool Pop() {
    stack_.pop_back();
    return Value();
  }
  std::string Path() const {
    std::string p;
    for (const Level& l : stack_) {
      if (l.array) p += "[" + std::to_string(l.index) + "]";
      else if (!l.key.empty()) p += (p.empty() ? "" : ".") + l.key;
    }
    return p.empty() ? "body" : p;
  }

  std::vector<Level> stack_;
  std::string path_;
};

std::string TypeName(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "boolean";
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  return "array";
}

}  // namespace

StatusOr<json> ParseJsonObject(std::string_view body) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::parse_error& e) {
    return InvalidArgument("body", std::string("malformed JSON: ") + e.what());
  } catch (const json::exception& e) {
    // A number the parser cannot hold: find the field it belongs to.
    FieldPathSax sax;
    json::sax_parse(body.begin(), body.end(), &sax);
    return InvalidArgument(sax.path(), std::string("number out of range (") + e.what() + ")");
  }
  if (!j.is_object()) return InvalidArgument("body", "expected a JSON object, got " + TypeName(j));
  return j;
}

}  // namespace cohost::api
