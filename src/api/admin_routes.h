// /v1/admin/*: operations for admins (docs/backup.md).
#pragma once

#include "api/api.h"

namespace kissvdb::api {

// POST /v1/admin/snapshot {name?} -> {name, dir, offset, total_bytes, files}
// A consistent backup of every store under <data_dir>/backups/<name>/.
// Admin only (403). name: 1..64 of [A-Za-z0-9._-], not starting with '.';
// default "backup-<offset>-<ms>". 409 already_exists when taken.
// The handler blocks its I/O thread for the copy (writes queue meanwhile).
void CreateSnapshot(const ApiContext& ctx, Request& req, const Responder& res);

// GET /v1/admin/backups -> {backups: [{name, complete, offset?, created_at_ms?, total_bytes?}]}
// Every directory under <data_dir>/backups/, by name; complete = has its
// manifest. Admin only.
void ListBackups(const ApiContext& ctx, Request& req, const Responder& res);

// GET /v1/admin/backups/{name} -> application/x-tar, streamed
// The complete backup as one ustar archive with a top-level directory
// <name>/ (BackupArchiver). 404 when there is no complete backup of that
// name, 429 beyond BackupArchiver::kMaxDownloads at once. Admin only.
void DownloadBackup(const ApiContext& ctx, Request& req, const Responder& res);

}  // namespace kissvdb::api
