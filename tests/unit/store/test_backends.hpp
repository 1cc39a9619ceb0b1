// Test backends for the typed Store suite: each hands out fresh, empty databases by URL and
// cleans them up. PostgreSQL comes from HYPE_TEST_PG_URL or from a server this test binary
// starts once (initdb + pg_ctl in a temp dir, as postgres when run as root).
#pragma once

#include <string>
#include <vector>

namespace hype::store::testing {

class SqliteBackend {
 public:
  static constexpr const char* kName = "sqlite";
  ~SqliteBackend();
  std::string fresh_url();  // a new file under a new temp dir (parent dir not yet created)
  void break_connections() {}

 private:
  std::vector<std::string> dirs_;
};

class PgBackend {
 public:
  static constexpr const char* kName = "postgres";
  ~PgBackend();
  std::string fresh_url();  // CREATE DATABASE on the shared server
  // Terminates every server session on this backend's databases (the store must reconnect).
  void break_connections();

 private:
  std::vector<std::string> dbs_;
};

// Replaces the database name in a postgres:// URL.
std::string with_database(const std::string& url, const std::string& db);

}  // namespace hype::store::testing
