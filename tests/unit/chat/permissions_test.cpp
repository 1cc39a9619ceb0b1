#include <gtest/gtest.h>

#include "chat/chat_service.hpp"
#include "chat/permissions.hpp"

using namespace hype;
using namespace hype::chat;

namespace {
store::Guild guild() {
  return {100, "g", 1, 0};
}
std::vector<store::Role> roles() {
  return {{100, 100, "@everyone", perm::kViewChannel | perm::kSendMessages, 0},
          {200, 100, "mods", perm::kManageChannels | perm::kKickMembers, 1},
          {300, 100, "admins", perm::kAdministrator, 2}};
}
store::Member member(Id user, std::vector<Id> role_ids) {
  store::Member m;
  m.guild_id = 100;
  m.user_id = user;
  m.role_ids = std::move(role_ids);
  return m;
}
}  // namespace

TEST(Permissions, EveryoneRoleAppliesToAll) {
  auto p = compute_permissions(guild(), roles(), member(5, {}));
  EXPECT_EQ(p, perm::kViewChannel | perm::kSendMessages);
  EXPECT_TRUE(has_permissions(p, perm::kSendMessages));
  EXPECT_FALSE(has_permissions(p, perm::kManageChannels));
  EXPECT_FALSE(has_permissions(p, perm::kSendMessages | perm::kKickMembers));
}

TEST(Permissions, RolesAddUp) {
  auto p = compute_permissions(guild(), roles(), member(5, {200}));
  EXPECT_TRUE(has_permissions(p, perm::kManageChannels | perm::kKickMembers | perm::kViewChannel));
  EXPECT_FALSE(has_permissions(p, perm::kManageGuild));
}

TEST(Permissions, OwnerAndAdministratorHaveEverything) {
  EXPECT_EQ(compute_permissions(guild(), roles(), member(1, {})), perm::kAll);
  EXPECT_EQ(compute_permissions(guild(), roles(), member(5, {300})), perm::kAll);
  EXPECT_TRUE(has_permissions(perm::kAdministrator, perm::kManageGuild));
}

TEST(Permissions, RolesOfOtherMembersOrUnknownIdsDoNotApply) {
  auto p = compute_permissions(guild(), roles(), member(5, {999}));
  EXPECT_EQ(p, perm::kViewChannel | perm::kSendMessages);
}

TEST(Channels, TextNamesAreNormalized) {
  EXPECT_EQ(normalize_text_channel_name("Mod Talk"), "mod-talk");
  EXPECT_EQ(normalize_text_channel_name("general"), "general");
}
