// TestDir: a temporary directory removed at the end of the test.
// Header-only, shared by unit and integration tests.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace kissvdb::testing {

// The path of a new empty directory under $TMPDIR (or /tmp); "" on failure.
inline std::string MakeTempDir(const std::string& prefix = "kissvdb-test") {
  const char* base = std::getenv("TMPDIR");
  std::string path = std::string(base && *base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
  if (::mkdtemp(path.data()) == nullptr) return "";
  return path;
}

class TestDir {
 public:
  explicit TestDir(const std::string& prefix = "kissvdb-test") : path_(MakeTempDir(prefix)) {}
  ~TestDir() {
    std::error_code ec;
    if (!path_.empty() && std::getenv("KISSVDB_KEEP_TEST_DIRS") == nullptr) {
      std::filesystem::remove_all(path_, ec);
    }
  }
  TestDir(const TestDir&) = delete;
  TestDir& operator=(const TestDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace kissvdb::testing
