// Versioned schema migrations, one list per dialect, compiled into the binary from
// src/store/migrations/<dialect>/NNNN_name.sql (CMake generates the table at configure time).
#pragma once

#include <string_view>
#include <vector>

namespace hype::store {

struct Migration {
  int version = 0;  // the NNNN prefix of the file name
  std::string_view name;
  std::string_view sql;
};

// Ordered by version.
std::vector<Migration> sqlite_migrations();
std::vector<Migration> postgres_migrations();

}  // namespace hype::store
