#include "kv/version_heads.h"

namespace kissvdb::kv {

namespace {

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view* in, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    const auto b = static_cast<unsigned char>(in->front());
    in->remove_prefix(1);
    *v |= uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

}  // namespace

bool VersionHeads::Decode(std::string_view encoded) {
  uint64_t desc[kMax];
  size_t n = 0;
  while (!encoded.empty()) {
    uint64_t v;
    if (n == kMax || !GetVarint(&encoded, &v)) {
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
  for (size_t i = n_; i-- > 0;) PutVarint(out, i + 1 == n_ ? off_[i] : off_[i + 1] - off_[i]);
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

}  // namespace kissvdb::kv
