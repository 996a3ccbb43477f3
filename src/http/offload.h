// Offload: a route handler that runs on a TaskPool instead of an I/O thread.
//
// For handlers that may block (SQL statements, backups): see
// util/task_pool.h for why. The I/O thread copies the request (headers,
// body, parameters) into the task and goes back to its other connections;
// the pool thread runs the handler on the copy and answers through the
// Responder as any asynchronous handler does. Exceptions are answered as
// on the I/O thread: nlohmann::json::exception is 400 invalid_argument,
// anything else 500 internal. A pool that has stopped answers 503.
#pragma once

#include <functional>
#include <string>

#include "http/request.h"
#include "util/task_pool.h"

namespace kissvdb::http {

// `pool` must outlive the server's handling of requests; null runs
// `handler` on the I/O thread as usual.
Handler Offload(TaskPool* pool, std::string route_name, Handler handler);

// For a handler that moves there itself after a first attempt: queues
// `task` (which answers through `res`), or answers 503 if the pool stopped.
void AnswerOnPool(TaskPool& pool, const Responder& res, std::function<void()> task);

}  // namespace kissvdb::http
