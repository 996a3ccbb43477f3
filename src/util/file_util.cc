#include "util/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

namespace kissvdb::file_util {

namespace {

// The directory holding `path` ("." for a bare file name).
std::string ParentDir(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// write() until all of `data` is written or an error occurs.
Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

}  // namespace

Status ErrnoStatus(std::string_view what, const std::string& path, int err) {
  std::string message(what);
  message += ' ';
  message += path;
  message += ": ";
  message += std::generic_category().message(err);
  switch (err) {
    case ENOSPC:
    case EDQUOT: return Status(Code::kInsufficientStorage, std::move(message));
    case ENOENT: return Status::NotFound(std::move(message));
    default: return Status::IOError(std::move(message));
  }
}

Status AtomicWriteFile(const std::string& path, std::string_view data, mode_t mode) {
  std::string tmp = path + ".tmp.XXXXXX";
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("create temp file for", path, errno);

  Status s = WriteAll(fd, data, tmp);
  // mkostemp creates the file 0600, so a private file is never readable by
  // others, not even briefly; then it gets the requested mode.
  if (s.ok() && mode != 0600 && ::fchmod(fd, mode) != 0) s = ErrnoStatus("fchmod", tmp, errno);
  if (s.ok() && ::fsync(fd) != 0) s = ErrnoStatus("fsync", tmp, errno);
  if (::close(fd) != 0 && s.ok()) s = ErrnoStatus("close", tmp, errno);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = ErrnoStatus("rename", tmp, errno);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return SyncDir(ParentDir(path));
}

Result<std::string> ReadFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  std::string data;
  struct stat st;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) data.reserve(static_cast<size_t>(st.st_size));
  char chunk[64 << 10];
  while (true) {
    const ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return ErrnoStatus("read", path, err);
    }
    if (n == 0) break;
    data.append(chunk, static_cast<size_t>(n));
  }
  ::close(fd);
  return data;
}

Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open directory", dir, errno);
  Status s;
  if (::fsync(fd) != 0) s = ErrnoStatus("fsync directory", dir, errno);
  ::close(fd);
  return s;
}

Status CreateDirs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return ErrnoStatus("create directory", dir, ec.value());
  if (!std::filesystem::is_directory(dir, ec)) {
    return ErrnoStatus("create directory", dir, ec ? ec.value() : ENOTDIR);
  }
  return Status::OK();
}

}  // namespace kissvdb::file_util
