// Helpers shared by the WAL tests: a temp directory, events, raw file edits.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/wal/log.h"
#include "kissvdb/event.h"

namespace kissvdb::wal::testing {

// A fresh directory under /tmp, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/kissvdb-wal-test-XXXXXX";
    const char* made = ::mkdtemp(tmpl);
    EXPECT_NE(made, nullptr);
    path_ = made != nullptr ? made : "/tmp/kissvdb-wal-test-failed";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Event `offset` with a payload that identifies it, so tests can check that
// what comes back is what went in.
inline Event MakeEvent(uint64_t offset, size_t pad = 0) {
  Event e;
  e.offset = offset;
  e.ts_ms = 1700000000000ull + offset;
  e.type = offset % 2 == 0 ? "state_updated" : "doc_updated";
  e.data = Json{{"i", offset}, {"key", "k" + std::to_string(offset)}};
  if (pad > 0) e.data["pad"] = std::string(pad, 'x');
  return e;
}

inline std::vector<Event> MakeEvents(uint64_t first, size_t n, size_t pad = 0) {
  std::vector<Event> events;
  for (size_t i = 0; i < n; ++i) events.push_back(MakeEvent(first + i, pad));
  return events;
}

inline void ExpectSameEvent(const Event& got, const Event& want) {
  EXPECT_EQ(got.offset, want.offset);
  EXPECT_EQ(got.ts_ms, want.ts_ms);
  EXPECT_EQ(got.type, want.type);
  EXPECT_EQ(got.data, want.data);
}

// events are exactly MakeEvent(first) .. MakeEvent(last).
inline void ExpectOffsets(const std::vector<Event>& events, uint64_t first, uint64_t last) {
  ASSERT_EQ(events.size(), last >= first ? last - first + 1 : 0);
  for (size_t i = 0; i < events.size(); ++i) ExpectSameEvent(events[i], MakeEvent(first + i));
}

inline std::unique_ptr<Log> OpenLog(const LogOptions& options, RecoveryReport* report = nullptr) {
  Result<std::unique_ptr<Log>> log = Log::Open(options, report);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(log).value() : nullptr;
}

// Every event a reader returns for [from, until]; status via *status.
inline std::vector<Event> ReadAll(const Log& log, uint64_t from, uint64_t until,
                                  Status* status = nullptr) {
  std::vector<Event> out;
  std::unique_ptr<LogReader> reader = log.NewReader(from, until);
  Event e;
  while (reader->Next(&e)) out.push_back(e);
  if (status != nullptr) *status = reader->status();
  EXPECT_TRUE(status != nullptr || reader->status().ok()) << reader->status().ToString();
  return out;
}

inline std::string ReadBytes(const std::string& path) {
  std::string data;
  FILE* f = std::fopen(path.c_str(), "rb");
  EXPECT_NE(f, nullptr) << path;
  if (f == nullptr) return data;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) data.append(buf, n);
  std::fclose(f);
  return data;
}

inline void WriteBytes(const std::string& path, const std::string& data) {
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(std::fwrite(data.data(), 1, data.size(), f), data.size());
  std::fclose(f);
}

inline uint64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

inline bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace kissvdb::wal::testing
