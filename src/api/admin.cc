// /v1/admin/* (see admin_routes.h).
#include <filesystem>

#include "api/admin_routes.h"
#include "api/auth_routes.h"
#include "api/json_args.h"
#include "sql/sql_database.h"

namespace kissvdb::api {

namespace {

Status ValidateBackupName(const std::string& name) {
  if (name.empty() || name.size() > 64 || name.front() == '.') {
    return Status::InvalidArgument("name must be 1..64 characters and not start with '.'");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) return Status::InvalidArgument("name may contain only letters, digits and . _ -");
  }
  return Status::OK();
}

}  // namespace

void CreateSnapshot(const ApiContext& ctx, Request& req, const Responder& res) {
  if (!RequireAdmin(req, res)) return;
  auto body = req.JsonBody(/*allow_empty=*/true);
  if (!body.ok()) return res.Error(body.status());
  if (!body->is_null() && !body->is_object()) {
    return res.Error(Status::InvalidArgument("the request body must be a JSON object"));
  }
  std::string name;
  if (body->is_object() && body->contains("name")) {
    auto n = RequiredString(*body, "name");
    if (!n.ok()) return res.Error(n.status());
    name = std::move(n.value());
  } else {
    EngineStats stats = ctx.engine->Stats();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
    name = "backup-" + std::to_string(stats.last_offset) + "-" + std::to_string(ms);
  }
  if (Status st = ValidateBackupName(name); !st.ok()) return res.Error(st);
  const std::string dir = (std::filesystem::path(ctx.config->data_dir) / "backups" / name).string();
  sql::SqlDatabase* sql = ctx.sql;
  BackupHook hook;
  if (sql != nullptr) {
    hook = [sql](const std::string& to) { return sql->Backup((std::filesystem::path(to) / "sql.db").string()); };
  }
  auto info = ctx.engine->Backup(dir, std::move(hook));
  if (!info.ok()) return res.Error(info.status());
  res.Send(http::Response::Ok(Json{{"name", name},
                                   {"dir", info->dir},
                                   {"offset", info->offset},
                                   {"total_bytes", info->manifest.value("total_bytes", uint64_t{0})},
                                   {"files", info->manifest["files"].size()}}));
}

}  // namespace kissvdb::api
