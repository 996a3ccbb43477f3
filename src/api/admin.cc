// /v1/admin/* (see admin_routes.h).
#include <algorithm>
#include <filesystem>

#include "api/admin_routes.h"
#include "api/backup_archive.h"
#include "api/auth_routes.h"
#include "api/json_args.h"
#include "sql/sql_database.h"
#include "util/file_util.h"

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

std::string BackupsDir(const ApiContext& ctx) {
  return (std::filesystem::path(ctx.config->data_dir) / "backups").string();
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
  const std::string dir = (std::filesystem::path(BackupsDir(ctx)) / name).string();
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

void ListBackups(const ApiContext& ctx, Request& req, const Responder& res) {
  if (!RequireAdmin(req, res)) return;
  Json list = Json::array();
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(BackupsDir(ctx), ec)) {
    if (entry.is_directory(ec)) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    auto text = file_util::ReadFile((std::filesystem::path(BackupsDir(ctx)) / name / "manifest.json").string());
    Json manifest = text.ok() ? Json::parse(*text, nullptr, /*allow_exceptions=*/false) : Json();
    if (!manifest.is_object()) {
      list.push_back(Json{{"name", name}, {"complete", false}});
      continue;
    }
    list.push_back(Json{{"name", name},
                        {"complete", true},
                        {"offset", manifest.value("offset", uint64_t{0})},
                        {"created_at_ms", manifest.value("created_at_ms", int64_t{0})},
                        {"total_bytes", manifest.value("total_bytes", uint64_t{0})}});
  }
  res.Send(http::Response::Ok(Json{{"backups", std::move(list)}}));
}

void DownloadBackup(const ApiContext& ctx, Request& req, const Responder& res) {
  if (!RequireAdmin(req, res)) return;
  const std::string& name = req.param("name");
  if (Status st = ValidateBackupName(name); !st.ok()) return res.Error(st);
  if (ctx.archiver == nullptr) return res.Error(Status(Code::kUnavailable, "backup downloads are not available"));
  auto plan = BackupArchiver::PlanFor(name, (std::filesystem::path(BackupsDir(ctx)) / name).string());
  if (!plan.ok()) return res.Error(plan.status());
  if (!ctx.archiver->HasRoom()) {
    return res.Error(Status(Code::kTooManyRequests, "too many backup downloads at once (at most " +
                                                        std::to_string(BackupArchiver::kMaxDownloads) + ")"));
  }
  http::Response head;
  head.content_type = "application/x-tar";
  head.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + name + ".tar\"");
  head.headers.emplace_back("X-Archive-Bytes", std::to_string(plan->archive_bytes));
  ctx.archiver->Start(std::move(plan).value(), res.StartStream(std::move(head)));
}

}  // namespace kissvdb::api
