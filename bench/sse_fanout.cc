// sse_fanout: change-stream fan-out benchmark (issue 4).
//
// Starts the real kissvdb binary on 127.0.0.1 (fresh temp data dir), opens
// N subscribers on GET /v1/stream, drives writers at a fixed rate of KV puts
// for a bounded time, and reports:
//   * delivery lag p50/p90/p99/max: subscriber receive time minus the time the
//     writer sent the request (both CLOCK_MONOTONIC in this process), so it
//     includes HTTP, group commit + fdatasync, fan-out and the socket;
//     and the part of it after the writer got the acknowledgement (the
//     stream's own share; 0 when the event beat the HTTP response);
//   * write acknowledgement latency and the achieved write rate;
//   * lost / duplicated / out-of-order events per subscriber, checked against
//     the log itself (GET /v1/log) by count, sum and sum of squares of the
//     offsets each filter should have delivered;
//   * server CPU (utime+stime from /proc/<pid>/stat over the write window)
//     and RSS (VmRSS sampled, VmHWM), and the bench client's own CPU.
// A subscriber that gets `gap` (too slow) reconnects with Last-Event-ID =
// resume_since, as an EventSource would; the loss check spans reconnects.
// One still catching up when the drain window closes has its missing events
// counted as undelivered (and as lags beyond the last bucket), not as lost.
//
// One command (bounded: connect + --seconds + at most --drain-secs):
//   cmake --build build-stream --target sse_fanout kissvdb && build-stream/sse_fanout
// Flags: --subscribers 1000 --rate 10000 --seconds 10 --groups 1 --writers 256
//        --readers 2 --durability always --server <path> --drain-secs 15
// --groups G: writer i uses key prefix "b<i%G>/", subscriber j filters with
// key_prefix=b<j%G>/, so each subscriber receives 1/G of the events.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "fanout_common.h"

// Fatal errors of this program.
[[noreturn]] void fanout::Die(const std::string& msg) {
  std::fprintf(stderr, "sse_fanout: %s\n", msg.c_str());
  std::exit(1);
}

namespace {

using Json = nlohmann::json;

using fanout::Connect;
using fanout::Die;
using fanout::Histogram;
using fanout::NowNs;
using fanout::ProcStat;
using fanout::ReadFile;
using fanout::ReadProc;

struct Options {
  int subscribers = 1000;
  int rate = 10000;
  int seconds = 10;
  int groups = 1;
  int writers = 256;
  int readers = 2;
  int drain_secs = 15;
  std::string durability = "always";
  std::string server = KISSVDB_BINARY;
};

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--subscribers") o.subscribers = std::stoi(value());
    else if (a == "--rate") o.rate = std::stoi(value());
    else if (a == "--seconds") o.seconds = std::stoi(value());
    else if (a == "--groups") o.groups = std::max(1, std::stoi(value()));
    else if (a == "--writers") o.writers = std::max(1, std::stoi(value()));
    else if (a == "--readers") o.readers = std::max(1, std::stoi(value()));
    else if (a == "--drain-secs") o.drain_secs = std::stoi(value());
    else if (a == "--durability") o.durability = value();
    else if (a == "--server") o.server = value();
    else Die("unknown flag " + a + " (see the comment at the top of bench/sse_fanout.cc)");
  }
  return o;
}

// ---- The server under test ------------------------------------------------

struct Server {
  pid_t pid = -1;
  uint16_t port = 0;
  std::string dir;
};

Server StartServer(const Options& o) {
  Server s;
  char tmpl[] = "/tmp/sse-fanout-XXXXXX";
  if (!mkdtemp(tmpl)) Die("mkdtemp failed");
  s.dir = tmpl;
  const std::string port_file = s.dir + "/port";
  std::vector<std::string> args = {o.server,         "--bind",     "127.0.0.1", "--port",      "0",
                                   "--port-file",    port_file,    "--data-dir", s.dir + "/data", "--api-key",
                                   "bench-key",      "--durability", o.durability, "--log-level", "warn"};
  s.pid = fork();
  if (s.pid == 0) {
    const int log = open((s.dir + "/server.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(log, 1);
    dup2(log, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  for (int i = 0; i < 1500; ++i) {
    std::string text = ReadFile(port_file);
    if (!text.empty() && text.back() == '\n') {
      s.port = static_cast<uint16_t>(std::stoi(text));
      return s;
    }
    int status;
    if (waitpid(s.pid, &status, WNOHANG) == s.pid) Die("server exited: " + ReadFile(s.dir + "/server.log"));
    usleep(10000);
  }
  Die("server did not start");
}

void StopServer(Server& s) {
  if (s.pid > 0) {
    kill(s.pid, SIGTERM);
    for (int i = 0; i < 1000; ++i) {
      int status;
      if (waitpid(s.pid, &status, WNOHANG) == s.pid) {
        s.pid = -1;
        break;
      }
      usleep(10000);
    }
    if (s.pid > 0) {
      kill(s.pid, SIGKILL);
      waitpid(s.pid, nullptr, 0);
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(s.dir, ec);
}

// ---- Plain blocking HTTP for setup and verification ---------------------

void WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) Die("write: " + std::string(strerror(errno)));
    off += static_cast<size_t>(n);
  }
}

// GET with Connection: close; returns the body (Content-Length responses).
Json GetJson(uint16_t port, const std::string& target) {
  int fd = Connect(port, false);
  WriteAll(fd, "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer bench-key\r\nConnection: close\r\n\r\n");
  std::string resp;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) resp.append(buf, static_cast<size_t>(n));
  close(fd);
  size_t body = resp.find("\r\n\r\n");
  if (resp.rfind("HTTP/1.1 200", 0) != 0 || body == std::string::npos) Die("GET " + target + ": " + resp.substr(0, 200));
  return Json::parse(resp.substr(body + 4));
}

// ---- Subscribers ---------------------------------------------------------

// When the writer got the acknowledgement of request k (0 = not yet): the
// readers measure how long after the commit was acknowledged an event
// arrives (the stream's own share of the lag).
std::vector<std::atomic<uint64_t>>* g_acked_ns = nullptr;

struct Lags {
  Histogram from_send;  // writer send -> receive
  Histogram after_ack;  // writer ack -> receive (0 when the event beat the ack)
};

struct Subscriber {
  int fd = -1;
  int group = 0;
  std::string target;      // the stream URL without since
  uint64_t resume = 0;     // resume_since of a gap frame
  bool cut = false;        // got a gap: reconnect when the stream ends
  std::string raw;  // bytes not yet chunk-decoded
  std::string sse;  // decoded body not yet split into frames
  bool head_done = false;
  bool ended = false;
  uint64_t chunk_left = 0;
  bool expect_crlf = false;
  std::atomic<uint64_t> last_id{0};
  uint64_t count = 0, sum = 0, sumsq = 0, disorder = 0, gaps = 0, other = 0, reconnects = 0, unexpected_ends = 0;
};

uint64_t ParseU64(const std::string& s, size_t pos) {
  uint64_t v = 0;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') v = v * 10 + static_cast<uint64_t>(s[pos++] - '0');
  return v;
}

// Where `needle` starts in s[from, to), or npos. memmem, bounded to one
// frame: std::string::find of a needle that starts with '"' calls memchr at
// every quote of the JSON, which made this harness, not the server, the
// bottleneck at 2,000 events/s x 1,000 subscribers.
size_t FindIn(const std::string& s, size_t from, size_t to, std::string_view needle) {
  if (from >= to) return std::string::npos;
  const void* at = memmem(s.data() + from, to - from, needle.data(), needle.size());
  return at ? static_cast<size_t>(static_cast<const char*>(at) - s.data()) : std::string::npos;
}

void ParseFrames(Subscriber& sub, uint64_t now, Lags& lag) {
  size_t pos = 0;
  while (true) {
    const size_t end = sub.sse.find("\n\n", pos);
    if (end == std::string::npos) break;
    if (sub.sse.compare(pos, 10, "event: gap") == 0) {
      ++sub.gaps;
      const size_t at = FindIn(sub.sse, pos, end, "\"resume_since\":");
      if (at != std::string::npos) sub.resume = ParseU64(sub.sse, at + 15);
      sub.cut = true;
    } else if (sub.sse.compare(pos, 1, ":") == 0) {
      // keepalive
    } else {
      // "event: <type>\nid: <offset>\ndata: {...}": the id line follows the first newline.
      const size_t nl = sub.sse.find('\n', pos);
      const bool has_id = nl < end && sub.sse.compare(nl, 5, "\nid: ") == 0;
      if (!has_id) {
        ++sub.other;  // checkpoint
      } else {
        const size_t id_at = nl;
        const uint64_t id = ParseU64(sub.sse, id_at + 5);
        const uint64_t prev = sub.last_id.load(std::memory_order_relaxed);
        if (id <= prev) ++sub.disorder;
        sub.last_id.store(id, std::memory_order_relaxed);
        ++sub.count;
        sub.sum += id;
        sub.sumsq += id * id;
        // The writers' value is {"k":K,"t":T} (WriterLoop): one search finds both.
        const size_t k_at = FindIn(sub.sse, id_at, end, "{\"k\":");
        if (k_at != std::string::npos) {
          size_t at = k_at + 5;
          const uint64_t k = ParseU64(sub.sse, at);
          while (at < end && sub.sse[at] >= '0' && sub.sse[at] <= '9') ++at;
          if (sub.sse.compare(at, 5, ",\"t\":") == 0) {
            const uint64_t t = ParseU64(sub.sse, at + 5);
            lag.from_send.Add(now > t ? now - t : 0);
          }
          const uint64_t acked = k < g_acked_ns->size() ? (*g_acked_ns)[k].load(std::memory_order_relaxed) : 0;
          lag.after_ack.Add(acked != 0 && now > acked ? now - acked : 0);
        }
      }
    }
    pos = end + 2;
  }
  sub.sse.erase(0, pos);
}

// Decodes the HTTP head and the chunked body.
void Consume(Subscriber& sub, uint64_t now, Lags& lag) {
  size_t pos = 0;
  if (!sub.head_done) {
    const size_t head_end = sub.raw.find("\r\n\r\n");
    if (head_end == std::string::npos) return;
    if (sub.raw.rfind("HTTP/1.1 200", 0) != 0) Die("stream refused: " + sub.raw.substr(0, 200));
    sub.head_done = true;
    pos = head_end + 4;
  }
  while (pos < sub.raw.size() && !sub.ended) {
    if (sub.expect_crlf) {
      if (sub.raw.size() - pos < 2) break;
      pos += 2;
      sub.expect_crlf = false;
    } else if (sub.chunk_left == 0) {
      const size_t eol = sub.raw.find("\r\n", pos);
      if (eol == std::string::npos) break;
      sub.chunk_left = std::strtoull(sub.raw.c_str() + pos, nullptr, 16);
      pos = eol + 2;
      if (sub.chunk_left == 0) sub.ended = true;
    } else {
      const size_t n = std::min<uint64_t>(sub.chunk_left, sub.raw.size() - pos);
      sub.sse.append(sub.raw, pos, n);
      pos += n;
      sub.chunk_left -= n;
      if (sub.chunk_left == 0) sub.expect_crlf = true;
    }
  }
  sub.raw.erase(0, pos);
  ParseFrames(sub, now, lag);
}

// Opens (or reopens) a subscriber's stream from `since`, as an EventSource
// would: with Last-Event-ID.
void OpenStream(Subscriber& s, uint16_t port, uint64_t since) {
  s.fd = Connect(port, false);
  WriteAll(s.fd, "GET " + s.target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer bench-key\r\n" +
                     "Last-Event-ID: " + std::to_string(since) + "\r\n\r\n");
  fcntl(s.fd, F_SETFL, fcntl(s.fd, F_GETFL) | O_NONBLOCK);
  s.raw.clear();
  s.sse.clear();
  s.head_done = false;
  s.ended = false;
  s.chunk_left = 0;
  s.expect_crlf = false;
}

void ReaderLoop(std::vector<Subscriber*> subs, uint16_t port, std::atomic<bool>* stop, Lags* lag) {
  int ep = epoll_create1(0);
  auto watch = [&](Subscriber* s) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = s;
    epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
  };
  for (Subscriber* s : subs) watch(s);
  std::vector<epoll_event> events(256);
  std::vector<char> buf(1 << 16);
  while (!stop->load()) {
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 50);
    for (int i = 0; i < n; ++i) {
      auto* s = static_cast<Subscriber*>(events[i].data.ptr);
      for (int reads = 0; reads < 16; ++reads) {
        ssize_t got = read(s->fd, buf.data(), buf.size());
        if (got > 0) {
          s->raw.append(buf.data(), static_cast<size_t>(got));
          Consume(*s, NowNs(), *lag);
          if (static_cast<size_t>(got) < buf.size()) break;
          continue;
        }
        if (got == 0 || (errno != EAGAIN && errno != EINTR)) s->ended = true;
        break;
      }
      if (s->ended) {
        // A gap (too slow) or an unexpected end: reconnect and catch up
        // from where this subscriber is, like an EventSource.
        epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, nullptr);
        close(s->fd);
        if (!s->cut) ++s->unexpected_ends;
        const uint64_t since = s->cut ? s->resume : s->last_id.load();
        s->cut = false;
        ++s->reconnects;
        OpenStream(*s, port, since);
        watch(s);
      }
    }
  }
  close(ep);
}

// ---- Writers -------------------------------------------------------------

struct WriterConn {
  int fd = -1;
  bool busy = false;
  uint64_t sent_ns = 0;
  uint64_t k = 0;
  std::string in;
};

struct WriteResult {
  uint64_t sent = 0, acked = 0, errors = 0;
  Histogram ack;
};

void WriterLoop(const Options& o, uint16_t port, uint64_t t0, uint64_t t_end, WriteResult* out) {
  std::vector<WriterConn> conns(static_cast<size_t>(o.writers));
  int ep = epoll_create1(0);
  std::vector<WriterConn*> idle;
  for (auto& c : conns) {
    c.fd = Connect(port, true);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &c;
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
    idle.push_back(&c);
  }
  const double period_ns = 1e9 / o.rate;
  uint64_t k = 0;
  std::vector<epoll_event> events(256);
  char buf[65536];
  size_t in_flight = 0;
  while (true) {
    const uint64_t now = NowNs();
    const bool writing = now < t_end;
    if (!writing && in_flight == 0) break;
    while (writing && !idle.empty() && t0 + static_cast<uint64_t>(static_cast<double>(k) * period_ns) <= now) {
      WriterConn* c = idle.back();
      idle.pop_back();
      const uint64_t g = k % static_cast<uint64_t>(o.groups);
      const uint64_t sent = NowNs();
      const std::string body = "{\"value\":{\"k\":" + std::to_string(k) + ",\"t\":" + std::to_string(sent) + "}}";
      const std::string req = "PUT /v1/state/b" + std::to_string(g) + "%2F" + std::to_string(k % 997) +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer bench-key\r\n"
                              "Content-Type: application/json\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
      WriteAll(c->fd, req);
      c->busy = true;
      c->sent_ns = sent;
      c->k = k;
      ++in_flight;
      ++out->sent;
      ++k;
    }
    int timeout_ms = 1;
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), timeout_ms);
    for (int i = 0; i < n; ++i) {
      auto* c = static_cast<WriterConn*>(events[i].data.ptr);
      ssize_t got;
      while ((got = read(c->fd, buf, sizeof(buf))) > 0) c->in.append(buf, static_cast<size_t>(got));
      const size_t head_end = c->in.find("\r\n\r\n");
      if (head_end == std::string::npos) continue;
      const size_t cl = c->in.find("Content-Length: ");
      const uint64_t len = cl == std::string::npos ? 0 : ParseU64(c->in, cl + 16);
      if (c->in.size() < head_end + 4 + len) continue;
      if (c->in.rfind("HTTP/1.1 200", 0) != 0) {
        if (out->errors++ < 3) std::fprintf(stderr, "write error: %s\n", c->in.substr(0, 300).c_str());
      } else {
        ++out->acked;
      }
      const uint64_t acked = NowNs();
      out->ack.Add(acked - c->sent_ns);
      if (c->k < g_acked_ns->size()) (*g_acked_ns)[c->k].store(acked, std::memory_order_relaxed);
      c->in.erase(0, head_end + 4 + len);
      c->busy = false;
      --in_flight;
      idle.push_back(c);
    }
  }
  for (auto& c : conns) close(c.fd);
  close(ep);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = ParseArgs(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  Server server = StartServer(o);
  std::printf("server pid %d port %u, %d subscribers, %d events/s for %d s, %d group(s), durability %s\n",
              server.pid, server.port, o.subscribers, o.rate, o.seconds, o.groups, o.durability.c_str());

  const uint64_t start_offset = GetJson(server.port, "/v1/log?since=0&limit=0")["last_offset"].get<uint64_t>();

  // Subscribers, all from the same offset, each with its group's filter.
  std::vector<std::unique_ptr<Subscriber>> subs;
  for (int i = 0; i < o.subscribers; ++i) {
    auto s = std::make_unique<Subscriber>();
    s->group = i % o.groups;
    s->target = "/v1/stream";
    if (o.groups > 1) s->target += "?key_prefix=b" + std::to_string(s->group) + "%2F";
    OpenStream(*s, server.port, start_offset);
    subs.push_back(std::move(s));
  }
  std::atomic<bool> stop_readers{false};
  std::vector<std::atomic<uint64_t>> acked_ns(static_cast<size_t>(o.rate) * static_cast<size_t>(o.seconds) + 1000);
  g_acked_ns = &acked_ns;
  std::vector<Lags> lags(static_cast<size_t>(o.readers));
  std::vector<std::thread> readers;
  for (int r = 0; r < o.readers; ++r) {
    std::vector<Subscriber*> mine;
    for (size_t i = static_cast<size_t>(r); i < subs.size(); i += static_cast<size_t>(o.readers)) mine.push_back(subs[i].get());
    readers.emplace_back(ReaderLoop, mine, server.port, &stop_readers, &lags[static_cast<size_t>(r)]);
  }
  // Wait until the server counts every subscriber.
  for (int i = 0; i < 500; ++i) {
    std::string metrics;
    {
      int fd = Connect(server.port, false);
      WriteAll(fd, "GET /v1/metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer bench-key\r\nConnection: close\r\n\r\n");
      char buf[65536];
      ssize_t n;
      while ((n = read(fd, buf, sizeof(buf))) > 0) metrics.append(buf, static_cast<size_t>(n));
      close(fd);
    }
    if (metrics.find("\nsse_clients " + std::to_string(o.subscribers) + "\n") != std::string::npos) break;
    usleep(20000);
  }

  // The write window.
  const ProcStat before = ReadProc(server.pid);
  const ProcStat self_before = ReadProc(getpid());
  const auto wall0 = std::chrono::steady_clock::now();
  const uint64_t t0 = NowNs();
  const uint64_t t_end = t0 + static_cast<uint64_t>(o.seconds) * 1000000000ull;
  WriteResult writes;
  std::thread writer(WriterLoop, std::cref(o), server.port, t0, t_end, &writes);
  uint64_t max_rss_kb = 0;
  while (NowNs() < t_end) {
    max_rss_kb = std::max(max_rss_kb, ReadProc(server.pid).rss_kb);
    usleep(200000);
  }
  writer.join();
  const double window_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  const ProcStat after = ReadProc(server.pid);
  const ProcStat self_after = ReadProc(getpid());
  max_rss_kb = std::max(max_rss_kb, after.rss_kb);

  // What each filter should have received, from the log itself.
  const uint64_t end_offset = GetJson(server.port, "/v1/log?since=0&limit=0")["last_offset"].get<uint64_t>();
  struct Expect {
    uint64_t count = 0, sum = 0, sumsq = 0, last = 0;
  };
  std::vector<Expect> expect(static_cast<size_t>(o.groups));
  for (uint64_t since = start_offset; since < end_offset;) {
    Json page = GetJson(server.port, "/v1/log?since=" + std::to_string(since) + "&limit=1000");
    for (const Json& ev : page["events"]) {
      const uint64_t off = ev["offset"].get<uint64_t>();
      for (int g = 0; g < o.groups; ++g) {
        const std::string prefix = "b" + std::to_string(g) + "/";
        const bool match = o.groups == 1 || (ev["data"].contains("key") &&
                                             ev["data"]["key"].get<std::string>().rfind(prefix, 0) == 0);
        if (!match) continue;
        Expect& e = expect[static_cast<size_t>(g)];
        ++e.count;
        e.sum += off;
        e.sumsq += off * off;
        e.last = off;
      }
    }
    since = page["next_since"].get<uint64_t>();
    if (page["events"].empty()) break;
  }
  // Let delivery finish (bounded).
  const uint64_t drain_end = NowNs() + static_cast<uint64_t>(o.drain_secs) * 1000000000ull;
  while (NowNs() < drain_end) {
    bool all = true;
    for (auto& s : subs) {
      if (s->last_id.load() < expect[static_cast<size_t>(s->group)].last) all = false;
    }
    if (all) break;
    usleep(10000);
  }
  stop_readers = true;
  for (auto& t : readers) t.join();

  // A subscriber still behind the log's end when the drain window closed
  // (a slow client catching up after a gap) has not lost its missing events:
  // they are counted as undelivered, and as lags beyond every bucket. A
  // subscriber that reached the end with fewer events than the log holds
  // has lost some.
  uint64_t lost = 0, extra = 0, disorder = 0, gaps = 0, unexpected = 0, mismatched = 0, delivered = 0;
  uint64_t undelivered = 0, behind = 0;
  for (auto& s : subs) {
    const Expect& e = expect[static_cast<size_t>(s->group)];
    if (s->last_id.load() < e.last && s->count < e.count) {
      undelivered += e.count - s->count;
      ++behind;
    } else if (s->count < e.count) {
      lost += e.count - s->count;
    }
    if (s->count > e.count) extra += s->count - e.count;
    if (s->count == e.count && (s->sum != e.sum || s->sumsq != e.sumsq)) ++mismatched;
    disorder += s->disorder;
    gaps += s->gaps;
    unexpected += s->unexpected_ends;
    delivered += s->count;
  }
  Histogram lag, after_ack;
  for (auto& h : lags) {
    lag.Merge(h.from_send);
    after_ack.Merge(h.after_ack);
  }
  lag.AddOverflow(undelivered);
  after_ack.AddOverflow(undelivered);
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double cpu = static_cast<double>(after.cpu_ticks - before.cpu_ticks) / ticks / window_s * 100.0;
  const double self_cpu = static_cast<double>(self_after.cpu_ticks - self_before.cpu_ticks) / ticks / window_s * 100.0;

  std::printf("\nwrites: %" PRIu64 " sent, %" PRIu64 " acked, %" PRIu64 " errors, %.0f/s achieved; ack p50 %.2f ms p99 %.2f ms\n",
              writes.sent, writes.acked, writes.errors, static_cast<double>(writes.acked) / o.seconds,
              writes.ack.PercentileMs(0.50), writes.ack.PercentileMs(0.99));
  std::printf("log: offsets %" PRIu64 "..%" PRIu64 "\n", start_offset + 1, end_offset);
  std::printf("delivered: %" PRIu64 " event frames (%.0f/s) to %d subscribers\n", delivered,
              static_cast<double>(delivered) / window_s, o.subscribers);
  std::printf("delivery lag (writer send -> subscriber receive): p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms\n",
              lag.PercentileMs(0.50), lag.PercentileMs(0.90), lag.PercentileMs(0.99),
              static_cast<double>(lag.max_ns) / 1e6);
  std::printf("  of which after the write was acknowledged (0 if the event beat the ack): p50 %.2f ms  p99 %.2f ms\n",
              after_ack.PercentileMs(0.50), after_ack.PercentileMs(0.99));
  std::printf("lost %" PRIu64 "  duplicated %" PRIu64 "  out-of-order %" PRIu64 "  set-mismatch %" PRIu64
              "\ngap disconnects (slow client; reconnected with Last-Event-ID) %" PRIu64
              "  unexpected stream ends %" PRIu64 "\n",
              lost, extra, disorder, mismatched, gaps, unexpected);
  std::printf("undelivered when the drain window closed: %" PRIu64 " event frames to %" PRIu64
              " subscribers still catching up (counted in the lag as beyond the last bucket)\n",
              undelivered, behind);
  std::printf("server: CPU %.0f%% of one core over the %.1f s write window; RSS max %.1f MiB (VmHWM %.1f MiB)\n", cpu,
              window_s, static_cast<double>(max_rss_kb) / 1024.0, static_cast<double>(after.hwm_kb) / 1024.0);
  std::printf("bench client (writers + subscribers, same machine): CPU %.0f%% of one core; %u cores online\n", self_cpu,
              std::thread::hardware_concurrency());

  for (auto& s : subs) close(s->fd);
  StopServer(server);
  const bool ok = lost == 0 && extra == 0 && disorder == 0 && mismatched == 0 && unexpected == 0;
  std::printf("%s\n", ok ? "RESULT: ok (nothing lost or duplicated)" : "RESULT: FAILED");
  return ok ? 0 : 1;
}
