// Writing JSON text by hand where building a Json tree first costs more than
// the answer is worth (hot read paths). The bytes are those nlohmann's
// dump(-1, ' ', false, error_handler_t::replace) writes for the same value,
// so hand-written and tree-built answers cannot be told apart.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace kissvdb {

// A JSON string literal, quotes included. Invalid UTF-8 becomes U+FFFD.
void AppendJsonString(std::string_view s, std::string* out);

// A whole value, byte for byte what v.dump(-1, ' ', false, replace) writes,
// about twice as fast (strings are scanned once and copied in runs, numbers
// are written without a stream): for stored values and API answers.
void AppendJson(const nlohmann::json& v, std::string* out);
std::string DumpJson(const nlohmann::json& v);

// A JSON number in nlohmann's format (shortest round-trip digits, "1.0"
// for integral values); null for NaN and infinities.
void AppendJsonNumber(double v, std::string* out);

// A float32 as the shortest JSON number that reads back to the same float
// ("0.1" for 0.1f, where the double it equals prints 0.10000000149011612),
// with ".0" on integral values as above; null for NaN and infinities.
void AppendJsonFloat(float v, std::string* out);

}  // namespace kissvdb
