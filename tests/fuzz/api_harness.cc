#include "api_harness.h"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "api/api.h"
#include "http/auth.h"
#include "http/builtin_routes.h"
#include "http/dispatch.h"
#include "http/errors.h"
#include "kissvdb/engine.h"
#include "sql/sql_database.h"
#include "stream/broadcaster.h"
#include "stream/engine_source.h"

namespace kissvdb::fuzz {

namespace {

[[noreturn]] void Finding(const std::string& what) {
  std::fprintf(stderr, "api_harness: %s\n", what.c_str());
  std::abort();
}

// A stream body that takes what it is sent until the harness closes it.
class TestSink final : public http::StreamSink {
 public:
  bool Send(std::string) override { return !closed(); }
  size_t queued_bytes() const override { return 0; }
  void Close() override {
    std::function<void()> fn;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return;
      closed_ = true;
      fn = std::move(on_close_);
    }
    if (fn) fn();
  }
  bool closed() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }
  void OnClose(std::function<void()> fn) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!closed_) {
        on_close_ = std::move(fn);
        return;
      }
    }
    if (fn) fn();
  }

 private:
  mutable std::mutex mu_;
  bool closed_ = false;
  std::function<void()> on_close_;
};

// The answer to one request, filled from any thread.
struct Answer {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<http::Response> response;
  std::shared_ptr<TestSink> sink;
  bool dropped = false;

  void Set(http::Response r) {
    std::lock_guard<std::mutex> lock(mu);
    if (response) Finding("a handler answered twice");
    response = std::move(r);
    cv.notify_all();
  }
};

// Held by every copy of the Responder: notices a handler that drops it
// without answering (the server would send 500).
struct DropGuard {
  explicit DropGuard(std::shared_ptr<Answer> a) : answer(std::move(a)) {}
  DropGuard(const DropGuard&) = delete;
  DropGuard& operator=(const DropGuard&) = delete;
  std::shared_ptr<Answer> answer;
  ~DropGuard() {
    std::lock_guard<std::mutex> lock(answer->mu);
    answer->dropped = true;
    answer->cv.notify_all();
  }
};

class Harness {
 public:
  Harness() : auth_(std::string(kToken)) {
    spdlog::set_level(spdlog::level::off);  // handlers log refusals; keep the fuzzer's output readable
    char tmpl[] = "/tmp/kissvdb-fuzz-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) Finding("mkdtemp failed");
    dir_ = tmpl;
    config_.data_dir = dir_ + "/data";
    config_.durability = Durability::kNone;  // speed; durability is not what is fuzzed
    config_.snapshot_interval_secs = 3600;

    EngineOptions options;
    options.config = config_;
    auto engine = Engine::Open(options);
    if (!engine.ok()) Finding("Engine::Open: " + engine.status().ToString());
    engine_ = std::move(engine).value();
    auto sql = sql::SqlDatabase::Open(sql::SqlOptionsFromConfig(config_));
    if (!sql.ok()) Finding("SqlDatabase::Open: " + sql.status().ToString());
    sql_ = std::move(sql).value();
    source_ = std::make_unique<stream::EngineEventSource>(*engine_);
    broadcaster_ = std::make_unique<stream::Broadcaster>(*source_, stream::BroadcasterOptions::FromConfig(config_));
    engine_->AddCommitListener(broadcaster_->Listener());
    broadcaster_->Start();

    http::AddBuiltinRoutes(router_);
    api::ApiContext ctx;
    ctx.engine = engine_.get();
    ctx.config = &config_;
    ctx.sql = sql_.get();
    ctx.broadcaster = broadcaster_.get();
    api::RegisterRoutes(router_, ctx);
    auth_.SetKeyLookup([eng = engine_.get()](std::string_view token) -> Result<std::optional<http::Principal>> {
      std::optional<ApiKeyPrincipal> found = eng->LookupApiKey(token);
      if (!found) return std::optional<http::Principal>();
      return std::optional<http::Principal>(http::Principal{found->id, found->role});
    });
  }

  // In main.cc's order: streams, then SQL, then the engine.
  ~Harness() {
    broadcaster_->Stop();
    sql_.reset();
    engine_->Close();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  http::Response Handle(const http::BeastRequest& msg) {
    http::Request request;
    http::Dispatch d = http::DispatchRequest(router_, auth_, msg, &request);
    if (d.refusal) return Checked(*std::move(d.refusal));

    auto answer = std::make_shared<Answer>();
    {
      auto guard = std::make_shared<DropGuard>(answer);
      http::Responder responder([guard](http::Response r) { guard->answer->Set(std::move(r)); },
                                [guard](http::Response head) {
                                  auto sink = std::make_shared<TestSink>();
                                  {
                                    std::lock_guard<std::mutex> lock(guard->answer->mu);
                                    guard->answer->sink = sink;
                                  }
                                  guard->answer->Set(std::move(head));
                                  return sink;
                                });
      try {
        (*d.handler)(request, responder);
      } catch (const nlohmann::json::exception& e) {
        // The server answers these 400 (http/server.h); not a finding.
        return Checked(http::Response::Error(Status::InvalidArgument(http::ShortJsonError(e.what()))));
      } catch (const std::exception& e) {
        Finding("route " + d.info->name + " threw: " + e.what());
      }
    }
    std::unique_lock<std::mutex> lock(answer->mu);
    if (!answer->cv.wait_for(lock, std::chrono::seconds(30), [&] { return answer->response || answer->dropped; })) {
      Finding("route " + d.info->name + " did not answer within 30 s");
    }
    // Dropped after answering is fine; dropped without is what the server answers 500.
    if (!answer->response) Finding("route " + d.info->name + " dropped its Responder without answering");
    http::Response response = std::move(*answer->response);
    std::shared_ptr<TestSink> sink = answer->sink;
    lock.unlock();
    if (sink) sink->Close();  // the client goes away: the subscription must end cleanly
    return Checked(std::move(response), d.info->name);
  }

 private:
  static http::Response Checked(http::Response r, const std::string& route = "(refused)") {
    if (r.status < 100 || r.status > 599) Finding("route " + route + " answered status " + std::to_string(r.status));
    if (r.status == 500) Finding("route " + route + " answered 500: " + r.body);
    if (r.content_type == "application/json" && !r.body.empty() && !Json::accept(r.body)) {
      Finding("route " + route + " answered a JSON response that is not JSON: " + r.body.substr(0, 200));
    }
    return r;
  }

  std::string dir_;
  Config config_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<sql::SqlDatabase> sql_;
  std::unique_ptr<stream::EngineEventSource> source_;
  std::unique_ptr<stream::Broadcaster> broadcaster_;
  http::Router router_;
  http::Authenticator auth_;
};

Harness* harness = nullptr;

}  // namespace

http::Response Handle(const http::BeastRequest& msg) {
  if (harness == nullptr) {
    harness = new Harness();
    std::atexit([] { delete harness; });
  }
  return harness->Handle(msg);
}

}  // namespace kissvdb::fuzz
