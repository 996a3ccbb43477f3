// TmpfsMount: a small tmpfs mounted for the life of the object, to run out
// of disk space for real. Needs root or CAP_SYS_ADMIN; callers GTEST_SKIP
// with error() when mounted() is false. Header-only, shared by unit and
// integration tests.
#pragma once

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>

namespace kissvdb::testing {

class TmpfsMount {
 public:
  TmpfsMount(std::string dir, uint64_t bytes) : dir_(std::move(dir)) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    const std::string options = "size=" + std::to_string(bytes) + ",mode=0755";
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, options.c_str()) == 0) {
      mounted_ = true;
    } else {
      error_ = std::string("mount tmpfs on ") + dir_ + ": " + std::strerror(errno);
    }
  }
  // Lazy unmount, so a file still open somewhere cannot keep it mounted.
  ~TmpfsMount() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

// Bytes an unprivileged writer may still use in dir's file system.
inline uint64_t FreeBytes(const std::string& dir) {
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) != 0) return 0;
  return static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
}

// Appends to `path` until at most `leave` bytes are free in its file system
// (0: until ENOSPC). Returns "" or the error.
inline std::string FillUntilFree(const std::string& path, uint64_t leave) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return path + ": " + std::strerror(errno);
  const std::string chunk(1 << 20, 'f');
  std::string error;
  for (;;) {
    const uint64_t free = FreeBytes(dir);
    if (free <= leave) break;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), std::max<uint64_t>(free - leave, 4096)));
    if (::write(fd, chunk.data(), n) < 0) {
      if (errno != ENOSPC) error = path + ": " + std::strerror(errno);
      break;
    }
  }
  ::close(fd);
  return error;
}

}  // namespace kissvdb::testing
