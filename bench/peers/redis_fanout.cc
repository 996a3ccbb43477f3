// The Redis side of the fan-out rows (issue 24, bench/kbench/rows_sse.py):
// the same harness model as bench/sse_fanout.cc, against a running
// redis-server, in one process.
//
//   mode pubsub:  N subscribers SUBSCRIBE one channel; writers PUBLISH.
//   mode streams: N readers loop XREAD BLOCK 0 STREAMS <key> <last id>;
//                 writers XADD <key> * d <payload> (run Redis with
//                 appendonly yes + appendfsync always: durable like
//                 KissVDB's acknowledged puts).
//
// Writers: --writers connections, one command in flight each, paced to
// --rate as sse_fanout's writers are. Each payload is --payload bytes (160:
// about the JSON a KissVDB stream frame carries for sse_fanout's puts) and
// starts "k=<seq> p=<writer> t=<send ns> ", the send time on CLOCK_MONOTONIC
// in this process. Lag = receive time minus send time, for every delivery.
//
// Loss is exact: each subscriber keeps a bitmap of the sequence numbers it
// got, checked against those whose command Redis acknowledged. A pub/sub
// subscriber that Redis disconnects (client-output-buffer-limit pubsub, by
// default 32mb hard, 8mb for 60 s) reconnects and subscribes again, as a
// client would; what it missed is lost. A streams reader that is cut off
// resumes from its last id. A subscriber still missing events when the
// drain window closes without having been cut off is "undelivered" (its
// events are still in flight; they count as lags beyond every bucket), as
// in sse_fanout. Order: pub/sub, per writer connection (a channel has no
// global sequence); streams, by entry id.
//
//   kissvdb_bench_redis_fanout --port P --mode pubsub|streams [--pid REDIS_PID]
//        [--subscribers 1000] [--rate 1000] [--seconds 10] [--writers 64]
//        [--readers 2] [--payload 160] [--drain-secs 15] [--key fanout]
//        [--max-server-rss-mib 4096]  (writers stop early past it: a run whose
//        server buffers grow without bound is not sustained anyway)
// Bounded: connect + --seconds + at most --drain-secs. Prints a report and
// one line for bench/kbench:  KBENCH {...}
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "../fanout_common.h"

// Fatal errors of this program.
[[noreturn]] void fanout::Die(const std::string& msg) {
  std::fprintf(stderr, "redis_fanout: %s\n", msg.c_str());
  std::exit(1);
}

namespace {

using fanout::Connect;
using fanout::Die;
using fanout::Histogram;
using fanout::NowNs;
using fanout::ProcStat;
using fanout::ReadFile;
using fanout::ReadProc;

struct Options {
  int port = 6379;
  std::string mode;
  int pid = 0;
  int subscribers = 1000;
  int rate = 1000;
  int seconds = 10;
  int writers = 64;
  int readers = 2;
  int payload = 160;
  int drain_secs = 15;
  int max_rss_mib = 4096;
  std::string key = "fanout";
};

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--port") o.port = std::stoi(value());
    else if (a == "--mode") o.mode = value();
    else if (a == "--pid") o.pid = std::stoi(value());
    else if (a == "--subscribers") o.subscribers = std::max(1, std::stoi(value()));
    else if (a == "--rate") o.rate = std::max(1, std::stoi(value()));
    else if (a == "--seconds") o.seconds = std::max(1, std::stoi(value()));
    else if (a == "--writers") o.writers = std::max(1, std::stoi(value()));
    else if (a == "--readers") o.readers = std::max(1, std::stoi(value()));
    else if (a == "--payload") o.payload = std::max(48, std::stoi(value()));
    else if (a == "--drain-secs") o.drain_secs = std::stoi(value());
    else if (a == "--key") o.key = value();
    else if (a == "--max-server-rss-mib") o.max_rss_mib = std::stoi(value());
    else Die("unknown flag " + a + " (see the comment at the top of bench/peers/redis_fanout.cc)");
  }
  if (o.mode != "pubsub" && o.mode != "streams") Die("--mode pubsub|streams");
  return o;
}

// ---- /proc -----------------------------------------------------------------

// ---- Sockets and RESP --------------------------------------------------------

// Writes all of data, waiting out EAGAIN; false if the socket failed.
bool WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      usleep(100);
      continue;
    }
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string Command(const std::vector<std::string>& args) {
  std::string out;
  out.append("*").append(std::to_string(args.size())).append("\r\n");
  for (const auto& a : args) out.append("$").append(std::to_string(a.size())).append("\r\n").append(a).append("\r\n");
  return out;
}

// One RESP value flattened in pre-order: an array is followed by its n
// elements. Strings point into the caller's buffer.
struct Tok {
  char type = 0;  // + - : $ *
  int64_t n = 0;  // integer value, array length, or -1 for nil
  std::string_view str;
};

// Parses one whole reply from data[*pos...]; false (pos untouched) when it
// is not all there yet. Dies on malformed input.
bool ParseReply(std::string_view data, size_t* pos, std::vector<Tok>* toks) {
  toks->clear();
  size_t p = *pos;
  int64_t pending = 1;  // values still to read
  while (pending > 0) {
    const size_t eol = data.find("\r\n", p);
    if (eol == std::string_view::npos) return false;
    if (eol == p) Die("malformed RESP: empty line");
    Tok t;
    t.type = data[p];
    std::string_view line = data.substr(p + 1, eol - p - 1);
    p = eol + 2;
    --pending;
    switch (t.type) {
      case '+':
      case '-':
        t.str = line;
        break;
      case ':':
      case '*':
      case '$':
        t.n = std::strtoll(std::string(line).c_str(), nullptr, 10);
        break;
      default:
        Die("malformed RESP: type " + std::string(1, t.type));
    }
    if (t.type == '$' && t.n >= 0) {
      if (data.size() < p + static_cast<size_t>(t.n) + 2) return false;
      t.str = data.substr(p, static_cast<size_t>(t.n));
      p += static_cast<size_t>(t.n) + 2;
    }
    if (t.type == '*' && t.n > 0) pending += t.n;
    toks->push_back(t);
  }
  *pos = p;
  return true;
}

uint64_t FieldU64(std::string_view s, std::string_view name) {
  const size_t at = s.find(name);
  if (at == std::string_view::npos) return UINT64_MAX;
  uint64_t v = 0;
  for (size_t i = at + name.size(); i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) v = v * 10 + static_cast<uint64_t>(s[i] - '0');
  return v;
}

// ---- Subscribers -------------------------------------------------------------

struct Bits {
  std::vector<uint64_t> words;
  explicit Bits(size_t n = 0) : words((n + 63) / 64, 0) {}
  bool Has(uint64_t i) const { return i / 64 < words.size() && (words[i / 64] >> (i % 64) & 1); }
  // Sets bit i; false if it was already set (or out of range).
  bool Set(uint64_t i) {
    if (i / 64 >= words.size()) return false;
    const uint64_t m = 1ull << (i % 64);
    if (words[i / 64] & m) return false;
    words[i / 64] |= m;
    return true;
  }
};

struct Subscriber {
  int fd = -1;
  std::string in;
  Bits got;
  std::vector<uint64_t> last_k;  // pubsub: last seq per writer connection, +1 (0 = none)
  uint64_t last_ms = 0, last_seq = 0;  // streams: last entry id
  std::string last_id = "0";
  std::atomic<uint64_t> count{0};
  std::atomic<bool> subscribed{false};
  std::atomic<uint64_t> disconnects{0};
  uint64_t dups = 0, disorder = 0, errors = 0;
};

struct Shared {
  const Options* o;
  std::atomic<int> subscribed{0};
  std::atomic<bool> stop{false};
};

std::string SubscribeCommand(const Options& o, const Subscriber& s) {
  if (o.mode == "pubsub") return Command({"SUBSCRIBE", o.key});
  return Command({"XREAD", "BLOCK", "0", "STREAMS", o.key, s.last_id});
}

void Deliver(Subscriber& s, std::string_view payload, uint64_t now, Histogram* lag) {
  const uint64_t k = FieldU64(payload, "k="), t = FieldU64(payload, " t="), p = FieldU64(payload, " p=");
  if (k == UINT64_MAX || t == UINT64_MAX) {
    ++s.errors;
    return;
  }
  if (!s.got.Set(k)) {
    ++s.dups;
    return;
  }
  if (p < s.last_k.size()) {
    if (s.last_k[p] > k) ++s.disorder;  // last_k holds seq + 1
    s.last_k[p] = k + 1;
  }
  s.count.fetch_add(1, std::memory_order_relaxed);
  lag->Add(now > t ? now - t : 0);
}

// Handles the replies in s.in; false if the connection must be dropped.
bool Consume(const Options& o, Subscriber& s, Shared* sh, uint64_t now, Histogram* lag, std::vector<Tok>* toks) {
  size_t pos = 0;
  bool resend = false;
  while (ParseReply(s.in, &pos, toks)) {
    const auto& t = *toks;
    if (t[0].type == '-') {
      std::fprintf(stderr, "redis error: %.*s\n", static_cast<int>(t[0].str.size()), t[0].str.data());
      ++s.errors;
      return false;
    }
    if (o.mode == "pubsub") {
      if (t.size() == 4 && t[0].type == '*' && t[1].str == "message") {
        Deliver(s, t[3].str, now, lag);
      } else if (t.size() == 4 && t[1].str == "subscribe") {
        if (!s.subscribed.exchange(true)) sh->subscribed.fetch_add(1);
      }
      continue;
    }
    // XREAD: [[key, [[id, [field, value]], ...]]] (nil on timeout, never with BLOCK 0).
    resend = true;
    for (size_t i = 0; i + 4 < t.size(); ++i) {
      // Entries: '*'2, '$'id, '*'2, '$'field, '$'value.
      if ( t[i].type == '*' && t[i].n == 2 && t[i + 1].type == '$' && t[i + 2].type == '*' &&
          t[i + 2].n == 2 && t[i + 3].type == '$' && t[i + 4].type == '$') {
        const std::string_view id = t[i + 1].str;
        const size_t dash = id.find('-');
        const uint64_t ms = std::strtoull(std::string(id.substr(0, dash)).c_str(), nullptr, 10);
        const uint64_t seq = dash == std::string_view::npos ? 0 : std::strtoull(std::string(id.substr(dash + 1)).c_str(), nullptr, 10);
        if (ms < s.last_ms || (ms == s.last_ms && seq <= s.last_seq)) ++s.disorder;
        s.last_ms = ms;
        s.last_seq = seq;
        s.last_id.assign(id);
        Deliver(s, t[i + 4].str, now, lag);
        i += 4;
      }
    }
  }
  s.in.erase(0, pos);
  if (resend && !WriteAll(s.fd, SubscribeCommand(o, s))) return false;
  return true;
}

void Open(const Options& o, Subscriber& s) {
  s.fd = Connect(o.port, false);
  s.in.clear();
  if (!WriteAll(s.fd, SubscribeCommand(o, s))) Die("subscribe write failed");
  fcntl(s.fd, F_SETFL, fcntl(s.fd, F_GETFL) | O_NONBLOCK);
}

void ReaderLoop(std::vector<Subscriber*> subs, Shared* sh, Histogram* lag) {
  const Options& o = *sh->o;
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
  std::vector<Tok> toks;
  while (!sh->stop.load()) {
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 50);
    for (int i = 0; i < n; ++i) {
      auto* s = static_cast<Subscriber*>(events[i].data.ptr);
      bool dead = false;
      for (int reads = 0; reads < 16; ++reads) {
        const ssize_t got = read(s->fd, buf.data(), buf.size());
        if (got > 0) {
          s->in.append(buf.data(), static_cast<size_t>(got));
          if (!Consume(o, *s, sh, NowNs(), lag, &toks)) {
            dead = true;
            break;
          }
          if (static_cast<size_t>(got) < buf.size()) break;
          continue;
        }
        if (got == 0 || (errno != EAGAIN && errno != EINTR)) dead = true;
        break;
      }
      if (dead) {
        // Cut off (pub/sub: the output buffer limit): come back as a client
        // would. A pub/sub subscriber has lost what was sent meanwhile; a
        // streams reader resumes from its last id.
        epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, nullptr);
        close(s->fd);
        ++s->disconnects;
        Open(o, *s);
        watch(s);
      }
    }
  }
  close(ep);
}

// ---- Writers -------------------------------------------------------------------

struct WriterConn {
  int fd = -1;
  uint64_t sent_ns = 0;
  uint64_t k = 0;
  std::string in;
  size_t index = 0;
};

struct WriteResult {
  uint64_t sent = 0, acked = 0, errors = 0;
  Histogram ack;
};

// Set when the server's RSS passes --max-server-rss-mib: writers stop early.
std::atomic<bool> g_stop_writing{false};

void WriterLoop(const Options& o, uint64_t t0, uint64_t t_end, Bits* acked, WriteResult* out) {
  std::vector<WriterConn> conns(static_cast<size_t>(o.writers));
  int ep = epoll_create1(0);
  std::vector<WriterConn*> idle;
  for (size_t i = 0; i < conns.size(); ++i) {
    WriterConn& c = conns[i];
    c.fd = Connect(o.port, true);
    c.index = i;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &c;
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
    idle.push_back(&c);
  }
  const double period_ns = 1e9 / o.rate;
  uint64_t k = 0;
  std::vector<epoll_event> events(256);
  std::vector<Tok> toks;
  char buf[65536];
  size_t in_flight = 0;
  while (true) {
    const uint64_t now = NowNs();
    const bool writing = now < t_end && !g_stop_writing.load(std::memory_order_relaxed);
    if (!writing && in_flight == 0) break;
    while (writing && !idle.empty() && t0 + static_cast<uint64_t>(static_cast<double>(k) * period_ns) <= now) {
      WriterConn* c = idle.back();
      idle.pop_back();
      const uint64_t sent = NowNs();
      std::string payload = "k=" + std::to_string(k) + " p=" + std::to_string(c->index) + " t=" + std::to_string(sent) + " ";
      payload.resize(std::max<size_t>(payload.size(), static_cast<size_t>(o.payload)), 'x');
      const std::string cmd = o.mode == "pubsub" ? Command({"PUBLISH", o.key, payload})
                                                 : Command({"XADD", o.key, "*", "d", payload});
      if (!WriteAll(c->fd, cmd)) Die("writer connection failed");
      c->sent_ns = sent;
      c->k = k;
      ++in_flight;
      ++out->sent;
      ++k;
    }
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 1);
    for (int i = 0; i < n; ++i) {
      auto* c = static_cast<WriterConn*>(events[i].data.ptr);
      ssize_t got;
      while ((got = read(c->fd, buf, sizeof(buf))) > 0) c->in.append(buf, static_cast<size_t>(got));
      if (got == 0) Die("redis closed a writer connection");
      size_t pos = 0;
      if (!ParseReply(c->in, &pos, &toks)) continue;
      if (toks[0].type == '-') {
        if (out->errors++ < 3) std::fprintf(stderr, "write error: %.*s\n", static_cast<int>(toks[0].str.size()), toks[0].str.data());
      } else {
        ++out->acked;
        acked->Set(c->k);
      }
      out->ack.Add(NowNs() - c->sent_ns);
      c->in.erase(0, pos);
      --in_flight;
      idle.push_back(c);
    }
  }
  for (auto& c : conns) close(c.fd);
  close(ep);
}

// A blocking request on a fresh connection (setup only).
std::string Ask(int port, const std::vector<std::string>& args) {
  int fd = Connect(port, false);
  WriteAll(fd, Command(args));
  std::string in;
  std::vector<Tok> toks;
  char buf[65536];
  size_t pos = 0;
  while (!ParseReply(in, &pos, &toks)) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) Die("setup connection closed");
    in.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return in;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = ParseArgs(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  Ask(o.port, {"DEL", o.key});
  const size_t max_events = static_cast<size_t>(o.rate) * static_cast<size_t>(o.seconds) + 1000;
  std::printf("redis %s on port %d, %d subscribers, %d events/s for %d s, %d writers, payload %d bytes\n",
              o.mode.c_str(), o.port, o.subscribers, o.rate, o.seconds, o.writers, o.payload);

  Shared sh;
  sh.o = &o;
  std::vector<std::unique_ptr<Subscriber>> subs;
  for (int i = 0; i < o.subscribers; ++i) {
    auto s = std::make_unique<Subscriber>();
    s->got = Bits(max_events);
    if (o.mode == "pubsub") s->last_k.assign(static_cast<size_t>(o.writers), 0);
    Open(o, *s);
    subs.push_back(std::move(s));
  }
  std::vector<Histogram> lags(static_cast<size_t>(o.readers));
  std::vector<std::thread> readers;
  for (int r = 0; r < o.readers; ++r) {
    std::vector<Subscriber*> mine;
    for (size_t i = static_cast<size_t>(r); i < subs.size(); i += static_cast<size_t>(o.readers)) mine.push_back(subs[i].get());
    readers.emplace_back(ReaderLoop, mine, &sh, &lags[static_cast<size_t>(r)]);
  }
  // Every subscriber subscribed (pub/sub: its confirmation; streams: Redis
  // counts it blocked), bounded at 10 s.
  bool ready = false;
  for (int i = 0; i < 500 && !ready; ++i) {
    if (o.mode == "pubsub") {
      ready = sh.subscribed.load() == o.subscribers;
    } else {
      const std::string info = Ask(o.port, {"INFO", "clients"});
      ready = FieldU64(info, "blocked_clients:") == static_cast<uint64_t>(o.subscribers);
    }
    if (!ready) usleep(20000);
  }
  if (!ready) Die("subscribers did not all subscribe within 10 s");

  const ProcStat before = ReadProc(o.pid), self_before = ReadProc(getpid());
  const uint64_t t0 = NowNs();
  const uint64_t t_end = t0 + static_cast<uint64_t>(o.seconds) * 1000000000ull;
  Bits acked(max_events);
  WriteResult writes;
  std::thread writer(WriterLoop, std::cref(o), t0, t_end, &acked, &writes);
  uint64_t max_rss_kb = 0;
  bool capped = false;
  while (NowNs() < t_end) {
    max_rss_kb = std::max(max_rss_kb, ReadProc(o.pid).rss_kb);
    if (max_rss_kb > static_cast<uint64_t>(o.max_rss_mib) * 1024) {
      // Output buffers growing without bound (the default pub/sub limit
      // allows 32 MB per subscriber, 32 GB for 1,000): stop before the
      // machine runs out of memory; the run is not sustained.
      capped = true;
      g_stop_writing = true;
      break;
    }
    usleep(200000);
  }
  writer.join();
  const double window_s = static_cast<double>(NowNs() - t0) / 1e9;
  const ProcStat after = ReadProc(o.pid), self_after = ReadProc(getpid());
  max_rss_kb = std::max(max_rss_kb, after.rss_kb);

  // Drain: until every subscriber has every acknowledged event (a pub/sub
  // subscriber that was cut off never will: it only needs to be done), or
  // --drain-secs.
  const uint64_t drain_end = NowNs() + static_cast<uint64_t>(o.drain_secs) * 1000000000ull;
  while (NowNs() < drain_end) {
    bool all = true;
    for (auto& s : subs) {
      if (s->count.load() < writes.acked && !(o.mode == "pubsub" && s->disconnects.load() > 0)) all = false;
    }
    if (all) {
      if (o.mode == "pubsub") usleep(200000);  // what a cut-off subscriber may still get after its reconnect
      break;
    }
    usleep(10000);
  }
  const ProcStat after_drain = ReadProc(o.pid);
  sh.stop = true;
  for (auto& t : readers) t.join();

  uint64_t lost = 0, undelivered = 0, behind = 0, cut_subs = 0, dups = 0, disorder = 0, disconnects = 0,
           delivered = 0, errors = 0;
  for (auto& s : subs) {
    uint64_t missing = 0;
    for (size_t w = 0; w < acked.words.size(); ++w) missing += static_cast<uint64_t>(__builtin_popcountll(acked.words[w] & ~s->got.words[w]));
    if (s->disconnects.load() > 0) ++cut_subs;
    if (missing > 0 && s->disconnects.load() > 0 && o.mode == "pubsub") {
      lost += missing;
    } else if (missing > 0) {
      undelivered += missing;
      ++behind;
    }
    dups += s->dups;
    disorder += s->disorder;
    disconnects += s->disconnects.load();
    delivered += s->count.load();
    errors += s->errors;
  }
  Histogram lag;
  for (auto& h : lags) lag.Merge(h);
  lag.AddOverflow(undelivered);
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double cpu = static_cast<double>(after.cpu_ticks - before.cpu_ticks) / ticks / window_s * 100.0;
  const double self_cpu = static_cast<double>(self_after.cpu_ticks - self_before.cpu_ticks) / ticks / window_s * 100.0;
  const double cpu_us_per_event =
      writes.acked ? static_cast<double>(after_drain.cpu_ticks - before.cpu_ticks) / ticks * 1e6 / static_cast<double>(writes.acked) : 0;

  std::printf("\nwrites: %" PRIu64 " sent, %" PRIu64 " acked, %" PRIu64 " errors, %.0f/s achieved; ack p50 %.2f ms p99 %.2f ms\n",
              writes.sent, writes.acked, writes.errors, static_cast<double>(writes.acked) / o.seconds,
              writes.ack.PercentileMs(0.50), writes.ack.PercentileMs(0.99));
  std::printf("delivered: %" PRIu64 " messages (%.0f/s) to %d subscribers\n", delivered,
              static_cast<double>(delivered) / window_s, o.subscribers);
  std::printf("delivery lag (writer send -> subscriber receive): p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms\n",
              lag.PercentileMs(0.50), lag.PercentileMs(0.90), lag.PercentileMs(0.99), static_cast<double>(lag.max_ns) / 1e6);
  std::printf("lost %" PRIu64 "  duplicated %" PRIu64 "  out-of-order %" PRIu64 "  bad payloads %" PRIu64
              "\ndisconnects by the server %" PRIu64 " (%" PRIu64 " subscribers; pub/sub: what they missed is lost)\n",
              lost, dups, disorder, errors, disconnects, cut_subs);
  std::printf("undelivered when the drain window closed: %" PRIu64 " messages to %" PRIu64
              " subscribers (counted in the lag as beyond the last bucket)\n",
              undelivered, behind);
  std::printf("server: CPU %.0f%% of one core over the %.1f s write window, %.2f µs per event (write window + drain); "
              "RSS max %.1f MiB\n",
              cpu, window_s, cpu_us_per_event, static_cast<double>(max_rss_kb) / 1024.0);
  std::printf("bench client (writers + subscribers, same machine): CPU %.0f%% of one core\n", self_cpu);
  if (capped) std::printf("STOPPED EARLY: server RSS passed %d MiB; writes stopped after %.1f s\n", o.max_rss_mib, window_s);
  std::printf("KBENCH {\"mode\": \"%s\", \"rate\": %d, \"seconds\": %d, \"subscribers\": %d, \"sent\": %" PRIu64
              ", \"acked\": %" PRIu64 ", \"write_errors\": %" PRIu64 ", \"delivered\": %" PRIu64
              ", \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, \"lost\": %" PRIu64 ", \"undelivered\": %" PRIu64
              ", \"duplicated\": %" PRIu64 ", \"out_of_order\": %" PRIu64 ", \"disconnects\": %" PRIu64
              ", \"cut_subscribers\": %" PRIu64 ", \"server_cpu_pct\": %.1f, \"server_cpu_us_per_event\": %.2f"
              ", \"server_rss_mib\": %.1f, \"client_cpu_pct\": %.1f, \"rss_capped\": %s}\n",
              o.mode.c_str(), o.rate, o.seconds, o.subscribers, writes.sent, writes.acked, writes.errors, delivered,
              lag.PercentileMs(0.50), lag.PercentileMs(0.99), static_cast<double>(lag.max_ns) / 1e6, lost, undelivered,
              dups, disorder, disconnects, cut_subs, cpu, cpu_us_per_event, static_cast<double>(max_rss_kb) / 1024.0,
              self_cpu, capped ? "true" : "false");
  for (auto& s : subs) close(s->fd);
  Ask(o.port, {"DEL", o.key});
  return 0;
}
