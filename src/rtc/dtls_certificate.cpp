#include "rtc/dtls_certificate.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cctype>
#include <string>

#include "core/random.hpp"

namespace hype::rtc {
namespace {

const EVP_MD* digest_by_name(std::string_view alg) {
  if (alg == "sha-256") return EVP_sha256();
  if (alg == "sha-1") return EVP_sha1();
  if (alg == "sha-384") return EVP_sha384();
  if (alg == "sha-512") return EVP_sha512();
  return nullptr;
}

}  // namespace

std::string certificate_fingerprint(X509* cert, std::string_view algorithm) {
  const EVP_MD* md = digest_by_name(algorithm);
  if (!md || !cert) return {};
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert, md, d, &n) != 1) return {};
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(n * 3);
  for (unsigned i = 0; i < n; ++i) {
    if (i) out.push_back(':');
    out.push_back(kHex[d[i] >> 4]);
    out.push_back(kHex[d[i] & 0xF]);
  }
  return out;
}

bool parse_sdp_fingerprint(std::string_view sdp, std::string& algorithm, std::string& hex) {
  auto sp = sdp.find(' ');
  if (sp == std::string_view::npos || sp == 0) return false;
  algorithm.clear();
  hex.clear();
  for (char c : sdp.substr(0, sp)) {
    algorithm.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  std::string_view h = sdp.substr(sp + 1);
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  while (!h.empty() && (h.back() == ' ' || h.back() == '\r')) h.remove_suffix(1);
  if (h.size() < 2 || (h.size() + 1) % 3 != 0) return false;
  for (std::size_t i = 0; i < h.size(); ++i) {
    char c = h[i];
    if (i % 3 == 2) {
      if (c != ':') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
    hex.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return digest_by_name(algorithm) != nullptr;
}

Result<std::shared_ptr<DtlsCertificate>> DtlsCertificate::generate(std::string_view cn,
                                                                   int validity_days) {
  std::shared_ptr<DtlsCertificate> c(new DtlsCertificate());
  c->key_ = EVP_EC_gen("P-256");
  if (!c->key_) return Error{"dtls_keygen", "EC P-256 key generation failed"};
  c->cert_ = X509_new();
  if (!c->cert_) return Error{"dtls_cert", "X509_new failed"};
  X509* x = c->cert_;
  bool ok = X509_set_version(x, 2) == 1;
  // Random 63-bit serial: browsers reject certificates reusing serial+issuer with new keys.
  ok = ok && ASN1_INTEGER_set_uint64(X509_get_serialNumber(x),
                                     hype::random_u64() & 0x7FFFFFFFFFFFFFFFULL) == 1;
  ok = ok && X509_gmtime_adj(X509_getm_notBefore(x), -24L * 3600) != nullptr;
  ok = ok && X509_gmtime_adj(X509_getm_notAfter(x), 24L * 3600 * validity_days) != nullptr;
  X509_NAME* name = X509_get_subject_name(x);
  std::string cn_str(cn);
  ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                        reinterpret_cast<const unsigned char*>(cn_str.c_str()), -1,
                                        -1, 0) == 1;
  ok = ok && X509_set_issuer_name(x, name) == 1;
  ok = ok && X509_set_pubkey(x, c->key_) == 1;
  ok = ok && X509_sign(x, c->key_, EVP_sha256()) > 0;
  if (!ok) return Error{"dtls_cert", "building the self-signed certificate failed"};
  c->fingerprint_ = certificate_fingerprint(x, "sha-256");
  return c;
}

DtlsCertificate::~DtlsCertificate() {
  X509_free(cert_);
  EVP_PKEY_free(key_);
}

}  // namespace hype::rtc
