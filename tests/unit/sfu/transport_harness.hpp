// Drives sfu::Transport without sockets, for its unit tests and bench/sfu: a DatagramSender
// that captures (or only counts) what a transport sends, and the browser side of one
// transport (ICE credentials, a DTLS client, SRTP once connected) that connects it by
// feeding it a STUN check and the DTLS handshake in memory. No gtest here: helpers return
// false and the caller asserts.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "rtc/dtls_certificate.hpp"
#include "rtc/dtls_session.hpp"
#include "rtc/ice/ice_common.hpp"
#include "rtc/srtp_session.hpp"
#include "rtc/stun/stun_message.hpp"
#include "sfu/transport.hpp"

namespace hype::sfu::testing {

struct Datagram {
  SocketAddress to;
  std::vector<std::uint8_t> bytes;
};

class CaptureSender final : public DatagramSender {
 public:
  // `keep` false: only count (benchmarks).
  explicit CaptureSender(bool keep_sent = true) : keep(keep_sent) {}
  rtc::MutableByteSpan slot() override { return buf_; }
  void send(const SocketAddress& to, std::size_t n) override {
    ++count;
    if (keep) sent.push_back({to, std::vector<std::uint8_t>(buf_.begin(), buf_.begin() + n)});
  }
  std::int64_t send_time_us() const override { return now_us; }
  // Removes and returns what went to `to`.
  std::vector<Datagram> take(const SocketAddress& to) {
    std::vector<Datagram> out, rest;
    for (auto& d : sent) (d.to == to ? out : rest).push_back(std::move(d));
    sent = std::move(rest);
    return out;
  }
  std::vector<Datagram> sent;
  std::size_t count = 0;
  bool keep;
  std::int64_t now_us = 0;  // what send_time_us() says: tests move it

 private:
  alignas(64) std::array<std::uint8_t, 1600> buf_{};  // aligned like the worker's send slots
};

class RecordingEvents final : public TransportEvents {
 public:
  void on_connected(Transport& t) override { connected.push_back(t.params().participant); }
  void on_disconnected(Transport& t) override { disconnected.push_back(t.params().participant); }
  std::vector<ParticipantId> connected, disconnected;
};

// One browser: its address, ICE credentials and DTLS client towards the SFU's certificate.
struct Client {
  SocketAddress addr;
  rtc::ice::IceCredentials ice;         // the browser's
  rtc::ice::IceCredentials server_ice;  // the transport's (the local side in SessionParams)
  std::shared_ptr<rtc::DtlsCertificate> cert;
  std::unique_ptr<rtc::DtlsSession> dtls;
  std::unique_ptr<rtc::SrtpSession> srtp;

  // `server_fingerprint`: the SFU certificate's, as in its SDP answer.
  static std::unique_ptr<Client> make(std::uint16_t port, const std::string& server_fingerprint) {
    auto c = std::make_unique<Client>();
    c->addr = SocketAddress::v4(0x7f000001, port);
    c->ice = rtc::ice::random_credentials();
    c->server_ice = rtc::ice::random_credentials();
    auto cert = rtc::DtlsCertificate::generate("browser");
    if (!cert) return nullptr;
    c->cert = cert.value();
    auto ctx = rtc::DtlsContext::create(c->cert);
    if (!ctx) return nullptr;
    auto d = rtc::DtlsSession::create(ctx.value(), rtc::DtlsRole::kClient, server_fingerprint);
    if (!d) return nullptr;
    c->dtls = std::move(d.value());
    return c;
  }

  SessionParams params(std::uint64_t room, ParticipantId id, rtc::ExtensionIds ext,
                       std::vector<PublishedTrack> tracks = {}) const {
    SessionParams p;
    p.room = room;
    p.participant = id;
    p.local = server_ice;
    p.remote = ice;
    p.remote_fingerprint = cert->sdp_fingerprint();
    p.ext = ext;
    p.tracks = std::move(tracks);
    return p;
  }

  // A nominating connectivity check as Chromium sends it to an ICE-lite server.
  std::vector<std::uint8_t> binding_request(bool use_candidate = true,
                                            std::string_view pwd = {}) const {
    std::vector<std::uint8_t> b(256);
    rtc::stun::StunBuilder sb(b, rtc::stun::MessageClass::kRequest, rtc::stun::Method::kBinding,
                              rtc::stun::random_transaction_id());
    sb.add_username(server_ice.ufrag + ":" + ice.ufrag)
        .add_priority(rtc::ice::kPeerReflexivePriority);
    sb.add_ice_controlling(0x1234);
    if (use_candidate) sb.add_use_candidate();
    sb.add_message_integrity(rtc::as_bytes(pwd.empty() ? std::string_view(server_ice.pwd) : pwd))
        .add_fingerprint();
    b.resize(sb.finish());
    return b;
  }

  // The check, then the DTLS handshake through `t`, then SRTP. `out` must be keeping.
  bool connect(Transport& t, CaptureSender& out, std::int64_t now_us = 1'000'000) {
    auto req = binding_request();
    rtc::stun::StunMessage m;
    if (rtc::stun::StunMessage::parse(req, m) != rtc::stun::ParseStatus::kOk) return false;
    if (!t.on_stun(m, addr, now_us)) return false;
    out.take(addr);  // the binding response
    dtls->start();
    for (int round = 0; round < 20 && !(t.connected() && srtp); ++round) {
      while (auto d = dtls->pop_datagram()) t.on_dtls(*d, addr);
      for (auto& d : out.take(addr)) dtls->handle_datagram(d.bytes);
      if (dtls->state() == rtc::DtlsState::kConnected && !srtp && dtls->srtp_keys()) {
        auto s = rtc::SrtpSession::create(*dtls->srtp_keys());
        if (!s) return false;
        srtp = std::move(s.value());
      }
    }
    return t.connected() && srtp != nullptr;
  }
};

}  // namespace hype::sfu::testing
