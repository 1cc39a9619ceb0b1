#include "rtc/stun/stun_message.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>

#include "core/random.hpp"

namespace hype::rtc::stun {
namespace {

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kCrcTable = make_crc_table();

std::size_t padded(std::size_t n) {
  return (n + 3) & ~std::size_t{3};
}

// STUN message type packs the 12-bit method and the 2-bit class into 14 bits (RFC 8489 5).
std::uint16_t encode_type(std::uint16_t method, MessageClass cls) {
  auto c = static_cast<std::uint16_t>(cls);
  return static_cast<std::uint16_t>((method & 0x000F) | ((method & 0x0070) << 1) |
                                    ((method & 0x0F80) << 2) | ((c & 1) << 4) | ((c & 2) << 7));
}

bool hmac_sha1(ByteSpan key, const std::uint8_t* d1, std::size_t n1, const std::uint8_t* d2,
               std::size_t n2, std::uint8_t out[20]) {
  // Header and body are hashed as one buffer: the header copy carries a patched length.
  std::uint8_t buf[1500];
  if (n1 + n2 > sizeof(buf)) return false;
  std::memcpy(buf, d1, n1);
  if (n2) std::memcpy(buf + n1, d2, n2);
  unsigned len = 0;
  return HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), buf, n1 + n2, out, &len) !=
             nullptr &&
         len == 20;
}

}  // namespace

std::uint32_t crc32(ByteSpan data) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (auto b : data) c = kCrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

bool looks_like_stun(ByteSpan d) {
  return d.size() >= kHeaderSize && (d[0] & 0xC0) == 0 && load_be32(d.data() + 4) == kMagicCookie &&
         (load_be16(d.data() + 2) & 3) == 0;
}

ParseStatus StunMessage::parse(ByteSpan d, StunMessage& out) {
  if (d.size() < kHeaderSize) return ParseStatus::kTooShort;
  if (!looks_like_stun(d)) return ParseStatus::kNotStun;
  std::size_t len = load_be16(d.data() + 2);
  if (kHeaderSize + len != d.size()) return ParseStatus::kBadLength;

  StunMessage m;
  m.data_ = d;
  std::uint16_t type = load_be16(d.data());
  m.method_ =
      static_cast<std::uint16_t>((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));
  m.class_ = static_cast<MessageClass>(((type >> 4) & 1) | ((type >> 7) & 2));
  std::memcpy(m.tid_.data(), d.data() + 8, 12);

  std::size_t off = kHeaderSize;
  while (off < d.size()) {
    if (off + 4 > d.size()) return ParseStatus::kBadAttribute;
    std::uint16_t t = load_be16(d.data() + off);
    std::size_t alen = load_be16(d.data() + off + 2);
    if (off + 4 + padded(alen) > d.size()) return ParseStatus::kBadAttribute;
    if (m.fp_offset_ != 0) return ParseStatus::kBadFingerprint;  // FINGERPRINT must be last
    if (t == attr::kMessageIntegrity && m.mi_offset_ == 0) {
      if (alen != kMessageIntegritySize) return ParseStatus::kBadAttribute;
      m.mi_offset_ = off;
    } else if (t == attr::kFingerprint) {
      if (alen != 4) return ParseStatus::kBadAttribute;
      m.fp_offset_ = off;
    }
    off += 4 + padded(alen);
  }
  if (m.fp_offset_ != 0) {
    std::uint32_t want = crc32(d.first(m.fp_offset_)) ^ kFingerprintXor;
    if (load_be32(d.data() + m.fp_offset_ + 4) != want) return ParseStatus::kBadFingerprint;
  }
  out = m;
  return ParseStatus::kOk;
}

std::optional<Attribute> StunMessage::find(std::uint16_t type) const {
  std::optional<Attribute> found;
  bool after_mi = false;
  for_each([&](const Attribute& a) {
    if (after_mi && a.type != attr::kFingerprint) return true;
    if (a.type == type) {
      found = a;
      return false;
    }
    if (a.type == attr::kMessageIntegrity) after_mi = true;
    return true;
  });
  return found;
}

std::optional<std::string_view> StunMessage::username() const {
  auto a = find(attr::kUsername);
  if (!a) return std::nullopt;
  return as_string_view(a->value);
}

std::optional<std::uint32_t> StunMessage::priority() const {
  auto a = find(attr::kPriority);
  if (!a || a->value.size() != 4) return std::nullopt;
  return load_be32(a->value.data());
}

std::optional<std::uint64_t> StunMessage::ice_controlling() const {
  auto a = find(attr::kIceControlling);
  if (!a || a->value.size() != 8) return std::nullopt;
  return load_be64(a->value.data());
}

std::optional<std::uint64_t> StunMessage::ice_controlled() const {
  auto a = find(attr::kIceControlled);
  if (!a || a->value.size() != 8) return std::nullopt;
  return load_be64(a->value.data());
}

std::optional<SocketAddress> StunMessage::xor_mapped_address() const {
  auto a = find(attr::kXorMappedAddress);
  if (!a || a->value.size() < 8) return std::nullopt;
  const std::uint8_t* v = a->value.data();
  auto port = static_cast<std::uint16_t>(load_be16(v + 2) ^ (kMagicCookie >> 16));
  if (v[1] == 0x01 && a->value.size() == 8) {
    return SocketAddress::v4(load_be32(v + 4) ^ kMagicCookie, port);
  }
  if (v[1] == 0x02 && a->value.size() == 20) {
    std::array<std::uint8_t, 16> ip{};
    std::uint8_t mask[16];
    store_be32(mask, kMagicCookie);
    std::memcpy(mask + 4, tid_.data(), 12);
    for (int i = 0; i < 16; ++i) ip[i] = v[4 + i] ^ mask[i];
    return SocketAddress::v6(ip, port);
  }
  return std::nullopt;
}

std::optional<ErrorCode> StunMessage::error_code() const {
  auto a = find(attr::kErrorCode);
  if (!a || a->value.size() < 4) return std::nullopt;
  const std::uint8_t* v = a->value.data();
  ErrorCode e;
  e.code = (v[2] & 0x07) * 100 + v[3];
  e.reason = as_string_view(a->value.subspan(4));
  return e;
}

bool StunMessage::verify_message_integrity(ByteSpan key) const {
  if (mi_offset_ == 0) return false;
  std::uint8_t hdr[kHeaderSize];
  std::memcpy(hdr, data_.data(), kHeaderSize);
  // The length covers everything up to and including MESSAGE-INTEGRITY (RFC 8489 14.5).
  store_be16(hdr + 2,
             static_cast<std::uint16_t>(mi_offset_ + 4 + kMessageIntegritySize - kHeaderSize));
  std::uint8_t mac[20];
  if (!hmac_sha1(key, hdr, kHeaderSize, data_.data() + kHeaderSize, mi_offset_ - kHeaderSize,
                 mac)) {
    return false;
  }
  return CRYPTO_memcmp(mac, data_.data() + mi_offset_ + 4, 20) == 0;
}

StunBuilder::StunBuilder(MutableByteSpan buf, MessageClass cls, Method method,
                         const TransactionId& tid)
    : w_(buf) {
  w_.u16(encode_type(static_cast<std::uint16_t>(method), cls));
  w_.u16(0);
  w_.u32(kMagicCookie);
  w_.bytes(tid.data(), tid.size());
}

void StunBuilder::update_length() {
  if (w_.ok()) store_be16(w_.at(2), static_cast<std::uint16_t>(w_.size() - kHeaderSize));
}

StunBuilder& StunBuilder::add_attribute(std::uint16_t type, ByteSpan value) {
  w_.u16(type);
  w_.u16(static_cast<std::uint16_t>(value.size()));
  w_.bytes(value.data(), value.size());
  for (std::size_t i = value.size(); i < padded(value.size()); ++i) w_.u8(pad_);
  update_length();
  return *this;
}

StunBuilder& StunBuilder::add_priority(std::uint32_t priority) {
  std::uint8_t v[4];
  store_be32(v, priority);
  return add_attribute(attr::kPriority, v);
}

StunBuilder& StunBuilder::add_ice_controlling(std::uint64_t tie_breaker) {
  std::uint8_t v[8];
  store_be64(v, tie_breaker);
  return add_attribute(attr::kIceControlling, v);
}

StunBuilder& StunBuilder::add_ice_controlled(std::uint64_t tie_breaker) {
  std::uint8_t v[8];
  store_be64(v, tie_breaker);
  return add_attribute(attr::kIceControlled, v);
}

StunBuilder& StunBuilder::add_xor_mapped_address(const SocketAddress& addr) {
  std::uint8_t v[20] = {};
  store_be16(v + 2, static_cast<std::uint16_t>(addr.port ^ (kMagicCookie >> 16)));
  if (addr.is_v4()) {
    v[1] = 0x01;
    store_be32(v + 4, load_be32(addr.ip.data()) ^ kMagicCookie);
    return add_attribute(attr::kXorMappedAddress, ByteSpan(v, 8));
  }
  v[1] = 0x02;
  std::uint8_t mask[16];
  store_be32(mask, kMagicCookie);
  std::memcpy(mask + 4, w_.at(8), 12);  // transaction id, already written by the constructor
  for (int i = 0; i < 16; ++i) v[4 + i] = addr.ip[i] ^ mask[i];
  return add_attribute(attr::kXorMappedAddress, ByteSpan(v, 20));
}

StunBuilder& StunBuilder::add_error_code(int code, std::string_view reason) {
  std::uint8_t v[4 + 128] = {};
  if (reason.size() > 128) reason = reason.substr(0, 128);
  v[2] = static_cast<std::uint8_t>((code / 100) & 0x07);
  v[3] = static_cast<std::uint8_t>(code % 100);
  std::memcpy(v + 4, reason.data(), reason.size());
  return add_attribute(attr::kErrorCode, ByteSpan(v, 4 + reason.size()));
}

StunBuilder& StunBuilder::add_message_integrity(ByteSpan key) {
  if (!w_.ok()) return *this;
  std::size_t start = w_.size();
  // The length must already include the MI attribute while hashing (RFC 8489 14.5).
  store_be16(w_.at(2), static_cast<std::uint16_t>(start + 4 + kMessageIntegritySize - kHeaderSize));
  std::uint8_t mac[20] = {};
  bool ok = hmac_sha1(key, w_.data(), start, nullptr, 0, mac);
  add_attribute(attr::kMessageIntegrity, ByteSpan(mac, 20));
  if (!ok) w_.reserve(SIZE_MAX);  // poison the builder: an unsigned message must not go out
  return *this;
}

StunBuilder& StunBuilder::add_fingerprint() {
  if (!w_.ok()) return *this;
  std::size_t start = w_.size();
  store_be16(w_.at(2), static_cast<std::uint16_t>(start + 8 - kHeaderSize));
  std::uint8_t v[4];
  store_be32(v, crc32(ByteSpan(w_.data(), start)) ^ kFingerprintXor);
  return add_attribute(attr::kFingerprint, v);
}

TransactionId random_transaction_id() {
  TransactionId t;
  hype::random_bytes(t.data(), t.size());
  return t;
}

}  // namespace hype::rtc::stun
