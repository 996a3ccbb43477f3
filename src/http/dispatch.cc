#include "http/dispatch.h"

#include <string>
#include <string_view>

#include "http/url.h"

namespace kissvdb::http {

Dispatch DispatchRequest(const Router& router, const Authenticator& auth, const BeastRequest& msg,
                         Request* request) {
  std::string_view raw_path;
  std::string_view raw_query;
  SplitTarget(msg.target(), &raw_path, &raw_query);

  request->raw = &msg;
  request->method = msg.method();
  request->path.clear();
  request->query.clear();
  request->params.clear();
  request->principal.key_id.clear();
  request->principal.role.clear();
  const bool path_ok = !raw_path.empty() && raw_path.front() == '/' &&
                       PercentDecode(raw_path, false, &request->path);
  const bool query_ok = ParseQuery(raw_query, &request->query);

  Dispatch out;
  // HEAD is GET without the body (RFC 9110 9.3.2): the session drops the
  // body and keeps its Content-Length. Monitors and `curl -I` use it.
  const Verb lookup = msg.method() == Verb::head ? Verb::get : msg.method();
  Router::Match match = router.Find(lookup, raw_path);
  if (match.kind == Router::Match::kFound) {
    out.info = match.info;
    out.route_index = match.route_index;
  }
  // Auth before 404/405/400, so an unauthenticated client learns nothing.
  if (match.kind != Router::Match::kFound || !match.info->is_public) {
    Status st = auth.Authenticate(msg, request->query, &request->principal);
    if (!st.ok()) {
      out.refusal = Response::Error(st);
      if (st.code() == Code::kUnauthorized) out.refusal->headers.emplace_back("WWW-Authenticate", "Bearer");
      return out;
    }
  }
  if (match.kind == Router::Match::kFound && match.info->writes && request->principal.role == "read_only") {
    out.refusal = Response::Error(Status(Code::kForbidden, "this API key is read-only"));
    return out;
  }
  if (!path_ok) {
    out.refusal = Response::Error(Status::InvalidArgument("malformed percent-encoding in path"));
    return out;
  }
  if (!query_ok) {
    out.refusal = Response::Error(Status::InvalidArgument("malformed percent-encoding in query string"));
    return out;
  }
  const std::string_view method = boost::beast::http::to_string(msg.method());
  if (match.kind == Router::Match::kNotFound) {
    out.refusal = Response::Error(
        Status::NotFound("no route for " + std::string(method) + " " + request->path.substr(0, 256)));
    return out;
  }
  if (match.kind == Router::Match::kMethodNotAllowed) {
    out.refusal = Response::Error(
        Status(Code::kMethodNotAllowed, std::string(method) + " is not allowed here; allowed: " + match.allow));
    out.refusal->headers.emplace_back("Allow", match.allow);
    return out;
  }
  request->params = std::move(match.params);
  out.handler = match.handler;
  return out;
}

}  // namespace kissvdb::http
