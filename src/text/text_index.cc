#include "text/text_index.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>

#include "text/fts5_tokenizer.h"
#include "text/sqlite_conn.h"
#include "util/digest.h"

namespace kissvdb::text {

namespace {

constexpr int64_t kFormatVersion = 1;
constexpr size_t kMaxIdleReaders = 32;

const char* TokenizeClause(Tokenizer t) {
  switch (t) {
    case Tokenizer::kUnicode61: return "unicode61 remove_diacritics 2";
    case Tokenizer::kPorter: return "porter unicode61 remove_diacritics 2";
    case Tokenizer::kTrigram: return "trigram";
  }
  return "unicode61 remove_diacritics 2";
}

std::string F(int64_t id) { return "f" + std::to_string(id); }
std::string M(int64_t id) { return "m" + std::to_string(id); }

// "c0, c1, ..." for a spec's fields.
std::string Columns(const TextSpec& spec) {
  std::string s;
  for (size_t i = 0; i < spec.fields.size(); ++i) s += (i ? ", c" : "c") + std::to_string(i);
  return s;
}

// The collection an item or definition event names ("" when none).
const std::string* CollectionOf(const Event& ev) {
  auto it = ev.data.find("collection");
  return it != ev.data.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

const std::string* IdOf(const Event& ev) {
  auto it = ev.data.find("id");
  return it != ev.data.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

bool IsVectorItemEvent(std::string_view t) {
  return t == event_type::kVectorAdded || t == event_type::kVectorUpserted || t == event_type::kVectorUpdated ||
         t == event_type::kVectorDeleted;
}

bool IsDocItemEvent(std::string_view t) { return t == event_type::kDocUpdated || t == event_type::kDocDeleted; }

}  // namespace

// A read connection from the pool, returned when the lease ends.
class TextIndex::ReadLease {
 public:
  explicit ReadLease(const TextIndex& index) : index_(index) {}
  ~ReadLease() {
    if (conn_ == nullptr) return;
    std::lock_guard lk(index_.pool_mu_);
    if (index_.pool_.size() < kMaxIdleReaders) index_.pool_.push_back(std::move(conn_));
  }
  Result<SqliteConn*> Get() {
    {
      std::lock_guard lk(index_.pool_mu_);
      if (!index_.pool_.empty()) {
        conn_ = std::move(index_.pool_.back());
        index_.pool_.pop_back();
        return conn_.get();
      }
    }
    auto c = SqliteConn::Open(index_.path_, /*read_only=*/true);
    if (!c.ok()) return c.status();
    conn_ = std::move(c.value());
    return conn_.get();
  }

 private:
  const TextIndex& index_;
  std::unique_ptr<SqliteConn> conn_;
};

Result<std::unique_ptr<TextIndex>> TextIndex::Open(const std::string& path) {
  auto index = std::unique_ptr<TextIndex>(new TextIndex(path));
  auto tokenizers = Fts5Tokenizers::Open();
  if (!tokenizers.ok()) return tokenizers.status();
  index->tokenizers_ = std::move(tokenizers.value());
  Status st = index->Init();
  if (st.code() == Code::kCorruption) {
    spdlog::warn("text index {}: {}; removing it to rebuild it from the stores", path, st.ToString());
    index->writer_.reset();
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix, ec);
    st = index->Init();
  }
  if (!st.ok()) return st;
  return index;
}

TextIndex::TextIndex(std::string path) : path_(std::move(path)) {}
TextIndex::~TextIndex() = default;

Status TextIndex::Init() {
  auto conn = SqliteConn::Open(path_, /*read_only=*/false);
  if (!conn.ok()) return conn.status();
  writer_ = std::move(conn.value());
  auto version = writer_->Prepare("SELECT value FROM meta WHERE key = 'format_version'");
  if (version.ok()) {
    auto row = version->Step();
    if (!row.ok()) return row.status();
    if (!*row || version->Int(0) != kFormatVersion) {
      return Status::Corruption("format version " + std::string(*row ? std::to_string(version->Int(0)) : "none") +
                                ", this build reads " + std::to_string(kFormatVersion));
    }
  } else if (version.status().code() == Code::kSqliteError) {  // no meta table: a new file
    KISSVDB_RETURN_IF_ERROR(writer_->Exec(
        "BEGIN;"
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
        "CREATE TABLE indexes(id INTEGER PRIMARY KEY, target TEXT NOT NULL, collection TEXT NOT NULL,"
        " spec TEXT NOT NULL, UNIQUE(target, collection));"
        "INSERT INTO meta VALUES('format_version', " + std::to_string(kFormatVersion) + "), ('applied_offset', 0);"
        "COMMIT;"));
    fresh_ = true;
  } else {
    return version.status();
  }
  auto applied = writer_->Prepare("SELECT value FROM meta WHERE key = 'applied_offset'");
  if (!applied.ok()) return applied.status();
  auto row = applied->Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::Corruption("meta has no applied_offset");
  applied_ = persisted_ = static_cast<uint64_t>(applied->Int(0));
  applied_view_ = applied_;
  return LoadTables();
}

Status TextIndex::LoadTables() {
  std::map<Key, Table> tables;
  auto stmt = writer_->Prepare("SELECT id, target, collection, spec FROM indexes");
  if (!stmt.ok()) return stmt.status();
  for (;;) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    auto target = ParseTarget(stmt->Text(1));
    auto spec = SpecFromJson(Json::parse(stmt->Text(3), nullptr, /*allow_exceptions=*/false));
    if (!target.ok() || !spec.ok()) return Status::Corruption("a row of table indexes is malformed");
    tables[{*target, std::string(stmt->Text(2))}] = Table{stmt->Int(0), std::move(*spec)};
  }
  work_ = tables;
  std::unique_lock lk(tables_mu_);
  tables_ = std::move(tables);
  return Status::OK();
}

uint64_t TextIndex::applied_offset() const { return applied_view_.load(); }

std::optional<TextIndex::Table> TextIndex::TableOf(Target target, const std::string& collection) const {
  std::shared_lock lk(tables_mu_);
  auto it = tables_.find(Key{target, collection});
  if (it == tables_.end()) return std::nullopt;
  return it->second;
}

// ---- Writes ----------------------------------------------------------------

Status TextIndex::DropTable(const Key& key) {
  auto it = work_.find(key);
  if (it == work_.end()) return Status::OK();
  const int64_t id = it->second.id;
  dropped_.insert(id);  // SQLite may give a new table the same id
  writer_->ClearCache();
  KISSVDB_RETURN_IF_ERROR(writer_->Exec("DROP TABLE " + F(id) + "; DROP TABLE " + M(id) + ";"));
  auto del = writer_->Prepare("DELETE FROM indexes WHERE id = ?1");
  if (!del.ok()) return del.status();
  KISSVDB_RETURN_IF_ERROR(del->Bind(1, id).Run());
  work_.erase(it);
  return Status::OK();
}

Status TextIndex::CreateTable(const IndexDef& def, const Source& source) {
  {
    auto ins = writer_->Prepare("INSERT INTO indexes(target, collection, spec) VALUES(?1, ?2, ?3)");
    if (!ins.ok()) return ins.status();
    KISSVDB_RETURN_IF_ERROR(
        ins->Bind(1, TargetName(def.target)).Bind(2, def.collection).Bind(3, SpecToJson(def.spec).dump()).Run());
  }
  const Table table{writer_->LastInsertRowid(), def.spec};
  KISSVDB_RETURN_IF_ERROR(writer_->Exec("CREATE TABLE " + M(table.id) +
                                        "(rid INTEGER PRIMARY KEY, item TEXT NOT NULL UNIQUE)"));
  KISSVDB_RETURN_IF_ERROR(writer_->Exec("CREATE VIRTUAL TABLE " + F(table.id) + " USING fts5(" +
                                        Columns(def.spec) + ", tokenize = '" + TokenizeClause(def.spec.tokenizer) +
                                        "')"));
  work_[Key{def.target, def.collection}] = table;
  return source(def.target, def.collection,
                [&](std::string_view id, const Json& object) { return PutItem(table, id, object); });
}

Status TextIndex::PutItem(const Table& table, std::string_view id, const Json& object) {
  std::vector<std::string> fields = ExtractFields(table.spec, object);
  if (TextBytes(fields) == 0) return DeleteItem(table, id);
  int64_t rid = 0;
  {
    auto find = writer_->Prepare("SELECT rid FROM " + M(table.id) + " WHERE item = ?1");
    if (!find.ok()) return find.status();
    auto row = find->Bind(1, id).Step();
    if (!row.ok()) return row.status();
    if (*row) rid = find->Int(0);
  }
  std::string sql;
  if (rid != 0) {
    sql = "UPDATE " + F(table.id) + " SET ";
    for (size_t i = 0; i < fields.size(); ++i) sql += (i ? ", c" : "c") + std::to_string(i) + " = ?" + std::to_string(i + 2);
    sql += " WHERE rowid = ?1";
  } else {
    auto ins = writer_->Prepare("INSERT INTO " + M(table.id) + "(item) VALUES(?1)");
    if (!ins.ok()) return ins.status();
    KISSVDB_RETURN_IF_ERROR(ins->Bind(1, id).Run());
    rid = writer_->LastInsertRowid();
    sql = "INSERT INTO " + F(table.id) + "(rowid, " + Columns(table.spec) + ") VALUES(?1";
    for (size_t i = 0; i < fields.size(); ++i) sql += ", ?" + std::to_string(i + 2);
    sql += ")";
  }
  auto put = writer_->Prepare(sql);
  if (!put.ok()) return put.status();
  put->Bind(1, rid);
  for (size_t i = 0; i < fields.size(); ++i) put->Bind(static_cast<int>(i + 2), fields[i]);
  KISSVDB_RETURN_IF_ERROR(put->Run());
  Note(table, id, &fields);
  return Status::OK();
}

Status TextIndex::DeleteItem(const Table& table, std::string_view id) {
  int64_t rid = 0;
  {
    auto find = writer_->Prepare("SELECT rid FROM " + M(table.id) + " WHERE item = ?1");
    if (!find.ok()) return find.status();
    auto row = find->Bind(1, id).Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::OK();
    rid = find->Int(0);
  }
  Note(table, id, nullptr);
  for (const std::string& sql : {"DELETE FROM " + F(table.id) + " WHERE rowid = ?1",
                                 "DELETE FROM " + M(table.id) + " WHERE rid = ?1"}) {
    auto del = writer_->Prepare(sql);
    if (!del.ok()) return del.status();
    KISSVDB_RETURN_IF_ERROR(del->Bind(1, rid).Run());
  }
  return Status::OK();
}

Status TextIndex::SetApplied(uint64_t offset) {
  auto set = writer_->Prepare("UPDATE meta SET value = ?1 WHERE key = 'applied_offset'");
  if (!set.ok()) return set.status();
  return set->Bind(1, static_cast<int64_t>(offset)).Run();
}

// Applies one event inside the writer's transaction; *changed tells whether
// it was one the index holds anything of.
Status TextIndex::ApplyOne(const Event& ev, const Source& source, bool* changed) {
  const std::string_view type = ev.type;
  if (TextDefs::Handles(type)) {
    auto def = TextDefs::DefinedBy(ev);
    if (!def.ok()) return def.status();
    if (def->has_value()) {
      const IndexDef& d = **def;
      KISSVDB_RETURN_IF_ERROR(DropTable(Key{d.target, d.collection}));
      *changed = true;
      return CreateTable(d, source);
    }
    if (type == event_type::kVectorCollectionCreated) return Status::OK();
    const std::string* collection = CollectionOf(ev);
    if (collection == nullptr) return Status::OK();
    Key key{type.rfind("vector_", 0) == 0 ? Target::kVector : Target::kDoc, *collection};
    if (work_.count(key) == 0) return Status::OK();
    *changed = true;
    return DropTable(key);
  }
  const bool vector_item = IsVectorItemEvent(type);
  if (!vector_item && !IsDocItemEvent(type)) return Status::OK();
  const std::string* collection = CollectionOf(ev);
  const std::string* id = IdOf(ev);
  if (collection == nullptr || id == nullptr) return Status::OK();
  auto it = work_.find(Key{vector_item ? Target::kVector : Target::kDoc, *collection});
  if (it == work_.end()) return Status::OK();
  *changed = true;
  if (type == event_type::kVectorDeleted || type == event_type::kDocDeleted) return DeleteItem(it->second, *id);
  auto object = ev.data.find(vector_item ? "meta" : "doc");
  static const Json kNull;
  return PutItem(it->second, *id, object == ev.data.end() ? kNull : *object);
}

Status TextIndex::Finish(Status st, bool tables_changed) {
  if (st.ok()) st = writer_->Exec("COMMIT");
  if (!st.ok()) {
    Status rolled_back = writer_->Exec("ROLLBACK");
    (void)rolled_back;
    writer_->ClearCache();
    Status reload = LoadTables();
    if (!reload.ok()) spdlog::error("text index: reloading after a failed write: {}", reload.ToString());
    PublishPostings(/*committed=*/false);
    return st;
  }
  if (tables_changed) {
    std::unique_lock lk(tables_mu_);
    tables_ = work_;
  }
  PublishPostings(/*committed=*/true);
  return st;
}

Status TextIndex::Apply(const std::vector<Event>& events, const Source& source) {
  if (events.empty()) return Status::OK();
  std::lock_guard lk(write_mu_);
  bool in_txn = false, tables_changed = false;
  Status st;
  for (const Event& ev : events) {
    // Most events (KV, user events, collections without a text index) do
    // not concern the index: no transaction for a group of only those.
    const bool defines = TextDefs::Handles(ev.type);
    if (!in_txn) {
      const std::string* collection = CollectionOf(ev);
      bool concerns = defines;
      if (!concerns && collection != nullptr && (IsVectorItemEvent(ev.type) || IsDocItemEvent(ev.type))) {
        concerns = work_.count(Key{IsDocItemEvent(ev.type) ? Target::kDoc : Target::kVector, *collection}) > 0;
      }
      if (!concerns) continue;
      st = writer_->Exec("BEGIN IMMEDIATE");
      if (!st.ok()) return st;
      in_txn = true;
    }
    bool changed = false;
    st = ApplyOne(ev, source, &changed);
    if (!st.ok()) break;
    tables_changed |= defines && changed;
  }
  const uint64_t last = events.back().offset;
  if (in_txn) {
    if (st.ok()) st = SetApplied(last);
    st = Finish(st, tables_changed);
    if (!st.ok()) return st;
    persisted_ = last;
  }
  applied_ = last;
  applied_view_ = last;
  return Status::OK();
}

Status TextIndex::Rebuild(const std::vector<IndexDef>& defs, const Source& source, uint64_t offset) {
  std::lock_guard lk(write_mu_);
  Status st = writer_->Exec("BEGIN IMMEDIATE");
  if (!st.ok()) return st;
  std::vector<Key> old;
  for (const auto& [key, table] : work_) old.push_back(key);
  for (const Key& key : old) {
    st = DropTable(key);
    if (!st.ok()) break;
  }
  for (size_t i = 0; st.ok() && i < defs.size(); ++i) st = CreateTable(defs[i], source);
  if (st.ok()) st = SetApplied(offset);
  st = Finish(st, /*tables_changed=*/true);
  if (!st.ok()) return st;
  applied_ = persisted_ = offset;
  applied_view_ = offset;
  return writer_->Checkpoint();
}

Result<uint64_t> TextIndex::Checkpoint() {
  std::lock_guard lk(write_mu_);
  if (applied_ > persisted_) {
    KISSVDB_RETURN_IF_ERROR(SetApplied(applied_));
    persisted_ = applied_;
  }
  KISSVDB_RETURN_IF_ERROR(writer_->Checkpoint());
  return persisted_;
}

// ---- Reads -----------------------------------------------------------------

std::optional<TextSpec> TextIndex::Spec(Target target, const std::string& collection) const {
  auto table = TableOf(target, collection);
  if (!table) return std::nullopt;
  return table->spec;
}

std::vector<std::pair<IndexDef, int64_t>> TextIndex::Committed() const {
  std::shared_lock lk(tables_mu_);
  std::vector<std::pair<IndexDef, int64_t>> out;
  for (const auto& [key, table] : tables_) out.emplace_back(IndexDef{key.first, key.second, table.spec}, table.id);
  return out;
}

std::vector<IndexDef> TextIndex::Definitions() const {
  std::vector<IndexDef> out;
  for (auto& [def, id] : Committed()) out.push_back(std::move(def));
  return out;
}

Result<std::vector<IndexInfo>> TextIndex::List() const {
  std::vector<std::pair<IndexDef, int64_t>> defs = Committed();
  ReadLease lease(*this);
  auto conn = lease.Get();
  if (!conn.ok()) return conn.status();
  std::vector<IndexInfo> out;
  for (auto& [def, id] : defs) {
    IndexInfo info{std::move(def), 0};
    auto count = (*conn)->Prepare("SELECT count(*) FROM " + M(id));
    if (count.ok()) {
      auto row = count->Step();
      if (row.ok() && *row) info.items = static_cast<uint64_t>(count->Int(0));
    }  // else: dropped meanwhile; reported with 0 items
    out.push_back(std::move(info));
  }
  return out;
}

namespace {
// A failed read: the table went away meanwhile (NotFound), or SQLite
// refused the FTS5 query (InvalidQuery).
Status ReadError(const Status& st, const std::string& collection) {
  if (st.code() != Code::kSqliteError) return st;
  if (st.message().find("no such table") != std::string::npos) {
    return Status::NotFound("collection \"" + collection + "\" has no text index");
  }
  std::string msg = st.message();
  auto colon = msg.rfind(": ");
  return Status(Code::kInvalidQuery, "text query: " + (colon == std::string::npos ? msg : msg.substr(colon + 2)));
}

std::string SnippetCall(int64_t id, const Highlight& h) {
  return "snippet(" + F(id) + ", -1, ?2, ?3, 'â¦', " + std::to_string(h.tokens) + ")";
}
}  // namespace

Result<std::vector<TextHit>> TextIndex::Search(Target target, const std::string& collection, const Query& query,
                                               size_t limit, const std::function<bool(std::string_view id)>& accept,
                                               const Highlight& highlight) const {
  auto table = TableOf(target, collection);
  if (!table) return Status::NotFound("collection \"" + collection + "\" has no text index");
  std::vector<TextHit> hits;
  const std::string& match = query.match;
  if (match.empty() || limit == 0) return hits;
  if (auto terms = QueryTerms(*table, query)) {
    return SearchPostings(Key{target, collection}, *table, query, *terms, limit, accept, highlight);
  }
  ReadLease lease(*this);
  auto conn = lease.Get();
  if (!conn.ok()) return conn.status();
  const std::string f = F(table->id);
  std::string sql = "SELECT m.item, bm25(" + f + ")";
  if (highlight.enabled) sql += ", " + SnippetCall(table->id, highlight);
  sql += " FROM " + f + " JOIN " + M(table->id) + " m ON m.rid = " + f + ".rowid WHERE " + f +
         " MATCH ?1 ORDER BY 2, 1 LIMIT ?4 OFFSET ?5";
  auto stmt = (*conn)->Prepare(sql);
  if (!stmt.ok()) return ReadError(stmt.status(), collection);
  // SQLite keeps only the best LIMIT + OFFSET rows while it ranks the
  // matches. When `accept` turns rows away, the next window is 4 times
  // larger and starts where the last one ended (a rare filter reads deeper
  // into the ranking, never the whole of it at once).
  size_t offset = 0;
  size_t window = accept ? limit + 16 : limit;
  for (;;) {
    stmt->Bind(1, match).Bind(4, static_cast<int64_t>(window)).Bind(5, static_cast<int64_t>(offset));
    if (highlight.enabled) stmt->Bind(2, highlight.pre).Bind(3, highlight.post);
    size_t rows = 0;
    while (hits.size() < limit) {
      auto row = stmt->Step();
      if (!row.ok()) return ReadError(row.status(), collection);
      if (!*row) break;
      ++rows;
      std::string_view id = stmt->Text(0);
      if (accept && !accept(id)) continue;
      TextHit hit;
      hit.id = std::string(id);
      hit.score = -stmt->Double(1);
      hit.rank = static_cast<uint32_t>(hits.size() + 1);
      if (highlight.enabled) hit.snippet = std::string(stmt->Text(2));
      hits.push_back(std::move(hit));
    }
    if (hits.size() >= limit || rows < window) break;  // full, or the ranking ran out
    offset += window;
    window *= 4;
    stmt->Reset();
  }
  return hits;
}

Result<std::optional<std::string>> TextIndex::Snippet(Target target, const std::string& collection,
                                                      const std::string& match, const std::string& id,
                                                      const Highlight& highlight) const {
  auto table = TableOf(target, collection);
  if (!table) return Status::NotFound("collection \"" + collection + "\" has no text index");
  if (match.empty()) return std::optional<std::string>();
  ReadLease lease(*this);
  auto conn = lease.Get();
  if (!conn.ok()) return conn.status();
  const std::string f = F(table->id);
  auto stmt = (*conn)->Prepare("SELECT " + SnippetCall(table->id, highlight) + " FROM " + f + " WHERE " + f +
                               " MATCH ?1 AND rowid = (SELECT rid FROM " + M(table->id) + " WHERE item = ?4)");
  if (!stmt.ok()) return ReadError(stmt.status(), collection);
  stmt->Bind(1, match).Bind(2, highlight.pre).Bind(3, highlight.post).Bind(4, id);
  auto row = stmt->Step();
  if (!row.ok()) return ReadError(row.status(), collection);
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(std::string(stmt->Text(0)));
}

Result<std::string> TextIndex::Digest() const {
  std::vector<std::pair<IndexDef, int64_t>> defs = Committed();
  ReadLease lease(*this);
  auto conn = lease.Get();
  if (!conn.ok()) return conn.status();
  Digester d;
  for (const auto& [def, id] : defs) {
    d.Add(TargetName(def.target));
    d.Add(def.collection);
    d.Add(SpecToJson(def.spec).dump());
    std::string sql = "SELECT m.item";
    for (size_t i = 0; i < def.spec.fields.size(); ++i) sql += ", f.c" + std::to_string(i);
    sql += " FROM " + M(id) + " m JOIN " + F(id) + " f ON f.rowid = m.rid ORDER BY m.item";
    auto stmt = (*conn)->Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    for (;;) {
      auto row = stmt->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      for (size_t i = 0; i <= def.spec.fields.size(); ++i) d.Add(stmt->Text(static_cast<int>(i)));
    }
  }
  return d.Hex();
}

}  // namespace kissvdb::text
