#include "chat/permissions.hpp"

#include <algorithm>

namespace hype::chat {

std::uint64_t compute_permissions(const store::Guild& guild, const std::vector<store::Role>& roles,
                                  const store::Member& member) {
  if (member.user_id == guild.owner_id) return perm::kAll;
  std::uint64_t p = 0;
  for (const auto& r : roles) {
    bool applies = r.id == guild.id || std::find(member.role_ids.begin(), member.role_ids.end(),
                                                 r.id) != member.role_ids.end();
    if (applies) p |= r.permissions;
  }
  if (p & perm::kAdministrator) return perm::kAll;
  return p & perm::kAll;
}

}  // namespace hype::chat
