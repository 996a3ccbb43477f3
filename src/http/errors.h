// Error helpers of the HTTP boundary: what a client sees when something
// fails, beyond Response::Error(Status).
#pragma once

#include <string>
#include <string_view>

#include "http/request.h"
#include "kissvdb/status.h"

namespace kissvdb::http {

// The readable part of an nlohmann exception message ("[json.exception.
// type_error.302] type must be string" -> "type must be string"), at most
// ~200 bytes since it may quote the input.
std::string ShortJsonError(std::string_view what);

// {"error": CodeName(code), "message": message} with an explicit HTTP status,
// for the statuses that have no Code of their own (431).
Response ErrorWithStatus(unsigned http_status, Code code, std::string message);

}  // namespace kissvdb::http
