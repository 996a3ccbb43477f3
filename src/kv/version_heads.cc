#include "kv/version_heads.h"

#include "util/varint.h"

namespace kissvdb::kv {


bool VersionHeads::Decode(std::string_view encoded) {
  uint64_t desc[kMax];
  size_t n = 0;
  while (!encoded.empty()) {
    uint64_t v;
    if (n == kMax || !varint::Get(&encoded, &v)) {
      n_ = 0;
      return false;
    }
    if (n > 0) {
      if (v == 0 || v >= desc[n - 1]) {  // offsets strictly decrease and stay above 0
        n_ = 0;
        return false;
      }
      v = desc[n - 1] - v;
    }
    desc[n++] = v;
  }
  n_ = n;
  for (size_t i = 0; i < n; ++i) off_[i] = desc[n - 1 - i];
  return true;
}

void VersionHeads::EncodeTo(std::string* out) const {
  for (size_t i = n_; i-- > 0;) varint::Put(out, i + 1 == n_ ? off_[i] : off_[i + 1] - off_[i]);
}

uint64_t VersionHeads::Add(uint64_t offset) {
  uint64_t dropped = 0;
  if (n_ == kMax) {
    dropped = off_[0];
    for (size_t i = 1; i < kMax; ++i) off_[i - 1] = off_[i];
    --n_;
  }
  off_[n_++] = offset;
  return dropped;
}

int VersionHeads::NewestAtOrBefore(uint64_t at) const {
  size_t lo = 0, hi = n_;  // the first index above `at`
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (off_[mid] <= at) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return static_cast<int>(lo) - 1;
}

void PutHeadsField(std::string* out, std::string_view heads) {
  if (heads.empty()) return;
  out->push_back(static_cast<char>(heads.size()));
  out->append(heads);
}

bool TakeHeadsField(uint64_t* revision, std::string_view* rest, std::string_view* heads) {
  *heads = {};
  if ((*revision & kRevisionHasHeads) == 0) return true;
  *revision &= ~kRevisionHasHeads;
  if (rest->empty()) return false;
  const size_t n = static_cast<unsigned char>(rest->front());
  if (rest->size() < 1 + n) return false;
  *heads = rest->substr(1, n);
  rest->remove_prefix(1 + n);
  return true;
}

}  // namespace kissvdb::kv
