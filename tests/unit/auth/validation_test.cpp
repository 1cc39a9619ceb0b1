#include <gtest/gtest.h>

#include "auth/validation.hpp"
#include "core/errors.hpp"

using namespace hype;
using namespace hype::auth;

namespace {
std::string field_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    return e.field();
  }
  return "<ok>";
}
}  // namespace

TEST(Validation, Usernames) {
  EXPECT_EQ(field_of([] { validate_username("alice_01.x-y"); }), "<ok>");
  EXPECT_EQ(field_of([] { validate_username("a"); }), "username");
  EXPECT_EQ(field_of([] { validate_username(std::string(33, 'a')); }), "username");
  EXPECT_EQ(field_of([] { validate_username("al ice"); }), "username");
  EXPECT_EQ(field_of([] { validate_username("al\xC3\xA9"); }), "username");
}

TEST(Validation, Passwords) {
  EXPECT_EQ(field_of([] { validate_password("12345678"); }), "<ok>");
  EXPECT_EQ(field_of([] { validate_password("1234567"); }), "password");
  EXPECT_EQ(field_of([] { validate_password(std::string(129, 'x')); }), "password");
  EXPECT_EQ(field_of([] { validate_password("\xFF\xFE\xFD\xFC\xFB\xFA\xF9\xF8"); }), "password");
}

TEST(Validation, TextCountsCodePointsAndRejectsControls) {
  std::string e4000;
  for (int i = 0; i < 4000; ++i) e4000 += "\xC3\xA9";
  EXPECT_EQ(field_of([&] { validate_text(e4000, "content", 1, 4000, true); }), "<ok>");
  EXPECT_EQ(field_of([&] { validate_text(e4000 + "x", "content", 1, 4000, true); }), "content");
  EXPECT_EQ(field_of([] { validate_text("line\nline", "content", 1, 10, true); }), "<ok>");
  EXPECT_EQ(field_of([] { validate_text("line\nline", "name", 1, 10, false); }), "name");
  EXPECT_EQ(field_of([] { validate_text(std::string("a\0b", 3), "name", 1, 10, false); }), "name");
  EXPECT_EQ(field_of([] { validate_text("  \n ", "content", 1, 10, true); }), "content");
  // Unicode spaces alone are blank too (U+3000, NBSP, U+2028, zero-width space).
  for (const char* blank : {"\xE3\x80\x80", "\xC2\xA0 \xC2\xA0", "\xE2\x80\xA8", "\xE2\x80\x8B\n"})
    EXPECT_EQ(field_of([&] { validate_text(blank, "content", 1, 10, true); }), "content") << blank;
  EXPECT_EQ(field_of([] { validate_text("\xE3\x80\x80hi", "content", 1, 10, true); }), "<ok>");
  EXPECT_EQ(field_of([] { validate_text("\xE3\x80\x80", "topic", 0, 10, true); }), "<ok>");
  EXPECT_EQ(field_of([] { validate_text("", "topic", 0, 10, true); }), "<ok>");
}
