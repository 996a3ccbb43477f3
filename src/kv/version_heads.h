// VersionHeads: the offsets of an item's newest versions (at most 16), kept
// beside the item's present record so that a read at a past offset finds its
// version with a binary search here and one lookup (kv/state_history.h).
//
// Encoding (docs/storage-layout.md): the newest offset as a varint, then
// each older one as a varint of its distance to the one before it, newest
// to oldest. 16 offsets a few thousand events apart take about 40 bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace kissvdb::kv {

class VersionHeads {
 public:
  static constexpr size_t kMax = 16;

  // False when `encoded` is malformed (it is then left empty).
  bool Decode(std::string_view encoded);
  void EncodeTo(std::string* out) const;
  std::string Encode() const {
    std::string s;
    EncodeTo(&s);
    return s;
  }

  // Adds `offset`, newer than every offset here, dropping the oldest when
  // full; returns the dropped offset (0 if none).
  uint64_t Add(uint64_t offset);

  bool empty() const { return n_ == 0; }
  size_t size() const { return n_; }
  // Ascending: [0] is the oldest kept, [size()-1] the newest.
  uint64_t operator[](size_t i) const { return off_[i]; }
  uint64_t newest() const { return n_ == 0 ? 0 : off_[n_ - 1]; }
  // The index of the newest offset <= at; -1 when every offset is above it.
  int NewestAtOrBefore(uint64_t at) const;

 private:
  uint64_t off_[kMax] = {};
  size_t n_ = 0;
};

// Where a present record (kv/state_store.h, doc/doc_store.h) keeps its
// heads: bit 63 of its revision field says they are there, and they are
// stored as u8 n, then n bytes (an encoding of at most 16 varints).
constexpr uint64_t kRevisionHasHeads = uint64_t{1} << 63;
inline uint64_t RevisionField(uint64_t revision, std::string_view heads) {
  return heads.empty() ? revision : revision | kRevisionHasHeads;
}
void PutHeadsField(std::string* out, std::string_view heads);  // nothing when empty
// Reads the revision field: clears the flag in *revision and, when it was
// set, takes the heads from the front of *rest; false when they run past it.
bool TakeHeadsField(uint64_t* revision, std::string_view* rest, std::string_view* heads);

}  // namespace kissvdb::kv
