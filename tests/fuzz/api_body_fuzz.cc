// Fuzzes the JSON body of every route that takes one: the first byte picks
// the route, the rest is the body, sent with the bootstrap key through the
// real router and handlers (api_harness.h). A vector collection "c" of
// dimension 4 and a document collection "c" exist before the first input,
// so the vector and document handlers get past "not found".
//
// Checked: as http_request_fuzz.cc (one answer, never 500, JSON is JSON).
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>

#include <boost/beast/http.hpp>

#include "api_harness.h"

namespace {

namespace bhttp = boost::beast::http;

struct Route {
  bhttp::verb method;
  const char* target;
};

// Every route with a JSON body (src/api/routes.cc), with fixed names.
constexpr Route kRoutes[] = {
    {bhttp::verb::put, "/v1/state/k"},
    {bhttp::verb::post, "/v1/state/batch_put"},
    {bhttp::verb::put, "/v1/doc/c/d"},
    {bhttp::verb::patch, "/v1/doc/c/d"},
    {bhttp::verb::post, "/v1/doc/c/find"},
    {bhttp::verb::post, "/v1/events"},
    {bhttp::verb::post, "/v1/vector/c"},  // re-creates "c" after a drop
    {bhttp::verb::post, "/v1/vector/c/add"},
    {bhttp::verb::post, "/v1/vector/c/upsert"},
    {bhttp::verb::post, "/v1/vector/c/update"},
    {bhttp::verb::post, "/v1/vector/c/delete"},
    {bhttp::verb::post, "/v1/vector/c/upsert_batch"},
    {bhttp::verb::post, "/v1/vector/c/delete_batch"},
    {bhttp::verb::post, "/v1/vector/c/search"},
    {bhttp::verb::post, "/v1/vector/c/search_batch"},
    {bhttp::verb::post, "/v1/sql/query"},
    {bhttp::verb::post, "/v1/sql/exec"},
    {bhttp::verb::post, "/v1/sql/transaction"},
    {bhttp::verb::post, "/v1/auth/keys"},
    {bhttp::verb::post, "/v1/admin/snapshot"},
};

kissvdb::http::Response Send(bhttp::verb method, const char* target, std::string body) {
  bhttp::request<bhttp::string_body> msg(method, target, 11);
  msg.set(bhttp::field::authorization, "Bearer " + std::string(kissvdb::fuzz::kToken));
  msg.set(bhttp::field::content_type, "application/json");
  msg.body() = std::move(body);
  msg.prepare_payload();
  return kissvdb::fuzz::Handle(msg);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  Send(bhttp::verb::post, "/v1/vector/c", R"({"dim":4,"metric":"cosine"})");
  Send(bhttp::verb::put, "/v1/doc/c/seed", R"({"n":1})");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Route& route = kRoutes[data[0] % std::size(kRoutes)];
  Send(route.method, route.target, std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  return 0;
}
