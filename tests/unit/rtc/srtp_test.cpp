// SRTP: an RFC 3711 vector cross-checked against an independent computation, round trips,
// tamper detection and replay rejection for both profiles, and AEAD_AES_128_GCM on our
// OpenSSL code (srtp_gcm.cpp) checked byte for byte against libsrtp2 as the oracle.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>
#include <vector>

#include "rtc/rtcp/rtcp_packets.hpp"
#include "rtc/rtp/rtp_packet.hpp"
#include "rtc/srtp_session.hpp"

using namespace hype::rtc;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes hex(const char* s) {
  Bytes out;
  for (std::size_t i = 0; s[i] && s[i + 1]; i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(s + i, 2), nullptr, 16)));
  }
  return out;
}

// AES-128 in counter mode: keystream XOR data, counter block = iv (16 bytes).
Bytes aes_ctr(const Bytes& key, const std::uint8_t iv[16], const Bytes& data) {
  Bytes out(data.size());
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  int n = 0;
  EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), nullptr, key.data(), iv);
  EVP_EncryptUpdate(c, out.data(), &n, data.data(), static_cast<int>(data.size()));
  EVP_CIPHER_CTX_free(c);
  return out;
}

// RFC 3711 4.3.1 key derivation with kdr = 0: x = salt XOR (label << 48), IV = x || 0x0000.
Bytes derive(const Bytes& master_key, const Bytes& master_salt, std::uint8_t label, std::size_t n) {
  std::uint8_t iv[16] = {};
  std::memcpy(iv, master_salt.data(), 14);
  iv[7] ^= label;
  return aes_ctr(master_key, iv, Bytes(n, 0));
}

Bytes make_rtp(std::uint16_t seq, std::uint32_t ssrc, std::size_t payload_len, std::uint8_t fill) {
  Bytes p(12 + payload_len, fill);
  p[0] = 0x80;
  p[1] = 111;
  store_be16(p.data() + 2, seq);
  store_be32(p.data() + 4, seq * 960u);
  store_be32(p.data() + 8, ssrc);
  return p;
}

SrtpKeyMaterial keys_for(SrtpProfile profile, std::uint8_t a, std::uint8_t b) {
  std::size_t n = srtp_master_key_length(profile) + srtp_master_salt_length(profile);
  SrtpKeyMaterial k;
  k.profile = profile;
  k.local.assign(n, a);
  k.remote.assign(n, b);
  for (std::size_t i = 0; i < n; ++i) {
    k.local[i] = static_cast<std::uint8_t>(a + i);
    k.remote[i] = static_cast<std::uint8_t>(b + 3 * i);
  }
  return k;
}

SrtpKeyMaterial mirrored(const SrtpKeyMaterial& k) {
  return {k.profile, k.remote, k.local};
}

}  // namespace

TEST(Srtp, Rfc3711KeyDerivationAndAesCmPacketMatchIndependentComputation) {
  const Bytes master_key = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
  const Bytes master_salt = hex("0EC675AD498AFEEBB6960B3AABE6");
  // RFC 3711 appendix B.3.
  const Bytes cipher_key = derive(master_key, master_salt, 0x00, 16);
  const Bytes auth_key = derive(master_key, master_salt, 0x01, 20);
  const Bytes cipher_salt = derive(master_key, master_salt, 0x02, 14);
  EXPECT_EQ(cipher_key, hex("C61E7A93744F39EE10734AFE3FF7A087"));
  EXPECT_EQ(cipher_salt, hex("30CBBC08863D8C85D49DB34A9AE1"));
  EXPECT_EQ(auth_key, hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"));

  // Packet from libsrtp's own test driver (seq 0x1234, SSRC 0xcafebabe, 16 x 0xab).
  Bytes pkt = hex("800f1234decafbadcafebabeabababababababababababababababab");
  // Expected: AES-CM with IV = salt<<16 ^ ssrc<<64 ^ index<<16, then HMAC-SHA1-80 over
  // header | ciphertext | ROC.
  std::uint8_t iv[16] = {};
  std::memcpy(iv, cipher_salt.data(), 14);
  for (int i = 0; i < 4; ++i) iv[4 + i] ^= pkt[8 + i];
  iv[12] ^= 0x12;
  iv[13] ^= 0x34;
  Bytes payload(pkt.begin() + 12, pkt.end());
  Bytes enc = aes_ctr(cipher_key, iv, payload);
  Bytes expected(pkt.begin(), pkt.begin() + 12);
  expected.insert(expected.end(), enc.begin(), enc.end());
  Bytes mac_in = expected;
  mac_in.insert(mac_in.end(), {0, 0, 0, 0});
  std::uint8_t mac[20];
  unsigned mac_len = 0;
  HMAC(EVP_sha1(), auth_key.data(), 20, mac_in.data(), mac_in.size(), mac, &mac_len);
  expected.insert(expected.end(), mac, mac + 10);
  // The published ciphertext of that libsrtp test vector.
  EXPECT_EQ(expected, hex("800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea"
                          "179b8dbb"));

  SrtpKeyMaterial k;
  k.profile = SrtpProfile::kAes128CmHmacSha1_80;
  k.local = master_key;
  k.local.insert(k.local.end(), master_salt.begin(), master_salt.end());
  k.remote = k.local;
  auto s = SrtpSession::create(k);
  ASSERT_TRUE(s.ok()) << s.error().message;
  Bytes buf = pkt;
  buf.resize(pkt.size() + kSrtpMaxOverhead);
  std::size_t len = pkt.size();
  ASSERT_EQ((*s)->protect_rtp(buf, len), SrtpStatus::kOk);
  buf.resize(len);
  EXPECT_EQ(buf, expected);

  buf.resize(len + kSrtpMaxOverhead);
  ASSERT_EQ((*s)->unprotect_rtp(buf, len), SrtpStatus::kOk);
  buf.resize(len);
  EXPECT_EQ(buf, pkt);
}

class SrtpProfiles : public ::testing::TestWithParam<SrtpProfile> {};

TEST_P(SrtpProfiles, RtpRoundTripTamperAndReplay) {
  auto keys = keys_for(GetParam(), 1, 100);
  auto a = SrtpSession::create(keys);
  auto b = SrtpSession::create(mirrored(keys));
  ASSERT_TRUE(a.ok() && b.ok());
  std::size_t tag = GetParam() == SrtpProfile::kAeadAes128Gcm ? 16 : 10;

  for (std::uint16_t seq = 65530; seq != 10; ++seq) {  // crosses the ROC boundary
    Bytes plain = make_rtp(seq, 0x1234, 160, static_cast<std::uint8_t>(seq));
    Bytes buf = plain;
    buf.resize(plain.size() + kSrtpMaxOverhead);
    std::size_t len = plain.size();
    ASSERT_EQ((*a)->protect_rtp(buf, len), SrtpStatus::kOk);
    ASSERT_EQ(len, plain.size() + tag);
    EXPECT_NE(0, std::memcmp(buf.data() + 12, plain.data() + 12, 160));  // encrypted
    Bytes wire(buf.begin(), buf.begin() + static_cast<long>(len));

    ASSERT_EQ((*b)->unprotect_rtp(buf, len), SrtpStatus::kOk) << seq;
    ASSERT_EQ(len, plain.size());
    EXPECT_TRUE(std::equal(plain.begin(), plain.end(), buf.begin()));

    // Replay of the same packet is rejected.
    Bytes again = wire;
    std::size_t alen = again.size();
    EXPECT_EQ((*b)->unprotect_rtp(again, alen), SrtpStatus::kReplay);
  }

  // Tamper: flip one payload bit and one header bit.
  for (std::size_t pos : {std::size_t{30}, std::size_t{1}}) {
    Bytes plain = make_rtp(100, 0x1234, 160, 7);
    Bytes buf = plain;
    buf.resize(plain.size() + kSrtpMaxOverhead);
    std::size_t len = plain.size();
    ASSERT_EQ((*a)->protect_rtp(buf, len), SrtpStatus::kOk);
    buf[pos] ^= 0x01;
    EXPECT_EQ((*b)->unprotect_rtp(buf, len), SrtpStatus::kAuthFailed);
  }
}

TEST_P(SrtpProfiles, RtcpRoundTripTamperAndReplay) {
  auto keys = keys_for(GetParam(), 9, 50);
  auto a = SrtpSession::create(keys);
  auto b = SrtpSession::create(mirrored(keys));
  ASSERT_TRUE(a.ok() && b.ok());
  std::uint8_t buf[256];
  ByteWriter w(buf);
  ASSERT_TRUE(rtcp::write_receiver_report(w, 0x55, {}));
  ASSERT_TRUE(rtcp::write_pli(w, 0x55, 0x66));
  Bytes plain(buf, buf + w.size());
  std::size_t len = w.size();
  ASSERT_EQ((*a)->protect_rtcp(buf, len), SrtpStatus::kOk);
  EXPECT_GT(len, plain.size());
  Bytes wire(buf, buf + len);
  ASSERT_EQ((*b)->unprotect_rtcp(buf, len), SrtpStatus::kOk);
  EXPECT_EQ(Bytes(buf, buf + len), plain);
  std::size_t rlen = wire.size();
  Bytes replay = wire;
  EXPECT_EQ((*b)->unprotect_rtcp(replay, rlen), SrtpStatus::kReplay);
  // Tamper with a fresh packet (a tampered copy of the old one is caught as a replay first).
  std::memcpy(buf, plain.data(), plain.size());
  len = plain.size();
  ASSERT_EQ((*a)->protect_rtcp(buf, len), SrtpStatus::kOk);
  buf[10] ^= 0x80;
  EXPECT_EQ((*b)->unprotect_rtcp(buf, len), SrtpStatus::kAuthFailed);
}

TEST_P(SrtpProfiles, WrongKeyFailsAndTailroomChecked) {
  auto keys = keys_for(GetParam(), 1, 2);
  auto a = SrtpSession::create(keys);
  auto c = SrtpSession::create(keys_for(GetParam(), 3, 4));  // unrelated keys
  ASSERT_TRUE(a.ok() && c.ok());
  Bytes plain = make_rtp(1, 1, 20, 1);
  Bytes tight = plain;
  std::size_t len = plain.size();
  EXPECT_EQ((*a)->protect_rtp(tight, len), SrtpStatus::kBufferTooSmall);
  Bytes buf = plain;
  buf.resize(plain.size() + kSrtpMaxOverhead);
  ASSERT_EQ((*a)->protect_rtp(buf, len), SrtpStatus::kOk);
  EXPECT_EQ((*c)->unprotect_rtp(buf, len), SrtpStatus::kAuthFailed);
}

INSTANTIATE_TEST_SUITE_P(All, SrtpProfiles,
                         ::testing::Values(SrtpProfile::kAeadAes128Gcm,
                                           SrtpProfile::kAes128CmHmacSha1_80));

TEST(Srtp, RejectsBadKeyLength) {
  SrtpKeyMaterial k;
  k.profile = SrtpProfile::kAeadAes128Gcm;
  k.local.assign(30, 1);  // CM length, wrong for GCM
  k.remote.assign(30, 1);
  EXPECT_FALSE(SrtpSession::create(k).ok());
}

// ---- AEAD_AES_128_GCM on OpenSSL (srtp_gcm.cpp) against libsrtp2 as the oracle ----

namespace {

std::unique_ptr<SrtpSession> gcm_session(const SrtpKeyMaterial& k, SrtpGcmBackend backend,
                                         SrtpOptions o = {}) {
  o.gcm_backend = backend;
  auto s = SrtpSession::create(k, o);
  EXPECT_TRUE(s.ok());
  if (!s.ok()) return nullptr;
  EXPECT_EQ((*s)->uses_openssl_gcm(), backend == SrtpGcmBackend::kOpenssl);
  return std::move(*s);
}

// RTP packet with `csrcs` CSRCs and, if ext_words > 0, a one-byte-header extension block.
Bytes make_rtp_full(std::uint16_t seq, std::uint32_t ssrc, int csrcs, int ext_words,
                    std::size_t payload_len, std::uint8_t fill) {
  Bytes p(12, 0);
  p[0] = static_cast<std::uint8_t>(0x80 | csrcs | (ext_words > 0 ? 0x10 : 0));
  p[1] = 0x80 | 111;
  store_be16(p.data() + 2, seq);
  store_be32(p.data() + 4, seq * 960u);
  store_be32(p.data() + 8, ssrc);
  for (int i = 0; i < csrcs; ++i) {
    for (int b = 0; b < 4; ++b) p.push_back(static_cast<std::uint8_t>(0xC0 + 4 * i + b));
  }
  if (ext_words > 0) {
    p.insert(p.end(), {0xBE, 0xDE, 0, static_cast<std::uint8_t>(ext_words)});
    for (int i = 0; i < 4 * ext_words; ++i) p.push_back(static_cast<std::uint8_t>(0x10 + i));
  }
  for (std::size_t i = 0; i < payload_len; ++i) {
    p.push_back(static_cast<std::uint8_t>(fill + i));
  }
  return p;
}

// Protects `plain` with `s`; returns the wire bytes (empty on failure).
Bytes protect(SrtpSession& s, const Bytes& plain, bool rtcp = false, SrtpStatus* status = nullptr) {
  Bytes buf = plain;
  buf.resize(plain.size() + kSrtpMaxOverhead);
  std::size_t len = plain.size();
  SrtpStatus st = rtcp ? s.protect_rtcp(buf, len) : s.protect_rtp(buf, len);
  if (status) *status = st;
  if (st != SrtpStatus::kOk) return {};
  buf.resize(len);
  return buf;
}

SrtpStatus unprotect(SrtpSession& s, const Bytes& wire, Bytes& out, bool rtcp = false) {
  out = wire;
  std::size_t len = wire.size();
  SrtpStatus st = rtcp ? s.unprotect_rtcp(out, len) : s.unprotect_rtp(out, len);
  if (st == SrtpStatus::kOk) out.resize(len);
  return st;
}

Bytes make_rtcp(std::uint32_t ssrc, std::uint8_t n) {
  std::uint8_t buf[256];
  ByteWriter w(buf);
  EXPECT_TRUE(rtcp::write_receiver_report(w, ssrc, {}));
  EXPECT_TRUE(rtcp::write_pli(w, ssrc, 0x1000u + n));
  return Bytes(buf, buf + w.size());
}

struct RtpShape {
  int csrcs;
  int ext_words;
  std::size_t payload;
};

}  // namespace

class SrtpGcmInterop : public ::testing::TestWithParam<RtpShape> {};

TEST_P(SrtpGcmInterop, RtpByteIdenticalToLibsrtpAndCrossUnprotectAcrossRollover) {
  const RtpShape shape = GetParam();
  auto keys = keys_for(SrtpProfile::kAeadAes128Gcm, 7, 77);
  auto ours_tx = gcm_session(keys, SrtpGcmBackend::kOpenssl);
  auto lib_tx = gcm_session(keys, SrtpGcmBackend::kLibsrtp);
  auto ours_rx = gcm_session(mirrored(keys), SrtpGcmBackend::kOpenssl);
  auto lib_rx = gcm_session(mirrored(keys), SrtpGcmBackend::kLibsrtp);
  ASSERT_TRUE(ours_tx && lib_tx && ours_rx && lib_rx);
  // Two SSRCs interleaved, starting at different points; the first crosses 65535 -> 0.
  const std::uint32_t ssrcs[2] = {0x11223344, 0xCAFEBABE};
  const std::uint16_t starts[2] = {65530, 1000};
  for (int i = 0; i < 20; ++i) {
    for (int k = 0; k < 2; ++k) {
      const auto seq = static_cast<std::uint16_t>(starts[k] + i);
      Bytes plain = make_rtp_full(seq, ssrcs[k], shape.csrcs, shape.ext_words, shape.payload,
                                  static_cast<std::uint8_t>(i * 3 + k));
      Bytes a = protect(*ours_tx, plain);
      Bytes b = protect(*lib_tx, plain);
      ASSERT_FALSE(a.empty());
      ASSERT_EQ(a.size(), plain.size() + 16);
      ASSERT_EQ(a, b) << "seq " << seq << " ssrc " << ssrcs[k];
      Bytes out;
      ASSERT_EQ(unprotect(*lib_rx, a, out), SrtpStatus::kOk) << seq;
      EXPECT_EQ(out, plain);
      // The libsrtp-protected copy is identical, so give ours a fresh libsrtp sender's
      // output through a separate check below; here ours unprotects the same bytes.
      ASSERT_EQ(unprotect(*ours_rx, b, out), SrtpStatus::kOk) << seq;
      EXPECT_EQ(out, plain);
      EXPECT_EQ(unprotect(*ours_rx, b, out), SrtpStatus::kReplay);
      EXPECT_EQ(unprotect(*lib_rx, a, out), SrtpStatus::kReplay);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, SrtpGcmInterop,
                         ::testing::Values(RtpShape{0, 0, 160}, RtpShape{2, 0, 80},
                                           RtpShape{0, 2, 120}, RtpShape{3, 1, 33},
                                           RtpShape{15, 3, 1}, RtpShape{0, 0, 0},
                                           RtpShape{1, 1, 1200}));

TEST(SrtpGcm, ReorderedDeliveryAcrossRolloverBothWays) {
  auto keys = keys_for(SrtpProfile::kAeadAes128Gcm, 21, 42);
  for (int dir = 0; dir < 2; ++dir) {
    auto tx = gcm_session(keys, dir == 0 ? SrtpGcmBackend::kOpenssl : SrtpGcmBackend::kLibsrtp);
    auto rx =
        gcm_session(mirrored(keys), dir == 0 ? SrtpGcmBackend::kLibsrtp : SrtpGcmBackend::kOpenssl);
    ASSERT_TRUE(tx && rx);
    std::vector<Bytes> plain, wire;
    for (int i = 0; i < 40; ++i) {
      plain.push_back(make_rtp_full(static_cast<std::uint16_t>(65520 + i), 0x5555, 1, 1, 50,
                                    static_cast<std::uint8_t>(i)));
      wire.push_back(protect(*tx, plain.back()));
      ASSERT_FALSE(wire.back().empty());
    }
    // Delivery order: pairs swapped, a few held back past the rollover.
    std::vector<int> order;
    for (int i = 0; i + 1 < 40; i += 2) order.insert(order.end(), {i + 1, i});
    std::vector<int> held = {13, 14, 15};  // seq 65533..65535
    std::erase_if(order, [&](int x) { return x >= 13 && x <= 15; });
    order.insert(order.begin() + 30, held.begin(), held.end());  // after seq 2..
    for (int i : order) {
      Bytes out;
      ASSERT_EQ(unprotect(*rx, wire[static_cast<std::size_t>(i)], out), SrtpStatus::kOk)
          << "dir " << dir << " packet " << i;
      EXPECT_EQ(out, plain[static_cast<std::size_t>(i)]);
    }
    for (int i : {0, 14, 39}) {
      Bytes out;
      EXPECT_EQ(unprotect(*rx, wire[static_cast<std::size_t>(i)], out), SrtpStatus::kReplay);
    }
  }
}

TEST(SrtpGcm, RtcpCrossInteropBothWays) {
  auto keys = keys_for(SrtpProfile::kAeadAes128Gcm, 30, 60);
  auto ours_tx = gcm_session(keys, SrtpGcmBackend::kOpenssl);
  auto lib_tx = gcm_session(keys, SrtpGcmBackend::kLibsrtp);
  auto ours_rx = gcm_session(mirrored(keys), SrtpGcmBackend::kOpenssl);
  auto lib_rx = gcm_session(mirrored(keys), SrtpGcmBackend::kLibsrtp);
  ASSERT_TRUE(ours_tx && lib_tx && ours_rx && lib_rx);
  for (std::uint8_t n = 0; n < 10; ++n) {
    for (std::uint32_t ssrc : {0x01u, 0xDEADBEEFu}) {
      Bytes plain = make_rtcp(ssrc, n);
      Bytes a = protect(*ours_tx, plain, true);
      Bytes b = protect(*lib_tx, plain, true);
      ASSERT_EQ(a.size(), plain.size() + 20);
      // Same SRTCP index sequence (1, 2, ...) on both, so the same bytes.
      EXPECT_EQ(a, b) << int{n};
      EXPECT_EQ(load_be32(a.data() + a.size() - 4), 0x80000000u | (n + 1u));
      Bytes out;
      ASSERT_EQ(unprotect(*lib_rx, a, out, true), SrtpStatus::kOk);
      EXPECT_EQ(out, plain);
      ASSERT_EQ(unprotect(*ours_rx, b, out, true), SrtpStatus::kOk);
      EXPECT_EQ(out, plain);
      EXPECT_EQ(unprotect(*ours_rx, b, out, true), SrtpStatus::kReplay);
      EXPECT_EQ(unprotect(*lib_rx, a, out, true), SrtpStatus::kReplay);
      // Tampered trailer index, header, payload and tag.
      for (std::size_t pos :
           {std::size_t{1}, std::size_t{5}, std::size_t{9}, a.size() - 1, a.size() - 6}) {
        Bytes t = a;
        t[pos] ^= 0x04;
        EXPECT_NE(unprotect(*ours_rx, t, out, true), SrtpStatus::kOk) << pos;
      }
    }
  }
  Bytes out;
  Bytes short_pkt(27, 0);
  EXPECT_EQ(unprotect(*ours_rx, short_pkt, out, true), SrtpStatus::kBadPacket);
  SrtpStatus st;
  protect(*ours_tx, Bytes(7, 0x80), true, &st);
  EXPECT_EQ(st, SrtpStatus::kBadPacket);
}

TEST(SrtpGcm, EveryTamperedByteFailsAndOriginalStillAuthenticates) {
  auto keys = keys_for(SrtpProfile::kAeadAes128Gcm, 5, 6);
  auto tx = gcm_session(keys, SrtpGcmBackend::kOpenssl);
  auto rx = gcm_session(mirrored(keys), SrtpGcmBackend::kOpenssl);
  ASSERT_TRUE(tx && rx);
  Bytes plain = make_rtp_full(4242, 0x99, 2, 1, 40, 1);
  Bytes wire = protect(*tx, plain);
  ASSERT_FALSE(wire.empty());
  Bytes out;
  for (std::size_t pos = 0; pos < wire.size(); ++pos) {
    for (std::uint8_t bit : {std::uint8_t{0x01}, std::uint8_t{0x80}}) {
      Bytes t = wire;
      t[pos] ^= bit;
      SrtpStatus st = unprotect(*rx, t, out);
      EXPECT_TRUE(st == SrtpStatus::kAuthFailed || st == SrtpStatus::kBadPacket)
          << pos << " " << to_string(st);
    }
  }
  // Failed packets leave no state behind (no stream, no replay mark).
  ASSERT_EQ(unprotect(*rx, wire, out), SrtpStatus::kOk);
  EXPECT_EQ(out, plain);
  EXPECT_EQ(unprotect(*rx, wire, out), SrtpStatus::kReplay);
}

TEST(SrtpGcm, TruncatedAndMalformedPacketsAreBadPackets) {
  auto keys = keys_for(SrtpProfile::kAeadAes128Gcm, 8, 9);
  auto tx = gcm_session(keys, SrtpGcmBackend::kOpenssl);
  auto rx = gcm_session(mirrored(keys), SrtpGcmBackend::kOpenssl);
  ASSERT_TRUE(tx && rx);
  Bytes plain = make_rtp_full(10, 0x77, 2, 2, 20, 1);  // header 12 + 8 + 12 = 32
  Bytes wire = protect(*tx, plain);
  ASSERT_EQ(wire.size(), plain.size() + 16);
  Bytes out;
  for (std::size_t n : {std::size_t{0}, std::size_t{11}, std::size_t{12}, std::size_t{20},
                        std::size_t{31}, std::size_t{32 + 15}}) {
    Bytes t(wire.begin(), wire.begin() + static_cast<long>(n));
    EXPECT_EQ(unprotect(*rx, t, out), SrtpStatus::kBadPacket) << n;
  }
  // Header + tag, empty payload: structurally fine, fails authentication.
  Bytes t(wire.begin(), wire.begin() + 48);
  EXPECT_EQ(unprotect(*rx, t, out), SrtpStatus::kAuthFailed);
  // Protect rejects a header longer than the packet (CSRC count, extension length).
  SrtpStatus st;
  Bytes bad = make_rtp_full(1, 1, 0, 0, 4, 0);
  bad[0] = 0x80 | 4;  // 4 CSRCs claimed, 4 bytes present
  protect(*tx, bad, false, &st);
  EXPECT_EQ(st, SrtpStatus::kBadPacket);
  bad = make_rtp_full(1, 1, 0, 1, 0, 0);
  bad[15] = 9;  // extension length beyond the packet
  protect(*tx, bad, false, &st);
  EXPECT_EQ(st, SrtpStatus::kBadPacket);
}

TEST(SrtpGcm, RepeatTxAllowedOnlyWhenConfiguredAndWindowLimits) {
  auto keys = keys_for(SrtpProfile::kAeadAes128Gcm, 1, 2);
  Bytes plain = make_rtp_full(500, 0x42, 0, 0, 60, 3);
  {
    auto tx = gcm_session(keys, SrtpGcmBackend::kOpenssl);
    Bytes a = protect(*tx, plain);
    Bytes b = protect(*tx, plain);  // NACK resend
    ASSERT_FALSE(b.empty());
    EXPECT_EQ(a, b);
  }
  {
    SrtpOptions o;
    o.allow_repeat_tx = false;
    auto tx = gcm_session(keys, SrtpGcmBackend::kOpenssl, o);
    ASSERT_FALSE(protect(*tx, plain).empty());
    SrtpStatus st;
    protect(*tx, plain, false, &st);
    EXPECT_EQ(st, SrtpStatus::kReplay);
  }
  // Window: with 64 packets, an index 64 behind the highest is too old for both.
  SrtpOptions o;
  o.replay_window = 64;
  for (auto backend : {SrtpGcmBackend::kOpenssl, SrtpGcmBackend::kLibsrtp}) {
    auto tx = gcm_session(keys, SrtpGcmBackend::kOpenssl, o);
    auto rx = gcm_session(mirrored(keys), backend, o);
    std::vector<Bytes> wire;
    for (int i = 0; i < 200; ++i) {
      wire.push_back(protect(*tx, make_rtp_full(static_cast<std::uint16_t>(i), 9, 0, 0, 10, 0)));
    }
    Bytes out;
    for (int i = 0; i < 200; i += 2) {
      ASSERT_EQ(unprotect(*rx, wire[static_cast<std::size_t>(i)], out), SrtpStatus::kOk);
    }
    EXPECT_EQ(unprotect(*rx, wire[199 - 64 - 1], out),
              SrtpStatus::kReplay);                                   // 134: 64 behind 198, too old
    EXPECT_EQ(unprotect(*rx, wire[199 - 50], out), SrtpStatus::kOk);  // 149: in window
    EXPECT_EQ(unprotect(*rx, wire[199], out), SrtpStatus::kOk);
    EXPECT_EQ(unprotect(*rx, wire[199], out), SrtpStatus::kReplay);
  }
}

TEST(SrtpGcm, ForgedFirstPacketDoesNotCreateStream) {
  auto keys = keys_for(SrtpProfile::kAeadAes128Gcm, 3, 4);
  auto tx = gcm_session(keys, SrtpGcmBackend::kOpenssl);
  auto rx = gcm_session(mirrored(keys), SrtpGcmBackend::kOpenssl);
  Bytes plain = make_rtp_full(40000, 0xABCD, 0, 0, 30, 0);
  Bytes wire = protect(*tx, plain);
  Bytes forged = wire;
  forged[20] ^= 1;
  Bytes out;
  EXPECT_EQ(unprotect(*rx, forged, out), SrtpStatus::kAuthFailed);
  EXPECT_EQ(unprotect(*rx, wire, out), SrtpStatus::kOk);
  EXPECT_EQ(out, plain);
}

TEST(SrtpGcm, KeyDerivationAndPacketMatchIndependentComputation) {
  // Session keys via the RFC 3711 AES-CM PRF with the 96-bit salt * 2^16 (RFC 7714 errata
  // 4938), then one AES-GCM seal with IV = (0 || SSRC || ROC || SEQ) XOR salt, AAD = header.
  auto keys = keys_for(SrtpProfile::kAeadAes128Gcm, 0x10, 0x20);
  Bytes mk(keys.local.begin(), keys.local.begin() + 16);
  Bytes ms(keys.local.begin() + 16, keys.local.end());
  Bytes salt14 = ms;
  salt14.insert(salt14.end(), {0, 0});
  Bytes key = derive(mk, salt14, 0x00, 16);
  Bytes salt = derive(mk, salt14, 0x02, 12);
  Bytes plain = make_rtp_full(65535, 0x01020304, 1, 1, 25, 9);
  const std::size_t h = 12 + 4 + 8;
  std::uint8_t iv[12] = {0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 0xFF, 0xFF};
  for (int i = 0; i < 12; ++i) iv[i] ^= salt[static_cast<std::size_t>(i)];
  Bytes expected = plain;
  expected.resize(plain.size() + 16);
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  int n = 0;
  EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), nullptr, key.data(), iv);
  EVP_EncryptUpdate(c, nullptr, &n, plain.data(), static_cast<int>(h));
  EVP_EncryptUpdate(c, expected.data() + h, &n, plain.data() + h,
                    static_cast<int>(plain.size() - h));
  EVP_EncryptFinal_ex(c, expected.data() + plain.size(), &n);
  EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, expected.data() + plain.size());
  EVP_CIPHER_CTX_free(c);
  auto tx = gcm_session(keys, SrtpGcmBackend::kOpenssl);
  EXPECT_EQ(protect(*tx, plain), expected);
}

TEST(SrtpGcm, UnencryptedSrtcpWithEFlagZeroAuthenticates) {
  // RFC 7714 9.2 with E = 0: AAD = whole RTCP packet || 0 || index, empty plaintext,
  // layout packet || tag || (0 || index). Built here independently with EVP.
  auto keys = keys_for(SrtpProfile::kAeadAes128Gcm, 0x33, 0x44);
  Bytes mk(keys.local.begin(), keys.local.begin() + 16);
  Bytes salt14(keys.local.begin() + 16, keys.local.end());
  salt14.insert(salt14.end(), {0, 0});
  Bytes key = derive(mk, salt14, 0x03, 16);
  Bytes salt = derive(mk, salt14, 0x05, 12);
  Bytes plain = make_rtcp(0x0A0B0C0D, 1);
  const std::uint32_t index = 77;
  std::uint8_t trailer[4];
  store_be32(trailer, index);  // E = 0
  std::uint8_t iv[12] = {0, 0, 0x0A, 0x0B, 0x0C, 0x0D, 0, 0};
  store_be32(iv + 8, index);
  for (int i = 0; i < 12; ++i) iv[i] ^= salt[static_cast<std::size_t>(i)];
  std::uint8_t tag[16];
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  int n = 0;
  EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), nullptr, key.data(), iv);
  EVP_EncryptUpdate(c, nullptr, &n, plain.data(), static_cast<int>(plain.size()));
  EVP_EncryptUpdate(c, nullptr, &n, trailer, 4);
  EVP_EncryptFinal_ex(c, tag, &n);
  EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag);
  EVP_CIPHER_CTX_free(c);
  Bytes wire = plain;
  wire.insert(wire.end(), tag, tag + 16);
  wire.insert(wire.end(), trailer, trailer + 4);
  for (auto backend : {SrtpGcmBackend::kOpenssl, SrtpGcmBackend::kLibsrtp}) {
    auto rx = gcm_session(mirrored(keys), backend);
    Bytes out;
    ASSERT_EQ(unprotect(*rx, wire, out, true), SrtpStatus::kOk) << int(backend);
    EXPECT_EQ(out, plain);
    EXPECT_EQ(unprotect(*rx, wire, out, true), SrtpStatus::kReplay);
    Bytes t = wire;
    t[12] ^= 1;  // authenticated (not encrypted) body
    auto rx2 = gcm_session(mirrored(keys), backend);
    EXPECT_EQ(unprotect(*rx2, t, out, true), SrtpStatus::kAuthFailed);
  }
}
