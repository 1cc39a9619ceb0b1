// SRTP/SRTCP with AEAD_AES_128_GCM (RFC 7714) directly on OpenSSL's EVP AES-GCM, used by
// SrtpSession for that profile instead of libsrtp2 (whose Debian build goes through NSS and
// costs several times more per packet). Private to rtc: SrtpSession is the interface.
//
// Keys: RFC 3711 4.3.1 AES-CM PRF with kdr = 0; the 96-bit master salt is taken as
// salt * 2^16 (RFC 7714 errata 4938), labels 0x00/0x02 (RTP key/salt) and 0x03/0x05 (RTCP).
// One EVP_CIPHER_CTX per direction and key (RTP out, RTCP out, RTP in, RTCP in), keyed once;
// each packet only sets its 12-byte IV, so nothing is allocated per packet except the state
// of an SSRC seen for the first time (outbound: first protect; inbound: first packet that
// authenticates). Per-SSRC state lives in a small flat vector (a transport has few SSRCs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "rtc/srtp_session.hpp"

struct evp_cipher_ctx_st;  // EVP_CIPHER_CTX

namespace hype::rtc {

// Sliding replay window over 48-bit (RTP) or 31-bit (SRTCP) packet indexes: the highest
// index seen and a ring of bits for the `size` indexes at and below it.
class SrtpReplayWindow {
 public:
  enum class Check : std::uint8_t { kNew, kRepeat, kTooOld };
  explicit SrtpReplayWindow(std::uint32_t size);
  Check check(std::uint64_t index) const;
  void add(std::uint64_t index);
  bool empty() const { return empty_; }
  std::uint64_t top() const { return top_; }

 private:
  // The ring holds a power of two of 64-bit words (>= size bits): a mask, not a division.
  std::uint64_t& word(std::uint64_t i) { return bits_[(i >> 6) & word_mask_]; }
  std::uint64_t word(std::uint64_t i) const { return bits_[(i >> 6) & word_mask_]; }
  bool test(std::uint64_t i) const { return (word(i) >> (i & 63)) & 1; }
  void set(std::uint64_t i) { word(i) |= std::uint64_t{1} << (i & 63); }
  void clear(std::uint64_t i) { word(i) &= ~(std::uint64_t{1} << (i & 63)); }
  std::vector<std::uint64_t> bits_;
  std::uint64_t word_mask_;
  std::uint32_t size_;
  std::uint64_t top_ = 0;
  bool empty_ = true;
};

// RFC 3711 3.3.1 / appendix A: the 48-bit index (ROC << 16 | SEQ) closest to the highest
// index seen so far. Like libsrtp, a stream whose highest index is still <= 2^15 takes ROC 0.
std::uint64_t srtp_estimate_index(const SrtpReplayWindow& w, std::uint16_t seq);

class SrtpGcm {
 public:
  // key_salt: 16-byte master key || 12-byte master salt for each direction.
  static std::unique_ptr<SrtpGcm> create(const std::vector<std::uint8_t>& local,
                                         const std::vector<std::uint8_t>& remote,
                                         const SrtpOptions& options);
  ~SrtpGcm();
  SrtpGcm(const SrtpGcm&) = delete;
  SrtpGcm& operator=(const SrtpGcm&) = delete;

  SrtpStatus protect_rtp(std::uint8_t* buf, std::size_t& len);
  SrtpStatus unprotect_rtp(std::uint8_t* buf, std::size_t& len);
  SrtpStatus protect_rtcp(std::uint8_t* buf, std::size_t& len);
  SrtpStatus unprotect_rtcp(std::uint8_t* buf, std::size_t& len);

  static constexpr std::size_t kTagLen = 16;
  static constexpr std::size_t kSaltLen = 12;
  static constexpr std::uint32_t kRtcpReplayWindow = 128;

 private:
  struct Stream {
    std::uint32_t ssrc;
    SrtpReplayWindow window;
    std::uint32_t rtcp_index = 0;  // outbound SRTCP: last index used
  };
  SrtpGcm() = default;
  static Stream* find(std::vector<Stream>& v, std::uint32_t ssrc);

  evp_cipher_ctx_st* rtp_out_ = nullptr;
  evp_cipher_ctx_st* rtcp_out_ = nullptr;
  evp_cipher_ctx_st* rtp_in_ = nullptr;
  evp_cipher_ctx_st* rtcp_in_ = nullptr;
  std::uint8_t rtp_out_salt_[kSaltLen] = {};
  std::uint8_t rtcp_out_salt_[kSaltLen] = {};
  std::uint8_t rtp_in_salt_[kSaltLen] = {};
  std::uint8_t rtcp_in_salt_[kSaltLen] = {};
  std::uint32_t replay_window_ = 1024;
  bool allow_repeat_tx_ = true;
  std::vector<Stream> rtp_out_streams_;
  std::vector<Stream> rtcp_out_streams_;
  std::vector<Stream> rtp_in_streams_;
  std::vector<Stream> rtcp_in_streams_;
};

}  // namespace hype::rtc
