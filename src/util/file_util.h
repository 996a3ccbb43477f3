// Small, durable file operations shared by every store.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "kissvdb/status.h"

namespace kissvdb::file_util {

// Writes `data` to `path` atomically: write a temp file beside it, fsync it,
// rename over `path`, fsync the directory. Readers see the old or the new
// file, never a mix, even across a crash. The file is created 0600 and
// gets `mode` before the rename.
Status AtomicWriteFile(const std::string& path, std::string_view data, mode_t mode = 0644);

// Reads a whole file. NotFound if it does not exist.
Result<std::string> ReadFile(const std::string& path);

// fsync a directory so that a create/rename/unlink in it is durable.
Status SyncDir(const std::string& dir);

// mkdir -p.
Status CreateDirs(const std::string& dir);

// Status from errno for an operation on a path; ENOSPC/EDQUOT map to
// kInsufficientStorage so a full disk surfaces as 507.
Status ErrnoStatus(std::string_view what, const std::string& path, int err);

}  // namespace kissvdb::file_util
