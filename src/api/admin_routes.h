// /v1/admin/*: operations for admins (docs/backup.md).
#pragma once

#include "api/api.h"

namespace kissvdb::api {

// POST /v1/admin/snapshot {name?} -> {name, dir, offset, total_bytes, files}
// A consistent backup of every store under <data_dir>/backups/<name>/.
// Admin only (403). name: 1..64 of [A-Za-z0-9._-], not starting with '.';
// default "backup-<offset>-<ms>". 409 already_exists when taken.
// The handler blocks its I/O thread for the copy (writes queue meanwhile);
// streaming the backup as a tar is not implemented.
void CreateSnapshot(const ApiContext& ctx, Request& req, const Responder& res);

}  // namespace kissvdb::api
