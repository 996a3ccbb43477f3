#include "http/server.h"

#include <sys/resource.h>

#include <algorithm>
#include <future>
#include <thread>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "http/session.h"
#include "util/file_util.h"

namespace kissvdb::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

// Slot of a status in Core::RouteSlots, or -1 (looked up under the lock).
int StatusSlot(unsigned status) {
  static constexpr unsigned kStatuses[] = {200, 201, 204, 206, 304, 400, 401, 403, 404, 405, 408, 409,
                                           410, 413, 415, 422, 429, 431, 500, 501, 503, 507};
  static_assert(std::size(kStatuses) <= HttpServer::Core::kStatusSlots);
  for (size_t i = 0; i < std::size(kStatuses); ++i) {
    if (kStatuses[i] == status) return static_cast<int>(i);
  }
  return -1;
}

// The io thread count: options.io_threads, or one per hardware thread.
uint32_t ResolvedIoThreads(uint32_t configured) {
  return configured != 0 ? configured : std::max(1u, std::thread::hardware_concurrency());
}

// Every connection is a file descriptor, and the usual soft limit (1024)
// is far below max_connections: raise it to the hard limit, which needs no
// privilege. Data files, LMDB and the log need descriptors too, hence the
// headroom in the warning.
void RaiseFileLimit(uint32_t max_connections) {
  constexpr rlim_t kHeadroom = 256;
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    const rlim_t before = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &rl) == 0) {
      spdlog::info("open-file limit raised from {} to {}", before, rl.rlim_cur);
    } else {
      rl.rlim_cur = before;
    }
  }
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < rlim_t{max_connections} + kHeadroom) {
    spdlog::warn("open-file limit {} is too low for max_connections {}: accepts will fail before "
                 "the limit is reached; raise the hard limit (ulimit -Hn) or lower max_connections",
                 rl.rlim_cur, max_connections);
  }
}

}  // namespace

ServerOptions ServerOptions::FromConfig(const Config& config) {
  ServerOptions o;
  o.bind = config.bind;
  o.port = config.port;
  o.port_file = config.port_file;
  o.io_threads = config.io_threads;
  o.request_timeout = std::chrono::seconds(std::max<uint32_t>(config.request_timeout_secs, 1));
  o.idle_timeout = std::chrono::seconds(std::max<uint32_t>(config.idle_timeout_secs, 1));
  o.write_timeout = o.request_timeout;
  o.max_connections = std::max<uint32_t>(config.max_connections, 1);
  o.max_body_bytes = config.limits.max_body_bytes;
  o.max_header_bytes = static_cast<uint32_t>(
      std::min<uint64_t>(config.limits.max_header_bytes, std::numeric_limits<uint32_t>::max()));
  o.cors_allowed_origins = config.cors_allowed_origins;
  return o;
}

// ---- Core ----

HttpServer::Core::Core(ServerOptions opts, Router r, Authenticator a)
    : options(std::move(opts)),
      router(std::move(r)),
      auth(std::move(a)),
      connections_open(Metrics::Global().gauge("http_connections_open", {}, "Open HTTP connections.")),
      streams_open(Metrics::Global().gauge("http_streams_open", {}, "Open streamed (SSE) responses.")),
      connections_refused(Metrics::Global().counter("http_connections_refused_total", {},
                                                    "Connections closed at accept: over max_connections.")),
      route_slots(std::make_unique<RouteSlots[]>(router.size() + 2)),
      // The hint must be the real thread count: with 1, asio runs every
      // handler on the thread that polls and the others stay idle.
      ioc(static_cast<int>(ResolvedIoThreads(options.io_threads))),
      acceptor(asio::make_strand(ioc)),
      accept_retry(acceptor.get_executor()) {}

HttpServer::Core::~Core() = default;

bool HttpServer::Core::Register(const std::shared_ptr<Session>& session) {
  std::lock_guard<std::mutex> lock(mu);
  if (stopping.load()) return false;
  sessions.emplace(session->id(), session);
  return true;
}

void HttpServer::Core::Unregister(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu);
  if (sessions.erase(id) > 0 && sessions.empty()) sessions_cv.notify_all();
}

std::vector<std::shared_ptr<Session>> HttpServer::Core::LiveSessions() {
  std::vector<std::shared_ptr<Session>> out;
  std::lock_guard<std::mutex> lock(mu);
  out.reserve(sessions.size());
  for (auto& [id, weak] : sessions) {
    if (auto s = weak.lock()) out.push_back(std::move(s));
  }
  return out;
}

bool HttpServer::Core::WaitForSessions(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu);
  return sessions_cv.wait_until(lock, deadline, [this] { return sessions.empty(); });
}

void HttpServer::Core::Record(size_t route_index, std::string_view route_name, unsigned status,
                              double seconds) {
  const int slot = StatusSlot(status);
  const RouteSeries* s = nullptr;
  if (slot >= 0 && route_index < router.size() + 2) {
    s = route_slots[route_index].slots[slot].load(std::memory_order_acquire);
  }
  if (s == nullptr) {
    std::lock_guard<std::mutex> lock(mu);
    RouteSeries& entry = series[{route_index, status}];
    if (entry.requests == nullptr) {
      const Labels labels = {{"route", std::string(route_name)}, {"status", std::to_string(status)}};
      entry.requests = &Metrics::Global().counter("http_requests_total", labels,
                                                  "HTTP requests by route and status.");
      entry.latency = &Metrics::Global().histogram("http_request_duration_seconds", labels, {},
                                                   "Time from request parsed to response written.");
    }
    s = &entry;  // std::map nodes are stable
    if (slot >= 0 && route_index < router.size() + 2) {
      route_slots[route_index].slots[slot].store(s, std::memory_order_release);
    }
  }
  s->requests->Inc();
  s->latency->Observe(seconds);
}

std::string_view HttpServer::Core::AllowedOrigin(std::string_view origin) const {
  if (options.cors_allowed_origins.empty()) return "*";
  for (const std::string& allowed : options.cors_allowed_origins) {
    if (allowed == "*") return "*";
    if (allowed == origin) return allowed;
  }
  return {};
}

void HttpServer::Core::DoAccept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](error_code ec, Session::Socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping.load() || !acceptor.is_open()) return;
      // Out of descriptors and the like: back off instead of spinning.
      spdlog::warn("accept failed: {}", ec.message());
      accept_retry.expires_after(std::chrono::milliseconds(100));
      accept_retry.async_wait([this](error_code wait_ec) {
        if (!wait_ec && !stopping.load()) DoAccept();
      });
      return;
    }
    if (AtConnectionLimit()) {
      // Closed before reading anything: a flood of connections costs one
      // accept each, never a session, a timer or a buffer.
      if (connections_refused.value() % 1000 == 0) {
        spdlog::warn("refusing connections: max_connections ({}) are open", options.max_connections);
      }
      connections_refused.Inc();
      socket.close(ec);
      if (!stopping.load()) DoAccept();
      return;
    }
    socket.set_option(tcp::no_delay(true), ec);
    uint64_t id;
    {
      std::lock_guard<std::mutex> lock(mu);
      id = next_session_id++;
    }
    auto session = std::make_shared<Session>(std::move(socket), this, id);
    if (Register(session)) session->Start();
    if (!stopping.load()) DoAccept();
  });
}

bool HttpServer::Core::AtConnectionLimit() {
  std::lock_guard<std::mutex> lock(mu);
  return sessions.size() >= options.max_connections;
}

// ---- HttpServer ----

HttpServer::HttpServer(ServerOptions options, Router router, Authenticator auth)
    : core_(std::make_unique<Core>(std::move(options), std::move(router), std::move(auth))) {}

HttpServer::~HttpServer() { Stop(); }

uint16_t HttpServer::port() const { return core_->port.load(); }

uint32_t HttpServer::io_threads() const { return ResolvedIoThreads(core_->options.io_threads); }

Status HttpServer::Start() {
  Core& c = *core_;
  if (c.started) return Status(Code::kInternal, "server already started");
  const std::string where = c.options.bind + ":" + std::to_string(c.options.port);

  error_code ec;
  asio::ip::address address = asio::ip::make_address(c.options.bind, ec);
  if (ec) {
    tcp::resolver resolver(c.ioc);
    auto results = resolver.resolve(c.options.bind, std::to_string(c.options.port), ec);
    if (ec || results.empty()) {
      return Status(Code::kInvalidArgument, "cannot resolve bind address " + c.options.bind);
    }
    address = results.begin()->endpoint().address();
  }
  const tcp::endpoint endpoint(address, c.options.port);
  auto fail = [&](const char* what) {
    error_code ignored;
    c.acceptor.close(ignored);
    return Status(Code::kUnavailable, std::string(what) + " " + where + ": " + ec.message());
  };
  if (c.acceptor.open(endpoint.protocol(), ec)) return fail("open");
  if (c.acceptor.set_option(asio::socket_base::reuse_address(true), ec)) return fail("setsockopt");
  if (c.acceptor.bind(endpoint, ec)) return fail("bind");
  if (c.acceptor.listen(asio::socket_base::max_listen_connections, ec)) return fail("listen");
  c.port = c.acceptor.local_endpoint(ec).port();

  if (!c.options.port_file.empty()) {
    Status st = file_util::AtomicWriteFile(c.options.port_file, std::to_string(c.port.load()) + "\n");
    if (!st.ok()) {
      error_code ignored;
      c.acceptor.close(ignored);
      return st;
    }
  }

  RaiseFileLimit(c.options.max_connections);
  c.started = true;
  c.work.emplace(c.ioc.get_executor());
  c.DoAccept();
  const uint32_t n = io_threads();
  c.threads.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    c.threads.emplace_back([&c] {
      for (;;) {
        try {
          c.ioc.run();
          return;
        } catch (const std::exception& e) {
          // Handlers catch their own exceptions; this is a bug, not a reason to die.
          spdlog::error("io thread: unexpected exception: {}", e.what());
        }
      }
    });
  }
  return Status::OK();
}

void HttpServer::Stop() {
  Core& c = *core_;
  if (!c.started || c.stopped) return;
  c.stopped = true;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    c.stopping.store(true);
  }

  // Stop accepting (on the acceptor's strand), and wait until it is closed.
  std::promise<void> closed;
  asio::post(c.acceptor.get_executor(), [&c, &closed] {
    error_code ignored;
    c.acceptor.close(ignored);
    c.accept_retry.cancel();
    closed.set_value();
  });
  closed.get_future().wait();

  const auto deadline = std::chrono::steady_clock::now() + c.options.shutdown_grace;
  for (auto& s : c.LiveSessions()) s->Shutdown();
  if (!c.WaitForSessions(deadline)) {
    auto left = c.LiveSessions();
    spdlog::warn("shutdown: closing {} connection(s) still busy after {} ms", left.size(),
                 c.options.shutdown_grace.count());
    for (auto& s : left) s->ForceClose();
    left.clear();
    c.WaitForSessions(std::chrono::steady_clock::now() + std::chrono::seconds(1));
  }

  c.work.reset();
  c.ioc.stop();
  for (auto& t : c.threads) t.join();
  c.threads.clear();
}

}  // namespace kissvdb::http
