// SQLite backend: one file in WAL mode. Writes go through a single writer connection behind
// a mutex (SQLite allows one writer at a time anyway); reads use a small pool of reader
// connections, which WAL lets run concurrently with the writer. Each connection caches its
// prepared statements.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/sql_store.hpp"

namespace hype::store {

class SqliteConn;

class SqliteStore final : public SqlStore {
 public:
  // Opens (creating if needed) the database file; readers bounds the reader connections.
  SqliteStore(std::string path, int readers);
  ~SqliteStore() override;

  std::string backend() const override { return "sqlite"; }

 protected:
  void with_conn(Access mode, const ConnFn& fn) override;
  std::vector<Migration> migrations() const override { return sqlite_migrations(); }
  // BEGIN IMMEDIATE in each migration's transaction already excludes other writers.
  void lock_migrations(SqlConn&) override {}
  void unlock_migrations(SqlConn&) noexcept override {}

 private:
  std::unique_ptr<SqliteConn> borrow_reader();
  void give_back(std::unique_ptr<SqliteConn> c);

  std::string path_;
  int max_readers_;
  std::mutex write_mu_;
  std::unique_ptr<SqliteConn> writer_;
  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<SqliteConn>> idle_readers_;
  int open_readers_ = 0;
};

}  // namespace hype::store
