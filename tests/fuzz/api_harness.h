// ApiHarness: the daemon's real request path without a socket, for the HTTP
// fuzz targets. One per process: a real Engine, SQL database and change
// stream in a temporary data dir, the built-in and /v1 routes, and the
// Authenticator with kToken as the bootstrap key. Handle() runs what a
// Session runs for a parsed request (http::DispatchRequest, then the
// handler) and waits for the answer, which most write handlers give later
// from the commit thread.
//
// Findings abort (libFuzzer reports them): a handler that throws anything
// but a JSON error, answers 500, never answers, or sends a JSON response
// whose body is not JSON. State carries over between inputs, as in a
// long-running server; the data dir is removed at exit.
#pragma once

#include <string_view>

#include "http/request.h"

namespace kissvdb::fuzz {

inline constexpr std::string_view kToken = "fuzz-key";

// The response to `msg`; a stream's head for SSE routes (the stream is
// closed right after it starts).
http::Response Handle(const http::BeastRequest& msg);

}  // namespace kissvdb::fuzz
