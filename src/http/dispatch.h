// Dispatch: what the server does with one parsed request between the parser
// and the handler: path and query decoding, routing, auth (before 404/405,
// so an unauthenticated client learns nothing) and the read-only check.
//
// Session calls it for every request. It is public so that fuzzers and tests
// can drive the real route table in-process, without a socket.
#pragma once

#include <cstddef>
#include <optional>

#include "http/auth.h"
#include "http/request.h"
#include "http/router.h"

namespace kissvdb::http {

struct Dispatch {
  // The matched route, also when the request is then refused (metrics).
  const RouteInfo* info = nullptr;
  size_t route_index = 0;
  // An answer given without calling a handler: 400, 401, 403, 404, 405.
  std::optional<Response> refusal;
  // Otherwise the handler to call with the filled Request.
  const Handler* handler = nullptr;
};

// Fills *request from `msg` (request->raw = &msg, path, query, params,
// principal) and decides who answers. REQUIRES: msg outlives *request's use.
Dispatch DispatchRequest(const Router& router, const Authenticator& auth, const BeastRequest& msg,
                         Request* request);

}  // namespace kissvdb::http
