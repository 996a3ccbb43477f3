#include "util/task_pool.h"

#include <pthread.h>

#include <spdlog/spdlog.h>

namespace kissvdb {

TaskPool::TaskPool(std::string name, size_t threads) : name_(std::move(name)) {
  if (threads == 0) threads = 1;
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
}

TaskPool::~TaskPool() { Stop(); }

bool TaskPool::Submit(std::function<void()> task) {
  {
    std::lock_guard lk(mu_);
    if (stopping_) return false;
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

void TaskPool::Stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

size_t TaskPool::queued() const {
  std::lock_guard lk(mu_);
  return queue_.size();
}

void TaskPool::Run() {
  pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued has run
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      task();
    } catch (const std::exception& e) {
      spdlog::error("{}: a task failed: {}", name_, e.what());
    } catch (...) {
      spdlog::error("{}: a task failed with a non-standard exception", name_);
    }
  }
}

}  // namespace kissvdb
