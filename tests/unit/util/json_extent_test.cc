// json_extent::ValueLength: where a value ends, for every kind of value,
// and 0 for what does not end or nests too deep.
#include "util/json_extent.h"

#include <gtest/gtest.h>

#include <string>

namespace kissvdb::json_extent {
namespace {

TEST(JsonExtentTest, FindsTheEndOfEachKindOfValue) {
  const struct {
    const char* text;
    size_t length;
  } cases[] = {
      {R"("abc",1)", 5},
      {R"("a\"b\\",)", 8},                      // escapes inside a string
      {R"({"a":[1,{"b":"}]"}],"c":2}}tail)", 26},  // closes inside strings skipped
      {R"([[],[[]]])", 9},
      {"123,4", 3},
      {"-1.5e3}", 6},
      {"true]", 4},
      {"null ", 4},
      {"7\"x\"", 1},  // a quote after a scalar ends it
      {"42", 2},      // a scalar may run to the end
  };
  for (const auto& c : cases) EXPECT_EQ(ValueLength(c.text, 64), c.length) << c.text;
}

TEST(JsonExtentTest, ZeroForWhatDoesNotEndOrNestsTooDeep) {
  for (const char* text : {"", "\"open", "\"esc\\\"", "[1,2", "{\"a\":{}", ",1", "}", " 1"}) {
    EXPECT_EQ(ValueLength(text, 64), 0u) << text;
  }
  const std::string deep = std::string(65, '[') + std::string(65, ']');
  EXPECT_EQ(ValueLength(deep, 64), 0u);
  EXPECT_EQ(ValueLength(deep, 65), deep.size());
}

}  // namespace
}  // namespace kissvdb::json_extent
