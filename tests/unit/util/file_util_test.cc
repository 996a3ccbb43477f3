#include "util/file_util.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <thread>

namespace kissvdb::file_util {
namespace {

class FileUtilTest : public ::testing::Test {
 protected:
  FileUtilTest() {
    char tmpl[] = "/tmp/kissvdb-file-util-test-XXXXXX";
    const char* made = ::mkdtemp(tmpl);
    EXPECT_NE(made, nullptr);
    dir_ = made != nullptr ? made : "/tmp/kissvdb-file-util-test-failed";
  }
  ~FileUtilTest() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  size_t EntryCount() const {
    size_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      (void)entry;
      ++n;
    }
    return n;
  }

  std::string dir_;
};

TEST_F(FileUtilTest, AtomicWriteThenRead) {
  const std::string path = Path("manifest.json");
  ASSERT_TRUE(AtomicWriteFile(path, "first").ok());
  Result<std::string> data = ReadFile(path);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data.value(), "first");
  ASSERT_TRUE(AtomicWriteFile(path, "").ok());
  EXPECT_EQ(ReadFile(path).value(), "");
  const std::string big(1 << 20, 'b');
  ASSERT_TRUE(AtomicWriteFile(path, big).ok());
  EXPECT_EQ(ReadFile(path).value(), big);
  EXPECT_EQ(EntryCount(), 1u) << "no temp files left behind";
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

// A reader racing the writer only ever sees a complete old or new file.
TEST_F(FileUtilTest, AtomicWriteReplacesAtomically) {
  const std::string path = Path("state");
  const std::string a(200000, 'a');
  const std::string b(100000, 'b');
  ASSERT_TRUE(AtomicWriteFile(path, a).ok());
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    while (!done) {
      Result<std::string> data = ReadFile(path);
      if (!data.ok() || (data.value() != a && data.value() != b)) ++torn;
    }
  });
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(AtomicWriteFile(path, i % 2 ? a : b).ok());
  done = true;
  reader.join();
  EXPECT_EQ(torn, 0);
  EXPECT_EQ(EntryCount(), 1u);
}

TEST_F(FileUtilTest, AtomicWriteIntoMissingDirectoryFails) {
  const Status s = AtomicWriteFile(Path("missing/file"), "x");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("missing"), std::string::npos) << s.message();
}

TEST_F(FileUtilTest, ReadMissingFileIsNotFound) {
  Result<std::string> data = ReadFile(Path("nope"));
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), Code::kNotFound);
}

TEST_F(FileUtilTest, CreateDirsAndSyncDir) {
  const std::string nested = Path("a/b/c");
  ASSERT_TRUE(CreateDirs(nested).ok());
  ASSERT_TRUE(CreateDirs(nested).ok());  // idempotent
  EXPECT_TRUE(std::filesystem::is_directory(nested));
  EXPECT_TRUE(SyncDir(nested).ok());
  EXPECT_FALSE(SyncDir(Path("missing")).ok());
  ASSERT_TRUE(AtomicWriteFile(Path("file"), "x").ok());
  EXPECT_FALSE(CreateDirs(Path("file")).ok());
  EXPECT_FALSE(CreateDirs(Path("file/sub")).ok());
}

TEST_F(FileUtilTest, ErrnoStatusMapping) {
  const Status full = ErrnoStatus("write", "/data/events-000001.log", ENOSPC);
  EXPECT_EQ(full.code(), Code::kInsufficientStorage);
  EXPECT_NE(full.message().find("write /data/events-000001.log"), std::string::npos);
  EXPECT_NE(full.message().find("No space left on device"), std::string::npos) << full.message();
  EXPECT_EQ(ErrnoStatus("write", "p", EDQUOT).code(), Code::kInsufficientStorage);
  EXPECT_EQ(ErrnoStatus("open", "p", ENOENT).code(), Code::kNotFound);
  EXPECT_EQ(ErrnoStatus("read", "p", EIO).code(), Code::kPersistenceError);
  EXPECT_EQ(ErrnoStatus("open", "p", EACCES).code(), Code::kPersistenceError);
}

}  // namespace
}  // namespace kissvdb::file_util
