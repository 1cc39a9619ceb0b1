// Input rules shared by the services: each check throws ApiError 400 naming the field.
#pragma once

#include <string>

namespace hype::auth {

void validate_username(const std::string& username);
void validate_password(const std::string& password);
// Any user-visible text: valid UTF-8, no control characters except newline/tab when allowed,
// length in code points within [min, max]; when min > 0, not blank (core/utf8 is_blank_text).
void validate_text(const std::string& value, const std::string& field, std::size_t min,
                   std::size_t max, bool multiline);

}  // namespace hype::auth
