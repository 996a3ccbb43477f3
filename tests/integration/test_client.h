// TestServer: the real kissvdb binary (KISSVDB_BINARY) as a child process,
// for integration tests, plus the HttpClient/HttpStream of http_client.h.
//
//   TestServer server;                        // fresh data dir, --api-key test-key
//   ASSERT_TRUE(server.Start()) << server.output();
//   auto client = server.Client();            // HttpClient with the key as Bearer token
//   EXPECT_EQ(client->Get("/v1/health").status, 200);
//   ASSERT_TRUE(server.Restart());            // SIGTERM, wait, start again on the same data
//   server.Kill();                            // kill -9 (crash tests)
//
// Each server runs in its own temporary directory (data/, the port file,
// server.log with stdout+stderr of every run), removed by the destructor
// unless KISSVDB_KEEP_TEST_DIRS is set. The child gets the test's
// environment minus every variable the daemon reads (KISSVDB_*, the
// original system's names), so the host environment cannot change a test.
// A sanitizer report (ASan, LSan, UBSan, TSan) in the server's output fails
// the running test, from the destructor and from Run().
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "http_client.h"
#include "test_dir.h"

namespace kissvdb::testing {

struct TestServerOptions {
  std::vector<std::string> args;  // extra command-line flags
  bool pass_api_key = true;       // add --api-key <api_key>
  std::string api_key = "test-key";
  std::string data_dir;           // "" = <temp dir>/data
  std::vector<std::string> env;   // extra NAME=VALUE for the child
};

class TestServer {
 public:
  explicit TestServer(TestServerOptions options = {});
  ~TestServer();  // Stop() if running, then removes the temp dir
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  // Starts the binary with --port 0 --port-file --data-dir (and the key) and
  // waits until the port file appears. False if the process exits or the
  // timeout passes (see output()).
  bool Start(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  // Sends `signal`, waits for the exit and returns the exit status (128+N
  // when killed by signal N); after `timeout`, SIGKILLs and returns -1.
  // 0 when not running.
  int Stop(int signal = 15 /*SIGTERM*/, std::chrono::milliseconds timeout = std::chrono::seconds(15));
  // SIGKILL and reap (no clean shutdown).
  void Kill();
  // Stop() then Start() on the same data dir; false if either fails.
  bool Restart();

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& dir() const { return dir_; }
  const std::string& api_key() const { return options_.api_key; }
  // Everything the server printed so far (all runs).
  std::string output() const;

  // A client for this server, with the API key as Bearer token unless
  // `with_token` is false.
  std::unique_ptr<HttpClient> Client(bool with_token = true) const;

  // Runs the binary with exactly `args` (no defaults added) to completion.
  struct RunResult {
    int exit_code = -1;  // -1: killed after the timeout
    std::string output;  // stdout + stderr
  };
  static RunResult Run(const std::vector<std::string>& args,
                       std::chrono::milliseconds timeout = std::chrono::seconds(15));

 private:
  TestServerOptions options_;
  std::string dir_;
  std::string data_dir_;
  std::string port_file_;
  std::string log_file_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

// Every event of the server's log, oldest first, read through /v1/log
// pages (a failed page is a test failure).
inline std::vector<nlohmann::json> AllEvents(HttpClient& c) {
  std::vector<nlohmann::json> out;
  uint64_t since = 0;
  for (;;) {
    HttpResponse r = c.Get("/v1/log?since=" + std::to_string(since) + "&limit=1000");
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200 || r.json["events"].empty()) break;
    for (const nlohmann::json& e : r.json["events"]) out.push_back(e);
    since = r.json["next_since"].get<uint64_t>();
  }
  return out;
}

}  // namespace kissvdb::testing
