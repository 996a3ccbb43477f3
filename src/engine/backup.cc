// Engine: point-in-time backups and offline restore (docs/backup.md).
//
// Consistency comes from the commit thread: the copy runs as a Committer
// task, between two groups, so no event is being applied while LMDB, the
// vector collections and the log are copied, and all three end at the same
// offset. Queued writes wait for the pause (their latency grows by the copy
// time); reads go on. SQL (not event-sourced) is copied in the same pause
// through the caller's hook with SQLite's online backup API.
//
// A backup directory mirrors a data directory (state.lmdb, events-*.log,
// vectors/, snapshot.json, sql.db) plus manifest.json, written last, so a
// directory without a manifest is an incomplete backup.
//
// The point-in-time restore (point_in_time_restore.cc) reuses the verified
// copy (CopyVerifiedBackup) and the archive staging (WithUnpackedArchive).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <future>

#include "engine/engine_impl.h"
#include "engine/point_in_time_restore.h"
#include "engine/wal/format.h"
#include "util/crc32c.h"
#include "util/file_util.h"
#include "util/tar.h"

namespace fs = std::filesystem;

namespace kissvdb {

namespace {

constexpr char kManifestName[] = "manifest.json";
constexpr int kBackupFormat = 1;

Status FsError(const std::string& what, const std::error_code& ec) {
  if (ec == std::errc::no_space_on_device) return Status(Code::kInsufficientStorage, what + ": " + ec.message());
  return Status::IOError(what + ": " + ec.message());
}

Status FsyncFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return file_util::ErrnoStatus("open", path, errno);
  Status st;
  if (::fsync(fd) != 0) st = file_util::ErrnoStatus("fsync", path, errno);
  ::close(fd);
  return st;
}

// Copies a regular file and fsyncs the copy.
Status CopyFile(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) return FsError("copy " + from.string() + " to " + to.string(), ec);
  return FsyncFile(to.string());
}

// Size and CRC-32C of a file, read in 1 MiB chunks.
Status Checksum(const fs::path& path, uint64_t* bytes, uint32_t* crc) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return file_util::ErrnoStatus("open", path.string(), errno);
  std::vector<char> buf(1 << 20);
  *bytes = 0;
  *crc = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status st = file_util::ErrnoStatus("read", path.string(), errno);
      ::close(fd);
      return st;
    }
    if (n == 0) break;
    *crc = crc32c::Extend(*crc, buf.data(), static_cast<size_t>(n));
    *bytes += static_cast<uint64_t>(n);
  }
  ::close(fd);
  return Status::OK();
}

// Every regular file under `root` except the manifest, relative, sorted.
Result<std::vector<std::string>> ListFiles(const fs::path& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::string rel = fs::relative(it->path(), root).generic_string();
    if (rel != kManifestName) out.push_back(std::move(rel));
  }
  if (ec) return FsError("list " + root.string(), ec);
  std::sort(out.begin(), out.end());
  return out;
}

// Copies the vector collections: top-level entries without '.' (others are
// temp or quarantined), and no temp files inside them.
Status CopyVectors(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  if (!fs::exists(from, ec)) return Status::OK();
  KISSVDB_RETURN_IF_ERROR(file_util::CreateDirs(to.string()));
  for (const auto& coll : fs::directory_iterator(from, ec)) {
    const std::string name = coll.path().filename().string();
    if (!coll.is_directory() || name.find('.') != std::string::npos) continue;
    KISSVDB_RETURN_IF_ERROR(file_util::CreateDirs((to / name).string()));
    for (const auto& f : fs::directory_iterator(coll.path(), ec)) {
      const std::string file = f.path().filename().string();
      if (!f.is_regular_file() || file.ends_with(".tmp")) continue;
      KISSVDB_RETURN_IF_ERROR(CopyFile(f.path(), to / name / file));
    }
    if (ec) return FsError("list " + coll.path().string(), ec);
    KISSVDB_RETURN_IF_ERROR(file_util::SyncDir((to / name).string()));
  }
  if (ec) return FsError("list " + from.string(), ec);
  return file_util::SyncDir(to.string());
}

}  // namespace

Status EngineImpl::CopyPaused(const std::string& dir, const BackupHook& hook, uint64_t* offset) {
  // On the commit thread, between groups: the log, LMDB and the in-memory
  // vectors all hold exactly the offsets up to next_offset - 1.
  const uint64_t at = log_->next_offset() - 1;
  {
    auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
    if (!txn.ok()) return txn.status();
    auto applied = materializer_->AppliedOffset(*txn);
    if (!applied.ok()) return applied.status();
    if (*applied != at) {
      return Status::Internal("backup: LMDB is at offset " + std::to_string(*applied) + ", the log at " +
                              std::to_string(at));
    }
  }
  const fs::path out(dir);
  const std::string lmdb_copy = (out / "state.lmdb").string();
  int rc = mdb_env_copy2(env_->get(), lmdb_copy.c_str(), MDB_CP_COMPACT);
  if (rc != 0) return kv::LmdbStatus("mdb_env_copy2 " + lmdb_copy, rc);
  KISSVDB_RETURN_IF_ERROR(FsyncFile(lmdb_copy));
  {
    std::lock_guard lk(checkpoint_mu_);
    KISSVDB_RETURN_IF_ERROR(vectors_->Checkpoint());
    KISSVDB_RETURN_IF_ERROR(CopyVectors(fs::path(config_.data_dir) / "vectors", out / "vectors"));
  }
  // Every log segment: the active one is only appended by this thread, so
  // its records end exactly at `at` (then comes the zero fill, up to 1 MiB,
  // which the restored log's recovery cuts; docs/wal-format.md).
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(config_.data_dir, ec)) {
    uint32_t seq;
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && wal::ParseSegmentFileName(name, &seq)) {
      KISSVDB_RETURN_IF_ERROR(CopyFile(entry.path(), out / name));
    }
  }
  if (ec) return FsError("list " + config_.data_dir, ec);
  KISSVDB_RETURN_IF_ERROR(WriteSnapshotManifest(dir, at, at));
  if (hook) KISSVDB_RETURN_IF_ERROR(hook(dir));
  *offset = at;
  return Status::OK();
}

Result<BackupInfo> EngineImpl::Backup(const std::string& dir, BackupHook hook) {
  std::error_code ec;
  if (fs::exists(dir, ec)) return Status(Code::kAlreadyExists, "backup " + dir + " already exists");
  KISSVDB_RETURN_IF_ERROR(file_util::CreateDirs(dir));
  {
    std::lock_guard lk(bg_mu_);
    if (closing_) return Status::Unavailable("the engine is shutting down");
  }
  auto done = std::make_shared<std::promise<Status>>();
  auto finished = done->get_future();
  auto offset = std::make_shared<uint64_t>(0);
  committer_->RunTask([this, dir, hook = std::move(hook), done, offset] {
    Status st;
    try {
      st = CopyPaused(dir, hook, offset.get());
    } catch (const std::exception& e) {
      st = Status::Internal(std::string("backup failed: ") + e.what());
    }
    done->set_value(st);
  });
  Status st = finished.get();

  BackupInfo info;
  info.dir = dir;
  info.offset = *offset;
  if (st.ok()) {
    // Checksums off the commit thread: writers are already running again.
    auto files = ListFiles(dir);
    if (!files.ok()) {
      st = files.status();
    } else {
      Json list = Json::array();
      uint64_t total = 0;
      for (const std::string& rel : *files) {
        uint64_t bytes;
        uint32_t crc;
        st = Checksum(fs::path(dir) / rel, &bytes, &crc);
        if (!st.ok()) break;
        total += bytes;
        list.push_back(Json{{"path", rel}, {"bytes", bytes}, {"crc32c", crc}});
      }
      info.manifest = Json{{"format_version", kBackupFormat},
                           {"offset", info.offset},
                           {"created_at_ms", clock_.NowMs()},
                           {"kissvdb_version", KISSVDB_VERSION},
                           {"total_bytes", total},
                           {"files", std::move(list)}};
      if (st.ok()) st = file_util::SyncDir(dir);
      if (st.ok()) {
        st = file_util::AtomicWriteFile((fs::path(dir) / kManifestName).string(), info.manifest.dump(2) + "\n");
      }
    }
  }
  if (!st.ok()) {
    fs::remove_all(dir, ec);
    return st;
  }
  return info;
}

Status CopyVerifiedBackup(const std::string& backup_dir, const std::string& data_dir,
                          const std::function<bool(const std::string& rel)>& take, uint64_t* offset) {
  const fs::path from(backup_dir);
  auto text = file_util::ReadFile((from / kManifestName).string());
  if (!text.ok()) {
    return Status::InvalidArgument(backup_dir + " is not a complete backup (no readable manifest.json): " +
                                   text.status().message());
  }
  Json manifest = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!manifest.is_object() || manifest.value("format_version", 0) != kBackupFormat ||
      !manifest.contains("files") || !manifest["files"].is_array()) {
    return Status::InvalidArgument(backup_dir + "/manifest.json is not a backup manifest of format " +
                                   std::to_string(kBackupFormat));
  }
  std::error_code ec;
  if (fs::exists(data_dir, ec) && !fs::is_empty(data_dir, ec)) {
    return Status::InvalidArgument("refusing to restore into " + data_dir + ": it is not empty");
  }
  // Verify everything before writing anything.
  std::vector<std::string> paths;
  for (const Json& f : manifest["files"]) {
    const std::string rel = f.value("path", "");
    const fs::path p(rel);
    if (rel.empty() || p.is_absolute() || rel.find("..") != std::string::npos) {
      return Status::InvalidArgument("manifest lists a bad path: " + rel);
    }
    uint64_t bytes;
    uint32_t crc;
    Status st = Checksum(from / p, &bytes, &crc);
    if (!st.ok()) return Status::Corruption("backup file " + rel + ": " + st.message());
    if (bytes != f.value("bytes", uint64_t{0}) || crc != f.value("crc32c", uint32_t{0})) {
      return Status::Corruption("backup file " + rel + " does not match the manifest (size or CRC-32C)");
    }
    if (take(rel)) paths.push_back(rel);
  }
  *offset = manifest.value("offset", uint64_t{0});
  KISSVDB_RETURN_IF_ERROR(file_util::CreateDirs(data_dir));
  const fs::path to(data_dir);
  for (const std::string& rel : paths) {
    const fs::path target = to / rel;
    KISSVDB_RETURN_IF_ERROR(file_util::CreateDirs(target.parent_path().string()));
    KISSVDB_RETURN_IF_ERROR(CopyFile(from / rel, target));
  }
  for (const std::string& rel : paths) {
    fs::path parent = (to / rel).parent_path();
    KISSVDB_RETURN_IF_ERROR(file_util::SyncDir(parent.string()));
  }
  return file_util::SyncDir(to.string());
}

Status RestoreBackup(const std::string& backup_dir, const std::string& data_dir) {
  uint64_t offset;
  return CopyVerifiedBackup(backup_dir, data_dir, [](const std::string&) { return true; }, &offset);
}

Status WithUnpackedArchive(int fd, const std::string& data_dir,
                           const std::function<Status(const std::string& backup_dir)>& restore) {
  std::error_code ec;
  if (fs::exists(data_dir, ec) && !fs::is_empty(data_dir, ec)) {
    return Status::InvalidArgument("refusing to restore into " + data_dir + ": it is not empty");
  }
  // Beside the target, so it is on the same file system and easy to find
  // (and delete) if the restore is killed.
  const fs::path target = fs::absolute(fs::path(data_dir).lexically_normal(), ec);
  // Appended piece by piece: GCC 12 at -O2/-O3 reports a false -Wrestrict
  // inside libstdc++ for `"." + std::string(...)` (operator+ with a literal
  // first, GCC bug 105651).
  std::string staging_name = ".";
  staging_name += target.filename().string();
  staging_name += ".restore-";
  staging_name += std::to_string(::getpid());
  const fs::path staging = target.parent_path() / staging_name;
  fs::remove_all(staging, ec);
  KISSVDB_RETURN_IF_ERROR(file_util::CreateDirs(staging.string()));
  Status st = tar::ExtractTo(fd, staging.string());
  if (st.ok()) {
    fs::path root = staging;
    if (!fs::exists(staging / kManifestName, ec)) {
      // One top-level directory holding the backup.
      std::vector<fs::path> entries;
      for (const auto& e : fs::directory_iterator(staging, ec)) entries.push_back(e.path());
      if (entries.size() == 1 && fs::is_directory(entries[0], ec)) root = entries[0];
    }
    st = restore(root.string());
  }
  fs::remove_all(staging, ec);
  return st;
}

Status RestoreBackupArchive(int fd, const std::string& data_dir) {
  return WithUnpackedArchive(fd, data_dir,
                             [&](const std::string& backup_dir) { return RestoreBackup(backup_dir, data_dir); });
}

}  // namespace kissvdb
