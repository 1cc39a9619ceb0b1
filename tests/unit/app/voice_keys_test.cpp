// Which voice-token keys a node holds: API nodes sign (auth.voice_key, or a key kept in
// data_dir), an SFU-only node given auth.voice_public_key holds no private key at all.
#include <gtest/gtest.h>

#include <filesystem>

#include "app/node.hpp"
#include "core/config.hpp"

using namespace hype;

namespace {
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/hype-keys-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};
}  // namespace

TEST(VoiceKeys, AConfiguredKeyGivesTheSameSignerEverywhere) {
  TempDir a, b;
  Config c;
  c.auth.voice_key = std::string(40, 'k');
  c.server.data_dir = a.path;
  auto s1 = app::make_voice_signer(c);
  c.server.data_dir = b.path;
  auto s2 = app::make_voice_signer(c);
  ASSERT_TRUE(s1 && s2);
  EXPECT_EQ(s1->verifier().key_text(), s2->verifier().key_text());
  EXPECT_FALSE(std::filesystem::exists(a.path / "voice_key"));  // nothing generated
}

TEST(VoiceKeys, WithoutOneAKeyIsGeneratedIntoDataDirAndKept) {
  TempDir d;
  Config c;
  c.server.data_dir = d.path;
  auto s1 = app::make_voice_signer(c);
  ASSERT_TRUE(s1);
  EXPECT_TRUE(std::filesystem::exists(d.path / "voice_key"));
  EXPECT_EQ(std::filesystem::status(d.path / "voice_key").permissions() &
                std::filesystem::perms::others_read,
            std::filesystem::perms::none);
  EXPECT_EQ(app::make_voice_signer(c)->verifier().key_text(), s1->verifier().key_text());
}

TEST(VoiceKeys, AnSfuOnlyNodeWithThePublicKeyHoldsNoPrivateKey) {
  TempDir d;
  Config c;
  c.server.data_dir = d.path;
  c.server.roles = "sfu";
  c.auth.voice_public_key = "6jxHGCg1OGindVWY9Czf2VrcGWW9oZaCIE4ZTf7aKfs";
  EXPECT_EQ(app::make_voice_signer(c), nullptr);
  EXPECT_FALSE(std::filesystem::exists(d.path / "voice_key"));
  // An API node signs whatever it is told to verify with.
  c.server.roles = "api,sfu";
  EXPECT_NE(app::make_voice_signer(c), nullptr);
}
