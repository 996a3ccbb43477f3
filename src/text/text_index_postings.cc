// TextIndex: the in-memory postings that answer ranked plain queries
// (postings.h), their building and their updates after each commit.
#include <set>
#include <shared_mutex>

#include "text/fts5_tokenizer.h"
#include "text/postings.h"
#include "text/sqlite_conn.h"
#include "text/text_index.h"

namespace kissvdb::text {

struct TextIndex::Memory {
  mutable std::shared_mutex mu;
  Postings postings;
};

namespace {
// Every token of every field, in order: what FTS5 counts as the row's size.
Result<std::vector<std::string>> Terms(Fts5Tokenizers& tokenizers, Tokenizer tokenizer,
                                       const std::vector<std::string>& fields) {
  std::vector<std::string> terms;
  for (const std::string& field : fields) {
    KISSVDB_RETURN_IF_ERROR(tokenizers.Tokenize(tokenizer, field, /*query=*/false,
                                                [&](std::string_view t) { terms.emplace_back(t); }));
  }
  return terms;
}
}  // namespace

std::optional<std::vector<std::string>> TextIndex::QueryTerms(const Table& table, const Query& query) const {
  if (query.words.empty() || table.spec.tokenizer == Tokenizer::kTrigram) return std::nullopt;
  std::vector<std::string> terms;
  terms.reserve(query.words.size());
  for (const std::string& word : query.words) {
    size_t n = 0;
    Status st = tokenizers_->Tokenize(table.spec.tokenizer, word, /*query=*/true, [&](std::string_view t) {
      if (n++ == 0) terms.emplace_back(t);
    });
    // Not one term ("l'été" is the phrase "l ete", "¿" is none): FTS5 reads
    // it as a phrase, which only the SQL path knows.
    if (!st.ok() || n != 1) return std::nullopt;
  }
  return terms;
}

Result<std::shared_ptr<TextIndex::Memory>> TextIndex::MemoryOf(const Key& key, const Table& table) const {
  {
    std::lock_guard lk(memory_mu_);
    auto it = memory_.find(table.id);
    if (it != memory_.end()) return it->second;
  }
  // Building reads the committed rows; holding the writer's mutex keeps a
  // commit from falling between that read and the postings' publication.
  std::lock_guard wl(write_mu_);
  {
    std::lock_guard lk(memory_mu_);
    auto it = memory_.find(table.id);
    if (it != memory_.end()) return it->second;
  }
  {
    std::shared_lock lk(tables_mu_);
    auto it = tables_.find(key);
    if (it == tables_.end() || it->second.id != table.id) {
      return Status::NotFound("collection \"" + key.second + "\" has no text index");
    }
  }
  auto memory = std::make_shared<Memory>();
  std::string sql = "SELECT m.item";
  for (size_t i = 0; i < table.spec.fields.size(); ++i) sql += ", f.c" + std::to_string(i);
  sql += " FROM m" + std::to_string(table.id) + " m JOIN f" + std::to_string(table.id) + " f ON f.rowid = m.rid";
  auto stmt = writer_->Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  std::vector<std::string> fields(table.spec.fields.size());
  for (;;) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    for (size_t i = 0; i < fields.size(); ++i) fields[i] = std::string(stmt->Text(static_cast<int>(i + 1)));
    auto terms = Terms(*tokenizers_, table.spec.tokenizer, fields);
    if (!terms.ok()) return terms.status();
    memory->postings.Put(stmt->Text(0), *terms);
  }
  std::lock_guard lk(memory_mu_);
  memory_[table.id] = memory;
  return memory;
}

void TextIndex::Note(const Table& table, std::string_view id, const std::vector<std::string>* fields) {
  {
    std::lock_guard lk(memory_mu_);
    // Not built (it reads the table when it is), or dropped by this
    // transaction (a table created after it may reuse the id).
    if (memory_.count(table.id) == 0 || dropped_.count(table.id) > 0) return;
  }
  Pending p{table.id, table.spec.tokenizer, std::string(id), std::nullopt};
  if (fields != nullptr) p.fields = *fields;
  pending_.push_back(std::move(p));
}

void TextIndex::PublishPostings(bool committed) {
  std::vector<Pending> pending = std::move(pending_);
  pending_.clear();
  std::set<int64_t> dropped = std::move(dropped_);
  dropped_.clear();
  std::map<int64_t, std::shared_ptr<Memory>> memory;
  {
    std::lock_guard lk(memory_mu_);
    if (committed) {
      for (int64_t id : dropped) memory_.erase(id);
      // Postings of tables no longer committed (dropped, rebuilt) go.
      std::set<int64_t> live;
      {
        std::shared_lock tl(tables_mu_);
        for (const auto& [key, table] : tables_) live.insert(table.id);
      }
      for (auto it = memory_.begin(); it != memory_.end();) {
        it = live.count(it->first) ? std::next(it) : memory_.erase(it);
      }
    }
    memory = memory_;
  }
  if (!committed) return;
  // Terms first, outside any lock; then each table's changes under one
  // lock, so a search sees the group whole or not at all.
  std::map<int64_t, std::vector<std::pair<const Pending*, std::optional<std::vector<std::string>>>>> changes;
  for (const Pending& p : pending) {
    if (memory.count(p.table) == 0) continue;
    std::optional<std::vector<std::string>> terms;
    if (p.fields) {
      auto t = Terms(*tokenizers_, p.tokenizer, *p.fields);
      if (!t.ok()) {
        // Cannot happen with the built-in tokenizers; the postings would
        // be wrong, so they go and are read again from the table when next
        // needed.
        std::lock_guard lk(memory_mu_);
        memory_.erase(p.table);
        memory.erase(p.table);
        changes.erase(p.table);
        continue;
      }
      terms = std::move(t.value());
    }
    changes[p.table].emplace_back(&p, std::move(terms));
  }
  for (auto& [table, list] : changes) {
    Memory& m = *memory.at(table);
    std::unique_lock lk(m.mu);
    for (const auto& [p, terms] : list) {
      if (terms) {
        m.postings.Put(p->item, *terms);
      } else {
        m.postings.Remove(p->item);
      }
    }
  }
}

Result<std::vector<TextHit>> TextIndex::SearchPostings(const Key& key, const Table& table, const Query& query,
                                                       const std::vector<std::string>& terms, size_t limit,
                                                       const std::function<bool(std::string_view id)>& accept,
                                                       const Highlight& highlight) const {
  auto memory = MemoryOf(key, table);
  if (!memory.ok()) return memory.status();
  std::vector<TextHit> hits;
  {
    std::shared_lock lk((*memory)->mu);
    hits = (*memory)->postings.Search(terms, limit, accept);
  }
  if (highlight.enabled) {
    for (TextHit& hit : hits) {
      auto snippet = Snippet(key.first, key.second, query.match, hit.id, highlight);
      if (!snippet.ok()) return snippet.status();
      hit.snippet = std::move(snippet.value());
    }
  }
  return hits;
}

}  // namespace kissvdb::text
