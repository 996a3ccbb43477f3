// Shared test scaffolding for Engine tests: a fresh data dir per test, a
// real Engine on it, and Wait() to turn an async Engine call into a result.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <memory>
#include <string>

#include "kissvdb/engine.h"

namespace kissvdb {

// Runs an async Engine call (which takes a Callback<T>) and waits for it.
template <typename T, typename F>
Result<T> Wait(F&& call) {
  std::promise<Result<T>> p;
  auto f = p.get_future();
  call([&p](Result<T> r) { p.set_value(std::move(r)); });
  return f.get();
}

class EngineFixture : public ::testing::Test {
 protected:
  // Override to change the options of every Open() of the test.
  virtual void Configure(EngineOptions& options) {}

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("kissvdb-engine-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name() + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    Open();
  }
  void TearDown() override {
    engine_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    EngineOptions options;
    options.config.data_dir = dir_.string();
    options.config.snapshot_interval_secs = 3600;
    Configure(options);
    auto e = Engine::Open(options);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e.value());
  }
  void Reopen() {
    engine_.reset();
    Open();
  }

  std::filesystem::path dir_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace kissvdb
