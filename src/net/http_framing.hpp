// Request framing checks on the raw header block, before Beast parses it (RFC 9112 sections
// 5.2 and 6). Beast picks a body length from whatever it finds: with `Transfer-Encoding:
// xchunked` and a Content-Length it reads Content-Length bytes, and it unfolds obs-fold
// lines. A proxy in front that reads the same bytes differently would then see a second
// request inside our body (request smuggling). So every message whose framing two honest
// parsers could disagree on is refused with 400 and the connection is closed.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace hype::net {

// Where the header block ends in `buffer` (one past the empty line), skipping the empty
// lines a client may send before the request line; npos while it is incomplete.
std::size_t header_block_end(std::string_view buffer);

// Why the framing of this header block (request line and fields, ending in CRLF CRLF) is
// ambiguous, or nullopt when it is not. Refused: obs-fold (a field line starting with
// whitespace), whitespace between a field name and its colon, Transfer-Encoding together
// with Content-Length, Transfer-Encoding in HTTP/1.0, and any Transfer-Encoding other than
// exactly `chunked` (an unknown coding, `chunked` not last or twice, an empty list).
std::optional<std::string> framing_error(std::string_view header_block);

}  // namespace hype::net
