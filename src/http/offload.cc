#include "http/offload.h"

#include <memory>
#include <utility>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "http/errors.h"

namespace kissvdb::http {

namespace {

// The request, owning its message: the session's own is reused for the
// connection's next request once this one is answered.
struct OwnedRequest {
  BeastRequest message;
  Request request;
};

void RunGuarded(const std::string& route_name, const Handler& handler, Request& req, const Responder& res) {
  try {
    handler(req, res);
  } catch (const nlohmann::json::exception& e) {
    res.Error(Status::InvalidArgument(ShortJsonError(e.what())));  // ignored if it had answered
  } catch (const std::exception& e) {
    spdlog::error("route {} failed: {}", route_name, e.what());
    res.Error(Status::Internal("internal error"));
  } catch (...) {
    spdlog::error("route {} failed with a non-standard exception", route_name);
    res.Error(Status::Internal("internal error"));
  }
}

}  // namespace

Handler Offload(TaskPool* pool, std::string route_name, Handler handler) {
  if (pool == nullptr) return handler;
  return [pool, name = std::move(route_name), handler = std::move(handler)](Request& req, const Responder& res) {
    auto owned = std::make_shared<OwnedRequest>();
    if (req.raw != nullptr) owned->message = *req.raw;
    owned->request = req;
    owned->request.raw = req.raw != nullptr ? &owned->message : nullptr;
    AnswerOnPool(*pool, res, [owned, res, name, handler] { RunGuarded(name, handler, owned->request, res); });
  };
}

void AnswerOnPool(TaskPool& pool, const Responder& res, std::function<void()> task) {
  if (!pool.Submit(std::move(task))) res.Error(Status::Unavailable("the server is shutting down"));
}

}  // namespace kissvdb::http
