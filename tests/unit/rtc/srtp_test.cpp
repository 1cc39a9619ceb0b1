// SRTP through libsrtp2: an RFC 3711 vector cross-checked against an independent
// computation, plus round trips, tamper detection and replay rejection for both profiles.
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
