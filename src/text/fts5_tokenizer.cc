#include "text/fts5_tokenizer.h"

#include <sqlite3.h>

#include <string>

namespace kissvdb::text {

namespace {
// FTS5 keeps at most this many bytes of a token (FTS5_MAX_TOKEN_SIZE in
// SQLite's fts5Int.h), for documents and queries alike.
constexpr int kMaxTokenBytes = 32768;

// The tokenizer and arguments of each Tokenizer, as text_index.cc declares
// the FTS5 tables ("porter unicode61 remove_diacritics 2" = porter wrapping
// unicode61 with those arguments).
struct Declaration {
  const char* name;
  std::vector<const char*> args;
};
Declaration DeclarationOf(Tokenizer t) {
  switch (t) {
    case Tokenizer::kUnicode61: return {"unicode61", {"remove_diacritics", "2"}};
    case Tokenizer::kPorter: return {"porter", {"unicode61", "remove_diacritics", "2"}};
    case Tokenizer::kTrigram: return {"trigram", {}};
  }
  return {"unicode61", {"remove_diacritics", "2"}};
}

int OnToken(void* ctx, int tflags, const char* token, int n, int /*start*/, int /*end*/) {
  if (tflags & FTS5_TOKEN_COLOCATED) return SQLITE_OK;  // synonyms: no built-in tokenizer makes them
  (*static_cast<const Fts5Tokenizers::Sink*>(ctx))(std::string_view(token, n > kMaxTokenBytes ? kMaxTokenBytes : n));
  return SQLITE_OK;
}
}  // namespace

struct Fts5Tokenizers::Instance {
  Tokenizer kind;
  fts5_tokenizer methods;
  Fts5Tokenizer* tokenizer = nullptr;
  ~Instance() {
    if (tokenizer != nullptr) methods.xDelete(tokenizer);
  }
};

Fts5Tokenizers::Fts5Tokenizers(sqlite3* db) : db_(db) {}

Result<std::unique_ptr<Fts5Tokenizers>> Fts5Tokenizers::Open() {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_close(db);
    return Status::Internal("text tokenizers: cannot open SQLite in memory");
  }
  auto out = std::unique_ptr<Fts5Tokenizers>(new Fts5Tokenizers(db));
  // The documented way to reach the fts5_api: SELECT fts5(?) with a pointer.
  fts5_api* api = nullptr;
  sqlite3_stmt* stmt = nullptr;
  rc = sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &stmt, nullptr);
  if (rc == SQLITE_OK) {
    sqlite3_bind_pointer(stmt, 1, static_cast<void*>(&api), "fts5_api_ptr", nullptr);
    sqlite3_step(stmt);
  }
  sqlite3_finalize(stmt);
  if (api == nullptr) return Status::Internal("text tokenizers: this SQLite has no FTS5");
  out->api_ = api;
  return out;
}

Fts5Tokenizers::~Fts5Tokenizers() {
  all_.clear();  // before the connection that owns the tokenizers' modules
  sqlite3_close(db_);
}

Result<Fts5Tokenizers::Instance*> Fts5Tokenizers::Lease(Tokenizer kind) {
  std::lock_guard lk(mu_);
  for (size_t i = 0; i < idle_.size(); ++i) {
    if (idle_[i]->kind == kind) {
      Instance* found = idle_[i];
      idle_[i] = idle_.back();
      idle_.pop_back();
      return found;
    }
  }
  auto* api = static_cast<fts5_api*>(api_);
  const Declaration decl = DeclarationOf(kind);
  auto instance = std::make_unique<Instance>();
  instance->kind = kind;
  void* user_data = nullptr;
  int rc = api->xFindTokenizer(api, decl.name, &user_data, &instance->methods);
  if (rc == SQLITE_OK) {
    std::vector<const char*> args = decl.args;
    rc = instance->methods.xCreate(user_data, args.empty() ? nullptr : args.data(), static_cast<int>(args.size()),
                                   &instance->tokenizer);
  }
  if (rc != SQLITE_OK || instance->tokenizer == nullptr) {
    instance->tokenizer = nullptr;
    return Status::Internal(std::string("text tokenizers: cannot create ") + decl.name);
  }
  all_.push_back(std::move(instance));
  return all_.back().get();
}

void Fts5Tokenizers::Return(Instance* instance) {
  std::lock_guard lk(mu_);
  idle_.push_back(instance);
}

Status Fts5Tokenizers::Tokenize(Tokenizer kind, std::string_view text, bool query, const Sink& sink) {
  auto instance = Lease(kind);
  if (!instance.ok()) return instance.status();
  Instance* in = *instance;
  int rc = in->methods.xTokenize(in->tokenizer, const_cast<Sink*>(&sink),
                                 query ? FTS5_TOKENIZE_QUERY : FTS5_TOKENIZE_DOCUMENT, text.data(),
                                 static_cast<int>(text.size()), OnToken);
  Return(in);
  if (rc != SQLITE_OK) return Status::Internal("text tokenizers: tokenizing failed (SQLite " +
                                                       std::to_string(rc) + ")");
  return Status::OK();
}

}  // namespace kissvdb::text
