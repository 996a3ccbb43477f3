// Postings: an in-memory inverted index of one text index, for ranked plain
// queries (the OR of single-term words) in time that grows with the top k,
// not with the number of matches.
//
// FTS5 ranks `... MATCH 'a OR b' ORDER BY bm25 LIMIT k` by scoring every
// matching row (one read of its size record each) and sorting: a query with
// a common word costs what that word's posting list costs. Here each term
// keeps its postings (item number, term frequency) in item order, and Search
// runs MaxScore (Turtle & Flood 1995): terms sorted by their largest
// possible contribution; once k items are held, the terms whose combined
// largest contribution cannot reach the k-th score only get looked up for
// items the other terms found, and an item is dropped as soon as its bound
// falls below the k-th score.
//
// The scores are FTS5's bm25() to the bit (k1 = 1.2, b = 0.75, the same
// idf, the same average length, summed in the query's word order), so the
// ranking and ties (by item id) equal the SQL path's. The terms come from
// FTS5's own tokenizers (fts5_tokenizer.h).
//
// Items are numbered in insertion order; replacing or removing one leaves a
// dead number in the lists until dead postings outnumber live ones, when
// everything is renumbered (Compact).
//
// Queries whose terms hold few postings in all (kTermAtATimePostings, more
// for a larger top k) skip MaxScore: they add every posting into one score
// per item, term by term in the query's order (FTS5's order again), and
// keep the best k of those.
//
// A term's part of an item's score is idf × x, where x depends on the
// term frequency, the item's length and the average length. Searches keep
// each term's x per posting once computed ("impacts"), until the next
// write changes the average: a read-mostly index then scores with one
// multiplication per posting instead of two divisions and a read of the
// item's length.
//
// Thread-safety: the owner guards it (readers shared, writer unique);
// readers share the impacts under their own mutex.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/types.h"

namespace kissvdb::text {

class Postings {
 public:
  // Up to this many postings in all, times 1 + limit / 16, a query adds
  // them up term by term (every posting read once, cheaply); above, MaxScore
  // skips. 0: MaxScore always. (MaxScore skips less as the k-th score it
  // prunes with falls, so a larger top k moves the line up.)
  static constexpr size_t kTermAtATimePostings = 65536;
  explicit Postings(size_t term_at_a_time_postings = kTermAtATimePostings)
      : term_at_a_time_postings_(term_at_a_time_postings) {}

  // Adds `item` with the terms of all its fields (every token, in order), or
  // replaces it. An item with no term still counts as a row (as in FTS5).
  void Put(std::string_view item, const std::vector<std::string>& terms);
  void Remove(std::string_view item);

  uint64_t items() const { return live_; }

  // The best `limit` items for the OR of `words` (one term each, in the
  // query's order; a word may repeat), best BM25 first, ties by item id;
  // `accept` (null: all pass) is asked only for items that would enter the
  // top `limit`.
  std::vector<TextHit> Search(const std::vector<std::string>& words, size_t limit,
                              const std::function<bool(std::string_view item)>& accept) const;

 private:
  struct Posting {
    uint32_t item;
    uint32_t tf;
  };
  struct Term {
    std::vector<Posting> postings;  // by item number; dead items stay until Compact
    uint32_t df = 0;                // live items holding the term
    uint32_t max_tf = 0;            // bounds over every posting ever added since Compact
    uint32_t min_length = UINT32_MAX;
  };
  struct Item {
    std::string id;
    uint32_t length = 0;          // tokens in all fields
    bool live = false;
    std::vector<uint32_t> terms;  // its distinct term numbers
  };

  // x of every posting of one term (0 for dead items), for one generation.
  struct Impacts {
    uint64_t generation;
    std::vector<double> x;
  };

  static constexpr uint32_t kDead = UINT32_MAX;
  // Term at a time only for indexes of at most this many item numbers.
  static constexpr size_t kMaxDenseItems = size_t{1} << 21;
  // The best `limit` of `items` by `score` (ties by id) that `accept` takes.
  std::vector<TextHit> TopOf(const std::vector<uint32_t>& items, const std::vector<double>& score, size_t limit,
                             const std::function<bool(std::string_view item)>& accept) const;
  uint32_t TermNumber(const std::string& term);
  void Compact();
  // Term `term`'s impacts for this generation (computed if missing or old).
  std::shared_ptr<const Impacts> ImpactsOf(uint32_t term, double avgdl) const;

  const size_t term_at_a_time_postings_;
  std::unordered_map<std::string, uint32_t> term_of_;
  std::vector<Term> terms_;
  std::unordered_map<std::string, uint32_t> item_of_;  // live items only
  std::vector<Item> items_;
  std::vector<uint32_t> length_of_;  // items_[i].length, or kDead: what the search loop reads
  uint64_t live_ = 0;
  uint64_t total_length_ = 0;  // tokens of all live items
  uint64_t live_postings_ = 0;
  uint64_t dead_postings_ = 0;
  uint64_t generation_ = 0;  // changes with every write: old impacts are stale

  mutable std::mutex impacts_mu_;
  mutable std::vector<std::shared_ptr<const Impacts>> impacts_;  // by term number
};

}  // namespace kissvdb::text
