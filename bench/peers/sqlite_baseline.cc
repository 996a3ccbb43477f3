// kissvdb_bench_sqlite: the in-process SQL ceiling for bench/run.sh.
//
//   kissvdb_bench_sqlite --db PATH --rows N [--threads T] [--seconds S]
//
// Creates table bench_kv(id INTEGER PRIMARY KEY, v TEXT) with N rows of
// 100-byte text if the file is new, then runs the same point SELECT that
// the bench sends to /v1/sql/query ("SELECT id, v FROM bench_kv WHERE id =
// ?", a random id) from T threads (default: the hardware threads), each
// with its own read-only connection and one prepared statement reused, as
// KissVDB's read pool does. Prints {"qps": ...} on stdout.
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

void Check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    throw std::runtime_error(std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
  }
}

void Populate(const std::string& path, long rows) {
  sqlite3* db = nullptr;
  Check(sqlite3_open(path.c_str(), &db), db, "open");
  Check(sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr), db, "wal");
  Check(sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS bench_kv(id INTEGER PRIMARY KEY, v TEXT)", nullptr, nullptr,
                     nullptr),
        db, "create");
  sqlite3_stmt* count = nullptr;
  Check(sqlite3_prepare_v2(db, "SELECT count(*) FROM bench_kv", -1, &count, nullptr), db, "prepare");
  Check(sqlite3_step(count), db, "count");
  const long have = sqlite3_column_int64(count, 0);
  sqlite3_finalize(count);
  if (have < rows) {
    Check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db, "begin");
    sqlite3_stmt* ins = nullptr;
    Check(sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO bench_kv(id, v) VALUES (?, ?)", -1, &ins, nullptr), db,
          "prepare");
    const std::string value(100, 'x');
    for (long i = 0; i < rows; ++i) {
      sqlite3_bind_int64(ins, 1, i);
      sqlite3_bind_text(ins, 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
      Check(sqlite3_step(ins), db, "insert");
      sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    Check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
  }
  sqlite3_close(db);
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  long rows = 0;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  double seconds = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--db")) path = argv[i + 1];
    else if (!std::strcmp(argv[i], "--rows")) rows = std::atol(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads")) threads = static_cast<unsigned>(std::atoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--seconds")) seconds = std::atof(argv[i + 1]);
  }
  if (path.empty() || rows <= 0) {
    std::fprintf(stderr, "usage: %s --db PATH --rows N [--threads T] [--seconds S]\n", argv[0]);
    return 2;
  }
  try {
    Populate(path, rows);
    std::atomic<bool> stop{false};
    std::atomic<long> done{0};
    std::atomic<bool> failed{false};
    std::vector<std::thread> pool;
    const auto start = std::chrono::steady_clock::now();
    for (unsigned t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        sqlite3* db = nullptr;
        sqlite3_stmt* st = nullptr;
        // The daemon has the same file open (WAL mode): a read may meet its
        // checkpoint and get SQLITE_BUSY, so wait as its own readers do.
        const bool opened = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK;
        if (opened) sqlite3_busy_timeout(db, 5000);
        if (!opened ||
            sqlite3_prepare_v2(db, "SELECT id, v FROM bench_kv WHERE id = ?", -1, &st, nullptr) != SQLITE_OK) {
          failed = true;
          sqlite3_close(db);
          return;
        }
        std::mt19937_64 rng(t + 1);
        std::uniform_int_distribution<long> pick(0, rows - 1);
        long local = 0;
        size_t bytes = 0;
        while (!stop.load(std::memory_order_relaxed)) {
          sqlite3_bind_int64(st, 1, pick(rng));
          while (sqlite3_step(st) == SQLITE_ROW) {
            bytes += static_cast<size_t>(sqlite3_column_int64(st, 0)) + static_cast<size_t>(sqlite3_column_bytes(st, 1));
          }
          sqlite3_reset(st);
          ++local;
        }
        if (bytes == 0) failed = true;
        done.fetch_add(local);
        sqlite3_finalize(st);
        sqlite3_close(db);
      });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& t : pool) t.join();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (failed) throw std::runtime_error("a reader thread failed");
    std::printf("{\"qps\": %.3f, \"threads\": %u, \"rows\": %ld}\n", done.load() / secs, threads, rows);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kissvdb_bench_sqlite: %s\n", e.what());
    return 1;
  }
}
