// The in-memory postings against SQLite FTS5 itself: the same random rows
// (two columns, puts, replacements, removals) go into an FTS5 table in
// memory and into Postings, and every random OR query ranks the same items
// with the same scores, for every k, with and without a filter.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <map>
#include <random>
#include <set>

#include "text/fts5_tokenizer.h"
#include "text/postings.h"
#include "text/query.h"

namespace kissvdb::text {
namespace {

const char* Declared(Tokenizer t) {
  return t == Tokenizer::kPorter ? "porter unicode61 remove_diacritics 2" : "unicode61 remove_diacritics 2";
}

class Reference {
 public:
  explicit Reference(Tokenizer t) {
    EXPECT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    Exec(std::string("CREATE VIRTUAL TABLE f USING fts5(c0, c1, tokenize = '") + Declared(t) + "')");
    Exec("CREATE TABLE m(rid INTEGER PRIMARY KEY, item TEXT UNIQUE)");
  }
  ~Reference() { sqlite3_close(db_); }
  void Exec(const std::string& sql) {
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "") << sql;
  }
  void Put(const std::string& item, const std::string& a, const std::string& b) {
    Remove(item);
    Run("INSERT INTO m(item) VALUES(?1)", {item});
    Run("INSERT INTO f(rowid, c0, c1) VALUES((SELECT rid FROM m WHERE item = ?1), ?2, ?3)", {item, a, b});
  }
  void Remove(const std::string& item) {
    Run("DELETE FROM f WHERE rowid = (SELECT rid FROM m WHERE item = ?1)", {item});
    Run("DELETE FROM m WHERE item = ?1", {item});
  }
  // (item, score) best first, ties by item, as TextIndex's SQL path orders.
  std::vector<std::pair<std::string, double>> Search(const std::string& match) {
    sqlite3_stmt* q = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_,
                                 "SELECT m.item, bm25(f) FROM f JOIN m ON m.rid = f.rowid WHERE f MATCH ?1 "
                                 "ORDER BY 2, 1",
                                 -1, &q, nullptr),
              SQLITE_OK);
    sqlite3_bind_text(q, 1, match.c_str(), -1, SQLITE_TRANSIENT);
    std::vector<std::pair<std::string, double>> out;
    while (sqlite3_step(q) == SQLITE_ROW) {
      out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(q, 0)), -sqlite3_column_double(q, 1));
    }
    sqlite3_finalize(q);
    return out;
  }

 private:
  void Run(const char* sql, const std::vector<std::string>& args) {
    sqlite3_stmt* s = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db_, sql, -1, &s, nullptr), SQLITE_OK) << sql;
    for (size_t i = 0; i < args.size(); ++i) {
      sqlite3_bind_text(s, static_cast<int>(i + 1), args[i].c_str(), -1, SQLITE_TRANSIENT);
    }
    ASSERT_EQ(sqlite3_step(s), SQLITE_DONE) << sqlite3_errmsg(db_);
    sqlite3_finalize(s);
  }
  sqlite3* db_ = nullptr;
};

// Words with skewed frequencies (a few in most rows, many rare), accents,
// case, English inflections for porter.
const std::vector<std::string> kWords = {
    "the",    "data",    "base",   "Database", "fast",   "faster", "index",  "indexes", "indexing", "café",
    "cafe",   "CAFÉ",    "naïve",  "naive",    "vector", "text",   "search", "searches", "log",    "event",
    "events", "running", "runs",   "run",      "key",    "value",  "durable", "crash",  "kill",   "replay",
    "offset", "segment", "commit", "group",    "lmdb",   "sqlite", "fts5",   "bm25",    "rrf",    "zebra"};

std::string RandomText(std::mt19937& rng, int max_words) {
  std::uniform_int_distribution<int> n(0, max_words);
  // Zipf-like: word i with weight 1 / (i + 1).
  std::vector<double> w;
  for (size_t i = 0; i < kWords.size(); ++i) w.push_back(1.0 / static_cast<double>(i + 1));
  std::discrete_distribution<size_t> pick(w.begin(), w.end());
  std::string s;
  for (int i = n(rng); i > 0; --i) {
    s += kWords[pick(rng)];
    s += (rng() % 7 == 0) ? ", " : " ";
  }
  if (rng() % 20 == 0) s += "!!! ...";  // punctuation only at the end, or alone
  return s;
}

// term_at_a_time: the postings' threshold (0: MaxScore always; huge: term
// at a time always), so that both ways of ranking are compared.
void Compare(Tokenizer tokenizer, uint32_t seed, size_t term_at_a_time) {
  std::mt19937 rng(seed);
  auto tokenizers = Fts5Tokenizers::Open();
  ASSERT_TRUE(tokenizers.ok()) << tokenizers.status().ToString();
  Reference ref(tokenizer);
  Postings postings(term_at_a_time);
  auto put = [&](const std::string& item, const std::string& a, const std::string& b) {
    ref.Put(item, a, b);
    std::vector<std::string> terms;
    for (const std::string* field : {&a, &b}) {
      ASSERT_TRUE((*tokenizers)
                      ->Tokenize(tokenizer, *field, false, [&](std::string_view t) { terms.emplace_back(t); })
                      .ok());
    }
    postings.Put(item, terms);
  };
  std::set<std::string> items;
  for (int round = 0; round < 6; ++round) {
    // Puts (new and replacing) and removals, enough to force compactions.
    for (int i = 0; i < 700; ++i) {
      const std::string item = "i" + std::to_string(rng() % 900);
      if (rng() % 5 == 0) {
        ref.Remove(item);
        postings.Remove(item);
        items.erase(item);
      } else {
        put(item, RandomText(rng, 12), rng() % 3 == 0 ? "" : RandomText(rng, 30));
        items.insert(item);
      }
    }
    ASSERT_EQ(postings.items(), items.size());
    for (int qn = 0; qn < 40; ++qn) {
      std::string text;
      for (int w = 1 + static_cast<int>(rng() % 6); w > 0; --w) text += kWords[rng() % kWords.size()] + " ";
      if (qn % 10 == 0) text += "unknownword ";
      auto query = ParseQuery(text, Syntax::kPlain, tokenizer);
      ASSERT_TRUE(query.ok());
      std::vector<std::string> terms;
      for (const std::string& word : query->words) {
        ASSERT_TRUE((*tokenizers)
                        ->Tokenize(tokenizer, word, true, [&](std::string_view t) { terms.emplace_back(t); })
                        .ok());
      }
      ASSERT_EQ(terms.size(), query->words.size()) << text;
      const auto expected = query->match.empty() ? decltype(ref.Search("")){} : ref.Search(query->match);
      for (size_t k : {size_t{1}, size_t{3}, size_t{10}, size_t{50}, size_t{100000}}) {
        for (bool filtered : {false, true}) {
          // The filter keeps items whose number is odd: a third of them.
          auto accept = [](std::string_view item) { return (item.back() - '0') % 3 == 1; };
          std::vector<std::pair<std::string, double>> want;
          for (const auto& e : expected) {
            if (want.size() < k && (!filtered || accept(e.first))) want.push_back(e);
          }
          auto got = postings.Search(terms, k, filtered ? std::function<bool(std::string_view)>(accept) : nullptr);
          ASSERT_EQ(got.size(), want.size()) << text << " k=" << k << " filtered=" << filtered;
          for (size_t r = 0; r < want.size(); ++r) {
            EXPECT_EQ(got[r].id, want[r].first) << text << " k=" << k << " rank " << r + 1;
            EXPECT_EQ(got[r].score, want[r].second) << text << " k=" << k << " rank " << r + 1 << " (to the bit)";
            EXPECT_EQ(got[r].rank, r + 1);
          }
        }
      }
    }
  }
}

TEST(PostingsTest, MaxScoreRanksAndScoresEqualFts5Unicode61) { Compare(Tokenizer::kUnicode61, 1, 0); }
TEST(PostingsTest, MaxScoreRanksAndScoresEqualFts5Porter) { Compare(Tokenizer::kPorter, 2, 0); }
TEST(PostingsTest, TermAtATimeRanksAndScoresEqualFts5Unicode61) { Compare(Tokenizer::kUnicode61, 3, SIZE_MAX); }
TEST(PostingsTest, TermAtATimeRanksAndScoresEqualFts5Porter) { Compare(Tokenizer::kPorter, 4, SIZE_MAX); }
TEST(PostingsTest, MixedRanksAndScoresEqualFts5) { Compare(Tokenizer::kPorter, 5, 600); }

TEST(PostingsTest, PhrasesAndEmptyWordsAreNotSingleTerms) {
  auto tokenizers = Fts5Tokenizers::Open();
  ASSERT_TRUE(tokenizers.ok());
  auto count = [&](std::string_view word) {
    size_t n = 0;
    EXPECT_TRUE((*tokenizers)->Tokenize(Tokenizer::kUnicode61, word, true, [&](std::string_view) { ++n; }).ok());
    return n;
  };
  EXPECT_EQ(count("l\xE2\x80\x99\xC3\xA9t\xC3\xA9"), 2u) << "l'été with a typographic apostrophe";
  EXPECT_EQ(count("\xC2\xBF"), 0u) << "an inverted question mark alone";
  EXPECT_EQ(count("Caf\xC3\xA9"), 1u);
}

TEST(PostingsTest, EmptyAndUnknown) {
  Postings p;
  EXPECT_TRUE(p.Search({"a"}, 10, nullptr).empty());
  p.Put("x", {});
  EXPECT_EQ(p.items(), 1u) << "an item without terms is still a row";
  EXPECT_TRUE(p.Search({"a"}, 10, nullptr).empty());
  p.Put("y", {"a", "b", "a"});
  auto hits = p.Search({"a", "zzz"}, 10, nullptr);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].id, "y");
  p.Remove("y");
  p.Remove("y");
  EXPECT_TRUE(p.Search({"a"}, 10, nullptr).empty());
  EXPECT_EQ(p.items(), 1u);
}

}  // namespace
}  // namespace kissvdb::text
