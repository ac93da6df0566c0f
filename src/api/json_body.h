// ParseJsonObject: a request body parsed as a JSON object, with errors a client can act on.
//
// nlohmann::json throws parse_error for malformed text but out_of_range for a number it cannot
// hold (1e309, an integer past 2^64): both become kInvalidArgument here, never an exception.
// A number out of range names the field it sits in ("temperature", "messages[2].content").
// Thread safety: pure.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace cohost::api {

// Errors: kInvalidArgument with field "body" for malformed JSON or a body that is not an object;
// with the value's field (dotted path, [i] for array elements) for a number out of range.
StatusOr<nlohmann::json> ParseJsonObject(std::string_view body);

}  // namespace cohost::api
