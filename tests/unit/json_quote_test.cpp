// shm::json_quote(): the one JSON string escaper, behind shmctl's --json objects and the JSON
// text of 'c' and 'u' elements.

#include <gtest/gtest.h>

#include <string>

#include "shm/json_quote.hpp"

namespace {

TEST(JsonQuote, QuotesAndBackslashesAreEscaped) {
  EXPECT_EQ(shm::json_quote(""), "\"\"");
  EXPECT_EQ(shm::json_quote("plain name"), "\"plain name\"");
  EXPECT_EQ(shm::json_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
}

TEST(JsonQuote, ControlsAndDelAreEscapedUtf8PassesThrough) {
  EXPECT_EQ(shm::json_quote("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
  EXPECT_EQ(shm::json_quote(std::string("\0\x01\x1f\x7f", 4)), "\"\\u0000\\u0001\\u001f\\u007f\"");
  EXPECT_EQ(shm::json_quote("\xc3\xa9t\xc3\xa9"), "\"\xc3\xa9t\xc3\xa9\"") << "UTF-8 text is kept as it is";
}

}  // namespace
