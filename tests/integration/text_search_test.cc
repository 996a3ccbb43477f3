// Full-text and hybrid search against the real binary (docs/search.md):
// BM25 equal to SQLite FTS5 in-process, fusion equal to a reference,
// tokenizers, hostile queries, filters that keep k hits, index definitions
// after the data, drop and re-create, document search, restart.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "test_client.h"

namespace kissvdb::testing {
namespace {

using nlohmann::json;

// The BM25 score SQLite FTS5 gives each item of `texts` for `match`, in
// process: a one-column table with the same tokenizer, score = -bm25().
std::map<std::string, double> ReferenceBm25(const std::map<std::string, std::string>& texts,
                                            const std::string& tokenize, const std::string& match) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  std::string create = "CREATE VIRTUAL TABLE f USING fts5(c0, tokenize='" + tokenize + "')";
  EXPECT_EQ(sqlite3_exec(db, create.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  std::map<int64_t, std::string> ids;
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO f(rowid, c0) VALUES(?, ?)", -1, &ins, nullptr);
  int64_t rowid = 0;
  for (const auto& [id, text] : texts) {
    ids[++rowid] = id;
    sqlite3_bind_int64(ins, 1, rowid);
    sqlite3_bind_text(ins, 2, text.c_str(), -1, SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(ins), SQLITE_DONE);
    sqlite3_reset(ins);
  }
  sqlite3_finalize(ins);
  std::map<std::string, double> out;
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db, "SELECT rowid, bm25(f) FROM f WHERE f MATCH ?", -1, &q, nullptr);
  sqlite3_bind_text(q, 1, match.c_str(), -1, SQLITE_TRANSIENT);
  while (sqlite3_step(q) == SQLITE_ROW) out[ids[sqlite3_column_int64(q, 0)]] = -sqlite3_column_double(q, 1);
  sqlite3_finalize(q);
  sqlite3_close(db);
  return out;
}

class TextSearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start()) << server_.output();
    client_ = server_.Client();
  }
  void Create(const std::string& name, int dim, const json& text_fields, const std::string& tokenizer = "") {
    json body{{"dim", dim}, {"metric", "cosine"}};
    if (!text_fields.is_null()) body["text_fields"] = text_fields;
    if (!tokenizer.empty()) body["text_tokenizer"] = tokenizer;
    auto r = client_->Post("/v1/vector/" + name, body);
    ASSERT_EQ(r.status, 200) << r.body;
  }
  void Upsert(const std::string& name, const json& items) {
    auto r = client_->Post("/v1/vector/" + name + "/upsert_batch", {{"items", items}});
    ASSERT_EQ(r.status, 200) << r.body;
    for (const auto& res : r.json["results"]) ASSERT_EQ(res["status"], "upserted") << r.body;
  }
  json Search(const std::string& name, const json& body, int status = 200) {
    auto r = client_->Post("/v1/vector/" + name + "/search", body);
    EXPECT_EQ(r.status, status) << r.body;
    return r.json;
  }
  static std::vector<std::string> Ids(const json& answer) {
    std::vector<std::string> ids;
    for (const auto& h : answer["hits"]) ids.push_back(h["id"]);
    return ids;
  }
  TestServer server_;
  std::unique_ptr<HttpClient> client_;
};

const std::map<std::string, std::string> kCorpus = {
    {"a", "The quick brown fox jumps over the lazy dog"},
    {"b", "A lazy afternoon: the dog sleeps, the cat sleeps"},
    {"c", "Foxes are quick; brown foxes are quicker than dogs"},
    {"d", "Error code E1234 in module kissvdb-core while fsync"},
    {"e", "Nothing to see here"},
    {"f", "quick quick quick"},
};

TEST_F(TextSearchTest, Bm25RanksAndScoresEqualSqliteFts5InProcess) {
  for (const std::string tokenizer : {"unicode61", "porter", "trigram"}) {
    const std::string name = "bm25_" + tokenizer;
    Create(name, 2, json::array({"text"}), tokenizer);
    json items = json::array();
    int i = 0;
    for (const auto& [id, text] : kCorpus) items.push_back({{"id", id}, {"vector", {1, ++i}}, {"meta", {{"text", text}}}});
    Upsert(name, items);
    const std::string tokenize = tokenizer == "unicode61" ? "unicode61 remove_diacritics 2"
                                 : tokenizer == "porter"  ? "porter unicode61 remove_diacritics 2"
                                                          : "trigram";
    for (const std::string query : {"quick dog", "lazy", "E1234 fsync", "foxes brown the"}) {
      auto answer = Search(name, {{"text", query}, {"k", 10}});
      // The plain query is "any of the words": the same OR query in FTS5.
      std::string match;
      size_t start = 0;
      std::string q = query + " ";
      for (size_t pos; (pos = q.find(' ', start)) != std::string::npos; start = pos + 1) {
        if (pos == start) continue;
        match += (match.empty() ? "\"" : " OR \"") + q.substr(start, pos - start) + "\"";
      }
      auto expected = ReferenceBm25(kCorpus, tokenize, match);
      ASSERT_EQ(answer["hits"].size(), expected.size()) << tokenizer << " / " << query << ": " << answer.dump();
      std::vector<std::pair<double, std::string>> order;
      for (const auto& [id, score] : expected) order.emplace_back(-score, id);
      std::sort(order.begin(), order.end());
      for (size_t r = 0; r < order.size(); ++r) {
        const auto& hit = answer["hits"][r];
        EXPECT_EQ(hit["id"], order[r].second) << tokenizer << " / " << query << " rank " << r + 1;
        EXPECT_DOUBLE_EQ(hit["score"].get<double>(), expected[hit["id"]]) << tokenizer << " / " << query;
        EXPECT_DOUBLE_EQ(hit["text_score"].get<double>(), hit["score"].get<double>());
        EXPECT_EQ(hit["text_rank"], r + 1);
        EXPECT_FALSE(hit.contains("vector_score")) << "text-only hits have no vector leg";
      }
    }
  }
}

// Reference fusion, written from the definitions in docs/search.md.
std::vector<std::pair<std::string, double>> ReferenceFusion(const json& text_hits, const json& vector_hits,
                                                            const json& fusion, size_t k) {
  std::map<std::string, double> score;
  const bool rrf = fusion.value("method", "rrf") == "rrf";
  auto minmax = [](const json& hits, const std::string& id) {
    double lo = 1e300, hi = -1e300, v = 0;
    for (const auto& h : hits) {
      lo = std::min(lo, h["score"].get<double>());
      hi = std::max(hi, h["score"].get<double>());
      if (h["id"] == id) v = h["score"].get<double>();
    }
    return hi > lo ? (v - lo) / (hi - lo) : 1.0;
  };
  const double rk = fusion.value("k", 60.0);
  const double wt = rrf ? fusion.value("weights", json::object()).value("text", 1.0) : 1 - fusion.value("vector_weight", 0.5);
  const double wv = rrf ? fusion.value("weights", json::object()).value("vector", 1.0) : fusion.value("vector_weight", 0.5);
  for (size_t i = 0; i < text_hits.size(); ++i) {
    std::string id = text_hits[i]["id"];
    score[id] += rrf ? wt / (rk + i + 1) : wt * minmax(text_hits, id);
  }
  for (size_t i = 0; i < vector_hits.size(); ++i) {
    std::string id = vector_hits[i]["id"];
    score[id] += rrf ? wv / (rk + i + 1) : wv * minmax(vector_hits, id);
  }
  std::vector<std::pair<std::string, double>> out(score.begin(), score.end());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (out.size() > k) out.resize(k);
  return out;
}

TEST_F(TextSearchTest, FusionEqualsAReferenceWhereTheLegsDisagree) {
  Create("fuse", 4, json::array({"body"}));
  // Text favours items with many "alpha"; the vector favours the opposite end.
  json items = json::array();
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1, 1);
  for (int i = 0; i < 60; ++i) {
    std::string body;
    for (int w = 0; w < i % 7; ++w) body += "alpha ";
    body += (i % 3 == 0) ? "beta gamma" : "delta";
    items.push_back({{"id", "i" + std::to_string(i)}, {"vector", {u(rng), u(rng), u(rng), u(rng)}}, {"meta", {{"body", body}}}});
  }
  Upsert("fuse", items);
  const json query_vector = {0.5, -0.2, 0.1, 0.9};
  const int candidates = 25;
  auto text_leg = Search("fuse", {{"text", "alpha beta"}, {"k", candidates}});
  auto vector_leg = Search("fuse", {{"vector", query_vector}, {"k", candidates}});
  ASSERT_EQ(text_leg["hits"].size(), 25u);
  for (const json& fusion : {json{{"method", "rrf"}},
                             json{{"method", "rrf"}, {"k", 10}, {"weights", {{"text", 1}, {"vector", 0.3}}}},
                             json{{"method", "weighted"}, {"vector_weight", 0.2}},
                             json{{"method", "weighted"}, {"vector_weight", 0.5}},
                             json{{"method", "weighted"}, {"vector_weight", 0.8}}}) {
    auto answer = Search("fuse", {{"text", "alpha beta"}, {"vector", query_vector}, {"k", 10},
                                  {"candidates", candidates}, {"fusion", fusion}});
    auto expected = ReferenceFusion(text_leg["hits"], vector_leg["hits"], fusion, 10);
    ASSERT_EQ(answer["hits"].size(), expected.size()) << fusion.dump();
    for (size_t i = 0; i < expected.size(); ++i) {
      const auto& hit = answer["hits"][i];
      EXPECT_EQ(hit["id"], expected[i].first) << fusion.dump() << " rank " << i + 1;
      EXPECT_NEAR(hit["score"].get<double>(), expected[i].second, 1e-12) << fusion.dump();
      // Each leg's own score and rank, or null where the hit missed the leg.
      bool in_text = false, in_vector = false;
      for (size_t r = 0; r < text_leg["hits"].size(); ++r) {
        if (text_leg["hits"][r]["id"] == hit["id"]) {
          in_text = true;
          EXPECT_EQ(hit["text_rank"], r + 1);
          EXPECT_DOUBLE_EQ(hit["text_score"].get<double>(), text_leg["hits"][r]["score"].get<double>());
        }
      }
      for (size_t r = 0; r < vector_leg["hits"].size(); ++r) {
        if (vector_leg["hits"][r]["id"] == hit["id"]) {
          in_vector = true;
          EXPECT_EQ(hit["vector_rank"], r + 1);
        }
      }
      if (!in_text) {
        EXPECT_TRUE(hit["text_rank"].is_null() && hit["text_score"].is_null()) << hit.dump();
      }
      if (!in_vector) {
        EXPECT_TRUE(hit["vector_rank"].is_null() && hit["vector_score"].is_null()) << hit.dump();
      }
    }
  }
  // Fusion bounds are 400s.
  Search("fuse", {{"text", "alpha"}, {"vector", query_vector}, {"fusion", {{"method", "weighted"}, {"vector_weight", 1.5}}}}, 400);
  Search("fuse", {{"text", "alpha"}, {"vector", query_vector}, {"fusion", {{"method", "rrf"}, {"k", 0}}}}, 400);
  Search("fuse", {{"text", "alpha"}, {"vector", query_vector}, {"fusion", {{"method", "borda"}}}}, 400);
  Search("fuse", {{"text", "alpha"}, {"vector", query_vector}, {"k", 10}, {"candidates", 5}}, 400);
  Search("fuse", {{"text", "alpha"}, {"vector", query_vector}, {"candidates", 100000}}, 400);
}

TEST_F(TextSearchTest, AccentsStemmingAndTrigramSubstrings) {
  Create("es", 2, json::array({"text"}));
  Upsert("es", json::array({
      {{"id", "1"}, {"vector", {1, 0}}, {"meta", {{"text", "La canción del verano"}}}},
      {{"id", "2"}, {"vector", {0, 1}}, {"meta", {{"text", "Informação sobre a configuração"}}}},
      {{"id", "3"}, {"vector", {1, 1}}, {"meta", {{"text", "São Paulo é uma cidade"}}}},
      {{"id", "4"}, {"vector", {1, 2}}, {"meta", {{"text", "El niño y la niña"}}}},
  }));
  EXPECT_EQ(Ids(Search("es", {{"text", "cancion"}})), std::vector<std::string>{"1"});
  EXPECT_EQ(Ids(Search("es", {{"text", "CANCIÓN"}})), std::vector<std::string>{"1"});
  EXPECT_EQ(Ids(Search("es", {{"text", "informacao"}})), std::vector<std::string>{"2"});
  EXPECT_EQ(Ids(Search("es", {{"text", "configuracao"}})), std::vector<std::string>{"2"});
  EXPECT_EQ(Ids(Search("es", {{"text", "sao"}})), std::vector<std::string>{"3"});
  EXPECT_EQ(Ids(Search("es", {{"text", "nino"}})), std::vector<std::string>{"4"});

  Create("en", 2, json::array({"text"}), "porter");
  Upsert("en", json::array({
      {{"id", "run"}, {"vector", {1, 0}}, {"meta", {{"text", "She was running every morning"}}}},
      {{"id", "conn"}, {"vector", {0, 1}}, {"meta", {{"text", "Connections were connected"}}}},
  }));
  EXPECT_EQ(Ids(Search("en", {{"text", "runs"}})), std::vector<std::string>{"run"});
  EXPECT_EQ(Ids(Search("en", {{"text", "connect"}})), std::vector<std::string>{"conn"});

  Create("code", 2, json::array({"src"}), "trigram");
  Upsert("code", json::array({
      {{"id", "x"}, {"vector", {1, 0}}, {"meta", {{"src", "int ParseSegmentFileName(const char*)"}}}},
      {{"id", "y"}, {"vector", {0, 1}}, {"meta", {{"src", "kissvdb::wal::LogReader"}}}},
  }));
  EXPECT_EQ(Ids(Search("code", {{"text", "segmentfile"}})), std::vector<std::string>{"x"});
  EXPECT_EQ(Ids(Search("code", {{"text", "wal::Log"}})), std::vector<std::string>{"y"});
  EXPECT_TRUE(Search("code", {{"text", "ab"}})["hits"].empty()) << "under 3 characters: no trigram";
}

TEST_F(TextSearchTest, HostileQueriesAreWordsOrClear400s) {
  Create("h", 2, json::array({"text"}));
  Upsert("h", json::array({
      {{"id", "1"}, {"vector", {1, 0}}, {"meta", {{"text", "foo bar AND baz NEAR quux"}}}},
      {{"id", "2"}, {"vector", {0, 1}}, {"meta", {{"text", "say \"hello\" world"}}}},
  }));
  for (const std::string q : {"\"", "\"\"\"", "foo\"", "-foo", "foo*", "AND", "OR OR", "NEAR(foo bar)", "foo:bar",
                              "{foo}", "^foo", "(((", "foo AND", "NOT", "''", "\\", "\"hello"}) {
    auto r = client_->Post("/v1/vector/h/search", {{"text", q}, {"k", 5}});
    EXPECT_EQ(r.status, 200) << q << ": " << r.body;
  }
  EXPECT_EQ(Ids(Search("h", {{"text", "AND"}})), std::vector<std::string>{"1"}) << "operators are words";
  EXPECT_EQ(Ids(Search("h", {{"text", "\"hello"}})), std::vector<std::string>{"2"});
  EXPECT_TRUE(Search("h", {{"text", ""}})["hits"].empty());
  EXPECT_TRUE(Search("h", {{"text", "   "}})["hits"].empty());
  EXPECT_TRUE(Search("h", {{"text", std::string(10 * 1024, '!')}})["hits"].empty()) << "10 KB of punctuation";
  std::string mixed;
  for (int i = 0; i < 2000; ++i) mixed += "\"*-()";
  EXPECT_EQ(client_->Post("/v1/vector/h/search", {{"text", mixed}}).status, 200);
  // Invalid UTF-8: a raw body (nlohmann would refuse to dump it).
  auto bad = client_->Request("POST", "/v1/vector/h/search", "{\"text\": \"caf\xc3\x28\", \"k\": 3}");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_TRUE(bad.json.contains("error")) << bad.body;
  // Too long, too many words: 400 naming the limit.
  auto long_query = client_->Post("/v1/vector/h/search", {{"text", std::string(17 * 1024, 'a')}});
  EXPECT_EQ(long_query.status, 400);
  EXPECT_NE(long_query.body.find("max_text_query_bytes"), std::string::npos) << long_query.body;
  std::string words;
  for (int i = 0; i < 300; ++i) words += "w" + std::to_string(i) + " ";
  EXPECT_EQ(client_->Post("/v1/vector/h/search", {{"text", words}}).status, 400);
  // FTS5 syntax on request; a malformed one is invalid_query.
  EXPECT_EQ(Ids(Search("h", {{"text", "\"foo bar\""}, {"text_syntax", "fts5"}})), std::vector<std::string>{"1"});
  EXPECT_EQ(Ids(Search("h", {{"text", "fo*"}, {"text_syntax", "fts5"}})), std::vector<std::string>{"1"});
  EXPECT_TRUE(Search("h", {{"text", "foo NOT bar"}, {"text_syntax", "fts5"}})["hits"].empty());
  auto malformed = client_->Post("/v1/vector/h/search", {{"text", "foo AND"}, {"text_syntax", "fts5"}});
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(malformed.json["error"], "invalid_query") << malformed.body;
  EXPECT_EQ(client_->Post("/v1/vector/h/search", {{"text", "x"}, {"text_syntax", "lucene"}}).status, 400);
  EXPECT_EQ(client_->Post("/v1/vector/h/search", {{"text", 5}}).status, 400);
}

TEST_F(TextSearchTest, RareFilterStillGivesKHitsOnTextAndHybrid) {
  Create("big", 4, json::array({"text"}));
  const int n = 20000;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1, 1);
  for (int start = 0; start < n; start += 250) {
    json items = json::array();
    for (int i = start; i < start + 250; ++i) {
      // Every item holds the query word; 1% are "rare" (group 0).
      items.push_back({{"id", "p" + std::to_string(i)},
                       {"vector", {u(rng), u(rng), u(rng), u(rng)}},
                       {"meta", {{"text", "common word " + std::to_string(i % 97)}, {"group", i % 100}}}});
    }
    Upsert("big", items);
  }
  const json filter{{"group", 0}};
  auto text = Search("big", {{"text", "common"}, {"k", 10}, {"filters", filter}, {"include_meta", true}});
  ASSERT_EQ(text["hits"].size(), 10u) << text.dump();
  for (const auto& h : text["hits"]) EXPECT_EQ(h["meta"]["group"], 0);
  auto hybrid = Search("big", {{"text", "common"}, {"vector", {0.1, 0.2, 0.3, 0.4}}, {"k", 10}, {"filters", filter},
                               {"include_meta", true}});
  ASSERT_EQ(hybrid["hits"].size(), 10u);
  for (const auto& h : hybrid["hits"]) {
    EXPECT_EQ(h["meta"]["group"], 0);
    EXPECT_FALSE(h["text_rank"].is_null()) << "the text leg found filtered candidates: " << h.dump();
  }
}

TEST_F(TextSearchTest, IndexDeclaredLaterDroppedAndRecreated) {
  Create("late", 2, nullptr);
  Upsert("late", json::array({
      {{"id", "1"}, {"vector", {1, 0}}, {"meta", {{"title", "red apple"}, {"body", "fruit"}}}},
      {{"id", "2"}, {"vector", {0, 1}}, {"meta", {{"title", "green pear"}, {"tags", {"fruit", "green"}}}}},
      {{"id", "3"}, {"vector", {1, 1}}, {"meta", {{"title", 42}}}},
  }));
  auto none = client_->Post("/v1/vector/late/search", {{"text", "apple"}});
  EXPECT_EQ(none.status, 404) << "no text index yet";
  EXPECT_NE(none.body.find("no text index"), std::string::npos);
  auto set = client_->Put("/v1/text/vector/late", {{"fields", {"title", "tags"}}});
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(set.json["items"], 2) << "the item without text is not indexed";
  EXPECT_EQ(set.json["tokenizer"], "unicode61");
  EXPECT_EQ(Ids(Search("late", {{"text", "apple"}})), std::vector<std::string>{"1"});
  EXPECT_EQ(Ids(Search("late", {{"text", "fruit"}})), std::vector<std::string>{"2"}) << "arrays of strings count";
  EXPECT_EQ(client_->Get("/v1/vector/late").json["text_index"]["fields"], json({"title", "tags"}));
  // Updates, deletes and upserts change the entry in the same step.
  ASSERT_EQ(client_->Post("/v1/vector/late/update", {{"id", "1"}, {"meta", {{"title", "yellow banana"}}}}).status, 200);
  EXPECT_TRUE(Search("late", {{"text", "apple"}})["hits"].empty());
  EXPECT_EQ(Ids(Search("late", {{"text", "banana"}})), std::vector<std::string>{"1"});
  ASSERT_EQ(client_->Post("/v1/vector/late/delete", {{"id", "2"}}).status, 200);
  EXPECT_TRUE(Search("late", {{"text", "pear"}})["hits"].empty());
  // Redefining rebuilds from the current contents.
  ASSERT_EQ(client_->Put("/v1/text/vector/late", {{"fields", {"body"}}, {"tokenizer", "porter"}}).status, 200);
  EXPECT_TRUE(Search("late", {{"text", "banana"}})["hits"].empty());
  auto list = client_->Get("/v1/text");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.json["indexes"].size(), 1u);
  EXPECT_EQ(list.json["indexes"][0]["tokenizer"], "porter");
  // Drop the index, then the collection; re-create starts empty.
  EXPECT_EQ(client_->Delete("/v1/text/vector/late").json["deleted"], true);
  EXPECT_EQ(client_->Delete("/v1/text/vector/late").json["deleted"], false);
  EXPECT_EQ(client_->Post("/v1/vector/late/search", {{"text", "fruit"}}).status, 404);
  ASSERT_EQ(client_->Put("/v1/text/vector/late", {{"fields", {"title"}}}).status, 200);
  ASSERT_EQ(client_->Delete("/v1/vector/late").status, 200);
  EXPECT_TRUE(client_->Get("/v1/text").json["indexes"].empty()) << "dropping a collection drops its index";
  Create("late", 2, json::array({"title"}));
  EXPECT_TRUE(Search("late", {{"text", "banana"}})["hits"].empty());
  EXPECT_EQ(client_->Put("/v1/text/vector/nothere", {{"fields", {"a"}}}).status, 404);
  EXPECT_EQ(client_->Put("/v1/text/table/late", {{"fields", {"a"}}}).status, 400);
  EXPECT_EQ(client_->Put("/v1/text/vector/late", {{"fields", json::array()}}).status, 400);
  EXPECT_EQ(client_->Put("/v1/text/vector/late", {{"fields", {"a"}}, {"tokenizer", "icu"}}).status, 400);
}

TEST_F(TextSearchTest, ItemTextOverTheLimitIs400AndNothingIsWritten) {
  TestServerOptions options;
  options.args = {"--max-text-bytes", "100"};
  TestServer small(options);
  ASSERT_TRUE(small.Start()) << small.output();
  auto c = small.Client();
  ASSERT_EQ(c->Post("/v1/vector/t", {{"dim", 2}, {"text_fields", {"text"}}}).status, 200);
  auto big = c->Post("/v1/vector/t/upsert", {{"id", "x"}, {"vector", {1, 0}}, {"meta", {{"text", std::string(101, 'a')}}}});
  EXPECT_EQ(big.status, 400) << big.body;
  EXPECT_NE(big.body.find("max_text_bytes"), std::string::npos);
  EXPECT_EQ(c->Get("/v1/vector/t/get?id=x").status, 404);
  EXPECT_EQ(c->Post("/v1/vector/t/upsert", {{"id", "y"}, {"vector", {1, 0}}, {"meta", {{"other", std::string(500, 'a')}}}}).status,
            200) << "fields outside the index do not count";
  ASSERT_EQ(c->Put("/v1/text/doc/notes", {{"fields", {"body"}}}).status, 200);
  EXPECT_EQ(c->Put("/v1/doc/notes/1", {{"body", std::string(101, 'b')}}).status, 400);
  EXPECT_EQ(c->Get("/v1/doc/notes/1").status, 404);
}

TEST_F(TextSearchTest, HighlightMarksMatchedTerms) {
  Create("hl", 2, json::array({"title", "body"}));
  Upsert("hl", json::array({
      {{"id", "1"}, {"vector", {1, 0}}, {"meta", {{"title", "Intro"}, {"body", "The daemon writes every change to the log first"}}}},
      {{"id", "2"}, {"vector", {0, 1}}, {"meta", {{"title", "Other"}, {"body", "nothing relevant"}}}},
  }));
  auto a = Search("hl", {{"text", "log"}, {"highlight", true}});
  ASSERT_EQ(a["hits"].size(), 1u);
  EXPECT_NE(a["hits"][0]["snippet"].get<std::string>().find("<mark>log</mark>"), std::string::npos) << a.dump();
  auto b = Search("hl", {{"text", "log"}, {"highlight", {{"pre", "["}, {"post", "]"}}}});
  EXPECT_NE(b["hits"][0]["snippet"].get<std::string>().find("[log]"), std::string::npos) << b.dump();
  // In a hybrid search, a hit only the vector leg found gets a null snippet.
  auto h = Search("hl", {{"text", "log"}, {"vector", {0, 1}}, {"k", 2}, {"highlight", true}});
  ASSERT_EQ(h["hits"].size(), 2u);
  for (const auto& hit : h["hits"]) {
    EXPECT_EQ(hit["snippet"].is_null(), hit["id"] == "2") << hit.dump();
  }
}

TEST_F(TextSearchTest, DocumentSearchWithFilterAndPaths) {
  ASSERT_EQ(client_->Put("/v1/text/doc/notes", {{"fields", {"title", "body.text"}}, {"tokenizer", "porter"}}).status, 200);
  for (int i = 0; i < 30; ++i) {
    json doc{{"title", "note " + std::to_string(i)},
             {"body", {{"text", i % 2 ? "connecting the cluster" : "a quiet note"}}},
             {"team", i % 3 == 0 ? "infra" : "app"}};
    ASSERT_EQ(client_->Put("/v1/doc/notes/n" + std::to_string(i), doc).status, 200);
  }
  auto r = client_->Post("/v1/doc/notes/search", {{"text", "connection"}, {"limit", 5}});
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json["documents"].size(), 5u);
  for (const auto& d : r.json["documents"]) {
    EXPECT_TRUE(d["doc"].is_object());
    EXPECT_GT(d["score"].get<double>(), 0);
    EXPECT_EQ(d["revision"], 1);
  }
  auto f = client_->Post("/v1/doc/notes/search", {{"text", "connect"}, {"filter", {{"team", "infra"}}}, {"limit", 100},
                                                 {"highlight", true}});
  ASSERT_EQ(f.status, 200) << f.body;
  EXPECT_EQ(f.json["documents"].size(), 5u) << "odd i with i % 3 == 0 below 30: 3 9 15 21 27";
  for (const auto& d : f.json["documents"]) {
    EXPECT_EQ(d["doc"]["team"], "infra");
    EXPECT_NE(d["snippet"].get<std::string>().find("<mark>"), std::string::npos);
  }
  // Patches and deletes update the index; dropping the collection drops it.
  ASSERT_EQ(client_->Request("PATCH", "/v1/doc/notes/n1", R"({"body": {"text": "offline"}})").status, 200);
  ASSERT_EQ(client_->Delete("/v1/doc/notes/n3").status, 200);
  auto after = client_->Post("/v1/doc/notes/search", {{"text", "connecting"}, {"limit", 100}});
  EXPECT_EQ(after.json["documents"].size(), 13u);
  EXPECT_EQ(client_->Post("/v1/doc/notes/search", {{"text", "x"}, {"limit", 1000}}).status, 400);
  EXPECT_EQ(client_->Post("/v1/doc/notes/search", {{"limit", 5}}).status, 400) << "text is required";
  EXPECT_EQ(client_->Post("/v1/doc/other/search", {{"text", "x"}}).status, 404);
  ASSERT_EQ(client_->Delete("/v1/doc/notes").status, 200);
  EXPECT_EQ(client_->Get("/v1/text/doc/notes").status, 404);
}

TEST_F(TextSearchTest, SurvivesRestartAndKill) {
  Create("keep", 2, json::array({"text"}));
  Upsert("keep", json::array({{{"id", "1"}, {"vector", {1, 0}}, {"meta", {{"text", "durable words"}}}}}));
  ASSERT_TRUE(server_.Restart()) << server_.output();
  client_ = server_.Client();
  EXPECT_EQ(Ids(Search("keep", {{"text", "durable"}})), std::vector<std::string>{"1"});
  Upsert("keep", json::array({{{"id", "2"}, {"vector", {0, 1}}, {"meta", {{"text", "more durable words"}}}}}));
  server_.Kill();
  ASSERT_TRUE(server_.Start()) << server_.output();
  client_ = server_.Client();
  EXPECT_EQ(Search("keep", {{"text", "durable"}})["hits"].size(), 2u);
  // The index file itself lost: rebuilt from the stores at boot.
  server_.Kill();
  for (const char* f : {"/text.sqlite", "/text.sqlite-wal", "/text.sqlite-shm"}) std::remove((server_.data_dir() + f).c_str());
  ASSERT_TRUE(server_.Start()) << server_.output();
  client_ = server_.Client();
  EXPECT_EQ(Search("keep", {{"text", "durable"}})["hits"].size(), 2u);
  // A damaged file: set aside and rebuilt too.
  server_.Kill();
  {
    FILE* f = std::fopen((server_.data_dir() + "/text.sqlite").c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    std::fwrite("garbage!garbage!garbage!", 1, 24, f);
    std::fclose(f);
  }
  ASSERT_TRUE(server_.Start()) << server_.output();
  client_ = server_.Client();
  EXPECT_EQ(Search("keep", {{"text", "durable"}})["hits"].size(), 2u);
}

}  // namespace
}  // namespace kissvdb::testing
