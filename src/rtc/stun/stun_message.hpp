// STUN (RFC 8489, formerly 5389) as ICE uses it: a zero-copy view over a received datagram
// and a builder that writes into a caller buffer. No heap: the view keeps a pointer into the
// datagram and rescans the attribute list on lookup (ICE messages hold fewer than ten
// attributes, a rescan is cheaper than storing an index). MESSAGE-INTEGRITY (HMAC-SHA1 with
// the ICE password as key, short-term credentials) and FINGERPRINT (CRC-32 xor 0x5354554e)
// are computed and verified here, so ICE code never handles the length-patching rules.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/socket_address.hpp"
#include "rtc/bytes.hpp"

namespace hype::rtc::stun {

inline constexpr std::uint32_t kMagicCookie = 0x2112A442;
inline constexpr std::size_t kHeaderSize = 20;
inline constexpr std::size_t kMessageIntegritySize = 20;  // HMAC-SHA1
inline constexpr std::uint32_t kFingerprintXor = 0x5354554e;

enum class Method : std::uint16_t { kBinding = 0x001 };
enum class MessageClass : std::uint8_t {
  kRequest = 0,
  kIndication = 1,
  kSuccessResponse = 2,
  kErrorResponse = 3
};

namespace attr {
inline constexpr std::uint16_t kMappedAddress = 0x0001;
inline constexpr std::uint16_t kUsername = 0x0006;
inline constexpr std::uint16_t kMessageIntegrity = 0x0008;
inline constexpr std::uint16_t kErrorCode = 0x0009;
inline constexpr std::uint16_t kUnknownAttributes = 0x000A;
inline constexpr std::uint16_t kRealm = 0x0014;
inline constexpr std::uint16_t kNonce = 0x0015;
inline constexpr std::uint16_t kMessageIntegritySha256 = 0x001C;
inline constexpr std::uint16_t kXorMappedAddress = 0x0020;
inline constexpr std::uint16_t kPriority = 0x0024;
inline constexpr std::uint16_t kUseCandidate = 0x0025;
inline constexpr std::uint16_t kSoftware = 0x8022;
inline constexpr std::uint16_t kFingerprint = 0x8028;
inline constexpr std::uint16_t kIceControlled = 0x8029;
inline constexpr std::uint16_t kIceControlling = 0x802A;
}  // namespace attr

// ERROR-CODE values ICE uses.
inline constexpr int kErrorBadRequest = 400;
inline constexpr int kErrorUnauthorized = 401;
inline constexpr int kErrorRoleConflict = 487;

using TransactionId = std::array<std::uint8_t, 12>;

enum class ParseStatus : std::uint8_t {
  kOk,
  kTooShort,
  kNotStun,         // first bits, magic cookie or length alignment wrong
  kBadLength,       // header length disagrees with the datagram
  kBadAttribute,    // attribute runs past the end
  kBadFingerprint,  // FINGERPRINT present but wrong or not last
};

struct Attribute {
  std::uint16_t type = 0;
  ByteSpan value;
};

struct ErrorCode {
  int code = 0;
  std::string_view reason;
};

// Cheap pre-check for the demultiplexer and ICE fast path (RFC 7983 plus magic cookie).
bool looks_like_stun(ByteSpan data);

std::uint32_t crc32(ByteSpan data);

class StunMessage {
 public:
  // Validates the header, the attribute TLVs and (when present) FINGERPRINT.
  static ParseStatus parse(ByteSpan data, StunMessage& out);

  Method method() const { return static_cast<Method>(method_); }
  std::uint16_t raw_method() const { return method_; }
  MessageClass message_class() const { return class_; }
  const TransactionId& transaction_id() const { return tid_; }
  ByteSpan bytes() const { return data_; }

  // First attribute of that type, honouring RFC 8489 14.5: anything after MESSAGE-INTEGRITY
  // except FINGERPRINT is ignored.
  std::optional<Attribute> find(std::uint16_t type) const;
  bool has(std::uint16_t type) const { return find(type).has_value(); }

  // Iterates all attributes in order; fn(const Attribute&) returns false to stop.
  template <typename Fn>
  void for_each(Fn&& fn) const {
    std::size_t off = kHeaderSize;
    while (off + 4 <= data_.size()) {
      Attribute a{load_be16(data_.data() + off),
                  data_.subspan(off + 4, load_be16(data_.data() + off + 2))};
      if (!fn(a)) return;
      off += 4 + ((a.value.size() + 3) & ~std::size_t{3});
    }
  }

  std::optional<std::string_view> username() const;
  std::optional<std::uint32_t> priority() const;
  bool use_candidate() const { return has(attr::kUseCandidate); }
  std::optional<std::uint64_t> ice_controlling() const;
  std::optional<std::uint64_t> ice_controlled() const;
  std::optional<SocketAddress> xor_mapped_address() const;
  std::optional<ErrorCode> error_code() const;

  bool has_message_integrity() const { return mi_offset_ != 0; }
  bool has_fingerprint() const { return fp_offset_ != 0; }
  // HMAC-SHA1 check with a short-term credential key (the ICE password bytes).
  bool verify_message_integrity(ByteSpan key) const;

 private:
  ByteSpan data_;
  TransactionId tid_{};
  std::uint16_t method_ = 0;
  MessageClass class_ = MessageClass::kRequest;
  std::size_t mi_offset_ = 0;  // offset of the MESSAGE-INTEGRITY attribute header, 0 if none
  std::size_t fp_offset_ = 0;
};

// Writes a STUN message into a caller buffer. Attributes are appended in call order; call
// add_message_integrity and then add_fingerprint last. finish() returns the total size, or 0
// if the buffer was too small (nothing else reports overflow, check once at the end).
class StunBuilder {
 public:
  StunBuilder(MutableByteSpan buf, MessageClass cls, Method method, const TransactionId& tid);

  StunBuilder& add_attribute(std::uint16_t type, ByteSpan value);
  StunBuilder& add_string(std::uint16_t type, std::string_view value) {
    return add_attribute(type, as_bytes(value));
  }
  StunBuilder& add_username(std::string_view u) { return add_string(attr::kUsername, u); }
  StunBuilder& add_software(std::string_view s) { return add_string(attr::kSoftware, s); }
  StunBuilder& add_priority(std::uint32_t priority);
  StunBuilder& add_use_candidate() { return add_attribute(attr::kUseCandidate, {}); }
  StunBuilder& add_ice_controlling(std::uint64_t tie_breaker);
  StunBuilder& add_ice_controlled(std::uint64_t tie_breaker);
  StunBuilder& add_xor_mapped_address(const SocketAddress& addr);
  StunBuilder& add_error_code(int code, std::string_view reason);
  StunBuilder& add_message_integrity(ByteSpan key);
  StunBuilder& add_fingerprint();
  // Padding content is arbitrary per RFC 8489; RFC 5769 vectors use 0x20, tests set it.
  StunBuilder& set_padding_byte(std::uint8_t b) {
    pad_ = b;
    return *this;
  }

  std::size_t finish() const { return w_.ok() ? w_.size() : 0; }

 private:
  void update_length();
  ByteWriter w_;
  std::uint8_t pad_ = 0;
};

TransactionId random_transaction_id();

}  // namespace hype::rtc::stun
