// DtlsCertificate: the self-signed ECDSA P-256 certificate a process presents in every
// DTLS-SRTP handshake (WebRTC authenticates it by the SDP a=fingerprint, not by a CA), and
// the fingerprint helpers used to check the peer's certificate. Create one per process in
// src/app and share it; generation costs a few milliseconds.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"

struct x509_st;      // OpenSSL X509
struct evp_pkey_st;  // OpenSSL EVP_PKEY

namespace hype::rtc {

class DtlsCertificate {
 public:
  // Valid from one day ago (clock skew) for `validity_days`.
  static Result<std::shared_ptr<DtlsCertificate>> generate(std::string_view common_name = "hype",
                                                           int validity_days = 30);
  ~DtlsCertificate();
  DtlsCertificate(const DtlsCertificate&) = delete;
  DtlsCertificate& operator=(const DtlsCertificate&) = delete;

  // "AB:CD:..." (uppercase, SHA-256 of the DER certificate).
  const std::string& fingerprint_hex() const { return fingerprint_; }
  // As SDP writes it: "sha-256 AB:CD:...".
  std::string sdp_fingerprint() const { return "sha-256 " + fingerprint_; }

  x509_st* x509() const { return cert_; }
  evp_pkey_st* pkey() const { return key_; }

 private:
  DtlsCertificate() = default;
  x509_st* cert_ = nullptr;
  evp_pkey_st* key_ = nullptr;
  std::string fingerprint_;
};

// Fingerprint of `cert` with the hash named as in SDP ("sha-256", "sha-1", "sha-384",
// "sha-512"), formatted "AB:CD:..."; empty if the algorithm is unknown.
std::string certificate_fingerprint(x509_st* cert, std::string_view algorithm);

// Splits "sha-256 AB:CD:..." into algorithm (lower-cased) and hex (upper-cased); false if
// malformed.
bool parse_sdp_fingerprint(std::string_view sdp, std::string& algorithm, std::string& hex);

}  // namespace hype::rtc
