// Streams finished backups as tar archives (GET /v1/admin/backups/{name}).
//
// A backup directory never changes once its manifest.json is written, so an
// archive can be read from it while the server goes on. Each download runs
// on its own thread and waits while the connection's queue holds more than
// a few MiB (the client sets the pace, the server's memory stays bounded);
// a client that goes away ends it. The members are the manifest's files in
// its order, then manifest.json, under one top-level directory named after
// the backup (what `tar xf` and `kissvdb restore` expect).
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/request.h"
#include "kissvdb/status.h"

namespace kissvdb::api {

class BackupArchiver {
 public:
  struct Member {
    std::string path;  // relative to the backup directory
    uint64_t bytes = 0;
  };
  struct Plan {
    std::string name;  // the backup's name: the archive's top-level directory
    std::string dir;   // the backup directory
    std::vector<Member> members;
    uint64_t archive_bytes = 0;  // the exact size of the tar stream
  };

  // Concurrent downloads beyond this answer 429.
  static constexpr size_t kMaxDownloads = 4;

  BackupArchiver() = default;
  ~BackupArchiver() { Stop(); }
  BackupArchiver(const BackupArchiver&) = delete;
  BackupArchiver& operator=(const BackupArchiver&) = delete;

  // What to send for the complete backup in `dir` named `name`: NotFound
  // without a manifest, Corruption if a listed file is missing or has
  // another size than the manifest says.
  static Result<Plan> PlanFor(const std::string& name, const std::string& dir);

  // True if another download may start now.
  bool HasRoom();

  // Streams `plan` into `sink` on a new thread.
  void Start(Plan plan, std::shared_ptr<http::StreamSink> sink);

  // Ends every download (their streams close, unfinished) and joins the
  // threads. Call after the HTTP server stopped, before the data dir goes.
  void Stop();

 private:
  struct Download {
    std::thread thread;
    std::atomic<bool> done{false};
  };

  void Run(const Plan& plan, http::StreamSink& sink);
  void ReapFinished();  // REQUIRES: mu_ held

  std::mutex mu_;
  std::list<Download> downloads_;
  std::atomic<bool> stopping_{false};
};

}  // namespace kissvdb::api
