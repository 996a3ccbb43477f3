// Point-in-time restore: a backup plus the log after it, cut at one offset,
// into a new data directory (docs/backup.md, "Point-in-time restore").
//
// Offline, like the plain restore (RestoreBackup in include/kissvdb/engine.h):
// it only writes files; the engine's normal open does the rest. A restore to
// N at or after the backup's offset B keeps the backup's stores and lets the
// boot replay B+1..N; a restore to N before B leaves state.lmdb, vectors/ and
// snapshot.json out, so the boot rebuilds every store from the log 1..N.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "kissvdb/status.h"

namespace kissvdb {

// Where a point-in-time restore stops.
struct RestorePoint {
  // Restore to exactly this offset (>= 1); 0 = by time_ms, or without it
  // the last offset the available log holds.
  uint64_t offset = 0;
  // Restore to the last offset whose event's ts_ms is at or before this
  // time and that ends its atomic unit.
  std::optional<uint64_t> time_ms;
  // A directory of WAL segments (usually the server's data directory)
  // holding the records after the backup's offset; "" = the backup's own
  // log only. Only read.
  std::string log_dir;
};

struct RestoredPoint {
  uint64_t offset = 0;         // the restored log ends here
  uint64_t backup_offset = 0;  // the backup's offset (sql.db reflects this one)
  bool has_sql = false;        // the backup held sql.db (restored as it is)
};

// Restores `backup` into `data_dir` (empty or absent) with the log cut at
// the offset `point` names. `backup` is a backup directory, or with
// archive_fd >= 0 only a name for messages: the backup is then the tar
// archive read from archive_fd, unpacked into a staging directory first.
// InvalidArgument when the point is not in the available log or falls
// inside an atomic unit, Corruption when the backup or the log is damaged
// or the log does not continue the backup. Nothing is left in data_dir on
// failure.
Result<RestoredPoint> RestoreBackupToPoint(const std::string& backup, int archive_fd, const RestorePoint& point,
                                           const std::string& data_dir);

// ---- Pieces of the plain restore (backup.cc) that the one above reuses ----

// Verifies every file the backup's manifest lists (size and CRC-32C) before
// writing anything, then copies those `take` accepts (by manifest path)
// into data_dir, fsynced. `*offset` = the manifest's offset.
Status CopyVerifiedBackup(const std::string& backup_dir, const std::string& data_dir,
                          const std::function<bool(const std::string& rel)>& take, uint64_t* offset);

// Unpacks the tar archive read from `fd` into a staging directory beside
// data_dir, runs `restore` on the backup directory inside it, and removes
// the staging directory whatever happens.
Status WithUnpackedArchive(int fd, const std::string& data_dir,
                           const std::function<Status(const std::string& backup_dir)>& restore);

}  // namespace kissvdb
