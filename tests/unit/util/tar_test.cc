// The tar writer against GNU tar (both directions) and the reader against
// hostile archives.
#include "util/tar.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace kissvdb::tar {
namespace {

namespace fs = std::filesystem;

class TarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kissvdb-tar-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }

  static std::string Slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  static void Spit(const fs::path& p, const std::string& data) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << data;
  }
  // Extracts `archive` (bytes) into a fresh directory.
  Status Extract(const std::string& archive, const fs::path& into) {
    const fs::path file = root_ / "in.tar";
    Spit(file, archive);
    fs::create_directories(into);
    int fd = ::open(file.c_str(), O_RDONLY);
    Status st = ExtractTo(fd, into.string());
    ::close(fd);
    return st;
  }
  static std::string Member(const std::string& path, const std::string& data) {
    auto h = FileHeader(path, data.size(), 0644, 1700000000);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return h.value() + data + Padding(data.size());
  }

  fs::path root_;
};

const std::string kLongPath = "top/" + std::string(90, 'd') + "/" + std::string(90, 'f') + ".bin";

TEST_F(TarTest, GnuTarReadsWhatWeWrite) {
  std::string archive = DirHeader("top", 0755, 1700000000).value();
  archive += Member("top/empty", "");
  archive += Member("top/block", std::string(512, 'b'));
  archive += Member("top/odd", "hello tar");
  archive += Member(kLongPath, "long");
  archive += EndOfArchive();
  Spit(root_ / "ours.tar", archive);
  fs::create_directories(root_ / "gnu");
  const std::string cmd = "tar -xf " + (root_ / "ours.tar").string() + " -C " + (root_ / "gnu").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_EQ(Slurp(root_ / "gnu/top/empty"), "");
  EXPECT_EQ(Slurp(root_ / "gnu/top/block"), std::string(512, 'b'));
  EXPECT_EQ(Slurp(root_ / "gnu/top/odd"), "hello tar");
  EXPECT_EQ(Slurp(root_ / "gnu" / kLongPath), "long");
}

TEST_F(TarTest, WeReadWhatGnuTarWrites) {
  Spit(root_ / "src/a/b.txt", "bee");
  Spit(root_ / "src/c", std::string(100000, 'c'));
  Spit(root_ / "src" / kLongPath, "long");
  const std::string cmd = "tar --format=ustar -cf " + (root_ / "gnu.tar").string() + " -C " +
                          (root_ / "src").string() + " .";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  ASSERT_TRUE(Extract(Slurp(root_ / "gnu.tar"), root_ / "out").ok());
  EXPECT_EQ(Slurp(root_ / "out/a/b.txt"), "bee");
  EXPECT_EQ(Slurp(root_ / "out/c"), std::string(100000, 'c'));
  EXPECT_EQ(Slurp(root_ / "out" / kLongPath), "long");
}

TEST_F(TarTest, SizesFromEightGibUseBase256) {
  const uint64_t big = uint64_t{9} << 30;
  std::string h = FileHeader("big", big, 0644, 0).value();
  EXPECT_EQ(static_cast<unsigned char>(h[124]), 0x80);
  // The reader decodes it: a header claiming 9 GiB with no data is truncated.
  Status st = Extract(h, root_ / "out");
  EXPECT_EQ(st.code(), Code::kCorruption);
  EXPECT_NE(st.message().find("truncated"), std::string::npos) << st.ToString();
}

TEST_F(TarTest, PathsThatDoNotFitAreRefused) {
  EXPECT_FALSE(FileHeader(std::string(101, 'x'), 1, 0644, 0).ok());  // no '/' to split at
  EXPECT_FALSE(FileHeader("/abs", 1, 0644, 0).ok());
  EXPECT_FALSE(FileHeader("", 1, 0644, 0).ok());
}

TEST_F(TarTest, HostileArchivesAreRefusedWithoutWritingOutside) {
  struct Case {
    const char* what;
    std::string archive;
  };
  std::string bad_sum = Member("x", "data");
  bad_sum[0] = 'y';  // the name changes, the checksum does not
  std::string symlink = Member("link", "");
  symlink[156] = '2';
  std::string sum;  // recompute so only the type is wrong
  {
    uint32_t s = 0;
    for (size_t i = 0; i < 512; ++i) s += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(symlink[i]);
    char buf[8];
    std::snprintf(buf, sizeof buf, "%06o", s);
    std::memcpy(&symlink[148], buf, 7);
  }
  const std::vector<Case> cases = {
      {"dot-dot", Member("../escape", "x") + EndOfArchive()},
      {"dot-dot inside", Member("a/../../escape", "x") + EndOfArchive()},
      {"bad checksum", bad_sum + EndOfArchive()},
      {"symlink", symlink + EndOfArchive()},
      {"truncated data", Member("x", std::string(1000, 'x')).substr(0, 900)},
      {"no end marker", Member("x", "x")},
      {"not tar", std::string(1024, 'z')},
  };
  for (const Case& c : cases) {
    const fs::path out = root_ / "out" / c.what;
    Status st = Extract(c.archive, out);
    EXPECT_EQ(st.code(), Code::kCorruption) << c.what << ": " << st.ToString();
  }
  EXPECT_FALSE(fs::exists(root_ / "escape"));
  EXPECT_FALSE(fs::exists(root_ / "out" / "escape"));
}

}  // namespace
}  // namespace kissvdb::tar
