// The Redis side of the "transactions" row (bench/kbench/rows_tx.py): the KV,
// hash and stream parts of a KissVDB transaction as Redis MULTI/EXEC with
// WATCH, over RESP, one connection per thread.
//
// Each connection owns one key. A transaction, sent in one write (Redis's
// best case: the client knows its key's state, as the KissVDB client knows
// its revision):
//   WATCH k
//   MULTI
//   SET k <100-byte value>
//   HSET doc:<k>:<n % 1000> title ... author ... year ... text ...
//   XADD tx-events * k <k> n <n>
//   EXEC
// and the six replies are read back. EXEC answering nil (the watched key
// moved) counts as failed; with one owner per key it never should.
//
//   kissvdb_bench_redis_tx PORT SECONDS CONNECTIONS
// prints one line for bench/kbench, as the wrk scripts do:
//   KBENCH {"requests": N, "seconds": S, "p50_us": P, "p99_us": P, "errors": E, "non2xx": 0, "failed": F}
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

void Arg(std::string* out, const std::string& s) {
  *out += "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

std::string Command(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) Arg(&out, a);
  return out;
}

// A blocking RESP reader over one socket.
class Reader {
 public:
  explicit Reader(int fd) : fd_(fd) {}

  // Reads one whole reply; *nil is set for a nil array or bulk string at
  // the top level, *error for an error reply. False when the socket fails.
  bool Reply(bool* nil, bool* error) {
    std::string line;
    if (!Line(&line) || line.empty()) return false;
    *nil = false;
    *error = line[0] == '-';
    switch (line[0]) {
      case '+':
      case '-':
      case ':':
        return true;
      case '$': {
        const long n = std::atol(line.c_str() + 1);
        if (n < 0) {
          *nil = true;
          return true;
        }
        return Skip(static_cast<size_t>(n) + 2);
      }
      case '*': {
        const long n = std::atol(line.c_str() + 1);
        if (n < 0) {
          *nil = true;
          return true;
        }
        for (long i = 0; i < n; ++i) {
          bool inner_nil = false, inner_error = false;
          if (!Reply(&inner_nil, &inner_error)) return false;
          *error = *error || inner_error;
        }
        return true;
      }
    }
    return false;
  }

 private:
  bool Fill() {
    if (begin_ == end_) begin_ = end_ = 0;
    if (end_ == sizeof(buf_)) {
      std::memmove(buf_, buf_ + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    const ssize_t r = ::read(fd_, buf_ + end_, sizeof(buf_) - end_);
    if (r <= 0) return false;
    end_ += static_cast<size_t>(r);
    return true;
  }
  bool Line(std::string* line) {
    line->clear();
    for (;;) {
      for (size_t i = begin_; i + 1 < end_; ++i) {
        if (buf_[i] == '\r' && buf_[i + 1] == '\n') {
          line->append(buf_ + begin_, i - begin_);
          begin_ = i + 2;
          return true;
        }
      }
      // Keep a trailing '\r' for the next read.
      const size_t keep = end_ > begin_ && buf_[end_ - 1] == '\r' ? 1 : 0;
      line->append(buf_ + begin_, end_ - begin_ - keep);
      begin_ = end_ - keep;
      if (!Fill()) return false;
    }
  }
  bool Skip(size_t n) {
    while (n > 0) {
      if (begin_ == end_ && !Fill()) return false;
      const size_t take = std::min(n, end_ - begin_);
      begin_ += take;
      n -= take;
    }
    return true;
  }

  int fd_;
  char buf_[64 << 10];
  size_t begin_ = 0, end_ = 0;
};

int Connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

struct Result {
  uint64_t done = 0, failed = 0, errors = 0;
  std::vector<uint32_t> latencies_us;
};

void Run(int port, int id, Clock::time_point deadline, Result* out) {
  const int fd = Connect(port);
  if (fd < 0) {
    out->errors = 1;
    return;
  }
  Reader reader(fd);
  const std::string key = "tx:" + std::to_string(id);
  const std::string value(100, 'v');
  for (uint64_t n = 0; Clock::now() < deadline; ++n) {
    std::string wire = Command({"WATCH", key}) + Command({"MULTI"}) + Command({"SET", key, value}) +
                       Command({"HSET", "doc:" + key + ":" + std::to_string(n % 1000), "title", "benchmark document",
                                "author", "kbench", "year", "2024", "text", std::string(60, 'x')}) +
                       Command({"XADD", "tx-events", "*", "k", key, "n", std::to_string(n)}) + Command({"EXEC"});
    const auto start = Clock::now();
    if (::write(fd, wire.data(), wire.size()) != static_cast<ssize_t>(wire.size())) {
      ++out->errors;
      break;
    }
    bool ok = true, exec_nil = false;
    for (int r = 0; r < 6 && ok; ++r) {
      bool nil = false, error = false;
      ok = reader.Reply(&nil, &error) && !error;
      if (r == 5) exec_nil = nil;
    }
    if (!ok) {
      ++out->errors;
      break;
    }
    if (exec_nil) ++out->failed;
    ++out->done;
    out->latencies_us.push_back(static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count()));
  }
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s PORT SECONDS CONNECTIONS\n", argv[0]);
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const double seconds = std::atof(argv[2]);
  const int conns = std::atoi(argv[3]);
  std::vector<Result> results(conns);
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::microseconds(static_cast<int64_t>(seconds * 1e6));
  for (int i = 0; i < conns; ++i) threads.emplace_back(Run, port, i, deadline, &results[i]);
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  Result all;
  for (auto& r : results) {
    all.done += r.done;
    all.failed += r.failed;
    all.errors += r.errors;
    all.latencies_us.insert(all.latencies_us.end(), r.latencies_us.begin(), r.latencies_us.end());
  }
  std::sort(all.latencies_us.begin(), all.latencies_us.end());
  auto pct = [&](double p) {
    return all.latencies_us.empty() ? 0u : all.latencies_us[std::min(all.latencies_us.size() - 1,
                                                                     static_cast<size_t>(p * all.latencies_us.size()))];
  };
  std::printf(
      "KBENCH {\"requests\": %llu, \"seconds\": %.6f, \"p50_us\": %u, \"p99_us\": %u, \"errors\": %llu, "
      "\"non2xx\": 0, \"failed\": %llu}\n",
      static_cast<unsigned long long>(all.done), elapsed, pct(0.50), pct(0.99),
      static_cast<unsigned long long>(all.errors), static_cast<unsigned long long>(all.failed));
  return all.errors == 0 && all.done > 0 ? 0 : 1;
}
