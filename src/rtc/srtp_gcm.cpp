#include "rtc/srtp_gcm.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

#include "rtc/bytes.hpp"

namespace hype::rtc {

namespace {
std::size_t ring_words(std::uint32_t size) {
  std::size_t words = 1;
  while (words * 64 < size) words *= 2;
  return words;
}
}  // namespace

SrtpReplayWindow::SrtpReplayWindow(std::uint32_t size)
    : bits_(ring_words(size), 0), word_mask_(ring_words(size) - 1), size_(size) {}

SrtpReplayWindow::Check SrtpReplayWindow::check(std::uint64_t index) const {
  if (empty_ || index > top_) return Check::kNew;
  if (top_ - index >= size_) return Check::kTooOld;
  return test(index) ? Check::kRepeat : Check::kNew;
}

void SrtpReplayWindow::add(std::uint64_t index) {
  if (empty_) {
    std::fill(bits_.begin(), bits_.end(), 0);
    empty_ = false;
    top_ = index;
  } else if (index > top_) {
    if (index - top_ >= bits_.size() * 64) {
      std::fill(bits_.begin(), bits_.end(), 0);
    } else {
      for (std::uint64_t i = top_ + 1; i <= index; ++i) clear(i);
    }
    top_ = index;
  }
  set(index);
}

std::uint64_t srtp_estimate_index(const SrtpReplayWindow& w, std::uint16_t seq) {
  if (w.empty() || w.top() <= 0x8000) return seq;
  const std::uint64_t roc = w.top() >> 16;
  const int local_seq = static_cast<int>(w.top() & 0xFFFF);
  const int s = seq;
  std::uint64_t guess_roc = roc;
  if (local_seq < 0x8000) {
    if (s - local_seq > 0x8000) guess_roc = roc - 1;  // roc >= 1 since top > 2^15
  } else if (local_seq - 0x8000 > s) {
    guess_roc = roc + 1;
  }
  return ((guess_roc & 0xFFFFFFFFu) << 16) | seq;
}

namespace {

// RFC 3711 4.3.1 with kdr = 0: AES-CM keystream under the master key, counter block
// x || 0x0000 where x = (master_salt * 2^16) XOR (label << 48) as a 112-bit value.
bool derive(const std::uint8_t* master_key, const std::uint8_t* master_salt12, std::uint8_t label,
            std::uint8_t* out, std::size_t n) {
  std::uint8_t iv[16] = {};
  std::memcpy(iv, master_salt12, 12);
  iv[7] ^= label;
  std::uint8_t zeros[32] = {};
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  if (!c) return false;
  int outl = 0;
  bool ok = EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), nullptr, master_key, iv) == 1 &&
            EVP_EncryptUpdate(c, out, &outl, zeros, static_cast<int>(n)) == 1 &&
            outl == static_cast<int>(n);
  EVP_CIPHER_CTX_free(c);
  OPENSSL_cleanse(iv, sizeof iv);
  return ok;
}

EVP_CIPHER_CTX* gcm_ctx(const std::uint8_t* key, bool encrypt) {
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  if (!c) return nullptr;
  // GCM's default IV length is 12 bytes, which is what RFC 7714 uses.
  int ok = encrypt ? EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), nullptr, key, nullptr)
                   : EVP_DecryptInit_ex(c, EVP_aes_128_gcm(), nullptr, key, nullptr);
  if (ok != 1) {
    EVP_CIPHER_CTX_free(c);
    return nullptr;
  }
  return c;
}

// Encrypts data in place (AAD in up to two pieces) and writes the 16-byte tag.
bool seal(EVP_CIPHER_CTX* c, const std::uint8_t iv[12], const std::uint8_t* aad1,
          std::size_t aad1_len, const std::uint8_t* aad2, std::size_t aad2_len, std::uint8_t* data,
          std::size_t data_len, std::uint8_t* tag) {
  int outl = 0;
  if (EVP_EncryptInit_ex(c, nullptr, nullptr, nullptr, iv) != 1) return false;
  if (aad1_len && EVP_EncryptUpdate(c, nullptr, &outl, aad1, static_cast<int>(aad1_len)) != 1) {
    return false;
  }
  if (aad2_len && EVP_EncryptUpdate(c, nullptr, &outl, aad2, static_cast<int>(aad2_len)) != 1) {
    return false;
  }
  if (data_len && EVP_EncryptUpdate(c, data, &outl, data, static_cast<int>(data_len)) != 1) {
    return false;
  }
  if (EVP_EncryptFinal_ex(c, data + data_len, &outl) != 1) return false;
  return EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
}

// Decrypts data in place and checks the tag; false on a mismatch (data is then garbage).
bool open(EVP_CIPHER_CTX* c, const std::uint8_t iv[12], const std::uint8_t* aad1,
          std::size_t aad1_len, const std::uint8_t* aad2, std::size_t aad2_len, std::uint8_t* data,
          std::size_t data_len, const std::uint8_t* tag) {
  int outl = 0;
  if (EVP_DecryptInit_ex(c, nullptr, nullptr, nullptr, iv) != 1) return false;
  if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, const_cast<std::uint8_t*>(tag)) != 1) {
    return false;
  }
  if (aad1_len && EVP_DecryptUpdate(c, nullptr, &outl, aad1, static_cast<int>(aad1_len)) != 1) {
    return false;
  }
  if (aad2_len && EVP_DecryptUpdate(c, nullptr, &outl, aad2, static_cast<int>(aad2_len)) != 1) {
    return false;
  }
  if (data_len && EVP_DecryptUpdate(c, data, &outl, data, static_cast<int>(data_len)) != 1) {
    return false;
  }
  return EVP_DecryptFinal_ex(c, data + data_len, &outl) == 1;
}

// RTP header length including CSRCs and the header extension; 0 if it does not fit.
std::size_t rtp_header_length(const std::uint8_t* p, std::size_t len) {
  if (len < 12) return 0;
  std::size_t h = 12 + 4 * std::size_t{p[0] & 0x0Fu};
  if (h > len) return 0;
  if (p[0] & 0x10) {
    if (h + 4 > len) return 0;
    h += 4 + 4 * std::size_t{load_be16(p + h + 2)};
    if (h > len) return 0;
  }
  return h;
}

// RFC 7714 8.1: IV = (0x0000 || SSRC || ROC || SEQ) XOR salt.
void rtp_iv(std::uint8_t iv[12], const std::uint8_t salt[12], std::uint32_t ssrc,
            std::uint64_t index) {
  iv[0] = 0;
  iv[1] = 0;
  store_be32(iv + 2, ssrc);
  store_be32(iv + 6, static_cast<std::uint32_t>(index >> 16));
  store_be16(iv + 10, static_cast<std::uint16_t>(index));
  for (int i = 0; i < 12; ++i) iv[i] ^= salt[i];
}

// RFC 7714 9.1: IV = (0x0000 || SSRC || 0x0000 || 0 || SRTCP index) XOR salt.
void rtcp_iv(std::uint8_t iv[12], const std::uint8_t salt[12], std::uint32_t ssrc,
             std::uint32_t index) {
  iv[0] = 0;
  iv[1] = 0;
  store_be32(iv + 2, ssrc);
  iv[6] = 0;
  iv[7] = 0;
  store_be32(iv + 8, index & 0x7FFFFFFFu);
  for (int i = 0; i < 12; ++i) iv[i] ^= salt[i];
}

}  // namespace

std::unique_ptr<SrtpGcm> SrtpGcm::create(const std::vector<std::uint8_t>& local,
                                         const std::vector<std::uint8_t>& remote,
                                         const SrtpOptions& options) {
  if (local.size() != 16 + kSaltLen || remote.size() != 16 + kSaltLen) return nullptr;
  std::unique_ptr<SrtpGcm> g(new SrtpGcm());
  g->replay_window_ = static_cast<std::uint32_t>(options.replay_window);
  g->allow_repeat_tx_ = options.allow_repeat_tx;
  std::uint8_t key[16];
  bool ok = true;
  auto make = [&](const std::vector<std::uint8_t>& master, std::uint8_t key_label,
                  std::uint8_t salt_label, std::uint8_t* salt, bool encrypt) -> EVP_CIPHER_CTX* {
    if (!derive(master.data(), master.data() + 16, key_label, key, 16) ||
        !derive(master.data(), master.data() + 16, salt_label, salt, kSaltLen)) {
      ok = false;
      return nullptr;
    }
    EVP_CIPHER_CTX* c = gcm_ctx(key, encrypt);
    if (!c) ok = false;
    return c;
  };
  g->rtp_out_ = make(local, 0x00, 0x02, g->rtp_out_salt_, true);
  g->rtcp_out_ = make(local, 0x03, 0x05, g->rtcp_out_salt_, true);
  g->rtp_in_ = make(remote, 0x00, 0x02, g->rtp_in_salt_, false);
  g->rtcp_in_ = make(remote, 0x03, 0x05, g->rtcp_in_salt_, false);
  OPENSSL_cleanse(key, sizeof key);
  if (!ok) return nullptr;
  return g;
}

SrtpGcm::~SrtpGcm() {
  for (EVP_CIPHER_CTX* c : {rtp_out_, rtcp_out_, rtp_in_, rtcp_in_}) EVP_CIPHER_CTX_free(c);
  for (std::uint8_t* s : {rtp_out_salt_, rtcp_out_salt_, rtp_in_salt_, rtcp_in_salt_}) {
    OPENSSL_cleanse(s, kSaltLen);
  }
}

SrtpGcm::Stream* SrtpGcm::find(std::vector<Stream>& v, std::uint32_t ssrc) {
  for (auto& s : v) {
    if (s.ssrc == ssrc) return &s;
  }
  return nullptr;
}

SrtpStatus SrtpGcm::protect_rtp(std::uint8_t* buf, std::size_t& len) {
  const std::size_t h = rtp_header_length(buf, len);
  if (h == 0) return SrtpStatus::kBadPacket;
  const std::uint32_t ssrc = load_be32(buf + 8);
  const std::uint16_t seq = load_be16(buf + 2);
  Stream* st = find(rtp_out_streams_, ssrc);
  if (!st) st = &rtp_out_streams_.emplace_back(Stream{ssrc, SrtpReplayWindow(replay_window_)});
  const std::uint64_t index = srtp_estimate_index(st->window, seq);
  switch (st->window.check(index)) {
    case SrtpReplayWindow::Check::kNew:
      break;
    case SrtpReplayWindow::Check::kRepeat:
      // A NACK resend: same index, same plaintext, hence the same ciphertext.
      if (allow_repeat_tx_) break;
      return SrtpStatus::kReplay;
    case SrtpReplayWindow::Check::kTooOld:
      return SrtpStatus::kReplay;
  }
  std::uint8_t iv[12];
  rtp_iv(iv, rtp_out_salt_, ssrc, index);
  if (!seal(rtp_out_, iv, buf, h, nullptr, 0, buf + h, len - h, buf + len)) {
    return SrtpStatus::kError;
  }
  st->window.add(index);
  len += kTagLen;
  return SrtpStatus::kOk;
}

SrtpStatus SrtpGcm::unprotect_rtp(std::uint8_t* buf, std::size_t& len) {
  const std::size_t h = rtp_header_length(buf, len);
  if (h == 0 || len < h + kTagLen) return SrtpStatus::kBadPacket;
  const std::uint32_t ssrc = load_be32(buf + 8);
  const std::uint16_t seq = load_be16(buf + 2);
  Stream* st = find(rtp_in_streams_, ssrc);
  std::uint64_t index = seq;  // a new stream starts with ROC 0
  if (st) {
    index = srtp_estimate_index(st->window, seq);
    if (st->window.check(index) != SrtpReplayWindow::Check::kNew) return SrtpStatus::kReplay;
  }
  std::uint8_t iv[12];
  rtp_iv(iv, rtp_in_salt_, ssrc, index);
  const std::size_t n = len - h - kTagLen;
  if (!open(rtp_in_, iv, buf, h, nullptr, 0, buf + h, n, buf + h + n)) {
    return SrtpStatus::kAuthFailed;
  }
  if (!st) st = &rtp_in_streams_.emplace_back(Stream{ssrc, SrtpReplayWindow(replay_window_)});
  st->window.add(index);
  len -= kTagLen;
  return SrtpStatus::kOk;
}

SrtpStatus SrtpGcm::protect_rtcp(std::uint8_t* buf, std::size_t& len) {
  if (len < 8) return SrtpStatus::kBadPacket;
  const std::uint32_t ssrc = load_be32(buf + 4);
  Stream* st = find(rtcp_out_streams_, ssrc);
  if (!st) st = &rtcp_out_streams_.emplace_back(Stream{ssrc, SrtpReplayWindow(64)});
  if (st->rtcp_index >= 0x7FFFFFFFu) return SrtpStatus::kError;  // index space exhausted
  const std::uint32_t index = ++st->rtcp_index;
  std::uint8_t trailer[4];
  store_be32(trailer, 0x80000000u | index);  // E = 1: encrypted
  std::uint8_t iv[12];
  rtcp_iv(iv, rtcp_out_salt_, ssrc, index);
  // RFC 7714 9.2: AAD = first 8 octets || E || index; then tag, then E || index.
  if (!seal(rtcp_out_, iv, buf, 8, trailer, 4, buf + 8, len - 8, buf + len)) {
    return SrtpStatus::kError;
  }
  std::memcpy(buf + len + kTagLen, trailer, 4);
  len += kTagLen + 4;
  return SrtpStatus::kOk;
}

SrtpStatus SrtpGcm::unprotect_rtcp(std::uint8_t* buf, std::size_t& len) {
  if (len < 8 + kTagLen + 4) return SrtpStatus::kBadPacket;
  const std::uint32_t ssrc = load_be32(buf + 4);
  const std::uint8_t* trailer = buf + len - 4;
  const std::uint32_t t = load_be32(trailer);
  const bool encrypted = (t & 0x80000000u) != 0;
  const std::uint32_t index = t & 0x7FFFFFFFu;
  Stream* st = find(rtcp_in_streams_, ssrc);
  if (st && st->window.check(index) != SrtpReplayWindow::Check::kNew) return SrtpStatus::kReplay;
  std::uint8_t iv[12];
  rtcp_iv(iv, rtcp_in_salt_, ssrc, index);
  const std::size_t body = len - kTagLen - 4;  // header + (encrypted) payload
  const std::uint8_t* tag = buf + body;
  bool ok = encrypted ? open(rtcp_in_, iv, buf, 8, trailer, 4, buf + 8, body - 8, tag)
                      // E = 0: the whole packet is authenticated only (RFC 7714 9.2).
                      : open(rtcp_in_, iv, buf, body, trailer, 4, buf + body, 0, tag);
  if (!ok) return SrtpStatus::kAuthFailed;
  if (!st) st = &rtcp_in_streams_.emplace_back(Stream{ssrc, SrtpReplayWindow(kRtcpReplayWindow)});
  st->window.add(index);
  len = body;
  return SrtpStatus::kOk;
}

}  // namespace hype::rtc
