#include "util/task_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <vector>

namespace kissvdb {
namespace {

using namespace std::chrono_literals;

TEST(TaskPoolTest, OneThreadRunsTasksInOrder) {
  TaskPool pool("order", 1);
  std::mutex mu;
  std::vector<int> seen;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(pool.Submit([&, i] {
      std::lock_guard lk(mu);
      seen.push_back(i);
    }));
  }
  pool.Stop();
  ASSERT_EQ(seen.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(seen[i], i);
}

TEST(TaskPoolTest, ThreadsRunTasksInParallel) {
  TaskPool pool("parallel", 2);
  EXPECT_EQ(pool.threads(), 2u);
  // Each task waits for the other: only two threads at once can finish both.
  std::promise<void> a_started, b_started;
  auto a = a_started.get_future().share();
  auto b = b_started.get_future().share();
  std::atomic<int> finished{0};
  pool.Submit([&] {
    a_started.set_value();
    if (b.wait_for(10s) == std::future_status::ready) finished++;
  });
  pool.Submit([&] {
    b_started.set_value();
    if (a.wait_for(10s) == std::future_status::ready) finished++;
  });
  pool.Stop();
  EXPECT_EQ(finished.load(), 2);
}

TEST(TaskPoolTest, StopRunsWhatIsQueuedThenRefuses) {
  TaskPool pool("stop", 1);
  std::promise<void> release, started;
  auto gate = release.get_future();
  std::atomic<int> ran{0};
  pool.Submit([&] {
    started.set_value();
    gate.wait();
  });
  started.get_future().wait();
  for (int i = 0; i < 10; ++i) pool.Submit([&] { ran++; });
  EXPECT_EQ(pool.queued(), 10u);
  std::thread stopper([&] { pool.Stop(); });
  release.set_value();
  stopper.join();
  EXPECT_EQ(ran.load(), 10) << "queued before Stop(): all ran";
  EXPECT_FALSE(pool.Submit([&] { ran++; }));
  EXPECT_EQ(ran.load(), 10);
  pool.Stop();  // twice is fine
}

TEST(TaskPoolTest, AThrowingTaskDoesNotStopThePool) {
  TaskPool pool("throw", 1);
  std::atomic<int> ran{0};
  pool.Submit([] { throw std::runtime_error("boom"); });
  pool.Submit([&] { ran++; });
  pool.Stop();
  EXPECT_EQ(ran.load(), 1);
}

}  // namespace
}  // namespace kissvdb
