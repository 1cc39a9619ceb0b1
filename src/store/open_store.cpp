// open_store: picks the backend from the database URL.
#include <filesystem>
#include <system_error>

#include "core/errors.hpp"
#include "store/postgres/pg_store.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/store.hpp"

namespace hype::store {

std::unique_ptr<Store> open_store(const std::string& url, int pool_size) {
  constexpr std::string_view kSqlite = "sqlite://";
  if (url.starts_with(kSqlite)) {
    // sqlite://./data/hype.db -> ./data/hype.db, sqlite:///abs/x.db -> /abs/x.db
    std::string path = url.substr(kSqlite.size());
    if (path.empty()) throw StoreError("database url: sqlite:// needs a file path");
    std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(parent, ec);
      if (ec) throw StoreError("cannot create " + parent.string() + ": " + ec.message());
    }
    return std::make_unique<SqliteStore>(path, pool_size);
  }
  if (url.starts_with("postgres://") || url.starts_with("postgresql://"))
    return std::make_unique<PgStore>(url, pool_size);
  // Only the scheme: the rest may hold a password.
  throw StoreError("database url: unsupported scheme '" + url.substr(0, url.find(':')) +
                   "' (expected sqlite:// or postgres://)");
}

}  // namespace hype::store
