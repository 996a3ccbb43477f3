// PageCursor: the opaque paging position of find and list results.
//
// A cursor is the position of the last document a page returned, in the
// result order, never an offset: the next page starts strictly after it.
// Writes to other documents therefore never make a page skip or repeat a
// document (keyset pagination). On the wire it is base64url (no padding) of
//   "K1" mode
//   mode 'i': id order         -> id
//   mode 's': sorted by field  -> order ('a'|'d'), u32le field length, field,
//                                 u32le sort-key length, sort key, id
#pragma once

#include <string>
#include <string_view>

#include "kissvdb/status.h"

namespace kissvdb::doc {

struct PageCursor {
  bool sorted = false;
  std::string field;       // sorted only
  bool descending = false; // sorted only
  std::string sort_key;    // sorted only: doc/index_codec.h SortKey of the last document
  std::string id;          // the last document returned
};

std::string EncodeCursor(const PageCursor& cursor);
// InvalidArgument for anything EncodeCursor did not produce.
Result<PageCursor> DecodeCursor(std::string_view text);

// base64url (RFC 4648 section 5) without padding.
std::string Base64UrlEncode(std::string_view data);
bool Base64UrlDecode(std::string_view text, std::string* out);

}  // namespace kissvdb::doc
