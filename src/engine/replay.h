// The boot's catch-up from the log: the events the stores lack, applied in
// offset order exactly as the commit thread applied them.
//
// Two threads share the work. A reader thread reads and verifies the records,
// parses the events and gathers each run of KV puts (read from their bytes,
// engine/state_record.h) into a batch sorted by key; the calling thread
// applies what it hands over, chunk by chunk, to LMDB and the in-memory
// stores, one LMDB transaction per chunk with its applied offset. The
// reader runs at most two chunks ahead, so memory stays bounded; what is
// applied, and in which order per record, is the same as with one thread.
#pragma once

#include <cstdint>

#include "engine/materializer.h"
#include "engine/wal/log.h"
#include "kissvdb/status.h"
#include "kv/lmdb.h"

namespace kissvdb::replay {

struct Range {
  uint64_t from = 0;         // first offset to read
  uint64_t last = 0;         // last offset to read (the log's end)
  uint64_t applied = 0;      // LMDB holds everything up to here
  uint64_t vector_from = 0;  // the in-memory stores lack everything from here
};

// Reads `reader` (positioned at range.from) to range.last on its own thread
// and applies each record: to LMDB if its offset is past range.applied, to
// the in-memory stores if it is at or past range.vector_from. Stops at the
// first error, the log's (corruption, a gap) or a store's; the chunks
// committed before it stay.
Status Run(wal::LogReader& reader, kv::LmdbEnv& env, Materializer& materializer, const Range& range);

}  // namespace kissvdb::replay
