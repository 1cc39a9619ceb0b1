// Guild permission bits and how a member's permissions are computed: the OR of @everyone
// and the member's roles; the owner and ADMINISTRATOR holders have all of them.
#pragma once

#include <cstdint>
#include <vector>

#include "store/models.hpp"

namespace hype::chat {

namespace perm {
constexpr std::uint64_t kViewChannel = 1ull << 0;
constexpr std::uint64_t kSendMessages = 1ull << 1;
constexpr std::uint64_t kConnect = 1ull << 2;
constexpr std::uint64_t kSpeak = 1ull << 3;
constexpr std::uint64_t kStream = 1ull << 4;
constexpr std::uint64_t kManageChannels = 1ull << 5;
constexpr std::uint64_t kManageGuild = 1ull << 6;
constexpr std::uint64_t kKickMembers = 1ull << 7;
constexpr std::uint64_t kManageMessages = 1ull << 8;
constexpr std::uint64_t kCreateInvite = 1ull << 9;
constexpr std::uint64_t kAdministrator = 1ull << 10;
constexpr std::uint64_t kAll = (1ull << 11) - 1;
constexpr std::uint64_t kDefaultEveryone =
    kViewChannel | kSendMessages | kConnect | kSpeak | kStream | kCreateInvite;
}  // namespace perm

std::uint64_t compute_permissions(const store::Guild& guild, const std::vector<store::Role>& roles,
                                  const store::Member& member);
inline bool has_permissions(std::uint64_t held, std::uint64_t needed) {
  return (held & perm::kAdministrator) != 0 || (held & needed) == needed;
}

}  // namespace hype::chat
