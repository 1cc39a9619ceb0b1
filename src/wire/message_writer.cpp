#include "wire/message_writer.hpp"

#include <array>
#include <charconv>

#include "core/clock.hpp"

namespace hype::wire {

namespace {

// Per byte: 0 = written as is, 'u' = \u00XX, else a backslash and that character
// (boost/json/impl/serializer.ipp uses the same table and lower-case hex digits).
constexpr std::array<char, 256> kEscape = [] {
  std::array<char, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = 'u';
  t['\b'] = 'b';
  t['\t'] = 't';
  t['\n'] = 'n';
  t['\f'] = 'f';
  t['\r'] = 'r';
  t['"'] = '"';
  t['\\'] = '\\';
  return t;
}();
constexpr char kHex[] = "0123456789abcdef";

// 10000-01-01T00:00:00Z: format_iso8601's %04d year has four digits before it.
constexpr std::int64_t kYear10000Ms = 253402300800000;

void put_digits(char* p, unsigned v, int n) {
  for (int i = n - 1; i >= 0; --i, v /= 10) p[i] = static_cast<char>('0' + v % 10);
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  std::size_t from = 0;  // start of the bytes not yet written
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto ch = static_cast<unsigned char>(s[i]);
    char e = kEscape[ch];
    if (!e) continue;
    out.append(s.data() + from, i - from);
    if (e == 'u') {
      const char u[6] = {'\\', 'u', '0', '0', kHex[ch >> 4], kHex[ch & 15]};
      out.append(u, sizeof u);
    } else {
      out.push_back('\\');
      out.push_back(e);
    }
    from = i + 1;
  }
  out.append(s.data() + from, s.size() - from);
  out.push_back('"');
}

void append_id_json(std::string& out, Id id) {
  char buf[24];
  buf[0] = '"';
  auto r = std::to_chars(buf + 1, buf + sizeof buf - 1, id);
  *r.ptr++ = '"';
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

void append_time_json(std::string& out, std::int64_t ms) {
  if (ms == 0) {
    out += "null";
    return;
  }
  if (ms < 0 || ms >= kYear10000Ms) {  // not a time we write; keep whatever it wrote
    char buf[64];
    out.push_back('"');
    out += format_iso8601(ms, buf);
    out.push_back('"');
    return;
  }
  std::int64_t secs = ms / 1000;
  auto days = static_cast<unsigned>(secs / 86400);
  auto sod = static_cast<unsigned>(secs % 86400);
  // Days since 1970-01-01 to the proleptic Gregorian date, counting in 400-year eras that
  // start on 0000-03-01 so the leap day ends each year (Howard Hinnant's civil_from_days).
  unsigned z = days + 719468;
  unsigned era = z / 146097;
  unsigned doe = z - era * 146097;                                       // [0, 146096]
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  unsigned mp = (5 * doy + 2) / 153;                                     // March = 0
  unsigned day = doy - (153 * mp + 2) / 5 + 1;
  unsigned month = mp < 10 ? mp + 3 : mp - 9;
  unsigned year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  char b[26] = "\"0000-00-00T00:00:00.000Z";
  put_digits(b + 1, year, 4);
  put_digits(b + 6, month, 2);
  put_digits(b + 9, day, 2);
  put_digits(b + 12, sod / 3600, 2);
  put_digits(b + 15, sod / 60 % 60, 2);
  put_digits(b + 18, sod % 60, 2);
  put_digits(b + 21, static_cast<unsigned>(ms % 1000), 3);
  b[25] = '"';
  out.append(b, sizeof b);
}

// Key order and shape as message_json (objects.cpp).
void append_message_json(std::string& out, const chat::MessageView& v) {
  const store::Message& m = v.message;
  out += "{\"id\":";
  append_id_json(out, m.id);
  out += ",\"channel_id\":";
  append_id_json(out, m.channel_id);
  out += ",\"guild_id\":";
  append_id_json(out, m.guild_id);
  out += ",\"author_id\":";
  append_id_json(out, m.author_id);
  out += ",\"author\":{\"id\":";
  append_id_json(out, m.author_id);
  out += ",\"username\":";
  append_json_string(out, v.author_name);
  out += "},\"content\":";
  append_json_string(out, m.content);
  out += ",\"created_at\":";
  append_time_json(out, m.created_at);
  out += ",\"edited_at\":";
  append_time_json(out, m.edited_at);
  if (v.nonce) {
    out += ",\"nonce\":";
    append_json_string(out, *v.nonce);
  }
  out.push_back('}');
}

std::string messages_json(const std::vector<chat::MessageView>& messages) {
  std::size_t size = 2;
  for (const auto& v : messages)  // the rest of a message is at most about 280 bytes
    size += 300 + v.message.content.size() + v.author_name.size();
  std::string out;
  out.reserve(size);
  out.push_back('[');
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (i) out.push_back(',');
    append_message_json(out, messages[i]);
  }
  out.push_back(']');
  return out;
}

}  // namespace hype::wire
