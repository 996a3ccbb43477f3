// UTF-8 validation (keys, ids and names must be valid UTF-8).
#pragma once

#include <string_view>

namespace kissvdb::utf8 {

// True if `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool IsValid(std::string_view s);

}  // namespace kissvdb::utf8
