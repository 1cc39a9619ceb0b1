#include "rtc/dtls_session.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/srtp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstring>

namespace hype::rtc {
namespace {

// Chromium offers both; GCM first because it is cheaper per packet and has a 16-byte tag
// over the whole packet instead of a truncated HMAC.
constexpr const char* kSrtpProfiles = "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80";
constexpr const char* kCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kExporterLabel = "EXTRACTOR-dtls_srtp";

std::string openssl_error() {
  char buf[256] = {};
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown";
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

DtlsSession* session_of(SSL* ssl) {
  return static_cast<DtlsSession*>(SSL_get_app_data(ssl));
}

int bio_write(BIO* b, const char* data, int n) {
  auto* s = static_cast<DtlsSession*>(BIO_get_data(b));
  if (!s || n < 0) return -1;
  s->on_bio_write(reinterpret_cast<const std::uint8_t*>(data), static_cast<std::size_t>(n));
  return n;
}

long bio_ctrl(BIO*, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_PENDING:
      return 0;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
      return 0;  // SSL_OP_NO_QUERY_MTU: the link MTU is set explicitly
    default:
      return 0;
  }
}

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

int bio_destroy(BIO* b) {
  BIO_set_data(b, nullptr);
  return 1;
}

// Self-signed certificates are expected: trust comes from the SDP fingerprint, checked on
// the leaf certificate here so that a mismatch fails the handshake itself.
int verify_cb(int, X509_STORE_CTX* store) {
  if (X509_STORE_CTX_get_error_depth(store) != 0) return 1;
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  DtlsSession* s = ssl ? session_of(ssl) : nullptr;
  X509* cert = X509_STORE_CTX_get_current_cert(store);
  return (s && cert && s->verify_peer_certificate(cert)) ? 1 : 0;
}

unsigned int timer_cb(SSL* ssl, unsigned int timer_us) {
  if (timer_us == 0) {
    DtlsSession* s = session_of(ssl);
    return (s ? s->initial_retransmit_ms() : 400u) * 1000u;
  }
  return timer_us >= 30'000'000u ? 60'000'000u : timer_us * 2;
}

}  // namespace

const char* to_string(DtlsState s) {
  switch (s) {
    case DtlsState::kNew:
      return "new";
    case DtlsState::kConnecting:
      return "connecting";
    case DtlsState::kConnected:
      return "connected";
    case DtlsState::kFailed:
      return "failed";
    case DtlsState::kClosed:
      return "closed";
  }
  return "?";
}

Result<std::shared_ptr<DtlsContext>> DtlsContext::create(std::shared_ptr<DtlsCertificate> cert) {
  if (!cert) return Error{"dtls_context", "no certificate"};
  std::shared_ptr<DtlsContext> c(new DtlsContext());
  c->cert_ = std::move(cert);
  c->ctx_ = SSL_CTX_new(DTLS_method());
  if (!c->ctx_) return Error{"dtls_context", "SSL_CTX_new: " + openssl_error()};
  SSL_CTX* ctx = c->ctx_;
  bool ok = SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) == 1 &&
            SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) == 1 &&
            SSL_CTX_use_certificate(ctx, c->cert_->x509()) == 1 &&
            SSL_CTX_use_PrivateKey(ctx, c->cert_->pkey()) == 1 &&
            SSL_CTX_check_private_key(ctx) == 1 && SSL_CTX_set_cipher_list(ctx, kCiphers) == 1 &&
            // Note the inverted convention: 0 means success for this one.
            SSL_CTX_set_tlsext_use_srtp(ctx, kSrtpProfiles) == 0;
  if (!ok) return Error{"dtls_context", "configuring SSL_CTX: " + openssl_error()};
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
  SSL_CTX_set_read_ahead(ctx, 1);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);

  c->bio_method_ = BIO_meth_new(BIO_TYPE_SOURCE_SINK | BIO_get_new_index(), "hype-dtls-out");
  if (!c->bio_method_) return Error{"dtls_context", "BIO_meth_new failed"};
  BIO_meth_set_write(c->bio_method_, bio_write);
  BIO_meth_set_ctrl(c->bio_method_, bio_ctrl);
  BIO_meth_set_create(c->bio_method_, bio_create);
  BIO_meth_set_destroy(c->bio_method_, bio_destroy);
  return c;
}

DtlsContext::~DtlsContext() {
  SSL_CTX_free(ctx_);
  BIO_meth_free(bio_method_);
}

Result<std::unique_ptr<DtlsSession>> DtlsSession::create(std::shared_ptr<DtlsContext> ctx,
                                                         DtlsRole role,
                                                         std::string_view remote_fingerprint,
                                                         const DtlsOptions& options) {
  if (!ctx) return Error{"dtls_session", "no context"};
  std::unique_ptr<DtlsSession> s(new DtlsSession());
  if (!parse_sdp_fingerprint(remote_fingerprint, s->remote_alg_, s->remote_hex_)) {
    return Error{"dtls_fingerprint", "malformed or unsupported remote fingerprint"};
  }
  s->ctx_ = std::move(ctx);
  s->role_ = role;
  s->options_ = options;
  s->ssl_ = SSL_new(s->ctx_->ssl_ctx());
  if (!s->ssl_) return Error{"dtls_session", "SSL_new: " + openssl_error()};
  SSL_set_app_data(s->ssl_, s.get());

  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(s->ctx_->write_bio_method());
  if (!rbio || !wbio) {
    BIO_free(rbio);
    BIO_free(wbio);
    return Error{"dtls_session", "BIO_new failed"};
  }
  BIO_set_mem_eof_return(rbio, -1);  // empty means "retry later", not EOF
  BIO_set_data(wbio, s.get());
  SSL_set_bio(s->ssl_, rbio, wbio);
  s->rbio_ = rbio;

  SSL_set_options(s->ssl_, SSL_OP_NO_QUERY_MTU);
  SSL_set_mtu(s->ssl_, static_cast<long>(options.mtu));
  DTLS_set_link_mtu(s->ssl_, static_cast<long>(options.mtu));
  DTLS_set_timer_cb(s->ssl_, timer_cb);
  if (role == DtlsRole::kClient) {
    SSL_set_connect_state(s->ssl_);
  } else {
    SSL_set_accept_state(s->ssl_);
  }
  return s;
}

DtlsSession::~DtlsSession() {
  if (ssl_) SSL_free(ssl_);
}

void DtlsSession::on_bio_write(const std::uint8_t* data, std::size_t n) {
  outgoing_.emplace_back(data, data + n);
}

bool DtlsSession::verify_peer_certificate(X509* cert) {
  std::string fp = certificate_fingerprint(cert, remote_alg_);
  bool ok = !fp.empty() && fp == remote_hex_;
  if (!ok) error_ = "peer certificate fingerprint mismatch";
  return ok;
}

void DtlsSession::fail(std::string why) {
  state_ = DtlsState::kFailed;
  if (error_.empty()) error_ = std::move(why);
}

void DtlsSession::start() {
  if (state_ != DtlsState::kNew) return;
  state_ = DtlsState::kConnecting;
  if (role_ == DtlsRole::kClient) step_handshake();
}

void DtlsSession::step_handshake() {
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    if (!export_keys()) return;
    state_ = DtlsState::kConnected;
    drain_reads();
    return;
  }
  int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
  fail("handshake failed: " + openssl_error());
}

void DtlsSession::drain_reads() {
  // WebRTC data channels (SCTP) are not carried by this SFU; application data is read and
  // dropped so OpenSSL still processes alerts, close_notify and retransmitted flights.
  std::uint8_t buf[2048];
  for (;;) {
    ERR_clear_error();
    int r = SSL_read(ssl_, buf, sizeof(buf));
    if (r > 0) continue;
    int err = SSL_get_error(ssl_, r);
    if (err == SSL_ERROR_ZERO_RETURN) {
      state_ = DtlsState::kClosed;
    } else if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
      fail("read failed: " + openssl_error());
    }
    return;
  }
}

DtlsState DtlsSession::handle_datagram(ByteSpan d) {
  if (state_ == DtlsState::kFailed || state_ == DtlsState::kClosed || d.empty()) return state_;
  if (state_ == DtlsState::kNew) state_ = DtlsState::kConnecting;
  if (BIO_write(rbio_, d.data(), static_cast<int>(d.size())) != static_cast<int>(d.size())) {
    return state_;
  }
  if (state_ == DtlsState::kConnecting) {
    step_handshake();
  } else {
    drain_reads();
  }
  // Whatever the handshake did not consume (e.g. garbage) must not leak into the next one.
  (void)BIO_reset(rbio_);
  return state_;
}

std::optional<std::vector<std::uint8_t>> DtlsSession::pop_datagram() {
  if (outgoing_.empty()) return std::nullopt;
  auto d = std::move(outgoing_.front());
  outgoing_.pop_front();
  return d;
}

std::int64_t DtlsSession::timeout_ms() const {
  if (state_ != DtlsState::kConnecting) return -1;
  timeval tv{};
  if (DTLSv1_get_timeout(ssl_, &tv) != 1) return -1;
  return std::int64_t{tv.tv_sec} * 1000 + tv.tv_usec / 1000;
}

DtlsState DtlsSession::handle_timeout() {
  if (state_ != DtlsState::kConnecting) return state_;
  if (DTLSv1_handle_timeout(ssl_) < 0) fail("handshake timed out");
  return state_;
}

void DtlsSession::close() {
  if (state_ == DtlsState::kConnected || state_ == DtlsState::kConnecting) {
    ERR_clear_error();
    SSL_shutdown(ssl_);
  }
  if (state_ != DtlsState::kFailed) state_ = DtlsState::kClosed;
}

bool DtlsSession::export_keys() {
  const SRTP_PROTECTION_PROFILE* p = SSL_get_selected_srtp_profile(ssl_);
  if (!p) {
    fail("peer did not negotiate use_srtp");
    return false;
  }
  SrtpProfile profile;
  if (p->id == SRTP_AEAD_AES_128_GCM) {
    profile = SrtpProfile::kAeadAes128Gcm;
  } else if (p->id == SRTP_AES128_CM_SHA1_80) {
    profile = SrtpProfile::kAes128CmHmacSha1_80;
  } else {
    fail("unsupported SRTP profile");
    return false;
  }
  // Belt and braces: the verify callback already checked, but a resumed or callback-less
  // path must never yield keys for an unauthenticated peer.
  X509* peer = SSL_get1_peer_certificate(ssl_);
  bool peer_ok = peer && verify_peer_certificate(peer);
  X509_free(peer);
  if (!peer_ok) {
    fail("peer certificate fingerprint mismatch");
    return false;
  }
  std::size_t kl = srtp_master_key_length(profile);
  std::size_t sl = srtp_master_salt_length(profile);
  std::uint8_t m[2 * (16 + 14)];
  if (SSL_export_keying_material(ssl_, m, 2 * (kl + sl), kExporterLabel,
                                 std::strlen(kExporterLabel), nullptr, 0, 0) != 1) {
    fail("keying material export failed");
    return false;
  }
  // RFC 5764 4.2: client_key | server_key | client_salt | server_salt.
  const std::uint8_t* client_key = m;
  const std::uint8_t* server_key = m + kl;
  const std::uint8_t* client_salt = m + 2 * kl;
  const std::uint8_t* server_salt = m + 2 * kl + sl;
  auto join = [&](const std::uint8_t* k, const std::uint8_t* s) {
    std::vector<std::uint8_t> v(k, k + kl);
    v.insert(v.end(), s, s + sl);
    return v;
  };
  SrtpKeyMaterial km;
  km.profile = profile;
  bool client = role_ == DtlsRole::kClient;
  km.local = client ? join(client_key, client_salt) : join(server_key, server_salt);
  km.remote = client ? join(server_key, server_salt) : join(client_key, client_salt);
  OPENSSL_cleanse(m, sizeof(m));
  keys_ = std::move(km);
  return true;
}

}  // namespace hype::rtc
