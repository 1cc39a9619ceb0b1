// UTF-8 validation (RFC 3629): rejects overlong forms, surrogates and code points past U+10FFFF.
// Also the "does this text show anything" test that message and name validation share.
#pragma once

#include <cstddef>
#include <string_view>

namespace hype {

bool is_valid_utf8(std::string_view s);
// Number of code points in valid UTF-8 (user-visible length limits count these, not bytes).
std::size_t utf8_length(std::string_view s);
// True when valid UTF-8 `s` has no code point that shows anything: every one is Unicode
// White_Space (ASCII spaces, NBSP, U+2028, U+3000, ...) or Default_Ignorable_Code_Point
// (zero-width space and joiners, BOM, bidi controls, variation selectors, Hangul fillers,
// tags), or U+2800 BRAILLE PATTERN BLANK. The empty string is blank.
bool is_blank_text(std::string_view s);

}  // namespace hype
