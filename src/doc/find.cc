#include "doc/find.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <queue>

#include "doc/db_cursor.h"
#include "doc/index_codec.h"
#include "doc/page_cursor.h"

namespace kissvdb::doc {

namespace {

// A $gt/$gte/$lt/$lte constraint on one top-level field, in encoded space.
// The walk skips entries equal to a strict bound only when equal encodings
// mean equal values for the filter (strings; floats; integers below 2^53);
// otherwise it keeps them and the full filter decides.
struct Range {
  std::string field;
  uint8_t type = 0;  // tag::kNumber or tag::kString: the only types ranges match
  std::string lo;    // encoded bound, "" = none
  std::string hi;    // encoded bound, "" = none
  bool lo_strict = false;
  bool hi_strict = false;

  bool BelowLo(std::string_view v) const { return !lo.empty() && (v < lo || (lo_strict && v == lo)); }
  bool AboveHi(std::string_view v) const { return !hi.empty() && (v > hi || (hi_strict && v == hi)); }
};

// Whether equal encodings of `operand` and a document value imply equality
// under JsonFilter's comparison.
bool ExactBound(const Json& operand) {
  constexpr int64_t kExact = int64_t{1} << 53;
  if (operand.is_number_unsigned()) return operand.get<uint64_t>() < uint64_t{kExact};
  if (operand.is_number_integer()) return operand.get<int64_t>() < kExact && operand.get<int64_t>() > -kExact;
  return true;  // strings and floats
}

struct Constraints {
  std::vector<std::pair<std::string, std::vector<Json>>> ins;
  std::vector<Range> ranges;
};

bool IsOperatorObject(const Json& v) {
  return v.is_object() && !v.empty() && !v.begin().key().empty() && v.begin().key()[0] == '$';
}

// Top-level $in and range constraints: entries of the filter object and of
// top-level $and members (the same reach as JsonFilter::EqualityFields).
void Extract(const Json& filter, Constraints* out) {
  if (!filter.is_object()) return;
  for (auto it = filter.begin(); it != filter.end(); ++it) {
    const std::string& key = it.key();
    const Json& v = it.value();
    if (key == "$and" && v.is_array()) {
      for (const Json& sub : v) Extract(sub, out);
      continue;
    }
    if (key.empty() || key[0] == '$' || key.find('.') != std::string::npos || !IsOperatorObject(v)) continue;
    Range r;
    r.field = key;
    bool mixed = false;
    for (auto op = v.begin(); op != v.end(); ++op) {
      const std::string& name = op.key();
      const Json& arg = op.value();
      if (name == "$in" && arg.is_array()) {
        out->ins.emplace_back(key, std::vector<Json>(arg.begin(), arg.end()));
        continue;
      }
      const bool lower = name == "$gt" || name == "$gte";
      if (!lower && name != "$lt" && name != "$lte") continue;
      const uint8_t type = arg.is_number() ? tag::kNumber : arg.is_string() ? tag::kString : 0;
      if (type == 0 || (r.type != 0 && r.type != type)) {
        mixed = true;  // matches nothing; the scan finds that out
        continue;
      }
      r.type = type;
      std::string& bound = lower ? r.lo : r.hi;
      if (bound.empty()) {
        AppendScalar(&bound, arg);
        (lower ? r.lo_strict : r.hi_strict) = (name == "$gt" || name == "$lt") && ExactBound(arg);
      }
    }
    if (!mixed && r.type != 0) out->ranges.push_back(std::move(r));
  }
}


// Encodes an operand for an index lookup; false if it cannot be indexed.
bool IndexKeyOf(const Json& v, std::string* out) {
  out->clear();
  return AppendScalar(out, v) && out->size() <= kMaxIndexedValueBytes;
}

class Finder {
 public:
  Finder(const DocStore& store, const kv::Txn& txn, const FindRequest& req, FindResult* out)
      : store_(store), txn_(txn), req_(req), out_(out) {}

  Status Run();
  bool gave_up() const { return gave_up_; }

 private:
  // Receives candidate ids in id order; `record` is the stored value when
  // the source already read it. Returns false to stop.
  using IdVisitor = std::function<Result<bool>(std::string_view id, const std::string_view* record)>;

  enum class Source { kScan, kEq, kIn, kRange };

  Status ChoosePlan();
  // Index entries under `prefixes`, counting no further than `cap`.
  Result<uint64_t> CountEntries(const std::vector<std::string>& prefixes, uint64_t cap);
  Result<FieldStats> StatsOf(const std::string& field);

  // Id-order sources; each visits ids strictly after `after`.
  Status ScanIds(std::string_view after, const IdVisitor& visit);
  Status PrefixIds(const std::vector<std::string>& prefixes, std::string_view after, const IdVisitor& visit);
  // Fills range_ids_ (sorted); false when the range is not selective.
  Result<bool> CollectRange(const Range& r);
  Status RunSource(std::string_view after, const IdVisitor& visit);

  Status WalkSortIndex();
  Status SortInMemory();

  // Reads and checks one candidate. *match is set; *doc is parsed when the
  // filter (or want_doc) needed it.
  Status Evaluate(std::string_view id, const std::string_view* record, bool want_doc, bool* match,
                  uint64_t* revision, std::string_view* json, Json* doc);
  // True (and gave_up_ set) once the work done reaches req_.give_up_after.
  bool Spent() {
    if (req_.give_up_after == 0 || examined_ + index_entries_ < req_.give_up_after) return false;
    gave_up_ = true;
    return true;
  }
  // Adds a match to the page; false once the page is full (limit+1 seen).
  bool Accept(std::string_view id, uint64_t revision, std::string_view json, std::string_view sort_key);

  const DocStore& store_;
  const kv::Txn& txn_;
  const FindRequest& req_;
  FindResult* out_;

  std::optional<PageCursor> cursor_;
  uint64_t count_ = 0;
  Source source_ = Source::kScan;
  std::string index_field_;
  std::vector<std::string> prefixes_;     // kEq (one) / kIn
  std::vector<std::string> range_ids_;    // kRange
  std::optional<Range> sort_range_;       // bounds the sort walk
  bool sort_walk_ = false;
  bool has_more_ = false;
  std::string last_sort_key_;
  uint64_t examined_ = 0;
  uint64_t index_entries_ = 0;
  std::string range_note_;
  bool gave_up_ = false;
};

// What a Finder returns when it reaches req_.give_up_after (see Spent()).
Status GaveUp() { return Status(Code::kRequestTimeout, "find reached its work budget"); }

Result<FieldStats> Finder::StatsOf(const std::string& field) {
  return store_.Stats(txn_, req_.collection, field);
}

Result<uint64_t> Finder::CountEntries(const std::vector<std::string>& prefixes, uint64_t cap) {
  uint64_t n = 0;
  auto c = DbCursor::Open(txn_, store_.index_dbi());
  if (!c.ok()) return c.status();
  for (const std::string& p : prefixes) {
    for (bool v = c->Seek(p); v && n < cap && HasPrefix(c->key(), p); v = c->Next()) ++n;
    if (n >= cap) break;
  }
  KISSVDB_RETURN_IF_ERROR(c->status());
  return n;
}

Status Finder::ChoosePlan() {
  std::string enc;
  // Index candidates for 1 and 2: every usable equality and $in, each with
  // the number of its index entries (counted up to the best so far).
  struct Candidate {
    Source source;
    std::string field;
    std::vector<std::string> prefixes;
  };
  std::vector<Candidate> candidates;
  if (req_.compiled != nullptr) {
    for (const auto& [field, value] : req_.compiled->EqualityFields()) {
      if (IndexableField(field) && IndexKeyOf(value, &enc)) {
        candidates.push_back({Source::kEq, field, {FieldPrefix(req_.collection, field) + enc}});
      }
    }
  }
  Constraints cons;
  Extract(req_.filter, &cons);
  for (const auto& [field, values] : cons.ins) {
    if (!IndexableField(field)) continue;
    Candidate cand{Source::kIn, field, {}};
    bool usable = true;
    for (const Json& v : values) {
      if (!(usable = IndexKeyOf(v, &enc))) break;
      cand.prefixes.push_back(FieldPrefix(req_.collection, field) + enc);
    }
    if (!usable) continue;
    std::sort(cand.prefixes.begin(), cand.prefixes.end());
    cand.prefixes.erase(std::unique(cand.prefixes.begin(), cand.prefixes.end()), cand.prefixes.end());
    candidates.push_back(std::move(cand));
  }
  auto range_usable = [&](const Range& r) -> Result<bool> {
    if (!IndexableField(r.field)) return false;
    auto stats = StatsOf(r.field);
    if (!stats.ok()) return stats.status();
    return stats->unfit == 0 && (r.type == tag::kNumber || stats->long_values == 0);
  };
  std::vector<const Candidate*> usable;
  for (const Candidate& cand : candidates) {
    auto stats = StatsOf(cand.field);
    if (!stats.ok()) return stats.status();
    if (stats->unfit == 0) usable.push_back(&cand);  // else some equal values may lack an entry
  }
  // 3. Sort on a field whose index covers every document. Against an
  // equality/$in candidate of C entries: reading all C and sorting them
  // costs C, walking the sort index until limit+1 matches costs about
  // (limit+1) * N / C when the two are independent: walk when C > walk_at.
  bool can_walk = false;
  if (req_.sort && IndexableField(req_.sort->field) && req_.sort->field.find('.') == std::string::npos) {
    auto stats = StatsOf(req_.sort->field);
    if (!stats.ok()) return stats.status();
    can_walk = stats->indexed == count_;
  }
  const uint64_t walk_at =
      can_walk ? static_cast<uint64_t>(std::sqrt(static_cast<double>(count_) * (req_.limit + 1.0))) : UINT64_MAX;
  // The candidate with the fewest entries, counted with a growing cap so a
  // huge one costs no more than a few times the smallest.
  const Candidate* best = nullptr;
  uint64_t best_count = UINT64_MAX;
  if (usable.size() == 1 && !can_walk) {
    best = usable[0];
  } else if (!usable.empty()) {
    std::vector<std::optional<uint64_t>> exact(usable.size());
    for (uint64_t cap = 64;; cap *= 8) {
      for (size_t i = 0; i < usable.size(); ++i) {
        if (!exact[i]) {
          auto n = CountEntries(usable[i]->prefixes, cap);
          if (!n.ok()) return n.status();
          if (*n < cap) exact[i] = *n;
        }
        // Equality wins ties over $in (it comes first).
        if (exact[i] && *exact[i] < best_count) {
          best = usable[i];
          best_count = *exact[i];
        }
      }
      if (best != nullptr || cap > walk_at) break;
    }
  }
  const bool sort_walk = can_walk && (best == nullptr || best_count > walk_at);
  if (best != nullptr && !sort_walk) {
    source_ = best->source;
    index_field_ = best->field;
    prefixes_ = best->prefixes;
    return Status::OK();
  }
  if (sort_walk) {
    sort_walk_ = true;
    index_field_ = req_.sort->field;
    for (const Range& r : cons.ranges) {
      if (r.field != index_field_) continue;
      auto fits = range_usable(r);
      if (!fits.ok()) return fits.status();
      if (*fits) {
        sort_range_ = r;
        break;
      }
    }
    return Status::OK();
  }
  // 4. Range.
  for (const Range& r : cons.ranges) {
    auto fits = range_usable(r);
    if (!fits.ok()) return fits.status();
    if (!*fits) continue;
    auto selective = CollectRange(r);
    if (!selective.ok()) return selective.status();
    if (*selective) {
      source_ = Source::kRange;
      index_field_ = r.field;
      return Status::OK();
    }
    range_note_ = "range on " + r.field + " holds more than a quarter of the collection";
  }
  return Status::OK();  // 5. scan
}

Status Finder::ScanIds(std::string_view after, const IdVisitor& visit) {
  const std::string prefix = CollectionPrefix(req_.collection);
  auto c = DbCursor::Open(txn_, store_.docs_dbi());
  if (!c.ok()) return c.status();
  const std::string start = prefix + std::string(after);
  for (bool v = c->Seek(start); v && HasPrefix(c->key(), prefix); v = c->Next()) {
    std::string_view id = c->key().substr(prefix.size());
    if (!after.empty() && id == after) continue;
    std::string_view record = c->value();
    auto more = visit(id, &record);
    if (!more.ok()) return more.status();
    if (!*more) break;
  }
  return c->status();
}

Status Finder::PrefixIds(const std::vector<std::string>& prefixes, std::string_view after,
                         const IdVisitor& visit) {
  // One cursor per prefix, merged by id (each walk is already in id order).
  std::vector<DbCursor> cursors;
  using Head = std::pair<std::string_view, size_t>;  // (id, cursor index)
  std::priority_queue<Head, std::vector<Head>, std::greater<Head>> heads;
  auto advance = [&](size_t i, bool first) -> Status {
    DbCursor& c = cursors[i];
    const std::string& p = prefixes[i];
    bool v = first ? c.Seek(p + std::string(after)) : c.Next();
    if (v && first && !after.empty() && c.key().substr(p.size()) == after) v = c.Next();
    if (v && HasPrefix(c.key(), p)) {
      ++index_entries_;
      heads.emplace(c.key().substr(p.size()), i);
    }
    return c.status();
  };
  cursors.reserve(prefixes.size());
  for (size_t i = 0; i < prefixes.size(); ++i) {
    auto c = DbCursor::Open(txn_, store_.index_dbi());
    if (!c.ok()) return c.status();
    cursors.push_back(std::move(c.value()));
    KISSVDB_RETURN_IF_ERROR(advance(i, true));
  }
  while (!heads.empty()) {
    auto [id, i] = heads.top();
    heads.pop();
    auto more = visit(id, nullptr);
    if (!more.ok()) return more.status();
    if (!*more) break;
    KISSVDB_RETURN_IF_ERROR(advance(i, false));
  }
  return Status::OK();
}

Result<bool> Finder::CollectRange(const Range& r) {
  const std::string field_prefix = FieldPrefix(req_.collection, r.field);
  const uint64_t cap = std::max<uint64_t>(64, count_ / 4);
  auto c = DbCursor::Open(txn_, store_.index_dbi());
  if (!c.ok()) return c.status();
  const std::string start = field_prefix + (r.lo.empty() ? std::string(1, static_cast<char>(r.type)) : r.lo);
  range_ids_.clear();
  for (bool v = c->Seek(start); v && HasPrefix(c->key(), field_prefix); v = c->Next()) {
    std::string_view rest = c->key().substr(field_prefix.size());
    const size_t n = ScalarLength(rest);
    if (n == 0) return Status::Corruption("malformed doc_index key");
    std::string_view value = rest.substr(0, n);
    if (static_cast<uint8_t>(value[0]) != r.type || r.AboveHi(value)) break;
    ++index_entries_;
    if (Spent()) return GaveUp();
    if (r.BelowLo(value)) continue;  // equal to a strict lower bound
    if (range_ids_.size() >= cap) {
      range_ids_.clear();
      return false;
    }
    range_ids_.emplace_back(rest.substr(n));
  }
  KISSVDB_RETURN_IF_ERROR(c->status());
  std::sort(range_ids_.begin(), range_ids_.end());
  return true;
}

Status Finder::RunSource(std::string_view after, const IdVisitor& visit) {
  switch (source_) {
    case Source::kScan:
      return ScanIds(after, visit);
    case Source::kEq:
    case Source::kIn:
      return PrefixIds(prefixes_, after, visit);
    case Source::kRange: {
      auto it = std::upper_bound(range_ids_.begin(), range_ids_.end(), after,
                                 [](std::string_view a, const std::string& b) { return a < b; });
      for (; it != range_ids_.end(); ++it) {
        auto more = visit(*it, nullptr);
        if (!more.ok()) return more.status();
        if (!*more) break;
      }
      return Status::OK();
    }
  }
  return Status::OK();
}

Status Finder::Evaluate(std::string_view id, const std::string_view* record, bool want_doc, bool* match,
                        uint64_t* revision, std::string_view* json, Json* doc) {
  *match = false;
  if (record != nullptr) {
    auto rec = DocStore::DecodeRecord(*record);
    if (!rec) return Status::Corruption("document record shorter than its header");
    *revision = rec->revision;
    *json = rec->json;
  } else {
    auto rec = store_.Get(txn_, req_.collection, id);
    if (!rec.ok()) return rec.status();
    if (!rec->has_value()) return Status::Corruption("doc_index names a missing document");
    *revision = (*rec)->revision;
    *json = (*rec)->json;
  }
  ++examined_;
  if (Spent()) return GaveUp();
  const bool filtered = req_.compiled != nullptr && !req_.compiled->MatchesAll();
  if (filtered || want_doc) {
    *doc = Json::parse(*json, nullptr, /*allow_exceptions=*/false);
    if (doc->is_discarded()) return Status::Corruption("stored document is not valid JSON");
  }
  *match = !filtered || req_.compiled->Matches(*doc);
  return Status::OK();
}

bool Finder::Accept(std::string_view id, uint64_t revision, std::string_view json, std::string_view sort_key) {
  if (out_->docs.size() >= req_.limit) {
    has_more_ = true;
    return false;
  }
  out_->docs.push_back(FoundDoc{std::string(id), revision, std::string(json)});
  last_sort_key_.assign(sort_key);
  return true;
}

Status Finder::WalkSortIndex() {
  const bool desc = req_.sort->descending;
  const std::string field_prefix = FieldPrefix(req_.collection, index_field_);
  std::string resume;  // the cursor's index key: results start strictly after (before, desc) it
  if (cursor_) resume = field_prefix + cursor_->sort_key + cursor_->id;
  auto c = DbCursor::Open(txn_, store_.index_dbi());
  if (!c.ok()) return c.status();
  const Range* r = sort_range_ ? &*sort_range_ : nullptr;
  bool v;
  if (!desc) {
    std::string start = field_prefix;
    if (r) start += r->lo.empty() ? std::string(1, static_cast<char>(r->type)) : r->lo;
    if (!resume.empty() && resume > start) start = resume;
    v = c->Seek(start);
    if (v && !resume.empty() && c->key() == resume) v = c->Next();
  } else {
    std::string end = field_prefix;  // exclusive
    if (!r) {
      end.push_back('\xff');
    } else if (r->hi.empty()) {
      end.push_back(static_cast<char>(r->type + 1));
    } else {
      end += r->hi + '\xff';  // ids never contain 0xFF
    }
    if (!resume.empty() && resume < end) end = resume;
    v = c->SeekBefore(end);
  }
  for (; v && HasPrefix(c->key(), field_prefix); v = desc ? c->Prev() : c->Next()) {
    std::string_view rest = c->key().substr(field_prefix.size());
    const size_t n = ScalarLength(rest);
    if (n == 0) return Status::Corruption("malformed doc_index key");
    std::string_view value = rest.substr(0, n);
    ++index_entries_;
    if (r) {
      if (static_cast<uint8_t>(value[0]) != r->type) break;
      // Past the far bound: stop; on a strict near bound: skip.
      if (desc ? r->BelowLo(value) : r->AboveHi(value)) break;
      if (desc ? r->AboveHi(value) : r->BelowLo(value)) continue;
    }
    // Copy: reading the document may reuse the cursor's memory.
    const std::string key(value), id(rest.substr(n));
    bool match;
    uint64_t revision;
    std::string_view json;
    Json doc;
    KISSVDB_RETURN_IF_ERROR(Evaluate(id, nullptr, false, &match, &revision, &json, &doc));
    if (match && !Accept(id, revision, json, key)) break;
  }
  return c->status();
}

Status Finder::SortInMemory() {
  const bool desc = req_.sort->descending;
  struct Item {
    std::string key;
    std::string id;
  };
  auto before = [desc](const Item& a, const Item& b) {
    int cmp = a.key.compare(b.key);
    if (cmp == 0) cmp = a.id.compare(b.id);
    return desc ? cmp > 0 : cmp < 0;
  };
  std::optional<Item> resume;
  if (cursor_) resume = Item{cursor_->sort_key, cursor_->id};
  std::vector<Item> items;
  KISSVDB_RETURN_IF_ERROR(RunSource("", [&](std::string_view id, const std::string_view* record) -> Result<bool> {
    bool match;
    uint64_t revision;
    std::string_view json;
    Json doc;
    KISSVDB_RETURN_IF_ERROR(Evaluate(id, record, true, &match, &revision, &json, &doc));
    if (!match) return true;
    Item item{SortKey(JsonFilter::ResolvePath(doc, req_.sort->field)), std::string(id)};
    if (!resume || before(*resume, item)) items.push_back(std::move(item));
    return true;
  }));
  const size_t keep = std::min<size_t>(items.size(), size_t{req_.limit} + 1);
  std::partial_sort(items.begin(), items.begin() + keep, items.end(), before);
  items.resize(keep);
  for (const Item& item : items) {
    auto rec = store_.Get(txn_, req_.collection, item.id);
    if (!rec.ok()) return rec.status();
    if (!rec->has_value()) return Status::Corruption("document vanished inside a read transaction");
    if (!Accept(item.id, (*rec)->revision, (*rec)->json, item.key)) break;
  }
  return Status::OK();
}

Status Finder::Run() {
  if (!req_.cursor.empty()) {
    auto c = DecodeCursor(req_.cursor);
    if (!c.ok()) return c.status();
    const bool same = req_.sort ? c->sorted && c->field == req_.sort->field && c->descending == req_.sort->descending
                                : !c->sorted;
    if (!same) return Status::InvalidArgument("cursor was issued for a different sort");
    cursor_ = std::move(c.value());
  }
  auto count = store_.Count(txn_, req_.collection);
  if (!count.ok()) return count.status();
  count_ = *count;
  if (count_ > 0) KISSVDB_RETURN_IF_ERROR(ChoosePlan());

  if (count_ == 0) {
    // Nothing to read.
  } else if (sort_walk_) {
    KISSVDB_RETURN_IF_ERROR(WalkSortIndex());
  } else if (req_.sort) {
    KISSVDB_RETURN_IF_ERROR(SortInMemory());
  } else {
    KISSVDB_RETURN_IF_ERROR(
        RunSource(cursor_ ? std::string_view(cursor_->id) : std::string_view(),
                  [&](std::string_view id, const std::string_view* record) -> Result<bool> {
                    bool match;
                    uint64_t revision;
                    std::string_view json;
                    Json doc;
                    KISSVDB_RETURN_IF_ERROR(Evaluate(id, record, false, &match, &revision, &json, &doc));
                    return !match || Accept(id, revision, json, "");
                  }));
  }

  if (has_more_ && !out_->docs.empty()) {
    PageCursor next;
    next.id = out_->docs.back().id;
    if (req_.sort) {
      next.sorted = true;
      next.field = req_.sort->field;
      next.descending = req_.sort->descending;
      next.sort_key = last_sort_key_;
    }
    out_->next_cursor = EncodeCursor(next);
  }

  Json plan = Json::object();
  const bool indexed = sort_walk_ || source_ != Source::kScan;
  plan["used"] = indexed ? "index" : "scan";
  if (indexed) {
    plan["field"] = index_field_;
    plan["op"] = sort_walk_ ? "sort" : source_ == Source::kEq ? "eq" : source_ == Source::kIn ? "in" : "range";
    plan["index_entries"] = index_entries_;
  }
  if (req_.sort) plan["sort"] = sort_walk_ ? "index" : "memory";
  if (!range_note_.empty() && !indexed) plan["note"] = range_note_;
  plan["examined"] = examined_;
  out_->plan = std::move(plan);
  return Status::OK();
}

}  // namespace

Status Find(const DocStore& store, const kv::Txn& txn, const FindRequest& request, FindResult* result) {
  if (request.limit == 0) return Status::InvalidArgument("limit must be at least 1");
  Finder finder(store, txn, request, result);
  Status st = finder.Run();
  if (finder.gave_up()) {
    *result = FindResult();
    result->gave_up = true;
    return Status::OK();
  }
  return st;
}

}  // namespace kissvdb::doc
