// kissvdb_bench_fts5: the in-process full-text ceiling for bench/run.sh
// (the "text" rows): SQLite FTS5 with no HTTP, no JSON, no client.
//
//   kissvdb_bench_fts5 --db PATH --docs FILE --queries FILE
//                      [--threads T] [--seconds S] [--top-out FILE]
//
// FILE --docs: one document per line, line i (from 0) is rowid i. If the
// database is new, they are loaded in one transaction into
//   CREATE VIRTUAL TABLE docs USING fts5(body, tokenize='porter unicode61')
// FILE --queries: one FTS5 MATCH expression per line (the bench writes the
// words of a query OR'd, each quoted: "w1" OR "w2" ...). T threads (default
// 2), each with its own read-only connection and one prepared statement
//   SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY rank LIMIT 10
// (rank is bm25(docs)), cycle through the queries from different starting
// points for S seconds. Prints {"qps": ..., "threads": ..., "docs": ...}.
// --top-out instead runs every query once and writes its rowids, best
// first, one line per query (the bench checks its ranking with them).
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr const char* kQuery = "SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY rank LIMIT 10";

void Check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    throw std::runtime_error(std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
  }
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Loads the documents unless the table is already there; returns its row count.
long Populate(const std::string& path, const std::string& docs_path) {
  sqlite3* db = nullptr;
  Check(sqlite3_open(path.c_str(), &db), db, "open");
  Check(sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr), db, "wal");
  sqlite3_stmt* exists = nullptr;
  Check(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE name = 'docs'", -1, &exists, nullptr), db,
        "prepare");
  Check(sqlite3_step(exists), db, "exists");
  const bool have = sqlite3_column_int64(exists, 0) > 0;
  sqlite3_finalize(exists);
  if (!have) {
    const auto docs = ReadLines(docs_path);
    Check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db, "begin");
    Check(sqlite3_exec(db, "CREATE VIRTUAL TABLE docs USING fts5(body, tokenize='porter unicode61')", nullptr,
                       nullptr, nullptr),
          db, "create");
    sqlite3_stmt* ins = nullptr;
    Check(sqlite3_prepare_v2(db, "INSERT INTO docs(rowid, body) VALUES (?, ?)", -1, &ins, nullptr), db, "prepare");
    for (size_t i = 0; i < docs.size(); ++i) {
      sqlite3_bind_int64(ins, 1, static_cast<sqlite3_int64>(i));
      sqlite3_bind_text(ins, 2, docs[i].data(), static_cast<int>(docs[i].size()), SQLITE_STATIC);
      Check(sqlite3_step(ins), db, "insert");
      sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    Check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
  }
  sqlite3_stmt* count = nullptr;
  Check(sqlite3_prepare_v2(db, "SELECT count(*) FROM docs", -1, &count, nullptr), db, "prepare");
  Check(sqlite3_step(count), db, "count");
  const long rows = sqlite3_column_int64(count, 0);
  sqlite3_finalize(count);
  sqlite3_close(db);
  return rows;
}

struct Reader {
  sqlite3* db = nullptr;
  sqlite3_stmt* st = nullptr;
  explicit Reader(const std::string& path) {
    Check(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), db, "open");
    sqlite3_busy_timeout(db, 5000);
    Check(sqlite3_prepare_v2(db, kQuery, -1, &st, nullptr), db, "prepare");
  }
  ~Reader() {
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  // Runs one query; appends its rowids to out (if given); returns how many.
  int Run(const std::string& q, std::vector<long>* out) {
    sqlite3_bind_text(st, 1, q.data(), static_cast<int>(q.size()), SQLITE_STATIC);
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      if (out) out->push_back(sqlite3_column_int64(st, 0));
      ++n;
    }
    sqlite3_reset(st);
    Check(rc, db, "query");
    return n;
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::string path, docs_path, queries_path, top_out;
  unsigned threads = 2;
  double seconds = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--db")) path = argv[i + 1];
    else if (!std::strcmp(argv[i], "--docs")) docs_path = argv[i + 1];
    else if (!std::strcmp(argv[i], "--queries")) queries_path = argv[i + 1];
    else if (!std::strcmp(argv[i], "--threads")) threads = static_cast<unsigned>(std::max(1, std::atoi(argv[i + 1])));
    else if (!std::strcmp(argv[i], "--seconds")) seconds = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--top-out")) top_out = argv[i + 1];
  }
  if (path.empty() || docs_path.empty() || queries_path.empty()) {
    std::fprintf(stderr,
                 "usage: %s --db PATH --docs FILE --queries FILE [--threads T] [--seconds S] [--top-out FILE]\n",
                 argv[0]);
    return 2;
  }
  try {
    const long docs = Populate(path, docs_path);
    const auto queries = ReadLines(queries_path);
    if (queries.empty()) throw std::runtime_error("no queries in " + queries_path);
    if (!top_out.empty()) {
      Reader r(path);
      std::ofstream out(top_out);
      std::vector<long> ids;
      for (const auto& q : queries) {
        ids.clear();
        r.Run(q, &ids);
        for (size_t i = 0; i < ids.size(); ++i) out << (i ? " " : "") << ids[i];
        out << '\n';
      }
      if (!out) throw std::runtime_error("cannot write " + top_out);
      std::printf("{\"queries\": %zu, \"docs\": %ld}\n", queries.size(), docs);
      return 0;
    }
    std::atomic<bool> stop{false};
    std::atomic<long> done{0}, hits{0};
    std::atomic<bool> failed{false};
    std::vector<std::thread> pool;
    const auto start = std::chrono::steady_clock::now();
    for (unsigned t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        try {
          Reader r(path);
          size_t pos = (t * 7919u) % queries.size();
          long local = 0, found = 0;
          while (!stop.load(std::memory_order_relaxed)) {
            found += r.Run(queries[pos], nullptr);
            pos = (pos + 1) % queries.size();
            ++local;
          }
          done.fetch_add(local);
          hits.fetch_add(found);
        } catch (const std::exception& e) {
          std::fprintf(stderr, "kissvdb_bench_fts5: thread %u: %s\n", t, e.what());
          failed = true;
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& t : pool) t.join();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (failed) throw std::runtime_error("a reader thread failed");
    if (hits.load() == 0) throw std::runtime_error("no query found anything");
    std::printf("{\"qps\": %.3f, \"threads\": %u, \"docs\": %ld, \"hits_per_query\": %.2f}\n", done.load() / secs,
                threads, docs, static_cast<double>(hits.load()) / std::max(1L, done.load()));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kissvdb_bench_fts5: %s\n", e.what());
    return 1;
  }
}
