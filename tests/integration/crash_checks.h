// Shared by the crash loops (crash_test.cc, crash_mixed_test.cc): the cycle
// count, one writers-then-kill -9 round, and the log continuity check.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "test_client.h"

namespace kissvdb::testing {

// Kill/restart cycles per crash test: KISSVDB_CRASH_CYCLES, else the CI
// default of the test.
inline int CrashCycles(int ci_default) {
  const char* v = std::getenv("KISSVDB_CRASH_CYCLES");
  return v ? std::max(1, std::atoi(v)) : ci_default;
}

// One crash round: every writer runs on its own thread (W::Run(port, token,
// stop, seed)) for 50-450 ms, then the server is killed with SIGKILL while
// they write, and the writers are stopped and joined. Seeds are drawn here,
// on the calling thread: rng is not shared with the writers.
template <typename W>
void RunWritersUntilKill(TestServer& server, std::vector<std::unique_ptr<W>>& writers, std::mt19937& rng) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (size_t i = 0; i < writers.size(); ++i) {
    const uint32_t seed = rng() + static_cast<uint32_t>(i);
    threads.emplace_back([&, i, seed] { writers[i]->Run(server.port(), server.api_key(), stop, seed); });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 400));
  server.Kill();
  stop = true;
  for (auto& t : threads) t.join();
}

// Reads the log on from where the previous Check ended (that prefix was
// durable, so it cannot change): every offset must follow the one before,
// without a hole or a repeat, up to last_offset. The events read are added
// to *events (offset -> event JSON) when events is not null.
class LogChecker {
 public:
  void Check(HttpClient& client, std::map<uint64_t, nlohmann::json>* events = nullptr) {
    for (;;) {
      auto page = client.Get("/v1/log?since=" + std::to_string(checked_) + "&limit=1000");
      ASSERT_EQ(page.status, 200) << page.body;
      const auto& got = page.json["events"];
      if (got.empty()) {
        EXPECT_EQ(checked_, page.json["last_offset"].get<uint64_t>()) << "log ends before last_offset";
        return;
      }
      for (const auto& ev : got) {
        ASSERT_EQ(ev["offset"].get<uint64_t>(), checked_ + 1) << "hole or repeat in the log";
        checked_ = ev["offset"].get<uint64_t>();
        if (events != nullptr) (*events)[checked_] = ev;
      }
    }
  }
  uint64_t checked() const { return checked_; }

 private:
  uint64_t checked_ = 0;
};

}  // namespace kissvdb::testing
