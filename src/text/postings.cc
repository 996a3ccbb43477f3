#include "text/postings.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kissvdb::text {

namespace {

// FTS5's bm25() constants (fts5_aux.c).
constexpr double kK1 = 1.2;
constexpr double kB = 0.75;
// Bounds are summed in another order than scores: a relative slack keeps a
// rounding difference from dropping an item whose score ties the k-th.
constexpr double kSlack = 1 + 1e-9;

// FTS5's inverse document frequency of a term held by `hits` of `rows` rows.
double Idf(int64_t rows, int64_t hits) {
  double idf = std::log((rows - hits + 0.5) / (hits + 0.5));
  return idf <= 0.0 ? 1e-6 : idf;
}

// What idf multiplies in one term's part of an item's score, as FTS5
// writes it.
double Impact(double tf, double length, double avgdl) {
  return (tf * (kK1 + 1.0)) / (tf + kK1 * (1 - kB + kB * length / avgdl));
}

// One term's part of an item's score, as FTS5 writes it.
double Part(double idf, double tf, double length, double avgdl) { return idf * Impact(tf, length, avgdl); }

// The best `limit` items offered so far, by score and then by id, worst on
// top of a heap.
template <typename IdOf>
class Best {
 public:
  Best(size_t limit, IdOf id_of) : limit_(limit), id_of_(id_of) {}
  bool full() const { return heap_.size() >= limit_; }
  double worst() const { return heap_.front().score; }
  // Takes the item if it beats the worst held one and `accept` (null: any),
  // asked only then, takes it too; true if it was taken.
  bool Offer(double score, uint32_t item, const std::function<bool(std::string_view item)>& accept) {
    const Held held{score, item};
    if (full() && !Better(held, heap_.front())) return false;
    if (accept && !accept(id_of_(item))) return false;
    heap_.push_back(held);
    std::push_heap(heap_.begin(), heap_.end(), Order{this});
    if (heap_.size() > limit_) {
      std::pop_heap(heap_.begin(), heap_.end(), Order{this});
      heap_.pop_back();
    }
    return true;
  }
  // The held items, best first, ranked from 1.
  std::vector<TextHit> Take() {
    std::sort(heap_.begin(), heap_.end(), Order{this});
    std::vector<TextHit> out;
    out.reserve(heap_.size());
    for (const Held& h : heap_) {
      TextHit hit;
      hit.id = std::string(id_of_(h.item));
      hit.score = h.score;
      hit.rank = static_cast<uint32_t>(out.size() + 1);
      out.push_back(std::move(hit));
    }
    return out;
  }

 private:
  struct Held {
    double score;
    uint32_t item;
  };
  bool Better(const Held& a, const Held& b) const {
    if (a.score != b.score) return a.score > b.score;
    return id_of_(a.item) < id_of_(b.item);
  }
  struct Order {  // "a before b": the heap's and the answer's order
    const Best* best;
    bool operator()(const Held& a, const Held& b) const { return best->Better(a, b); }
  };
  const size_t limit_;
  IdOf id_of_;
  std::vector<Held> heap_;
};

}  // namespace

uint32_t Postings::TermNumber(const std::string& term) {
  auto [it, added] = term_of_.try_emplace(term, static_cast<uint32_t>(terms_.size()));
  if (added) {
    terms_.emplace_back();
    impacts_.emplace_back();
  }
  return it->second;
}

void Postings::Put(std::string_view id, const std::vector<std::string>& terms) {
  Remove(id);
  ++generation_;
  if (items_.size() >= std::numeric_limits<uint32_t>::max() - 1) Compact();
  const auto number = static_cast<uint32_t>(items_.size());
  Item item;
  item.id = std::string(id);
  item.length = static_cast<uint32_t>(std::min<size_t>(terms.size(), std::numeric_limits<uint32_t>::max()));
  item.live = true;
  std::unordered_map<uint32_t, uint32_t> tf;
  for (const std::string& t : terms) ++tf[TermNumber(t)];
  item.terms.reserve(tf.size());
  for (const auto& [term, count] : tf) {
    Term& t = terms_[term];
    t.postings.push_back(Posting{number, count});
    ++t.df;
    t.max_tf = std::max(t.max_tf, count);
    t.min_length = std::min(t.min_length, item.length);
    item.terms.push_back(term);
  }
  live_postings_ += tf.size();
  total_length_ += item.length;
  ++live_;
  item_of_.emplace(item.id, number);
  length_of_.push_back(item.length == kDead ? kDead - 1 : item.length);
  items_.push_back(std::move(item));
}

void Postings::Remove(std::string_view id) {
  auto it = item_of_.find(std::string(id));
  if (it == item_of_.end()) return;
  ++generation_;
  Item& item = items_[it->second];
  for (uint32_t term : item.terms) --terms_[term].df;
  live_postings_ -= item.terms.size();
  dead_postings_ += item.terms.size();
  total_length_ -= item.length;
  --live_;
  item.live = false;
  length_of_[it->second] = kDead;
  item.terms = {};
  item.id = {};
  item_of_.erase(it);
  if (dead_postings_ > 4096 + live_postings_ || items_.size() > 1024 + 2 * live_) Compact();
}

void Postings::Compact() {
  std::vector<uint32_t> renumber(items_.size(), UINT32_MAX);
  std::vector<Item> items;
  items.reserve(live_);
  for (size_t i = 0; i < items_.size(); ++i) {
    if (!items_[i].live) continue;
    renumber[i] = static_cast<uint32_t>(items.size());
    items.push_back(std::move(items_[i]));
  }
  // Terms no live item holds go away; the others are renumbered too.
  std::vector<uint32_t> term_renumber(terms_.size(), UINT32_MAX);
  std::vector<Term> terms;
  for (auto it = term_of_.begin(); it != term_of_.end();) {
    Term& old = terms_[it->second];
    if (old.df == 0) {
      it = term_of_.erase(it);
      continue;
    }
    Term t;
    t.df = old.df;
    t.postings.reserve(old.df);
    for (const Posting& p : old.postings) {
      const uint32_t n = renumber[p.item];
      if (n == UINT32_MAX) continue;
      t.postings.push_back(Posting{n, p.tf});
      t.max_tf = std::max(t.max_tf, p.tf);
      t.min_length = std::min(t.min_length, items[n].length);
    }
    term_renumber[it->second] = static_cast<uint32_t>(terms.size());
    it->second = static_cast<uint32_t>(terms.size());
    terms.push_back(std::move(t));
    ++it;
  }
  for (Item& item : items) {
    for (uint32_t& term : item.terms) term = term_renumber[term];
  }
  for (auto& [id, number] : item_of_) number = renumber[number];
  length_of_.clear();
  for (const Item& item : items) length_of_.push_back(item.length == kDead ? kDead - 1 : item.length);
  items_ = std::move(items);
  terms_ = std::move(terms);
  dead_postings_ = 0;
  ++generation_;
  impacts_.assign(terms_.size(), nullptr);
}

std::shared_ptr<const Postings::Impacts> Postings::ImpactsOf(uint32_t term, double avgdl) const {
  {
    std::lock_guard lk(impacts_mu_);
    const auto& held = impacts_[term];
    if (held && held->generation == generation_) return held;
  }
  // Two searches may compute the same term at once: the same values.
  auto made = std::make_shared<Impacts>();
  made->generation = generation_;
  const auto& postings = terms_[term].postings;
  made->x.reserve(postings.size());
  for (const Posting& p : postings) {
    const uint32_t length = length_of_[p.item];
    made->x.push_back(length == kDead ? 0.0 : Impact(p.tf, length, avgdl));
  }
  std::lock_guard lk(impacts_mu_);
  impacts_[term] = made;
  return made;
}

std::vector<TextHit> Postings::TopOf(const std::vector<uint32_t>& items, const std::vector<double>& score,
                                     size_t limit, const std::function<bool(std::string_view item)>& accept) const {
  Best best(limit, [this](uint32_t item) -> std::string_view { return items_[item].id; });
  double kth = -1;  // an item below the worst held one cannot enter
  const size_t n = items.size();
  for (size_t i = 0; i < n; ++i) {
    // The scores are read in no useful order: asking for them ahead lets
    // the reads overlap.
    if (i + 16 < n) __builtin_prefetch(&score[items[i + 16]]);
    const uint32_t item = items[i];
    const double s = score[item];
    if (s < kth) continue;
    if (best.Offer(s, item, accept) && best.full()) kth = best.worst();
  }
  return best.Take();
}

std::vector<TextHit> Postings::Search(const std::vector<std::string>& words, size_t limit,
                                      const std::function<bool(std::string_view item)>& accept) const {
  std::vector<TextHit> out;
  if (live_ == 0 || limit == 0 || words.empty()) return out;
  const auto rows = static_cast<int64_t>(live_);
  const double avgdl = static_cast<double>(total_length_) / static_cast<double>(rows);

  // The distinct terms of the query that some item holds, each with how
  // often the query names it; each word's slot among them (or none).
  struct QueryTerm {
    const Term* term = nullptr;
    uint32_t number = 0;
    double idf = 0;
    double bound = 0;  // largest contribution to any item's score
    int times = 0;  // how many words of the query are this term
    double weight = 0;  // times * idf: the factor of x in bounds
    std::shared_ptr<const Impacts> impacts;
    size_t pos = 0;
    double x = 0;  // in the item being scored; 0: the item does not hold the term
  };
  std::vector<QueryTerm> qt;
  std::vector<size_t> slot_of_word(words.size(), SIZE_MAX);
  {
    for (size_t w = 0; w < words.size(); ++w) {
      auto it = term_of_.find(words[w]);
      if (it == term_of_.end() || terms_[it->second].df == 0) continue;
      const Term* t = &terms_[it->second];
      size_t s = 0;
      while (s < qt.size() && qt[s].term != t) ++s;
      if (s == qt.size()) {
        QueryTerm q;
        q.term = t;
        q.number = it->second;
        q.idf = Idf(rows, t->df);
        qt.push_back(std::move(q));
      }
      ++qt[s].times;
      slot_of_word[w] = s;
    }
    for (size_t i = 0; i < qt.size(); ++i) {
      const Term& t = *qt[i].term;
      qt[i].bound = qt[i].times * Part(qt[i].idf, t.max_tf, t.min_length, avgdl) * kSlack;
      qt[i].weight = qt[i].times * qt[i].idf;
      qt[i].impacts = ImpactsOf(qt[i].number, avgdl);
    }
    // Ascending bounds; slot_of_word follows the move.
    std::vector<size_t> order(qt.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return qt[a].bound < qt[b].bound; });
    std::vector<size_t> new_slot(qt.size());
    std::vector<QueryTerm> sorted;
    for (size_t i = 0; i < order.size(); ++i) {
      new_slot[order[i]] = i;
      sorted.push_back(qt[order[i]]);
    }
    qt = std::move(sorted);
    for (size_t& s : slot_of_word) {
      if (s != SIZE_MAX) s = new_slot[s];
    }
  }
  const size_t m = qt.size();
  if (m == 0) return out;
  size_t total = 0;
  for (const QueryTerm& q : qt) total += q.term->postings.size();
  if (term_at_a_time_postings_ != 0 && total / (1 + limit / 16) <= term_at_a_time_postings_ &&
      items_.size() <= kMaxDenseItems) {
    // Few postings: every one is read anyway; adding them term by term into
    // one score per item is cheaper than walking the lists side by side.
    // (One score per item number: a buffer per thread of at most
    // kMaxDenseItems doubles.)
    // Word by word in the query's order is FTS5's summation order.
    struct Scratch {
      std::vector<double> score;  // 0: not touched (a score is > 0)
      std::vector<uint32_t> touched;
    };
    thread_local Scratch scratch;
    if (scratch.score.size() < items_.size()) scratch.score.resize(items_.size(), 0.0);
    scratch.touched.clear();
    // Without branches on the data: whether an item was touched before is
    // as good as random, and a mispredicted branch per posting cost more
    // than the rest of the loop.
    double* score = scratch.score.data();
    for (size_t w = 0; w < words.size(); ++w) {
      if (slot_of_word[w] == SIZE_MAX) continue;
      const QueryTerm& q = qt[slot_of_word[w]];
      const Posting* p = q.term->postings.data();
      const double* x = q.impacts->x.data();
      const size_t n = q.impacts->x.size();
      size_t touched = scratch.touched.size();
      scratch.touched.resize(touched + n);
      uint32_t* list = scratch.touched.data();
      for (size_t j = 0; j < n; ++j) {
        const uint32_t item = p[j].item;
        list[touched] = item;
        touched += (score[item] == 0) & (x[j] != 0);  // x is 0 for a dead item
        score[item] += q.idf * x[j];
      }
      scratch.touched.resize(touched);
    }
    out = TopOf(scratch.touched, scratch.score, limit, accept);
    for (uint32_t item : scratch.touched) scratch.score[item] = 0;
    return out;
  }
  std::vector<double> prefix(m);  // prefix[i]: the bounds of terms 0..i together
  for (size_t i = 0; i < m; ++i) prefix[i] = qt[i].bound + (i ? prefix[i - 1] : 0);

  Best best(limit, [this](uint32_t item) -> std::string_view { return items_[item].id; });
  double kth = 0;             // the worst held score, once `limit` are held
  size_t first_essential = 0;  // items holding only terms below it cannot enter
  auto can_enter = [&](double bound) { return !best.full() || bound >= kth; };

  for (;;) {
    uint32_t item = UINT32_MAX;
    for (size_t i = first_essential; i < m; ++i) {
      const auto& p = qt[i].term->postings;
      if (qt[i].pos < p.size()) item = std::min(item, p[qt[i].pos].item);
    }
    if (item == UINT32_MAX) break;
    const bool live = length_of_[item] != kDead;
    // The bounds' arithmetic: the same terms, not FTS5's exact order.
    double partial = 0;
    for (size_t i = first_essential; i < m; ++i) {
      QueryTerm& q = qt[i];
      const auto& p = q.term->postings;
      q.x = 0;
      if (q.pos < p.size() && p[q.pos].item == item) {
        q.x = q.impacts->x[q.pos++];
        partial += q.weight * q.x;
      }
    }
    if (!live) continue;
    bool pruned = false;
    for (size_t i = first_essential; i-- > 0;) {
      QueryTerm& q = qt[i];
      q.x = 0;
      if (!can_enter(partial + prefix[i])) {
        pruned = true;
        break;
      }
      const auto& p = q.term->postings;
      auto found = std::lower_bound(p.begin() + static_cast<std::ptrdiff_t>(q.pos), p.end(), item,
                                    [](const Posting& x, uint32_t n) { return x.item < n; });
      q.pos = static_cast<size_t>(found - p.begin());
      if (found != p.end() && found->item == item) {
        q.x = q.impacts->x[q.pos];
        partial += q.weight * q.x;
      }
    }
    if (pruned || !can_enter(partial * kSlack)) continue;
    // The score as FTS5 sums it: word by word, in the query's order.
    double score = 0;
    for (size_t w = 0; w < words.size(); ++w) {
      const size_t s = slot_of_word[w];
      if (s != SIZE_MAX && qt[s].x != 0) score += qt[s].idf * qt[s].x;
    }
    if (best.Offer(score, item, accept) && best.full()) {
      kth = best.worst();
      while (first_essential < m && prefix[first_essential] < kth) ++first_essential;
    }
  }
  return best.Take();
}

}  // namespace kissvdb::text
