// Order-preserving byte encodings for the document store's LMDB keys.
//
// A scalar JSON value is encoded as one tag byte (the type's rank) followed
// by a payload, so that comparing encodings byte-wise orders values first by
// type, then by value:
//
//   missing  0x05                    (sort keys only; never indexed)
//   null     0x10
//   false    0x20
//   true     0x21
//   number   0x30 + 8 bytes          IEEE-754 double, sign-flipped big-endian:
//                                    numeric order; -0 is written as +0; an
//                                    integer beyond 2^53 shares the encoding
//                                    of its nearest double
//   string   0x40 + escaped bytes    0x00 -> 0x00 0xFF, then 0x00 0x01;
//                                    byte-wise (lexicographic) order
//   composite 0x60 + JSON text       objects and arrays (sort keys only)
//
// Every encoding of a scalar is self-delimiting (no encoding is a proper
// prefix of another), so a document id can follow it in an index key, and
// the order of (value, id) pairs is the byte order of the keys. Ids and
// collection names never contain 0x00 or 0xFF (they are validated UTF-8
// without control characters), which makes the key layouts unambiguous.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace kissvdb::doc {

using Json = nlohmann::json;

namespace tag {
inline constexpr uint8_t kMissing = 0x05;
inline constexpr uint8_t kNull = 0x10;
inline constexpr uint8_t kFalse = 0x20;
inline constexpr uint8_t kTrue = 0x21;
inline constexpr uint8_t kNumber = 0x30;
inline constexpr uint8_t kString = 0x40;
inline constexpr uint8_t kComposite = 0x60;
}  // namespace tag

// What gets an index entry: a top-level field whose escaped name is at most
// kMaxIndexedFieldBytes, holding a scalar whose encoding is at most
// kMaxIndexedValueBytes (about 250 bytes of string). Longer strings are
// counted per field (FieldStats::long_values) instead, so the planner knows
// when the index cannot answer a string range or a sort.
inline constexpr size_t kMaxIndexedFieldBytes = 64;
inline constexpr size_t kMaxIndexedValueBytes = 250;
// LMDB's compile-time key size limit (mdb_env_get_maxkeysize).
inline constexpr size_t kMaxKeyBytes = 511;

// Appends `s` escaped (0x00 -> 0x00 0xFF) and terminated (0x00 0x01).
void AppendEscaped(std::string* out, std::string_view s);

// Appends the encoding of a scalar (null, bool, number, string); returns
// false, appending nothing, for objects and arrays.
bool AppendScalar(std::string* out, const Json& value);

// The sort key of a value: its scalar encoding, kMissing for an absent
// field (null pointer), kComposite + JSON text for objects and arrays.
std::string SortKey(const Json* value);

// Length of the scalar encoding at the start of `s`, 0 when malformed.
size_t ScalarLength(std::string_view s);

// Key layouts (see docs/documents.md):
//   docs             collection 0x00 id
//   doc_index        collection 0x00 escaped-field scalar id
//   doc_fields       collection 0x00 field
//   doc_collections  collection
std::string CollectionPrefix(std::string_view collection);
std::string DocKey(std::string_view collection, std::string_view id);
// The prefix of every index entry of one field of one collection.
std::string FieldPrefix(std::string_view collection, std::string_view field);
std::string FieldStatsKey(std::string_view collection, std::string_view field);

// Whether a top-level field name can have index entries at all.
bool IndexableField(std::string_view field);

}  // namespace kissvdb::doc
