// TaskPool: a fixed set of threads running queued tasks in FIFO order.
//
// For work that may block for milliseconds or seconds: a SQLite statement
// (its fsync under synchronous=FULL, a lock wait, a long query up to the
// statement timeout) or a backup's file copies. On an I/O thread such a task
// would stall every connection that thread serves; with two I/O threads, two
// slow statements would stall the whole server, health checks included.
//
// Submit() never blocks. The queue has no bound of its own: its callers
// are HTTP handlers, one task per request in flight, so connections bound it.
// Stop() runs what is already queued, then joins; Submit() after Stop()
// refuses the task.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace kissvdb {

class TaskPool {
 public:
  // `name` names the threads (as top and gdb show them: at most 15 bytes).
  TaskPool(std::string name, size_t threads);
  ~TaskPool();
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  // Queues `task`; false (task dropped, not run) once Stop() has begun.
  bool Submit(std::function<void()> task);
  void Stop();

  size_t threads() const { return threads_.size(); }
  // Tasks queued and not yet started.
  size_t queued() const;

 private:
  void Run();

  const std::string name_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace kissvdb
