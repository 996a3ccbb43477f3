// DiskReserve: the free-space watermark in front of the write path.
//
// A write that runs the data directory's file system dry can fail half way
// through in a store that cannot undo it (an LMDB commit after the log is
// durable, a vector checkpoint, SQLite). So the commit thread refuses new
// writes with 507 insufficient_storage while less than `min_free_bytes`
// remain, before anything is written, and keeps that reserve for the work
// already accepted (checkpoints, LMDB page writes). Writes resume by
// themselves once space is freed. Same idea as etcd's backend quota and
// Elasticsearch's flood-stage watermark.
//
// Thread safety: Check() is called by the commit thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "kissvdb/status.h"

namespace kissvdb {

class DiskReserve {
 public:
  // min_free_bytes == 0 disables the check. statvfs is asked again at most
  // once per `recheck` interval; in between the last answer stands.
  DiskReserve(std::string dir, uint64_t min_free_bytes,
              std::chrono::milliseconds recheck = std::chrono::milliseconds(100));

  // OK while at least min_free_bytes are available to the server, else
  // kInsufficientStorage with a message saying how much is free.
  Status Check();

  // The same test, measured now and without logging a transition; any
  // thread (for /v1/health, which must not wait for the next write).
  Status Measure() const;

 private:
  const std::string dir_;
  const uint64_t min_free_bytes_;
  const std::chrono::milliseconds recheck_;
  std::chrono::steady_clock::time_point next_check_{};
  Status last_;
};

}  // namespace kissvdb
