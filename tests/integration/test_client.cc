#include "test_client.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>
#include <thread>

#include <gtest/gtest.h>

extern char** environ;

namespace kissvdb::testing {

namespace {

using Clock = std::chrono::steady_clock;

// Variables the daemon reads (ours and the original system's aliases).
bool IsServerVariable(std::string_view entry) {
  static constexpr std::string_view kPrefixes[] = {
      "KISSVDB_", "RUSTKISS_", "LUMA_", "API_KEY=", "BIND_ADDR=", "DATA_DIR=", "PORT_RUST_KISS_VDB=",
      "PORT_LUMA_VDB=", "SQLITE_", "MAX_", "CORS_ALLOWED_ORIGINS=", "REQUEST_TIMEOUT_SECS=",
      "SNAPSHOT_INTERVAL_SECS=", "WAL_", "EVENT_BUFFER_SIZE=", "LIVE_BROADCAST_CAPACITY=",
      "INDEX_KIND=", "IVF_", "Q8_", "DISKANN_", "RUST_LOG="};
  for (std::string_view p : kPrefixes) {
    if (entry.substr(0, p.size()) == p) return true;
  }
  return false;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// fork + execve with stdout/stderr appended to `log_file`. -1 on failure.
pid_t Spawn(const std::vector<std::string>& args, const std::vector<std::string>& extra_env,
            const std::string& log_file) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    if (!IsServerVariable(*e)) env.emplace_back(*e);
  }
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  const std::string exec_failed = "test_client: cannot execute " + args[0] + " (not built?)\n";
  const int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return -1;
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::execve(argv[0], argv.data(), envp.data());
    ssize_t ignored = ::write(2, exec_failed.data(), exec_failed.size());
    (void)ignored;
    ::_exit(127);
  }
  ::close(log_fd);
  return pid;
}

int ExitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Waits for `pid` until `deadline`; the exit code, or nullopt on timeout.
std::optional<int> WaitUntil(pid_t pid, Clock::time_point deadline) {
  while (true) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return ExitCodeOf(status);
    if (r < 0) return -1;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// The first line of a sanitizer report in `output`, or "" if there is none.
std::string SanitizerReport(const std::string& output) {
  static constexpr std::string_view kMarkers[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                                                  "WARNING: ThreadSanitizer", "runtime error: "};
  for (std::string_view marker : kMarkers) {
    const size_t at = output.find(marker);
    if (at == std::string::npos) continue;
    const size_t begin = output.rfind('\n', at);
    const size_t start = begin == std::string::npos ? 0 : begin + 1;
    return output.substr(start, output.find('\n', at) - start);
  }
  return "";
}

}  // namespace

TestServer::TestServer(TestServerOptions options) : options_(std::move(options)) {
  dir_ = MakeTempDir();
  data_dir_ = options_.data_dir.empty() ? dir_ + "/data" : options_.data_dir;
  port_file_ = dir_ + "/port";
  log_file_ = dir_ + "/server.log";
}

TestServer::~TestServer() {
  if (running()) Stop();
  // Under ASan/UBSan a report ends the server; it must fail the test even
  // when nothing the test asserted noticed (e.g. a leak found at exit).
  if (std::string report = SanitizerReport(output()); !report.empty()) {
    ADD_FAILURE() << "the server reported: " << report << "\n" << output();
  }
  if (!dir_.empty() && std::getenv("KISSVDB_KEEP_TEST_DIRS") == nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

bool TestServer::Start(std::chrono::milliseconds timeout) {
  if (running()) return true;
  ::unlink(port_file_.c_str());
  port_ = 0;
  std::vector<std::string> args = {KISSVDB_BINARY, "--port", "0", "--port-file", port_file_,
                                   "--data-dir", data_dir_};
  if (options_.pass_api_key) {
    args.push_back("--api-key");
    args.push_back(options_.api_key);
  }
  args.insert(args.end(), options_.args.begin(), options_.args.end());
  pid_ = Spawn(args, options_.env, log_file_);
  if (pid_ < 0) return false;

  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    // The server writes the port file atomically (temp + rename), so a
    // file with a newline is complete.
    const std::string text = ReadWholeFile(port_file_);
    if (!text.empty() && text.back() == '\n') {
      port_ = static_cast<uint16_t>(std::stoi(text));
      return port_ != 0;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // exited during start-up
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Kill();
  return false;
}

int TestServer::Stop(int signal, std::chrono::milliseconds timeout) {
  if (!running()) return 0;
  ::kill(pid_, signal);
  std::optional<int> code = WaitUntil(pid_, Clock::now() + timeout);
  if (!code) {
    ::kill(pid_, SIGKILL);
    WaitUntil(pid_, Clock::now() + std::chrono::seconds(10));
    code = -1;
  }
  pid_ = -1;
  return *code;
}

void TestServer::Kill() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  WaitUntil(pid_, Clock::now() + std::chrono::seconds(10));
  pid_ = -1;
}

bool TestServer::Restart() {
  if (Stop() != 0) return false;
  return Start();
}

std::string TestServer::output() const { return ReadWholeFile(log_file_); }

std::unique_ptr<HttpClient> TestServer::Client(bool with_token) const {
  return std::make_unique<HttpClient>(port_, with_token ? options_.api_key : "");
}

TestServer::RunResult TestServer::Run(const std::vector<std::string>& args,
                                      std::chrono::milliseconds timeout) {
  RunResult result;
  const std::string dir = MakeTempDir("kissvdb-run");
  const std::string log = dir + "/out.log";
  std::vector<std::string> full = {KISSVDB_BINARY};
  full.insert(full.end(), args.begin(), args.end());
  const pid_t pid = Spawn(full, {}, log);
  if (pid > 0) {
    std::optional<int> code = WaitUntil(pid, Clock::now() + timeout);
    if (!code) {
      ::kill(pid, SIGKILL);
      WaitUntil(pid, Clock::now() + std::chrono::seconds(10));
    }
    result.exit_code = code.value_or(-1);
  }
  result.output = ReadWholeFile(log);
  if (std::string report = SanitizerReport(result.output); !report.empty()) {
    ADD_FAILURE() << "kissvdb reported: " << report << "\n" << result.output;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return result;
}

}  // namespace kissvdb::testing
