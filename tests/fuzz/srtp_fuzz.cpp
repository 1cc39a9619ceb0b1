// SRTP/SRTCP with AEAD_AES_128_GCM: our OpenSSL implementation against libsrtp2.
// Byte 0 picks the operation, the rest is the packet:
//   0/1  protect RTP/RTCP with both; when both succeed the bytes must be identical and the
//        other side (ours and libsrtp) must unprotect them back to the input;
//   2/3  unprotect RTP/RTCP of arbitrary bytes (must not crash; a forgery must not pass).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "rtc/srtp_session.hpp"

using namespace hype::rtc;

namespace {

SrtpKeyMaterial keys(bool mirrored) {
  SrtpKeyMaterial k;
  k.profile = SrtpProfile::kAeadAes128Gcm;
  for (std::uint8_t i = 0; i < 28; ++i) {
    k.local.push_back(static_cast<std::uint8_t>(i * 5 + 1));
    k.remote.push_back(static_cast<std::uint8_t>(i * 11 + 3));
  }
  if (mirrored) std::swap(k.local, k.remote);
  return k;
}

std::unique_ptr<SrtpSession> session(bool mirrored, SrtpGcmBackend b) {
  SrtpOptions o;
  o.gcm_backend = b;
  auto s = SrtpSession::create(keys(mirrored), o);
  if (!s.ok()) __builtin_trap();
  return std::move(*s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 4096) return 0;
  const int op = data[0] & 3;
  const bool rtcp = op & 1;
  std::vector<std::uint8_t> plain(data + 1, data + size);
  const std::size_t n = plain.size();
  if (op < 2) {
    auto ours = session(false, SrtpGcmBackend::kOpenssl);
    auto lib = session(false, SrtpGcmBackend::kLibsrtp);
    std::vector<std::uint8_t> a(n + kSrtpMaxOverhead), b(n + kSrtpMaxOverhead);
    if (n) std::memcpy(a.data(), plain.data(), n);
    if (n) std::memcpy(b.data(), plain.data(), n);
    std::size_t la = n, lb = n;
    SrtpStatus sa = rtcp ? ours->protect_rtcp(a, la) : ours->protect_rtp(a, la);
    SrtpStatus sb = rtcp ? lib->protect_rtcp(b, lb) : lib->protect_rtp(b, lb);
    if (sa == SrtpStatus::kOk && sb == SrtpStatus::kOk &&
        (la != lb || std::memcmp(a.data(), b.data(), la) != 0)) {
      __builtin_trap();
    }
    if (sa == SrtpStatus::kOk) {
      if (la > n + kSrtpMaxOverhead) __builtin_trap();
      for (auto backend : {SrtpGcmBackend::kOpenssl, SrtpGcmBackend::kLibsrtp}) {
        auto rx = session(true, backend);
        std::vector<std::uint8_t> w(a.begin(), a.begin() + static_cast<long>(la));
        std::size_t lw = la;
        SrtpStatus sr = rtcp ? rx->unprotect_rtcp(w, lw) : rx->unprotect_rtp(w, lw);
        // libsrtp refuses some headers ours accepts (and vice versa); ours must round-trip.
        if (backend == SrtpGcmBackend::kOpenssl && sr != SrtpStatus::kOk) __builtin_trap();
        if (sr == SrtpStatus::kOk && (lw != n || std::memcmp(w.data(), plain.data(), n) != 0)) {
          __builtin_trap();
        }
      }
    }
  } else {
    auto rx = session(true, SrtpGcmBackend::kOpenssl);
    std::vector<std::uint8_t> w = plain;
    std::size_t lw = n;
    SrtpStatus sr = rtcp ? rx->unprotect_rtcp(w, lw) : rx->unprotect_rtp(w, lw);
    if (sr == SrtpStatus::kOk && lw > n) __builtin_trap();
    // Arbitrary bytes must not authenticate under our keys (a 2^-128 event otherwise).
    if (sr == SrtpStatus::kOk) __builtin_trap();
  }
  return 0;
}
