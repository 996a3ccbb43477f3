// DocStore + Find against a real LMDB environment: index maintenance, the
// planner's choices, and every plan against a brute-force reference.
#include "doc/doc_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "../../integration/test_dir.h"
#include "doc/db_cursor.h"
#include "doc/find.h"
#include "doc/index_codec.h"

namespace kissvdb::doc {
namespace {

class DocStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kv::LmdbEnv::Options o;
    o.path = dir_.path() + "/state.lmdb";
    o.map_size = 1ull << 30;
    auto env = kv::LmdbEnv::Open(o);
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    env_ = std::move(env.value());
    auto txn = kv::Txn::Begin(*env_, false);
    ASSERT_TRUE(txn.ok());
    auto store = DocStore::Open(*txn);
    ASSERT_TRUE(store.ok());
    store_.emplace(*store);
    ASSERT_TRUE(txn->Commit().ok());
  }

  void Put(const std::string& c, const std::string& id, const Json& doc, uint64_t rev = 1) {
    auto txn = kv::Txn::Begin(*env_, false);
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(store_->ApplyPut(*txn, c, id, rev, doc).ok());
    ASSERT_TRUE(txn->Commit().ok());
    if (c == "c") ref_[id] = doc;
  }
  void Delete(const std::string& c, const std::string& id) {
    auto txn = kv::Txn::Begin(*env_, false);
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(store_->ApplyDelete(*txn, c, id).ok());
    ASSERT_TRUE(txn->Commit().ok());
    if (c == "c") ref_.erase(id);
  }

  Result<FindResult> Run(const Json& filter, std::optional<SortSpec> sort = {}, uint32_t limit = 100,
                         const std::string& cursor = "", const std::string& collection = "c") {
    auto compiled = JsonFilter::Compile(filter);
    if (!compiled.ok()) return compiled.status();
    FindRequest req;
    req.collection = collection;
    req.filter = filter;
    req.compiled = &*compiled;
    req.sort = sort;
    req.limit = limit;
    req.cursor = cursor;
    auto txn = kv::Txn::Begin(*env_, true);
    if (!txn.ok()) return txn.status();
    FindResult out;
    KISSVDB_RETURN_IF_ERROR(Find(*store_, *txn, req, &out));
    return out;
  }

  // Every page, following next_cursor; the ids in order.
  std::vector<std::string> AllPages(const Json& filter, std::optional<SortSpec> sort, uint32_t limit) {
    std::vector<std::string> ids;
    std::string cursor;
    for (int pages = 0; pages < 10000; ++pages) {
      auto r = Run(filter, sort, limit, cursor);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok()) break;
      EXPECT_LE(r->docs.size(), limit);
      for (auto& d : r->docs) ids.push_back(d.id);
      if (r->next_cursor.empty()) break;
      EXPECT_EQ(r->docs.size(), limit) << "a page with a next_cursor is full";
      cursor = r->next_cursor;
    }
    return ids;
  }

  // The reference: every document of ref_ that matches, in result order.
  std::vector<std::string> Expected(const Json& filter, std::optional<SortSpec> sort) {
    auto compiled = JsonFilter::Compile(filter);
    std::vector<std::pair<std::string, std::string>> hits;  // (sort key, id)
    for (const auto& [id, doc] : ref_) {
      if (!compiled->Matches(doc)) continue;
      std::string key;
      if (sort) {
        const Json* v = &doc;
        for (size_t start = 0; v != nullptr && start <= sort->field.size();) {
          size_t dot = std::min(sort->field.find('.', start), sort->field.size());
          std::string seg = sort->field.substr(start, dot - start);
          v = v->is_object() && v->contains(seg) ? &(*v)[seg] : nullptr;
          start = dot + 1;
        }
        key = SortKey(v);
      }
      hits.emplace_back(key, id);
    }
    std::sort(hits.begin(), hits.end());
    if (sort && sort->descending) std::reverse(hits.begin(), hits.end());
    std::vector<std::string> ids;
    for (auto& h : hits) ids.push_back(h.second);
    return ids;
  }

  size_t IndexEntries() {
    auto txn = kv::Txn::Begin(*env_, true);
    auto c = DbCursor::Open(*txn, store_->index_dbi());
    size_t n = 0;
    for (bool v = c->First(); v; v = c->Next()) ++n;
    return n;
  }

  FieldStats Stats(const std::string& field) {
    auto txn = kv::Txn::Begin(*env_, true);
    return *store_->Stats(*txn, "c", field);
  }
  uint64_t Count(const std::string& c) {
    auto txn = kv::Txn::Begin(*env_, true);
    return *store_->Count(*txn, c);
  }

  testing::TestDir dir_{"kissvdb-doc"};
  std::unique_ptr<kv::LmdbEnv> env_;
  std::optional<DocStore> store_;
  std::map<std::string, Json> ref_;
};

TEST_F(DocStoreTest, PutGetDeleteKeepIndexAndCountsExact) {
  Put("c", "a", {{"name", "ann"}, {"age", 30}, {"tags", {"x"}}, {"nested", {{"k", 1}}}});
  Put("c", "b", {{"name", "bob"}, {"age", 40}});
  EXPECT_EQ(Count("c"), 2u);
  EXPECT_EQ(IndexEntries(), 4u) << "name and age of both; arrays and objects are not indexed";
  EXPECT_EQ(Stats("age").indexed, 2u);
  // Rewrite a with a changed age and no name.
  Put("c", "a", {{"age", 31}}, 2);
  EXPECT_EQ(IndexEntries(), 3u);
  EXPECT_EQ(Stats("name").indexed, 1u);
  EXPECT_EQ(Count("c"), 2u);
  {
    auto txn = kv::Txn::Begin(*env_, true);
    auto rec = store_->Get(*txn, "c", "a");
    ASSERT_TRUE(rec.ok() && rec->has_value());
    EXPECT_EQ((*rec)->revision, 2u);
    EXPECT_EQ((*rec)->json, "{\"age\":31}");
  }
  Delete("c", "a");
  Delete("c", "a");  // absent: no-op
  EXPECT_EQ(Count("c"), 1u);
  EXPECT_EQ(IndexEntries(), 2u);
  Delete("c", "b");
  EXPECT_EQ(Count("c"), 0u);
  EXPECT_EQ(IndexEntries(), 0u);
  EXPECT_EQ(Stats("name").indexed, 0u);
  auto txn = kv::Txn::Begin(*env_, true);
  std::vector<std::pair<std::string, uint64_t>> cols;
  ASSERT_TRUE(store_->ListCollections(*txn, &cols).ok());
  EXPECT_TRUE(cols.empty()) << "an emptied collection disappears";
}

TEST_F(DocStoreTest, LongStringsAreCountedNotIndexed) {
  Put("c", "a", {{"s", std::string(300, 'x')}});
  Put("c", "b", {{"s", "short"}});
  EXPECT_EQ(Stats("s").indexed, 1u);
  EXPECT_EQ(Stats("s").long_values, 1u);
  // Equality on a short value may use the index; a string range must not.
  auto eq = Run({{"s", "short"}});
  ASSERT_TRUE(eq.ok());
  EXPECT_EQ(eq->plan["used"], "index");
  auto range = Run({{"s", {{"$gt", "a"}}}});
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->plan["used"], "scan");
  EXPECT_EQ(range->docs.size(), 2u);
  auto sorted = Run(nullptr, SortSpec{"s", false});
  ASSERT_TRUE(sorted.ok());
  EXPECT_EQ(sorted->plan["sort"], "memory");
  ASSERT_EQ(sorted->docs.size(), 2u);
  EXPECT_EQ(sorted->docs[0].id, "b") << "\"short\" < \"xxx...\"";
  Put("c", "a", {{"s", "tiny"}}, 2);
  EXPECT_EQ(Stats("s").long_values, 0u);
  EXPECT_EQ(Run({{"s", {{"$gt", "a"}}}})->plan["used"], "index");
}

TEST_F(DocStoreTest, DropRemovesOnlyThatCollection) {
  for (int i = 0; i < 50; ++i) {
    Put("c", "d" + std::to_string(i), {{"i", i}});
    Put("other", "d" + std::to_string(i), {{"i", i}});
  }
  Put("c2", "x", {{"i", 1}});  // a name that extends "c"
  auto txn = kv::Txn::Begin(*env_, false);
  ASSERT_TRUE(store_->ApplyDrop(*txn, "c").ok());
  ASSERT_TRUE(txn->Commit().ok());
  EXPECT_EQ(Count("c"), 0u);
  EXPECT_EQ(Count("other"), 50u);
  EXPECT_EQ(Count("c2"), 1u);
  EXPECT_EQ(IndexEntries(), 51u);
  EXPECT_EQ(Stats("i").indexed, 0u);
  EXPECT_TRUE(Run(nullptr)->docs.empty());
}

TEST_F(DocStoreTest, PlannerPrefersEqualityThenInThenSortThenRange) {
  for (int i = 0; i < 200; ++i) {
    Put("c", "d" + std::to_string(1000 + i),
        {{"status", i % 4 == 0 ? "active" : "idle"}, {"age", i % 50}, {"group", i % 7}});
  }
  auto eq = Run({{"status", "active"}, {"age", {{"$gte", 10}}}});
  ASSERT_TRUE(eq.ok());
  EXPECT_EQ(eq->plan["used"], "index");
  EXPECT_EQ(eq->plan["field"], "status");
  EXPECT_EQ(eq->plan["op"], "eq");
  EXPECT_EQ(eq->plan["examined"], 50) << "only the active documents are read";

  auto in = Run({{"group", {{"$in", {1, 3}}}}});
  EXPECT_EQ(in->plan["op"], "in");
  EXPECT_EQ(in->plan["examined"], in->docs.size());
  EXPECT_TRUE(std::is_sorted(in->docs.begin(), in->docs.end(),
                             [](const FoundDoc& a, const FoundDoc& b) { return a.id < b.id; }));

  auto range = Run({{"age", {{"$gte", 10}, {"$lt", 12}}}});
  EXPECT_EQ(range->plan["op"], "range");
  EXPECT_EQ(range->plan["examined"], 8);
  EXPECT_EQ(range->docs.size(), 8u);

  auto wide = Run({{"age", {{"$gte", 1}}}}, {}, 5);
  EXPECT_EQ(wide->plan["used"], "scan") << "a range over most of the collection is scanned";
  EXPECT_EQ(wide->plan["examined"], 7) << "the scan stops at limit+1 matches (d1000 has age 0)";

  auto sorted = Run({{"age", {{"$gte", 45}}}}, SortSpec{"age", true}, 3);
  EXPECT_EQ(sorted->plan["op"], "sort");
  EXPECT_EQ(sorted->plan["sort"], "index");
  EXPECT_EQ(sorted->plan["examined"], 4) << "the walk stops at limit+1";
  ASSERT_EQ(sorted->docs.size(), 3u);
  EXPECT_EQ(sorted->docs[0].json.find("{\"age\":49,"), 0u);

  auto scan = Run({{"$or", Json::array({{{"status", "active"}}})}});
  EXPECT_EQ(scan->plan["used"], "scan");
  EXPECT_EQ(scan->docs.size(), 50u);
}

TEST_F(DocStoreTest, PlannerPicksTheSmallestIndexAndWeighsSortWalks) {
  for (int i = 0; i < 400; ++i) {
    Put("c", "d" + std::to_string(1000 + i), {{"flag", i % 2 == 0}, {"bucket", i % 100}, {"rank", i}});
  }
  auto eq = Run({{"flag", true}, {"bucket", 4}});
  EXPECT_EQ(eq->plan["field"], "bucket") << "4 entries beat 200";
  EXPECT_EQ(eq->plan["examined"], 4);
  auto in = Run({{"flag", true}, {"bucket", {{"$in", {2, 4}}}}});
  EXPECT_EQ(in->plan["op"], "in") << "8 entries beat 200";
  EXPECT_EQ(in->docs.size(), 8u);
  // 200 flagged documents: 200^2 > 400 * 6, so walking the rank index wins.
  auto walk = Run({{"flag", true}}, SortSpec{"rank", false}, 5);
  EXPECT_EQ(walk->plan["op"], "sort");
  EXPECT_LE(walk->plan["examined"].get<int>(), 12);
  ASSERT_EQ(walk->docs.size(), 5u);
  EXPECT_EQ(walk->docs[4].id, "d1008");
  // 4 documents in bucket 4: read them and sort in memory.
  auto small = Run({{"bucket", 4}}, SortSpec{"rank", true}, 5);
  EXPECT_EQ(small->plan["op"], "eq");
  EXPECT_EQ(small->plan["sort"], "memory");
  ASSERT_EQ(small->docs.size(), 4u);
  EXPECT_EQ(small->docs[0].id, "d1304");
}

TEST_F(DocStoreTest, StrictBoundsStayExactForHugeIntegers) {
  const int64_t two53 = int64_t{1} << 53;
  Put("c", "a", {{"x", two53 + 3}});  // the same double as 2^53 + 4
  Put("c", "b", {{"x", two53 + 4}});
  Put("c", "c", {{"x", 1.5}});
  auto lt = Run({{"x", {{"$lt", two53 + 4}}}});
  ASSERT_TRUE(lt.ok());
  EXPECT_EQ(lt->plan["used"], "index");
  ASSERT_EQ(lt->docs.size(), 2u);
  EXPECT_EQ(lt->docs[0].id, "a");
  auto gt = Run({{"x", {{"$gt", two53 + 3}}}});
  ASSERT_EQ(gt->docs.size(), 1u);
  EXPECT_EQ(gt->docs[0].id, "b");
  EXPECT_EQ(Run({{"x", {{"$gt", 1.5}}}})->docs.size(), 2u);
  EXPECT_EQ(Run({{"x", {{"$gt", 1.5}}}})->plan["examined"], 2) << "1.5 itself is skipped in the index";
}

TEST_F(DocStoreTest, UnfilteredListDoesNotParseAndPagesInIdOrder) {
  for (int i = 0; i < 25; ++i) Put("c", "id" + std::to_string(100 + i), {{"i", i}});
  auto ids = AllPages(nullptr, {}, 7);
  ASSERT_EQ(ids.size(), 25u);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(Run(nullptr, SortSpec{"i", false}, 5, Run(nullptr, {}, 5)->next_cursor).status().code(),
            Code::kInvalidArgument)
      << "a cursor is bound to its sort";
  EXPECT_EQ(Run(nullptr, {}, 5, "garbage").status().code(), Code::kInvalidArgument);
}

// Random documents and filters: every plan, every page size, against the
// brute-force reference, including after deletes and rewrites.
TEST_F(DocStoreTest, RandomQueriesMatchTheReference) {
  std::mt19937 rng(12345);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const std::vector<std::string> words = {"alpha", "beta", "gamma", "delta", std::string("ze\0ro", 5), ""};
  auto random_value = [&]() -> Json {
    switch (pick(8)) {
      case 0: return nullptr;
      case 1: return pick(2) == 0;
      case 2: return pick(20) - 5;
      case 3: return (pick(2000) - 1000) / 8.0;
      case 4: return std::string(260 + pick(10), 'L');
      case 5: return Json::array({pick(3)});
      default: return words[pick(words.size())];
    }
  };
  auto random_doc = [&] {
    Json d = Json::object();
    if (pick(5)) d["a"] = pick(20);
    if (pick(4)) d["b"] = words[pick(words.size())];
    if (pick(3)) d["m"] = random_value();
    if (pick(2)) d["n"] = {{"x", pick(10)}};
    d["f"] = (pick(1000) - 500) / 4.0;
    return d;
  };
  for (int i = 0; i < 400; ++i) Put("c", "k" + std::to_string(pick(10000)), random_doc(), 1 + pick(3));
  for (int i = 0; i < 60; ++i) Delete("c", std::next(ref_.begin(), pick(ref_.size()))->first);

  auto random_filter = [&]() -> Json {
    switch (pick(14)) {
      case 0: return nullptr;
      case 1: return {{"a", pick(20)}};
      case 2: return {{"b", words[pick(words.size())]}};
      case 3: return {{"a", {{"$in", {pick(20), pick(20), pick(20)}}}}};
      case 4: return {{"a", {{"$gte", pick(20)}, {"$lt", pick(20)}}}};
      case 5: return {{"f", {{"$gt", (pick(1000) - 500) / 4.0}}}};
      case 6: return {{"b", {{"$lte", words[pick(words.size())]}}}};
      case 7: return {{"m", random_value()}};
      case 8: return {{"m", {{"$gt", "b"}}}};
      case 9: return {{"n.x", {{"$gte", pick(10)}}}, {"a", {{"$ne", 3}}}};
      case 10: return {{"$and", {{{"a", {{"$lt", 10}}}}, {{"b", {{"$exists", true}}}}}}};
      case 11: return {{"$or", {{{"a", 1}}, {{"b", "beta"}}}}};
      case 12: return {{"m", {{"$in", {nullptr, true, 3, "gamma"}}}}};
      default: return {{"a", {{"$gt", pick(20)}}}, {"m", {{"$exists", false}}}};
    }
  };
  const std::vector<std::string> sort_fields = {"a", "b", "f", "m", "n.x"};
  std::map<std::string, int> plans;
  for (int q = 0; q < 300; ++q) {
    Json filter = random_filter();
    std::optional<SortSpec> sort;
    if (pick(2)) sort = SortSpec{sort_fields[pick(sort_fields.size())], pick(2) == 1};
    const uint32_t limit = 1 + pick(40);
    SCOPED_TRACE(filter.dump() + (sort ? " sort " + sort->field + (sort->descending ? " desc" : " asc") : "") +
                 " limit " + std::to_string(limit));
    auto first = Run(filter, sort, limit);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    plans[first->plan.value("op", "scan") + "/" + first->plan.value("sort", "-")]++;
    EXPECT_EQ(AllPages(filter, sort, limit), Expected(filter, sort));
    // The same filter wrapped in $or cannot use an index: the same answer.
    Json scan_filter = filter.is_null() ? Json::object() : Json{{"$or", Json::array({filter})}};
    auto scanned = Run(scan_filter, sort, limit);
    ASSERT_TRUE(scanned.ok());
    if (!filter.is_null() && !sort) {
      EXPECT_EQ(scanned->plan["used"], "scan");
    }
    ASSERT_EQ(scanned->docs.size(), first->docs.size());
    for (size_t i = 0; i < first->docs.size(); ++i) EXPECT_EQ(scanned->docs[i].id, first->docs[i].id);
  }
  for (const char* p : {"eq/-", "in/-", "range/-", "scan/-", "sort/index", "scan/memory"}) {
    EXPECT_GT(plans[p], 0) << "plan " << p << " was never exercised";
  }
}

}  // namespace
}  // namespace kissvdb::doc
