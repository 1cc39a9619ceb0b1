// SRTP/SRTCP (RFC 3711, RFC 7714) for one DTLS-SRTP transport: one outbound context keyed
// with the local key and one inbound context keyed with the remote key, each accepting any
// SSRC. AEAD_AES_128_GCM runs on our own code over OpenSSL's EVP AES-GCM (srtp_gcm.hpp) by
// default; AES128_CM_HMAC_SHA1_80 (and GCM when SrtpOptions::gcm_backend or the environment
// variable HYPE_SRTP_GCM=libsrtp asks for it) goes through libsrtp2, which clones a stream
// per SSRC on first use. Protect and unprotect
// work in place on the caller's buffer; protect needs kSrtpMaxOverhead bytes of tailroom.
// Replay protection: RTP window configurable, SRTCP 128 packets, per SSRC. libsrtp's and
// OpenSSL's headers stay out of this one so users of rtc need not see them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/result.hpp"
#include "rtc/bytes.hpp"

struct srtp_ctx_t_;  // libsrtp's opaque session type (srtp_t)

namespace hype::rtc {

class SrtpGcm;

// DTLS-SRTP protection profile ids (RFC 5764 4.1.2, RFC 7714 14.2).
enum class SrtpProfile : std::uint16_t {
  kAes128CmHmacSha1_80 = 0x0001,
  kAeadAes128Gcm = 0x0007,
};

std::size_t srtp_master_key_length(SrtpProfile p);   // 16 for both
std::size_t srtp_master_salt_length(SrtpProfile p);  // 14 (CM) or 12 (GCM)
const char* to_string(SrtpProfile p);

// GCM tag 16 bytes; CM tag 10 bytes; SRTCP adds the 4-byte E flag + index. No MKI.
inline constexpr std::size_t kSrtpMaxOverhead = 16 + 4;

// Keys for one direction pair as exported by DTLS: key || salt for each side.
struct SrtpKeyMaterial {
  SrtpProfile profile = SrtpProfile::kAeadAes128Gcm;
  std::vector<std::uint8_t> local;   // protects what we send
  std::vector<std::uint8_t> remote;  // unprotects what we receive
};

enum class SrtpStatus : std::uint8_t {
  kOk,
  kBufferTooSmall,  // not enough tailroom for protect
  kAuthFailed,      // tag mismatch: tampered, wrong key or garbage
  kReplay,          // already seen or too old for the replay window
  kBadPacket,       // too short or otherwise rejected by libsrtp
  kError,
};
const char* to_string(SrtpStatus s);

// Who implements AEAD_AES_128_GCM. kDefault is kOpenssl unless the environment variable
// HYPE_SRTP_GCM is "libsrtp" (read once per process).
enum class SrtpGcmBackend : std::uint8_t { kDefault, kOpenssl, kLibsrtp };

struct SrtpOptions {
  // RTP replay window in packets (libsrtp default is 128; video bursts reorder more).
  unsigned long replay_window = 1024;
  // An SFU resends stored packets on NACK with identical content; libsrtp rejects the same
  // sequence number twice on protect unless this is set. Identical plaintext under the same
  // index yields identical ciphertext, so this does not reuse a GCM nonce with new data.
  bool allow_repeat_tx = true;
  SrtpGcmBackend gcm_backend = SrtpGcmBackend::kDefault;
};

class SrtpSession {
 public:
  static Result<std::unique_ptr<SrtpSession>> create(const SrtpKeyMaterial& keys,
                                                     const SrtpOptions& options = {});
  ~SrtpSession();
  SrtpSession(const SrtpSession&) = delete;
  SrtpSession& operator=(const SrtpSession&) = delete;

  // buf holds the packet in its first `len` bytes and has room after it; len is updated.
  SrtpStatus protect_rtp(MutableByteSpan buf, std::size_t& len);
  SrtpStatus unprotect_rtp(MutableByteSpan buf, std::size_t& len);
  SrtpStatus protect_rtcp(MutableByteSpan buf, std::size_t& len);
  SrtpStatus unprotect_rtcp(MutableByteSpan buf, std::size_t& len);

  SrtpProfile profile() const { return profile_; }
  // True when this session runs GCM on OpenSSL directly rather than libsrtp.
  bool uses_openssl_gcm() const { return gcm_ != nullptr; }

 private:
  SrtpSession() = default;
  SrtpProfile profile_ = SrtpProfile::kAeadAes128Gcm;
  srtp_ctx_t_* outbound_ = nullptr;
  srtp_ctx_t_* inbound_ = nullptr;
  std::unique_ptr<SrtpGcm> gcm_;
};

}  // namespace hype::rtc
