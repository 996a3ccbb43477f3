// What the two fan-out drivers share (bench/sse_fanout.cc drives KissVDB's
// change stream, bench/peers/redis_fanout.cc Redis pub/sub and Streams), so
// that both measure in the same way: the clock, the lag histogram, the
// server's CPU and RSS from /proc, and loopback sockets.
//
// Each program defines fanout::Die (how it reports a fatal error).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fanout {

[[noreturn]] void Die(const std::string& msg);

// CLOCK_MONOTONIC in ns: writers and readers of one process share it.
inline uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// ---- Lag histogram: 10 µs buckets up to 10 s, then one overflow bucket ----

inline constexpr uint64_t kBucketNs = 10000;
inline constexpr size_t kBuckets = 1000000;

struct Histogram {
  std::vector<uint64_t> buckets = std::vector<uint64_t>(kBuckets + 1, 0);
  uint64_t count = 0;
  uint64_t max_ns = 0;
  void Add(uint64_t ns) {
    buckets[std::min<uint64_t>(ns / kBucketNs, kBuckets)]++;
    ++count;
    max_ns = std::max(max_ns, ns);
  }
  // n samples known to exceed every bucket (events never delivered).
  void AddOverflow(uint64_t n) {
    buckets[kBuckets] += n;
    count += n;
  }
  void Merge(const Histogram& o) {
    for (size_t i = 0; i <= kBuckets; ++i) buckets[i] += o.buckets[i];
    count += o.count;
    max_ns = std::max(max_ns, o.max_ns);
  }
  double PercentileMs(double p) const {
    if (count == 0) return 0;
    const uint64_t want = static_cast<uint64_t>(p * static_cast<double>(count - 1)) + 1;
    uint64_t seen = 0;
    for (size_t i = 0; i <= kBuckets; ++i) {
      seen += buckets[i];
      if (seen >= want) return static_cast<double>((i + 1) * kBucketNs) / 1e6;
    }
    return static_cast<double>(max_ns) / 1e6;
  }
};

// ---- /proc ------------------------------------------------------------------

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct ProcStat {
  uint64_t cpu_ticks = 0;  // utime + stime
  uint64_t rss_kb = 0;
  uint64_t hwm_kb = 0;
};

// Zeros for pid <= 0 (a server this process did not start).
inline ProcStat ReadProc(int pid) {
  ProcStat st;
  if (pid <= 0) return st;
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');
  if (close != std::string::npos) {
    std::istringstream in(stat.substr(close + 2));
    std::string field;
    // Fields after the command: state(3) ... utime(14) stime(15).
    for (int i = 3; i <= 15 && in >> field; ++i) {
      if (i == 14 || i == 15) st.cpu_ticks += std::stoull(field);
    }
  }
  std::istringstream status(ReadFile("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) st.rss_kb = std::stoull(line.substr(6));
    if (line.rfind("VmHWM:", 0) == 0) st.hwm_kb = std::stoull(line.substr(6));
  }
  return st;
}

// ---- Sockets ----------------------------------------------------------------

// A TCP_NODELAY connection to 127.0.0.1:port; dies if it cannot connect.
inline int Connect(int port, bool nonblocking) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) Die("socket: " + std::string(strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) Die("connect: " + std::string(strerror(errno)));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (nonblocking) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

}  // namespace fanout
