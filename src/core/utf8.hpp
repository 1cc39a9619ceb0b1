// UTF-8 validation (RFC 3629): rejects overlong forms, surrogates and code points past U+10FFFF.
#pragma once

#include <cstddef>
#include <string_view>

namespace hype {

bool is_valid_utf8(std::string_view s);
// Number of code points in valid UTF-8 (user-visible length limits count these, not bytes).
std::size_t utf8_length(std::string_view s);

}  // namespace hype
