// Fts5Tokenizers: SQLite FTS5's own tokenizers, called from C++, so that the
// in-memory postings (postings.h) cut text into exactly the terms the FTS5
// tables hold ("porter unicode61 remove_diacritics 2" and so on).
//
// The tokenizers come from the fts5_api of a private in-memory connection.
// A tokenizer instance keeps a scratch buffer, so one instance serves one
// caller at a time: instances are leased from a pool.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "kissvdb/status.h"
#include "text/types.h"

struct sqlite3;

namespace kissvdb::text {

class Fts5Tokenizers {
 public:
  // Receives each token, in order.
  using Sink = std::function<void(std::string_view token)>;

  static Result<std::unique_ptr<Fts5Tokenizers>> Open();
  ~Fts5Tokenizers();
  Fts5Tokenizers(const Fts5Tokenizers&) = delete;
  Fts5Tokenizers& operator=(const Fts5Tokenizers&) = delete;

  // Cuts `text` as FTS5 does for a document (query = false) or a query
  // string (query = true).
  Status Tokenize(Tokenizer tokenizer, std::string_view text, bool query, const Sink& sink);

 private:
  struct Instance;
  explicit Fts5Tokenizers(sqlite3* db);
  Result<Instance*> Lease(Tokenizer tokenizer);
  void Return(Instance* instance);

  sqlite3* db_;
  void* api_ = nullptr;  // fts5_api*
  std::mutex mu_;
  std::vector<std::unique_ptr<Instance>> all_;
  std::vector<Instance*> idle_;
};

}  // namespace kissvdb::text
