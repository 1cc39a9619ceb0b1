// PostgreSQL backend over libpq: a bounded pool of connections, each caching its prepared
// statements. Values always travel as statement parameters, never inside SQL text. A
// connection found broken is dropped and replaced; a read that failed because its
// connection broke is retried once on a fresh one (a write is not: it may have committed).
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/sql_store.hpp"

namespace hype::store {

class PgConn;

class PgStore final : public SqlStore {
 public:
  // conninfo: a postgres:// URL or libpq key=value string. Connects once to fail early.
  PgStore(std::string conninfo, int pool_size);
  ~PgStore() override;

  std::string backend() const override { return "postgres"; }

 protected:
  void with_conn(Access mode, const ConnFn& fn) override;
  std::vector<Migration> migrations() const override { return postgres_migrations(); }
  void lock_migrations(SqlConn& c) override;
  void unlock_migrations(SqlConn& c) noexcept override;

 private:
  std::unique_ptr<PgConn> borrow();
  void give_back(std::unique_ptr<PgConn> c);
  void discard();  // a borrowed connection was broken and is gone

  std::string conninfo_;
  int max_size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PgConn>> idle_;
  int open_ = 0;
};

}  // namespace hype::store
