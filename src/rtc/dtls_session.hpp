// DTLS 1.2 for DTLS-SRTP (RFC 5764) over OpenSSL, with no sockets and no threads: the
// caller feeds received DTLS datagrams in, takes datagrams to send out, and drives the
// retransmission timer (timeout_ms / handle_timeout). Incoming bytes go through a memory
// BIO; outgoing bytes go through a small custom BIO that keeps each DTLS datagram separate
// (a plain memory BIO would glue a flight together and could exceed the path MTU).
//
// The peer is authenticated by the certificate fingerprint from its SDP, checked in the
// verify callback so a mismatch aborts the handshake with an alert. After the handshake,
// srtp_keys() holds the exported keys (label "EXTRACTOR-dtls_srtp") arranged for this role.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "rtc/bytes.hpp"
#include "rtc/dtls_certificate.hpp"
#include "rtc/srtp_session.hpp"

struct ssl_ctx_st;     // OpenSSL SSL_CTX
struct ssl_st;         // OpenSSL SSL
struct bio_method_st;  // OpenSSL BIO_METHOD
struct bio_st;         // OpenSSL BIO

namespace hype::rtc {

// One SSL_CTX per certificate, shared by all sessions of a process (or worker).
class DtlsContext {
 public:
  static Result<std::shared_ptr<DtlsContext>> create(std::shared_ptr<DtlsCertificate> cert);
  ~DtlsContext();
  DtlsContext(const DtlsContext&) = delete;
  DtlsContext& operator=(const DtlsContext&) = delete;

  const DtlsCertificate& certificate() const { return *cert_; }
  ssl_ctx_st* ssl_ctx() const { return ctx_; }
  bio_method_st* write_bio_method() const { return bio_method_; }

 private:
  DtlsContext() = default;
  std::shared_ptr<DtlsCertificate> cert_;
  ssl_ctx_st* ctx_ = nullptr;
  bio_method_st* bio_method_ = nullptr;
};

enum class DtlsRole : std::uint8_t { kClient, kServer };
enum class DtlsState : std::uint8_t { kNew, kConnecting, kConnected, kFailed, kClosed };
const char* to_string(DtlsState s);

struct DtlsOptions {
  std::size_t mtu = 1200;                     // DTLS payload bytes per datagram
  std::uint32_t initial_retransmit_ms = 400;  // doubles per retransmission up to 60 s
};

class DtlsSession {
 public:
  // remote_fingerprint as in SDP: "sha-256 AB:CD:...".
  static Result<std::unique_ptr<DtlsSession>> create(std::shared_ptr<DtlsContext> ctx,
                                                     DtlsRole role,
                                                     std::string_view remote_fingerprint,
                                                     const DtlsOptions& options = {});
  ~DtlsSession();
  DtlsSession(const DtlsSession&) = delete;
  DtlsSession& operator=(const DtlsSession&) = delete;

  // Client: sends the ClientHello. Server: only arms the state (waits for the hello).
  void start();
  // Feeds one received DTLS datagram. Returns the state after processing.
  DtlsState handle_datagram(ByteSpan datagram);
  // Next outgoing datagram, if any.
  std::optional<std::vector<std::uint8_t>> pop_datagram();
  bool has_datagram() const { return !outgoing_.empty(); }

  // Milliseconds until handle_timeout() must be called; -1 when no timer is armed. OpenSSL
  // keeps its own monotonic clock for this; the caller only decides when to call.
  std::int64_t timeout_ms() const;
  // Retransmits the last flight if its timer expired. Returns the state.
  DtlsState handle_timeout();

  // Sends close_notify (queued as a datagram) and moves to kClosed.
  void close();

  DtlsState state() const { return state_; }
  DtlsRole role() const { return role_; }
  const std::string& error() const { return error_; }
  // Set once connected.
  const std::optional<SrtpKeyMaterial>& srtp_keys() const { return keys_; }

  // Internal: called from the write BIO and the verify callback.
  void on_bio_write(const std::uint8_t* data, std::size_t n);
  bool verify_peer_certificate(struct x509_st* cert);
  std::uint32_t initial_retransmit_ms() const { return options_.initial_retransmit_ms; }

 private:
  DtlsSession() = default;
  void step_handshake();
  void drain_reads();
  bool export_keys();
  void fail(std::string why);

  std::shared_ptr<DtlsContext> ctx_;
  ssl_st* ssl_ = nullptr;
  bio_st* rbio_ = nullptr;  // owned by ssl_
  DtlsRole role_ = DtlsRole::kServer;
  DtlsState state_ = DtlsState::kNew;
  DtlsOptions options_;
  std::string remote_alg_;
  std::string remote_hex_;
  std::string error_;
  std::deque<std::vector<std::uint8_t>> outgoing_;
  std::optional<SrtpKeyMaterial> keys_;
};

}  // namespace hype::rtc
