// Where a JSON value ends, found without parsing it: for readers that take a
// value's text as it is (a vector request's other members, a logged KV
// put's value) and leave its syntax to whoever parses it, if anyone.
#pragma once

#include <cstddef>
#include <string_view>

namespace kissvdb::json_extent {

// The length of the JSON value at the start of `s`: a string to its closing
// quote, an array or object to its matching close (strings inside skipped,
// escapes included), a scalar up to the next `,` `]` `}` `"` or whitespace.
// 0 when the value does not end within `s` (an open string or container),
// nests deeper than `max_depth`, or `s` starts with none of it.
size_t ValueLength(std::string_view s, int max_depth);

}  // namespace kissvdb::json_extent
