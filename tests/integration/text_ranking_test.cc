// Ranked plain queries, which the server answers from in-memory postings
// (src/text/postings.h), against SQLite FTS5 run in process on the same
// rows: same items, same order, same scores, through upserts that replace
// items, deletes, items that lose their text, a kill -9 (the postings are
// read again from text.sqlite) and a filter; for vector items with two text
// fields (porter) and for documents (unicode61).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <random>
#include <set>

#include "test_client.h"

namespace kissvdb::testing {
namespace {

using nlohmann::json;

// id -> the text of each field.
using Rows = std::map<std::string, std::vector<std::string>>;

// The best `k` (id, score) for `match` by FTS5's bm25 over `rows`, ties by
// id, keeping only ids `keep` accepts.
std::vector<std::pair<std::string, double>> Reference(const Rows& rows, size_t columns, const std::string& tokenize,
                                                      const std::string& match, size_t k,
                                                      const std::function<bool(const std::string&)>& keep) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  std::string cols, params;
  for (size_t i = 0; i < columns; ++i) {
    cols += (i ? ", c" : "c") + std::to_string(i);
    params += ", ?" + std::to_string(i + 2);
  }
  EXPECT_EQ(sqlite3_exec(db, ("CREATE VIRTUAL TABLE f USING fts5(" + cols + ", tokenize='" + tokenize + "')").c_str(),
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, "CREATE TABLE m(rid INTEGER PRIMARY KEY, item TEXT)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_stmt* ins = nullptr;
  sqlite3_stmt* map = nullptr;
  sqlite3_prepare_v2(db, ("INSERT INTO f(rowid, " + cols + ") VALUES(?1" + params + ")").c_str(), -1, &ins, nullptr);
  sqlite3_prepare_v2(db, "INSERT INTO m VALUES(?1, ?2)", -1, &map, nullptr);
  int64_t rowid = 0;
  for (const auto& [id, fields] : rows) {
    ++rowid;
    sqlite3_bind_int64(ins, 1, rowid);
    for (size_t i = 0; i < columns; ++i) {
      sqlite3_bind_text(ins, static_cast<int>(i + 2), fields[i].c_str(), -1, SQLITE_TRANSIENT);
    }
    EXPECT_EQ(sqlite3_step(ins), SQLITE_DONE);
    sqlite3_reset(ins);
    sqlite3_bind_int64(map, 1, rowid);
    sqlite3_bind_text(map, 2, id.c_str(), -1, SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(map), SQLITE_DONE);
    sqlite3_reset(map);
  }
  sqlite3_finalize(ins);
  sqlite3_finalize(map);
  std::vector<std::pair<std::string, double>> out;
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db, "SELECT m.item, bm25(f) FROM f JOIN m ON m.rid = f.rowid WHERE f MATCH ?1 ORDER BY 2, 1",
                     -1, &q, nullptr);
  sqlite3_bind_text(q, 1, match.c_str(), -1, SQLITE_TRANSIENT);
  while (out.size() < k && sqlite3_step(q) == SQLITE_ROW) {
    std::string id = reinterpret_cast<const char*>(sqlite3_column_text(q, 0));
    if (keep(id)) out.emplace_back(id, -sqlite3_column_double(q, 1));
  }
  sqlite3_finalize(q);
  sqlite3_close(db);
  return out;
}

const std::vector<std::string> kWords = {
    "storage", "engine",  "stores",  "stored", "durable", "log",     "logs",   "logging", "vector",  "vectors",
    "search",  "searching", "index", "indexes", "crash",  "replay",  "offset", "commit",  "commits", "group",
    "café",    "cafe",    "Naïve",   "key",     "value",  "values",  "fast",   "faster",  "fastest", "zebra"};

std::string Text(std::mt19937& rng, int max_words) {
  std::vector<double> w;
  for (size_t i = 0; i < kWords.size(); ++i) w.push_back(1.0 / static_cast<double>(i + 1));
  std::discrete_distribution<size_t> pick(w.begin(), w.end());
  std::string s;
  for (int n = static_cast<int>(rng() % (max_words + 1)); n > 0; --n) s += kWords[pick(rng)] + (rng() % 5 ? " " : ". ");
  return s;
}

std::vector<std::string> Queries(std::mt19937& rng) {
  std::vector<std::string> out;
  for (int i = 0; i < 25; ++i) {
    std::string q;
    for (int w = 1 + static_cast<int>(rng() % 5); w > 0; --w) q += kWords[rng() % kWords.size()] + " ";
    out.push_back(q);
  }
  out.push_back("the and of");   // porter: stop words only, an empty result
  out.push_back("nothingmatches storage");
  return out;
}

// The FTS5 OR query of a plain query (the test's own copy of the rule:
// words at ASCII non-alphanumerics, ASCII case folded, porter stop words).
std::string OrQuery(const std::string& text, bool porter) {
  std::string match, word;
  std::set<std::string> seen;
  auto flush = [&] {
    std::string folded = word;
    for (char& c : folded) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!word.empty() && !(porter && (folded == "the" || folded == "and" || folded == "of")) &&
        seen.insert(folded).second) {
      match += (match.empty() ? "\"" : " OR \"") + word + "\"";
    }
    word.clear();
  };
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80 || std::isalnum(static_cast<unsigned char>(c))) {
      word += c;
    } else {
      flush();
    }
  }
  flush();
  return match;
}

class TextRankingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start()) << server_.output();
    client_ = server_.Client();
  }
  TestServer server_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(TextRankingTest, VectorItemsRankAsFts5ThroughWritesDeletesAndKill) {
  ASSERT_EQ(client_->Post("/v1/vector/r", {{"dim", 2}, {"metric", "cosine"}, {"text_fields", {"title", "body"}},
                                           {"text_tokenizer", "porter"}})
                .status,
            200);
  std::mt19937 rng(7);
  Rows rows;
  std::map<std::string, int> group;
  auto upsert = [&](int count) {
    json items = json::array();
    std::set<std::string> batch;  // an id once per batch
    for (int i = 0; i < count; ++i) {
      const std::string id = "v" + std::to_string(rng() % 400);
      if (!batch.insert(id).second) continue;
      const int g = static_cast<int>(rng() % 3);
      json meta{{"group", g}};
      std::vector<std::string> fields{Text(rng, 6), Text(rng, 25)};
      const bool no_fields = rng() % 10 == 0;
      if (!no_fields) {
        meta["title"] = fields[0];
        meta["body"] = fields[1];
      }
      if (no_fields || fields[0] + fields[1] == "") {
        rows.erase(id);  // no text at all: out of the index
      } else {
        rows[id] = fields;
      }
      group[id] = g;
      items.push_back({{"id", id}, {"vector", {1, 1 + static_cast<int>(rng() % 5)}}, {"meta", meta}});
    }
    auto r = client_->Post("/v1/vector/r/upsert_batch", {{"items", items}});
    ASSERT_EQ(r.status, 200) << r.body;
  };
  const std::vector<std::string> queries = Queries(rng);
  auto check = [&](const std::string& stage) {
    for (const std::string& q : queries) {
      const std::string match = OrQuery(q, /*porter=*/true);
      for (size_t k : {size_t{1}, size_t{5}, size_t{40}}) {
        for (bool filtered : {false, true}) {
          json body{{"text", q}, {"k", k}};
          if (filtered) body["filters"] = {{"group", 1}};
          auto r = client_->Post("/v1/vector/r/search", body);
          ASSERT_EQ(r.status, 200) << r.body;
          auto want = match.empty() ? decltype(Reference(rows, 2, "", "", 0, nullptr)){}
                                    : Reference(rows, 2, "porter unicode61 remove_diacritics 2", match, k,
                                                [&](const std::string& id) { return !filtered || group[id] == 1; });
          ASSERT_EQ(r.json["hits"].size(), want.size()) << stage << " / " << q << " k=" << k << " " << r.body;
          for (size_t i = 0; i < want.size(); ++i) {
            EXPECT_EQ(r.json["hits"][i]["id"], want[i].first) << stage << " / " << q << " k=" << k;
            EXPECT_DOUBLE_EQ(r.json["hits"][i]["score"].get<double>(), want[i].second) << stage << " / " << q;
          }
        }
      }
    }
  };
  upsert(300);
  check("first search (postings built)");
  for (int round = 0; round < 3; ++round) {
    upsert(120);
    json ids = json::array();
    for (int i = 0; i < 20; ++i) {
      const std::string id = "v" + std::to_string(rng() % 400);
      ids.push_back(id);
      rows.erase(id);
    }
    ASSERT_EQ(client_->Post("/v1/vector/r/delete_batch", {{"ids", ids}}).status, 200);
    check("after writes, round " + std::to_string(round));
  }
  server_.Kill();
  ASSERT_TRUE(server_.Start()) << server_.output();
  client_ = server_.Client();
  check("after kill -9");
  upsert(50);
  check("after kill -9 and writes");
}

TEST_F(TextRankingTest, DocumentsRankAsFts5ThroughPatchesAndDeletes) {
  ASSERT_EQ(client_->Put("/v1/text/doc/notes", {{"fields", {"t"}}, {"tokenizer", "unicode61"}}).status, 200);
  std::mt19937 rng(11);
  Rows rows;
  const std::vector<std::string> queries = Queries(rng);
  auto check = [&](const std::string& stage) {
    for (const std::string& q : queries) {
      const std::string match = OrQuery(q, /*porter=*/false);
      auto r = client_->Post("/v1/doc/notes/search", {{"text", q}, {"limit", 7}});
      ASSERT_EQ(r.status, 200) << r.body;
      auto want = Reference(rows, 1, "unicode61 remove_diacritics 2", match, 7, [](const std::string&) { return true; });
      ASSERT_EQ(r.json["documents"].size(), want.size()) << stage << " / " << q << " " << r.body;
      for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(r.json["documents"][i]["id"], want[i].first) << stage << " / " << q;
        EXPECT_DOUBLE_EQ(r.json["documents"][i]["score"].get<double>(), want[i].second) << stage << " / " << q;
      }
    }
  };
  for (int i = 0; i < 150; ++i) {
    const std::string id = "d" + std::to_string(i);
    rows[id] = {Text(rng, 20) + "x"};  // never empty (an empty text is not indexed)
    ASSERT_EQ(client_->Put("/v1/doc/notes/" + id, {{"t", rows[id][0]}}).status, 200);
  }
  check("first search");
  for (int i = 0; i < 60; ++i) {
    const std::string id = "d" + std::to_string(rng() % 150);
    if (i % 3 == 0) {
      client_->Delete("/v1/doc/notes/" + id);
      rows.erase(id);
    } else {
      rows[id] = {Text(rng, 20) + "x"};
      ASSERT_EQ(client_->Request("PATCH", "/v1/doc/notes/" + id, json{{"t", rows[id][0]}}.dump()).status == 200 ||
                    client_->Put("/v1/doc/notes/" + id, {{"t", rows[id][0]}}).status == 200,
                true);
    }
  }
  check("after patches and deletes");
}

}  // namespace
}  // namespace kissvdb::testing
