#include "rtc/srtp_session.hpp"

#include <srtp2/srtp.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "rtc/srtp_gcm.hpp"

namespace hype::rtc {
namespace {

// libsrtp keeps process-wide crypto kernel state that must be initialised exactly once
// before any session exists; it is never torn down (sessions may outlive any owner).
bool ensure_srtp_init() {
  static std::once_flag once;
  static srtp_err_status_t status = srtp_err_status_ok;
  std::call_once(once, [] { status = srtp_init(); });
  return status == srtp_err_status_ok;
}

SrtpStatus map_status(srtp_err_status_t s) {
  switch (s) {
    case srtp_err_status_ok:
      return SrtpStatus::kOk;
    case srtp_err_status_auth_fail:
    case srtp_err_status_cipher_fail:
      return SrtpStatus::kAuthFailed;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
      return SrtpStatus::kReplay;
    case srtp_err_status_bad_param:
    case srtp_err_status_parse_err:
    case srtp_err_status_no_ctx:
      return SrtpStatus::kBadPacket;
    default:
      return SrtpStatus::kError;
  }
}

void set_policy(srtp_policy_t& p, SrtpProfile profile) {
  if (profile == SrtpProfile::kAeadAes128Gcm) {
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
  } else {
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
  }
}

bool use_openssl_gcm(SrtpGcmBackend b) {
  if (b == SrtpGcmBackend::kDefault) {
    static const bool env_libsrtp = [] {
      const char* v = std::getenv("HYPE_SRTP_GCM");
      return v && std::strcmp(v, "libsrtp") == 0;
    }();
    return !env_libsrtp;
  }
  return b == SrtpGcmBackend::kOpenssl;
}

}  // namespace

std::size_t srtp_master_key_length(SrtpProfile) {
  return 16;
}

std::size_t srtp_master_salt_length(SrtpProfile p) {
  return p == SrtpProfile::kAeadAes128Gcm ? 12 : 14;
}

const char* to_string(SrtpProfile p) {
  return p == SrtpProfile::kAeadAes128Gcm ? "SRTP_AEAD_AES_128_GCM" : "SRTP_AES128_CM_SHA1_80";
}

const char* to_string(SrtpStatus s) {
  switch (s) {
    case SrtpStatus::kOk:
      return "ok";
    case SrtpStatus::kBufferTooSmall:
      return "buffer_too_small";
    case SrtpStatus::kAuthFailed:
      return "auth_failed";
    case SrtpStatus::kReplay:
      return "replay";
    case SrtpStatus::kBadPacket:
      return "bad_packet";
    case SrtpStatus::kError:
      break;
  }
  return "error";
}

Result<std::unique_ptr<SrtpSession>> SrtpSession::create(const SrtpKeyMaterial& keys,
                                                         const SrtpOptions& options) {
  if (!ensure_srtp_init()) return Error{"srtp_init", "libsrtp initialisation failed"};
  std::size_t want = srtp_master_key_length(keys.profile) + srtp_master_salt_length(keys.profile);
  if (keys.local.size() != want || keys.remote.size() != want) {
    return Error{"srtp_key_length", "SRTP key||salt must be " + std::to_string(want) + " bytes"};
  }
  if (options.replay_window < 64 || options.replay_window > 0x7FFF) {
    return Error{"srtp_replay_window", "replay window must be 64..32767"};
  }
  std::unique_ptr<SrtpSession> s(new SrtpSession());
  s->profile_ = keys.profile;
  if (keys.profile == SrtpProfile::kAeadAes128Gcm && use_openssl_gcm(options.gcm_backend)) {
    s->gcm_ = SrtpGcm::create(keys.local, keys.remote, options);
    if (!s->gcm_) return Error{"srtp_create", "OpenSSL AES-GCM setup failed"};
    return s;
  }
  for (int dir = 0; dir < 2; ++dir) {
    srtp_policy_t p{};
    set_policy(p, keys.profile);
    p.ssrc.type = dir == 0 ? ssrc_any_outbound : ssrc_any_inbound;
    // libsrtp copies the key during srtp_create, the vector only has to live until then.
    p.key = const_cast<unsigned char*>(dir == 0 ? keys.local.data() : keys.remote.data());
    p.window_size = options.replay_window;
    p.allow_repeat_tx = dir == 0 && options.allow_repeat_tx ? 1 : 0;
    p.next = nullptr;
    srtp_t ctx = nullptr;
    srtp_err_status_t st = srtp_create(&ctx, &p);
    if (st != srtp_err_status_ok) {
      return Error{"srtp_create", "srtp_create failed: " + std::to_string(static_cast<int>(st))};
    }
    (dir == 0 ? s->outbound_ : s->inbound_) = ctx;
  }
  return s;
}

SrtpSession::~SrtpSession() {
  if (outbound_) srtp_dealloc(outbound_);
  if (inbound_) srtp_dealloc(inbound_);
}

SrtpStatus SrtpSession::protect_rtp(MutableByteSpan buf, std::size_t& len) {
  if (len < 12 || len > buf.size()) return SrtpStatus::kBadPacket;
  if (buf.size() - len < kSrtpMaxOverhead) return SrtpStatus::kBufferTooSmall;
  if (gcm_) return gcm_->protect_rtp(buf.data(), len);
  int n = static_cast<int>(len);
  auto st = map_status(srtp_protect(outbound_, buf.data(), &n));
  if (st == SrtpStatus::kOk) len = static_cast<std::size_t>(n);
  return st;
}

SrtpStatus SrtpSession::unprotect_rtp(MutableByteSpan buf, std::size_t& len) {
  if (len < 12 || len > buf.size()) return SrtpStatus::kBadPacket;
  if (gcm_) return gcm_->unprotect_rtp(buf.data(), len);
  int n = static_cast<int>(len);
  auto st = map_status(srtp_unprotect(inbound_, buf.data(), &n));
  if (st == SrtpStatus::kOk) len = static_cast<std::size_t>(n);
  return st;
}

SrtpStatus SrtpSession::protect_rtcp(MutableByteSpan buf, std::size_t& len) {
  if (len < 8 || len > buf.size()) return SrtpStatus::kBadPacket;
  if (buf.size() - len < kSrtpMaxOverhead) return SrtpStatus::kBufferTooSmall;
  if (gcm_) return gcm_->protect_rtcp(buf.data(), len);
  int n = static_cast<int>(len);
  auto st = map_status(srtp_protect_rtcp(outbound_, buf.data(), &n));
  if (st == SrtpStatus::kOk) len = static_cast<std::size_t>(n);
  return st;
}

SrtpStatus SrtpSession::unprotect_rtcp(MutableByteSpan buf, std::size_t& len) {
  if (len < 8 || len > buf.size()) return SrtpStatus::kBadPacket;
  if (gcm_) return gcm_->unprotect_rtcp(buf.data(), len);
  int n = static_cast<int>(len);
  auto st = map_status(srtp_unprotect_rtcp(inbound_, buf.data(), &n));
  if (st == SrtpStatus::kOk) len = static_cast<std::size_t>(n);
  return st;
}

}  // namespace hype::rtc
