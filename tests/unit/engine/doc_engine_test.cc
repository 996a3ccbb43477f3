// The document model through the Engine: event-sourced writes, CAS, merge
// patch, find plans, paging under concurrent writes, replay determinism.
// Real WAL files, real LMDB.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <random>
#include <set>
#include <thread>

#include "engine_fixture.h"

namespace kissvdb {
namespace {

namespace fs = std::filesystem;

class DocEngineTest : public EngineFixture {
 protected:
  void Configure(EngineOptions& options) override {
    options.config.durability = Durability::kNone;  // the log is still written; no fsync
    options.config.limits.max_json_bytes = 1024;
  }

  Result<DocItem> Put(const std::string& c, const std::string& id, Json doc, std::optional<uint64_t> if_rev = {}) {
    return Wait<DocItem>([&](auto cb) { engine_->PutDoc(DocPut{c, id, doc, if_rev}, cb); });
  }
  Result<DocItem> Patch(const std::string& c, const std::string& id, Json patch, std::optional<uint64_t> if_rev = {},
                        bool upsert = false) {
    return Wait<DocItem>([&](auto cb) { engine_->PatchDoc(DocPatch{c, id, patch, if_rev, upsert}, cb); });
  }
  Result<bool> Delete(const std::string& c, const std::string& id, std::optional<uint64_t> if_rev = {}) {
    return Wait<bool>([&](auto cb) { engine_->DeleteDoc(c, id, if_rev, cb); });
  }
  Result<uint64_t> Drop(const std::string& c) {
    return Wait<uint64_t>([&](auto cb) { engine_->DropDocCollection(c, cb); });
  }
  Json Doc(const std::string& c, const std::string& id) {
    auto item = engine_->GetDoc(c, id);
    return item.ok() ? Json::parse(item->doc_json) : Json();
  }
  Result<DocPage> Find(const std::string& c, Json filter, std::optional<DocSort> sort = {}, uint32_t limit = 100,
                       std::string cursor = "") {
    return engine_->FindDocs(DocQuery{c, std::move(filter), std::move(sort), std::move(cursor), limit});
  }
  static std::vector<std::string> Ids(const DocPage& page) {
    std::vector<std::string> ids;
    for (const auto& d : page.documents) ids.push_back(d.id);
    return ids;
  }

};

TEST_F(DocEngineTest, PutGetDeleteRevisions) {
  auto r1 = Put("users", "u1", {{"name", "ann"}, {"age", 30}});
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  EXPECT_EQ(r1->revision, 1u);
  EXPECT_EQ(r1->doc_json, R"({"age":30,"name":"ann"})") << "stored form: keys sorted";
  EXPECT_EQ(Put("users", "u1", {{"name", "ann"}, {"age", 31}})->revision, 2u);
  auto got = engine_->GetDoc("users", "u1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->revision, 2u);
  EXPECT_EQ(Json::parse(got->doc_json)["age"], 31);
  EXPECT_TRUE(*Delete("users", "u1"));
  EXPECT_FALSE(*Delete("users", "u1"));
  EXPECT_EQ(engine_->GetDoc("users", "u1").status().code(), Code::kNotFound);
  EXPECT_EQ(Put("users", "u1", Json::object())->revision, 1u) << "revision restarts after delete";
  auto page = engine_->ReadEvents(0, 100);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->events.size(), 4u);
  EXPECT_EQ(page->events[0].type, event_type::kDocUpdated);
  EXPECT_EQ(page->events[0].data, (Json{{"collection", "users"}, {"id", "u1"}, {"revision", 1},
                                        {"doc", {{"name", "ann"}, {"age", 30}}}}));
  EXPECT_EQ(page->events[2].type, event_type::kDocDeleted);
  EXPECT_EQ(page->events[2].data, (Json{{"collection", "users"}, {"id", "u1"}, {"revision", 2}}));
}

TEST_F(DocEngineTest, ValidationWritesNothing) {
  EXPECT_EQ(Put("c", "a", Json::array({1})).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Put("c", "a", "text").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Put("c", "a", {{"big", std::string(2000, 'x')}}).status().code(), Code::kPayloadTooLarge);
  const std::vector<std::string> bad_collections = {
      "", ".", "..", "a/b", std::string("a\0b", 3), "tab\there", "\x7f", "\xff\xfe", std::string(65, 'c')};
  for (const std::string& bad : bad_collections) {
    EXPECT_EQ(Put(bad, "id", Json::object()).status().code(), Code::kInvalidArgument) << Json(bad).dump();
  }
  for (const std::string& bad : std::vector<std::string>{"", ".", "..", "a/b", "nl\n", std::string(129, 'i')}) {
    EXPECT_EQ(Put("c", bad, Json::object()).status().code(), Code::kInvalidArgument) << Json(bad).dump();
    EXPECT_EQ(engine_->GetDoc("c", bad).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(Delete("c", bad).status().code(), Code::kInvalidArgument);
  }
  EXPECT_TRUE(Put(std::string(64, 'c'), std::string(128, 'i'), Json::object()).ok()) << "limits are inclusive";
  EXPECT_TRUE(Put("ünïcode", "…id with spaces…", Json::object()).ok());
  EXPECT_EQ(Find("c", Json::array()).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Find("c", {{"a", {{"$bogus", 1}}}}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Find("c", nullptr, DocSort{"", false}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(engine_->ReadEvents(0, 100)->events.size(), 2u) << "only the two valid puts were logged";
}

TEST_F(DocEngineTest, CompareAndSet) {
  EXPECT_EQ(Put("c", "k", {{"v", 1}}, 5).status().code(), Code::kRevisionMismatch) << "CAS on an absent doc fails";
  EXPECT_TRUE(Put("c", "k", {{"v", 1}}, 0).ok()) << "if_revision 0 = create only";
  EXPECT_EQ(Put("c", "k", {{"v", 1}}, 0).status().code(), Code::kRevisionMismatch);
  auto bad = Put("c", "k", {{"v", 2}}, 7);
  EXPECT_EQ(bad.status().code(), Code::kRevisionMismatch);
  EXPECT_NE(bad.status().message().find("current revision is 1"), std::string::npos) << bad.status().message();
  EXPECT_EQ(Put("c", "k", {{"v", 2}}, 1)->revision, 2u);
  EXPECT_EQ(Delete("c", "k", 1).status().code(), Code::kRevisionMismatch);
  EXPECT_TRUE(*Delete("c", "k", 2));
  EXPECT_EQ(Delete("c", "k", 2).status().code(), Code::kRevisionMismatch);
  EXPECT_FALSE(*Delete("c", "k", 0)) << "expecting absence of an absent doc holds";
}

TEST_F(DocEngineTest, ConcurrentCasHasExactlyOneWinner) {
  ASSERT_TRUE(Put("race", "doc", {{"n", 0}}).ok());
  for (bool patch : {false, true}) {
    const uint64_t rev = engine_->GetDoc("race", "doc")->revision;
    constexpr int kThreads = 16;
    std::atomic<int> winners{0}, losers{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        auto r = patch ? Patch("race", "doc", {{"n", i}, {"by", "patch"}}, rev) : Put("race", "doc", {{"n", i}}, rev);
        (r.ok() ? winners : losers)++;
        if (!r.ok()) {
          EXPECT_EQ(r.status().code(), Code::kRevisionMismatch);
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(winners.load(), 1);
    EXPECT_EQ(losers.load(), kThreads - 1);
    EXPECT_EQ(engine_->GetDoc("race", "doc")->revision, rev + 1);
  }
}

TEST_F(DocEngineTest, MergePatchFollowsRfc7386) {
  ASSERT_TRUE(Put("c", "p", {{"title", "Goodbye!"},
                             {"author", {{"givenName", "John"}, {"familyName", "Doe"}}},
                             {"tags", {"example", "sample"}},
                             {"content", "This will be unchanged"}})
                  .ok());
  // The example of RFC 7386 section 3.
  auto r = Patch("c", "p", {{"title", "Hello!"},
                            {"phoneNumber", "+01-123-456-7890"},
                            {"author", {{"familyName", nullptr}}},
                            {"tags", {"example"}}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->revision, 2u);
  Json expected = {{"title", "Hello!"},
                   {"author", {{"givenName", "John"}}},
                   {"tags", {"example"}},
                   {"content", "This will be unchanged"},
                   {"phoneNumber", "+01-123-456-7890"}};
  EXPECT_EQ(Doc("c", "p"), expected);
  EXPECT_EQ(Json::parse(r->doc_json), expected);
  // Nested objects are created; nulls inside them vanish.
  ASSERT_TRUE(Patch("c", "p", {{"meta", {{"a", {{"b", 1}, {"gone", nullptr}}}}}}).ok());
  EXPECT_EQ(Doc("c", "p")["meta"], (Json{{"a", {{"b", 1}}}}));
  // Missing document: 404 unless upsert or if_revision 0.
  EXPECT_EQ(Patch("c", "missing", {{"a", 1}}).status().code(), Code::kNotFound);
  EXPECT_EQ(Patch("c", "missing", {{"a", 1}}, 3).status().code(), Code::kRevisionMismatch);
  auto created = Patch("c", "new", {{"a", 1}, {"b", nullptr}}, {}, /*upsert=*/true);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->revision, 1u);
  EXPECT_EQ(Doc("c", "new"), (Json{{"a", 1}}));
  EXPECT_EQ(Patch("c", "new2", {{"a", 1}}, 0)->revision, 1u);
  EXPECT_EQ(Patch("c", "new2", {{"a", 2}}, 0).status().code(), Code::kRevisionMismatch);
  // Bad patches and oversized results write nothing.
  EXPECT_EQ(Patch("c", "p", Json::array({1})).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Patch("c", "p", {{"pad", std::string(1500, 'x')}}).status().code(), Code::kPayloadTooLarge);
  EXPECT_EQ(engine_->GetDoc("c", "p")->revision, 3u);
}

TEST_F(DocEngineTest, FindWithAndWithoutIndexAgreeOnRandomData) {
  std::mt19937 rng(99);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const char* kinds[] = {"book", "film", "game", "song"};
  for (int i = 0; i < 600; ++i) {
    Json d = {{"kind", kinds[pick(4)]}, {"year", 1990 + pick(35)}, {"score", pick(1000) / 10.0}};
    if (pick(3) == 0) d["tag"] = pick(2) ? Json("x") : Json(nullptr);
    if (pick(5) == 0) d["nested"] = {{"v", pick(4)}};
    ASSERT_TRUE(Put("items", "i" + std::to_string(pick(100000)), d).ok());
  }
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(Delete("items", "i" + std::to_string(pick(100000))).ok());
  const std::vector<Json> filters = {
      {{"kind", "film"}},
      {{"kind", {{"$in", {"book", "song"}}}}},
      {{"year", {{"$gte", 2000}, {"$lt", 2003}}}},
      {{"score", {{"$gt", 95.5}}}},
      {{"kind", "game"}, {"year", {{"$lte", 1995}}}},
      {{"tag", nullptr}},
      {{"tag", {{"$exists", false}}}, {"year", 2010}},
      {{"$and", {{{"year", {{"$gt", 2015}}}}, {{"kind", {{"$ne", "book"}}}}}}},
      {{"nested.v", 2}},
      {{"kind", {{"$nin", {"book"}}}}, {"score", {{"$lt", 10}}}},
  };
  const std::vector<std::optional<DocSort>> sorts = {std::nullopt, DocSort{"year", false}, DocSort{"score", true},
                                                     DocSort{"tag", false}, DocSort{"nested.v", true}};
  int indexed_plans = 0;
  for (const Json& f : filters) {
    for (const auto& sort : sorts) {
      for (uint32_t limit : {3u, 17u, 100u}) {
        SCOPED_TRACE(f.dump() + " limit " + std::to_string(limit) + (sort ? " sort " + sort->field : ""));
        // Page through both ways and compare the whole sequences.
        auto all = [&](const Json& filter, std::string* plan) {
          std::vector<std::string> ids;
          std::string cursor;
          do {
            auto page = Find("items", filter, sort, limit, cursor);
            EXPECT_TRUE(page.ok()) << page.status().ToString();
            if (!page.ok()) break;
            if (plan->empty()) *plan = page->plan["used"];
            for (auto& id : Ids(*page)) ids.push_back(id);
            cursor = page->next_cursor;
          } while (!cursor.empty());
          return ids;
        };
        std::string plan_a, plan_b;
        auto with_index = all(f, &plan_a);
        auto without = all(Json{{"$or", Json::array({f})}}, &plan_b);
        EXPECT_EQ(with_index, without);
        indexed_plans += plan_a == "index";
      }
    }
  }
  EXPECT_GT(indexed_plans, 50);
}

// give_up_after bounds the work of a find (how the API keeps long finds off
// its I/O threads): past it, nothing but gave_up; within it, the same page.
TEST_F(DocEngineTest, FindGivesUpAtItsWorkBudget) {
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(Put("items", "i" + std::to_string(1000 + i), {{"kind", i % 3 ? "book" : "film"}, {"year", i}}).ok());
  }
  auto bounded = [&](Json filter, uint64_t budget, std::optional<DocSort> sort = {}, uint32_t limit = 100) {
    DocQuery q{"items", std::move(filter), std::move(sort), "", limit};
    q.give_up_after = budget;
    return engine_->FindDocs(q);
  };
  const std::vector<Json> filters = {
      Json{{"$or", Json::array({Json{{"kind", "film"}}})}},  // a scan
      Json{{"year", {{"$gte", 10}, {"$lt", 290}}}},           // an index range
      Json{{"kind", "film"}},                                  // an index lookup
  };
  for (const Json& f : filters) {
    SCOPED_TRACE(f.dump());
    auto whole = Find("items", f, DocSort{"year", true});
    ASSERT_TRUE(whole.ok()) << whole.status().ToString();
    EXPECT_FALSE(whole->gave_up);
    auto stopped = bounded(f, 20, DocSort{"year", true});
    ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
    EXPECT_TRUE(stopped->gave_up);
    EXPECT_TRUE(stopped->documents.empty());
    EXPECT_TRUE(stopped->next_cursor.empty());
    auto enough = bounded(f, 100000, DocSort{"year", true});
    ASSERT_TRUE(enough.ok());
    EXPECT_FALSE(enough->gave_up);
    EXPECT_EQ(Ids(*enough), Ids(*whole));
    EXPECT_EQ(enough->next_cursor, whole->next_cursor);
  }
  // A first page without a filter reads limit+1 documents: within 20.
  auto page = bounded(nullptr, 20, std::nullopt, 5);
  ASSERT_TRUE(page.ok());
  EXPECT_FALSE(page->gave_up);
  EXPECT_EQ(page->documents.size(), 5u);
}

// Keyset cursors: paging while other documents are inserted, rewritten
// and deleted never skips or repeats one of the documents that stay put.
TEST_F(DocEngineTest, PagingNeverSkipsOrRepeatsUnderConcurrentWrites) {
  constexpr int kStable = 300;
  for (int i = 0; i < kStable; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "s%04d", i * 2);
    ASSERT_TRUE(Put("p", id, {{"rank", (i * 7919) % 101}, {"group", i % 3}, {"stable", true}}).ok());
  }
  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  std::thread writer([&] {
    std::mt19937 rng(5);
    while (!stop.load()) {
      char id[16];
      // Odd ids interleave with the stable (even) ones: s0001 sits between s0000 and s0002.
      std::snprintf(id, sizeof id, "s%04d", static_cast<int>(rng() % (kStable * 2)) | 1);
      if (rng() % 3 == 0) {
        (void)Delete("p", id);
      } else {
        (void)Put("p", id, {{"rank", static_cast<int>(rng() % 101)}, {"group", static_cast<int>(rng() % 3)}});
      }
      writes++;
    }
  });
  struct Mode {
    Json filter;
    std::optional<DocSort> sort;
    bool list;
  };
  const std::vector<Mode> modes = {{nullptr, std::nullopt, true},
                                   {{{"stable", true}}, std::nullopt, false},
                                   {nullptr, DocSort{"rank", false}, false},
                                   {{{"group", {{"$in", {0, 2}}}}}, DocSort{"rank", true}, false},
                                   {{{"rank", {{"$gte", 20}}}}, std::nullopt, false}};
  for (const Mode& mode : modes) {
    for (int round = 0; round < 3; ++round) {
      std::vector<std::string> seen;
      std::set<std::string> unique;
      std::string cursor;
      do {
        auto page = mode.list ? engine_->ListDocs("p", cursor, 7) : Find("p", mode.filter, mode.sort, 7, cursor);
        ASSERT_TRUE(page.ok()) << page.status().ToString();
        for (const auto& d : page->documents) {
          // In id order nothing can repeat; sorted, a concurrently rewritten
          // (odd) document may move past the cursor, a stable one never.
          const bool stable = (d.id.back() - '0') % 2 == 0;
          const bool fresh = unique.insert(d.id).second;
          if (stable || !mode.sort) {
            EXPECT_TRUE(fresh) << "repeated " << d.id;
          }
          seen.push_back(d.id);
        }
        cursor = page->next_cursor;
        std::this_thread::yield();
      } while (!cursor.empty());
      // Every stable document the query selects appears exactly once.
      int expected = 0, found = 0;
      for (int i = 0; i < kStable; ++i) {
        char id[16];
        std::snprintf(id, sizeof id, "s%04d", i * 2);
        const int rank = (i * 7919) % 101, group = i % 3;
        bool selected = mode.list || mode.filter.is_null() || mode.filter.contains("stable") ||
                        (mode.filter.contains("group") ? group != 1 : rank >= 20);
        if (!selected) continue;
        ++expected;
        found += unique.count(id) ? 1 : 0;
      }
      EXPECT_EQ(found, expected) << "mode " << mode.filter.dump();
      if (!mode.sort) {
        EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
      }
    }
  }
  stop = true;
  writer.join();
  EXPECT_GT(writes.load(), 0);
}

TEST_F(DocEngineTest, CollectionsListAndDrop) {
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Put("a", "d" + std::to_string(i), {{"i", i}, {"even", i % 2 == 0}}).ok());
  ASSERT_TRUE(Put("b", "x", {{"i", 1}}).ok());
  auto cols = engine_->ListDocCollections();
  ASSERT_TRUE(cols.ok());
  ASSERT_EQ(cols->size(), 2u);
  EXPECT_EQ((*cols)[0].collection, "a");
  EXPECT_EQ((*cols)[0].count, 20u);
  EXPECT_EQ((*cols)[1].count, 1u);
  const uint64_t before = engine_->Stats().last_offset;
  EXPECT_EQ(*Drop("a"), 20u);
  EXPECT_EQ(engine_->Stats().last_offset, before + 1) << "one event for the whole drop";
  EXPECT_EQ(engine_->ReadEvents(before, 10)->events[0].type, event_type::kDocCollectionDropped);
  EXPECT_EQ(*Drop("a"), 0u);
  EXPECT_EQ(engine_->Stats().last_offset, before + 1) << "dropping nothing logs nothing";
  EXPECT_TRUE(Find("a", {{"even", true}})->documents.empty());
  EXPECT_TRUE(engine_->ListDocs("a", "", 100)->documents.empty());
  EXPECT_EQ(engine_->ListDocCollections()->size(), 1u);
  // The collection starts over cleanly.
  ASSERT_TRUE(Put("a", "d1", {{"even", true}}).ok());
  auto found = Find("a", {{"even", true}});
  ASSERT_EQ(found->documents.size(), 1u);
  EXPECT_EQ(found->plan["used"], "index");
}

TEST_F(DocEngineTest, ReplayRebuildsIdenticalState) {
  std::mt19937 rng(11);
  for (int i = 0; i < 800; ++i) {
    const std::string c = "c" + std::to_string(rng() % 3);
    const std::string id = "d" + std::to_string(rng() % 120);
    switch (rng() % 7) {
      case 0: ASSERT_TRUE(Delete(c, id).ok()); break;
      case 1: ASSERT_TRUE(Patch(c, id, {{"p", static_cast<int>(rng() % 9)}, {"q", nullptr}}, {}, true).ok()); break;
      case 2:
        if (rng() % 8 == 0) {
          ASSERT_TRUE(Drop(c).ok());
        }
        break;
      default:
        ASSERT_TRUE(Put(c, id, {{"q", static_cast<int>(rng() % 50)}, {"s", std::string(rng() % 300, 'z')},
                                {"f", (rng() % 1000) / 7.0}, {"o", {{"k", i}}}})
                        .ok());
    }
  }
  auto live = engine_->StateDigest();
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  auto sorted = Find("c1", {{"q", {{"$gte", 10}}}}, DocSort{"q", true}, 50);
  ASSERT_TRUE(sorted.ok());
  engine_.reset();
  fs::remove(dir_ / "state.lmdb");
  fs::remove(dir_ / "state.lmdb-lock");
  Open();
  EXPECT_EQ(*engine_->StateDigest(), *live) << "a full replay rebuilds byte-identical state, indexes included";
  auto again = Find("c1", {{"q", {{"$gte", 10}}}}, DocSort{"q", true}, 50);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Ids(*again), Ids(*sorted));
  EXPECT_EQ(again->plan, sorted->plan);
}

}  // namespace
}  // namespace kissvdb
