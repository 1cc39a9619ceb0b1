#include "auth/validation.hpp"

#include <fmt/format.h>

#include "core/errors.hpp"
#include "core/utf8.hpp"

namespace hype::auth {

void validate_username(const std::string& u) {
  if (u.size() < 2 || u.size() > 32)
    throw bad_request("username must be 2 to 32 characters", "username");
  for (char c : u) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok)
      throw bad_request("username may contain only letters, digits, '_', '.' and '-'", "username");
  }
}

void validate_password(const std::string& p) {
  if (!is_valid_utf8(p)) throw bad_request("password is not valid UTF-8", "password");
  std::size_t n = utf8_length(p);
  if (n < 8) throw bad_request("password must be at least 8 characters", "password");
  if (n > 128 || p.size() > 512)
    throw bad_request("password must be at most 128 characters", "password");
}

void validate_text(const std::string& v, const std::string& field, std::size_t min, std::size_t max,
                   bool multiline) {
  if (!is_valid_utf8(v)) throw bad_request(field + " is not valid UTF-8", field, "invalid_utf8");
  for (unsigned char c : v) {
    if (c < 0x20 && !(multiline && (c == '\n' || c == '\t' || c == '\r')))
      throw bad_request(field + " contains control characters", field);
    if (c == 0x7F) throw bad_request(field + " contains control characters", field);
  }
  std::size_t n = utf8_length(v);
  // Blank in the Unicode sense: U+3000 or a zero-width space alone shows nothing either.
  bool blank = is_blank_text(v);
  if (n < min || (min > 0 && blank))
    throw bad_request(min <= 1 ? field + " must not be empty"
                               : fmt::format("{} must be at least {} characters", field, min),
                      field);
  if (n > max)
    throw bad_request(fmt::format("{} must be at most {} characters", field, max), field);
}

}  // namespace hype::auth
