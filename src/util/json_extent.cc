#include "util/json_extent.h"

namespace kissvdb::json_extent {

size_t ValueLength(std::string_view s, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
        if (depth == 0) return i + 1;
      }
    } else if (c == '"') {
      if (depth == 0 && i != 0) return i;  // a quote after a scalar ends it
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return 0;
    } else if (c == ']' || c == '}') {
      if (depth == 0) return i;  // a scalar ends at its container's close
      if (--depth == 0) return i + 1;
    } else if (depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
      return i;
    }
  }
  return in_string || depth != 0 ? 0 : s.size();
}

}  // namespace kissvdb::json_extent
