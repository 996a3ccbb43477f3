#include "engine/disk_reserve.h"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

namespace kissvdb {

namespace {
std::string Mib(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}
}  // namespace

DiskReserve::DiskReserve(std::string dir, uint64_t min_free_bytes, std::chrono::milliseconds recheck)
    : dir_(std::move(dir)), min_free_bytes_(min_free_bytes), recheck_(recheck) {}

Status DiskReserve::Check() {
  if (min_free_bytes_ == 0) return Status::OK();
  const auto now = std::chrono::steady_clock::now();
  if (now < next_check_) return last_;
  next_check_ = now + recheck_;
  Status st = Measure();
  // Log transitions only: a full disk is reported once, not per request.
  if (!st.ok() && last_.ok()) spdlog::error("{}", st.message());
  if (st.ok() && !last_.ok()) spdlog::info("disk space is back above the reserve, accepting writes again");
  last_ = st;
  return last_;
}

Status DiskReserve::Measure() const {
  if (min_free_bytes_ == 0) return Status::OK();
  struct statvfs fs {};
  if (::statvfs(dir_.c_str(), &fs) != 0) {
    // Not knowing is no reason to stop writing: the stores still report a
    // real ENOSPC as 507.
    spdlog::warn("statvfs {}: {}", dir_, std::strerror(errno));
    return Status::OK();
  }
  // f_bavail: what an unprivileged process may still use (excludes the
  // root-reserved blocks of ext4).
  const uint64_t available = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  if (available >= min_free_bytes_) return Status::OK();
  return Status(Code::kInsufficientStorage,
                "disk full: " + Mib(available) + " free in " + dir_ + ", below the reserve of " +
                    Mib(min_free_bytes_) + " (min_free_bytes); writes are refused until space is freed");
}

}  // namespace kissvdb
