// The open marker: telling a power loss from a process crash at boot.
//
// LMDB is opened with MDB_NOSYNC (docs/storage-layout.md): its commits reach
// the page cache, and the disk only when the checkpointer syncs. A process
// crash (kill -9) loses nothing of them, since the page cache outlives the
// process. A power loss or kernel crash can leave the file torn instead: a
// meta page newer than the pages it points to, or pages of the last synced
// state overwritten by later, unsynced commits (LMDB reuses freed pages).
// LMDB keeps no checksums that would notice.
//
// So while the environment may hold unsynced commits (from boot until the
// final sync of a clean shutdown), the file `state.lmdb.open` holds the
// kernel's boot id. Finding it at boot with a different boot id means the
// machine went down under an open environment: the engine sets state.lmdb
// aside and rebuilds the state from the log, which is fsynced and
// checksummed. The same boot id means a process crash: the file is trusted.
#pragma once

#include <optional>
#include <string>

#include "kissvdb/status.h"

namespace kissvdb::open_marker {

constexpr const char* kFileName = "state.lmdb.open";

// /proc/sys/kernel/random/boot_id (a new value at every kernel boot), or the
// file named by KISSVDB_BOOT_ID_FILE (tests simulate a reboot with it);
// empty if unreadable.
std::string CurrentBootId();

// The boot id recorded in `dir`, or nullopt when there is no marker (a clean
// shutdown, or a new data directory).
Result<std::optional<std::string>> Read(const std::string& dir);

// Records `boot_id` durably (atomic write, directory fsync'd).
Status Write(const std::string& dir, const std::string& boot_id);

// Removes the marker durably. Call only after LMDB is synced.
Status Remove(const std::string& dir);

}  // namespace kissvdb::open_marker
