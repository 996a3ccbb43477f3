// Engine: how far back the history reaches (history_retention,
// docs/history.md "Retention").
//
// The horizon is the first offset a read at an offset may ask for. It only
// moves up, and never below the log's first retained offset (a version is
// kept only while the log still holds the events around it, so a TTL can be
// judged and a restore can rebuild it). The background loop computes the
// target horizon from the setting and prunes both history tables to it in
// small LMDB transactions, each writing the horizon with its deletions:
// the commit thread waits for at most one batch, and a reader sees either
// the old versions or the new horizon (docs/history.md).
#include <spdlog/spdlog.h>

#include "engine/engine_impl.h"

namespace kissvdb {

namespace {
constexpr uint32_t kPruneVisits = 4096;  // versions looked at per batch, about
constexpr auto kPruneBudget = std::chrono::milliseconds(200);  // per background round
constexpr int kPassSpacing = 10;  // a pass starts at least 10x its predecessor's time after it
}  // namespace

// Boot, before the log tail is replayed: with history off nothing is
// written and everything kept is pruned. A table whose horizon is kOff
// with history on (turned back on, or created in a directory that had
// applied events) holds no version of the present: it is emptied and
// seeded with the present of every key and document at the applied
// offset, which becomes its horizon, so a read at or after it never
// misses an item that was not written since.
Status EngineImpl::OpenHistory() {
  const bool off = config_.history_retention.kind == HistoryRetention::Kind::kOff;
  materializer_->set_history(!off);
  auto txn = kv::Txn::Begin(*env_, /*read_only=*/false);
  if (!txn.ok()) return txn.status();
  auto applied = materializer_->AppliedOffset(*txn);
  if (!applied.ok()) return applied.status();
  bool seed[2] = {false, false};
  const kv::OffsetHistory* tables[2] = {&materializer_->state_history(), &materializer_->doc_history()};
  for (int i = 0; i < 2; ++i) {
    auto horizon = tables[i]->Horizon(*txn);
    if (!horizon.ok()) return horizon.status();
    if (off && *horizon != kv::OffsetHistory::kOff) {
      KISSVDB_RETURN_IF_ERROR(tables[i]->SetHorizon(*txn, kv::OffsetHistory::kOff));
    } else if (!off && *horizon == kv::OffsetHistory::kOff) {
      KISSVDB_RETURN_IF_ERROR(tables[i]->Clear(*txn));
      KISSVDB_RETURN_IF_ERROR(tables[i]->SetHorizon(*txn, std::max<uint64_t>(*applied, 1)));
      seed[i] = *applied > 0;
    }
  }
  if (seed[0] || seed[1]) {
    auto ts = EventTimeAt(*applied);
    KISSVDB_RETURN_IF_ERROR(materializer_->SeedHistory(*txn, *applied, ts.ok() ? *ts : 0, seed[0], seed[1]));
    spdlog::info("history: starts at offset {} with the present of every {}", *applied,
                 seed[0] && seed[1] ? "key and document" : seed[0] ? "key" : "document");
  }
  return txn->Commit();
}

// The stored horizon as reads see it: never below the log's first offset;
// with history off, past the applied offset.
Result<uint64_t> EngineImpl::EffectiveHorizon(const kv::Txn& txn, const kv::OffsetHistory& history) const {
  auto horizon = history.Horizon(txn);
  if (!horizon.ok()) return horizon.status();
  if (*horizon == kv::OffsetHistory::kOff) {
    auto applied = materializer_->AppliedOffset(txn);
    if (!applied.ok()) return applied.status();
    return *applied + 1;
  }
  return std::max(*horizon, log_->first_offset());
}

// Where the setting puts the horizon now (only ever raised by the caller).
Result<uint64_t> EngineImpl::HistoryTarget(uint64_t applied, uint64_t stored) const {
  const HistoryRetention& r = config_.history_retention;
  if (r.kind == HistoryRetention::Kind::kOff) return kv::OffsetHistory::kOff;
  uint64_t target = log_->first_offset();
  if (r.kind == HistoryRetention::Kind::kOffsets && applied >= r.amount) {
    target = std::max(target, applied - r.amount + 1);
  } else if (r.kind == HistoryRetention::Kind::kDuration) {
    // The first offset whose event is at most `amount` old: a binary search
    // over the log by time (events are stamped in commit order).
    const uint64_t now = clock_.NowMs();
    const uint64_t cutoff = now > r.amount ? now - r.amount : 0;
    uint64_t lo = std::max(target, std::min(stored, applied)), hi = applied;  // the answer is in [lo, hi]
    while (lo < hi) {
      const uint64_t mid = lo + (hi - lo) / 2;
      auto ts = EventTimeAt(mid);
      if (!ts.ok()) return ts.status();
      if (*ts >= cutoff) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    target = std::max(target, lo);
  }
  return std::min(target, std::max<uint64_t>(applied, 1));  // the present stays readable
}

// One round of the background loop: starts a pass when the target moved
// (at most one pass per kPassSpacing × the last pass's time, so pruning
// takes a bounded share of a core) and goes on with it for kPruneBudget.
// Each batch walks up to kPruneVisits versions in a read transaction, then
// deletes in a short write transaction: the commit thread waits for one
// batch of deletions at most.
void EngineImpl::PruneHistory() {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + kPruneBudget;
  for (PruneCursor* c : {&prune_state_, &prune_docs_}) {
    const kv::OffsetHistory& history =
        c == &prune_state_ ? static_cast<const kv::OffsetHistory&>(materializer_->state_history())
                           : materializer_->doc_history();
    if (!c->running) {
      if (clock::now() < c->next_pass) continue;
      uint64_t applied, stored;
      {
        auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
        if (!txn.ok()) return;
        auto a = materializer_->AppliedOffset(*txn);
        auto h = history.Horizon(*txn);
        if (!a.ok() || !h.ok()) return;
        applied = *a;
        stored = *h;
      }
      auto target = HistoryTarget(applied, stored);
      if (!target.ok()) {
        spdlog::warn("history retention: {}", target.status().ToString());
        return;
      }
      const uint64_t horizon = std::max(*target, stored);
      if (horizon == c->horizon) continue;  // pruned to it already
      c->horizon = horizon;
      c->from.clear();
      c->running = true;
      c->started = clock::now();
    }
    while (c->running) {
      std::vector<std::string> doomed;
      Status st;
      {
        auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
        st = txn.ok() ? history.CollectPrunable(*txn, c->horizon, kPruneVisits, &c->from, &doomed) : txn.status();
      }
      if (st.ok()) {
        auto txn = kv::Txn::Begin(*env_, /*read_only=*/false);
        st = txn.ok() ? history.Prune(*txn, c->horizon, doomed) : txn.status();
        if (st.ok()) st = txn->Commit();
      }
      if (!st.ok()) {
        spdlog::warn("history retention: pruning to offset {}: {}", c->horizon, st.ToString());
        c->running = false;
        c->horizon = 0;  // retried from the start at the next pass
        c->next_pass = clock::now() + std::chrono::seconds(10);
        return;
      }
      history_pruned_ += doomed.size();
      if (c->from.empty()) {
        c->running = false;
        c->next_pass = clock::now() + kPassSpacing * (clock::now() - c->started);
      }
      if (clock::now() >= deadline) return;  // go on next round
    }
  }
}

HistoryStats EngineImpl::HistoryUsage() const {
  HistoryStats s;
  s.pruned = history_pruned_.load();
  auto txn = kv::Txn::Begin(*env_, /*read_only=*/true);
  if (!txn.ok()) return s;
  auto state = EffectiveHorizon(*txn, materializer_->state_history());
  auto docs = EffectiveHorizon(*txn, materializer_->doc_history());
  if (state.ok()) s.horizon = *state;
  if (docs.ok()) s.doc_horizon = *docs;
  const kv::OffsetHistory* tables[2] = {&materializer_->state_history(), &materializer_->doc_history()};
  for (const kv::OffsetHistory* history : tables) {
    auto usage = history->Usage(*txn);
    if (!usage.ok()) continue;
    s.versions += usage->versions;
    s.bytes += usage->bytes;
  }
  return s;
}

}  // namespace kissvdb
