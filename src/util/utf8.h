// UTF-8 validation (keys, ids and names must be valid UTF-8).
#pragma once

#include <cstddef>
#include <string_view>

namespace kissvdb::utf8 {

// Length of the well-formed UTF-8 sequence at p (p < end), or 0 if it is
// ill-formed (overlong, surrogate, past U+10FFFF, truncated).
size_t SequenceLength(const unsigned char* p, const unsigned char* end);

// True if `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool IsValid(std::string_view s);

}  // namespace kissvdb::utf8
