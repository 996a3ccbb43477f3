// Fuzzes the HTTP request path in-process: raw bytes into Beast's request
// parser (with the server's limits), then every complete request through
// the real router, auth and handlers against a real Engine (api_harness.h).
// Up to four pipelined requests per input, as one connection would send.
//
// Checked: no crash, sanitizer report or uncaught exception; every request
// gets exactly one answer, never 500, and JSON answers are JSON.
#include <cstddef>
#include <cstdint>

#include <boost/beast/http.hpp>

#include "api_harness.h"

namespace {

namespace bhttp = boost::beast::http;

constexpr int kMaxRequests = 4;
// http::ServerOptions' defaults.
constexpr uint64_t kMaxBodyBytes = 1 << 20;
constexpr uint32_t kMaxHeaderBytes = 16 << 10;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* p = reinterpret_cast<const char*>(data);
  size_t at = 0;
  for (int i = 0; i < kMaxRequests && at < size; ++i) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(kMaxBodyBytes);
    parser.header_limit(kMaxHeaderBytes);
    parser.eager(true);
    boost::system::error_code ec;
    // As Session::DoRead: everything buffered so far, until done or stuck.
    while (at < size && !parser.is_done()) {
      const size_t used = parser.put(boost::asio::buffer(p + at, size - at), ec);
      at += used;
      if (ec || used == 0) break;
    }
    if (ec) return 0;  // incomplete, or the server answers 400/413/431 and closes
    if (!parser.is_done()) return 0;
    const bhttp::request<bhttp::string_body> msg = parser.release();
    (void)kissvdb::fuzz::Handle(msg);
    if (!msg.keep_alive()) return 0;
  }
  return 0;
}
