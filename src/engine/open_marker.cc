#include "engine/open_marker.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "util/file_util.h"

namespace kissvdb::open_marker {

namespace fs = std::filesystem;

namespace {
std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}
}  // namespace

std::string CurrentBootId() {
  const char* override_path = std::getenv("KISSVDB_BOOT_ID_FILE");
  auto id = file_util::ReadFile(override_path != nullptr ? override_path : "/proc/sys/kernel/random/boot_id");
  return id.ok() ? Trimmed(*id) : std::string();
}

Result<std::optional<std::string>> Read(const std::string& dir) {
  auto text = file_util::ReadFile((fs::path(dir) / kFileName).string());
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) return std::optional<std::string>();
    return text.status();
  }
  return std::optional<std::string>(Trimmed(*text));
}

Status Write(const std::string& dir, const std::string& boot_id) {
  return file_util::AtomicWriteFile((fs::path(dir) / kFileName).string(), boot_id + "\n");
}

Status Remove(const std::string& dir) {
  const std::string path = (fs::path(dir) / kFileName).string();
  if (std::remove(path.c_str()) != 0 && errno != ENOENT) return file_util::ErrnoStatus("remove", path, errno);
  return file_util::SyncDir(dir);
}

}  // namespace kissvdb::open_marker
