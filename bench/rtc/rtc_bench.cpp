// Per-packet costs on the SFU forwarding path, with Opus-sized (160-byte) payloads and the
// header extensions Chromium sends on audio.
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "rtc/ice/ice_lite_agent.hpp"
#include "rtc/rtp/header_extensions.hpp"
#include "rtc/rtp/rtp_packet.hpp"
#include "rtc/srtp_session.hpp"
#include "rtc/stun/stun_message.hpp"

using namespace hype;
using namespace hype::rtc;

namespace {

constexpr std::size_t kPayload = 160;

// audio level (1), abs-send-time (2), transport-cc (3), mid (4)
std::vector<std::uint8_t> opus_packet(std::uint16_t seq) {
  std::uint8_t buf[1500];
  RtpBuilder b(
      buf,
      {.payload_type = 111, .sequence_number = seq, .timestamp = seq * 960u, .ssrc = 0x1234abcd});
  std::uint8_t level = 0x9e, ast[3] = {1, 2, 3}, tcc[2] = {0, 7}, mid = '0';
  std::uint8_t payload[kPayload];
  std::memset(payload, 0x5a, sizeof(payload));
  b.add_extension(1, ByteSpan(&level, 1))
      .add_extension(2, ast)
      .add_extension(3, tcc)
      .add_extension(4, ByteSpan(&mid, 1))
      .payload(payload);
  std::size_t n = b.finish();
  return {buf, buf + n};
}

const ExtensionIds kIds{.audio_level = 1, .abs_send_time = 2, .transport_cc = 3, .mid = 4};

void BM_RtpParse(benchmark::State& state) {
  auto pkt = opus_packet(1);
  for (auto _ : state) {
    RtpPacket p;
    auto st = RtpPacket::parse(pkt, p);
    auto lvl = audio_level(p, kIds);
    auto seq = transport_seq(p, kIds);
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(lvl);
    benchmark::DoNotOptimize(seq);
    benchmark::DoNotOptimize(p.ssrc());
  }
}
BENCHMARK(BM_RtpParse);

// What the SFU does per forwarded packet: new SSRC/seq/timestamp, fresh transport-wide
// sequence number and abs-send-time for the downlink.
void BM_RtpHeaderExtensionRewrite(benchmark::State& state) {
  auto pkt = opus_packet(1);
  std::uint16_t n = 0;
  for (auto _ : state) {
    RtpPacket p;
    RtpPacket::parse(pkt, p);
    p.set_ssrc(0x55667788);
    p.set_sequence_number(n);
    p.set_timestamp(n * 960u);
    bool ok = set_transport_seq(p, kIds, n) && set_abs_send_time(p, kIds, n * 20000LL);
    benchmark::DoNotOptimize(ok);
    benchmark::ClobberMemory();
    ++n;
  }
}
BENCHMARK(BM_RtpHeaderExtensionRewrite);

SrtpKeyMaterial keys(SrtpProfile profile) {
  std::size_t len = srtp_master_key_length(profile) + srtp_master_salt_length(profile);
  SrtpKeyMaterial k;
  k.profile = profile;
  for (std::size_t i = 0; i < len; ++i) {
    k.local.push_back(static_cast<std::uint8_t>(i * 7 + 1));
    k.remote.push_back(static_cast<std::uint8_t>(i * 7 + 1));
  }
  return k;
}

// range(1): 1 = GCM on our OpenSSL code, 0 = libsrtp2 (AES-CM/HMAC always uses libsrtp2).
SrtpOptions srtp_options(const benchmark::State& state) {
  SrtpOptions o;
  o.gcm_backend = state.range(1) ? SrtpGcmBackend::kOpenssl : SrtpGcmBackend::kLibsrtp;
  return o;
}

std::string srtp_label(const benchmark::State& state) {
  return std::string(to_string(static_cast<SrtpProfile>(state.range(0)))) +
         (state.range(1) ? " openssl" : " libsrtp2");
}

void BM_SrtpProtect(benchmark::State& state) {
  auto profile = static_cast<SrtpProfile>(state.range(0));
  auto s = SrtpSession::create(keys(profile), srtp_options(state));
  if (!s.ok()) {
    state.SkipWithError("srtp create failed");
    return;
  }
  auto plain = opus_packet(0);
  std::vector<std::uint8_t> buf(plain.size() + kSrtpMaxOverhead);
  std::uint16_t seq = 0;
  for (auto _ : state) {
    // Includes a ~200-byte memcpy to restore the plaintext: protect works in place.
    std::memcpy(buf.data(), plain.data(), plain.size());
    store_be16(buf.data() + 2, seq++);
    std::size_t len = plain.size();
    auto st = (*s)->protect_rtp(buf, len);
    benchmark::DoNotOptimize(st);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kPayload));
  state.SetLabel(srtp_label(state));
}
BENCHMARK(BM_SrtpProtect)
    ->Args({static_cast<int>(SrtpProfile::kAeadAes128Gcm), 1})
    ->Args({static_cast<int>(SrtpProfile::kAeadAes128Gcm), 0})
    ->Args({static_cast<int>(SrtpProfile::kAes128CmHmacSha1_80), 0});

void BM_SrtpUnprotect(benchmark::State& state) {
  auto profile = static_cast<SrtpProfile>(state.range(0));
  auto tx = SrtpSession::create(keys(profile), srtp_options(state));
  auto rx = SrtpSession::create(keys(profile), srtp_options(state));
  if (!tx.ok() || !rx.ok()) {
    state.SkipWithError("srtp create failed");
    return;
  }
  auto plain = opus_packet(0);
  constexpr std::size_t kBatch = 4096;
  const std::size_t stride = plain.size() + kSrtpMaxOverhead;
  std::vector<std::uint8_t> wire(kBatch * stride);
  std::vector<std::size_t> lens(kBatch);
  std::vector<std::uint8_t> work(stride);
  std::uint16_t seq = 0;
  std::size_t i = kBatch;
  int failures = 0;
  for (auto _ : state) {
    if (i == kBatch) {
      // Fresh, in-order sequence numbers (the replay window rejects repeats).
      state.PauseTiming();
      for (std::size_t k = 0; k < kBatch; ++k) {
        std::uint8_t* p = wire.data() + k * stride;
        std::memcpy(p, plain.data(), plain.size());
        store_be16(p + 2, seq++);
        lens[k] = plain.size();
        (*tx)->protect_rtp(MutableByteSpan(p, stride), lens[k]);
      }
      i = 0;
      state.ResumeTiming();
    }
    std::memcpy(work.data(), wire.data() + i * stride, lens[i]);
    std::size_t len = lens[i];
    failures += (*rx)->unprotect_rtp(work, len) != SrtpStatus::kOk;
    ++i;
  }
  if (failures) state.SkipWithError("unprotect failed");
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kPayload));
  state.SetLabel(srtp_label(state));
}
BENCHMARK(BM_SrtpUnprotect)
    ->Args({static_cast<int>(SrtpProfile::kAeadAes128Gcm), 1})
    ->Args({static_cast<int>(SrtpProfile::kAeadAes128Gcm), 0})
    ->Args({static_cast<int>(SrtpProfile::kAes128CmHmacSha1_80), 0});

// A consent/connectivity check as Chromium sends it, answered by the ICE-lite agent:
// STUN parse + FINGERPRINT + HMAC verify + signed response.
void BM_IceLiteBindingRequest(benchmark::State& state) {
  ice::IceCredentials server{"srvU", "server-password-0123456789"};
  ice::IceCredentials browser{"brwU", "browser-password-0123456789"};
  ice::IceLiteAgent agent(server, browser);
  std::uint8_t req[256];
  stun::StunBuilder b(req, stun::MessageClass::kRequest, stun::Method::kBinding,
                      stun::random_transaction_id());
  b.add_username("srvU:brwU")
      .add_priority(ice::kPeerReflexivePriority)
      .add_ice_controlling(42)
      .add_use_candidate()
      .add_message_integrity(as_bytes(server.pwd))
      .add_fingerprint();
  std::size_t n = b.finish();
  auto from = *SocketAddress::parse("192.0.2.2:50000");
  std::uint8_t out[256];
  std::int64_t now = 0;
  for (auto _ : state) {
    stun::StunMessage m;
    stun::StunMessage::parse(ByteSpan(req, n), m);
    auto o = agent.handle_stun(m, from, ++now, out);
    benchmark::DoNotOptimize(o);
  }
}
BENCHMARK(BM_IceLiteBindingRequest);

}  // namespace
