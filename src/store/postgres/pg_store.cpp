// PostgreSQL driver: connections, prepared-statement cache, error mapping, and the pool.
#include "store/postgres/pg_store.hpp"

#include <libpq-fe.h>

#include <fmt/format.h>
#include <charconv>
#include <chrono>
#include <unordered_map>

#include "core/errors.hpp"

namespace hype::store {
namespace {

constexpr auto kBorrowTimeout = std::chrono::seconds(30);
constexpr std::int64_t kMigrationLockKey = 0x68797065'6d696772;  // "hypemigr"

// Thrown when the connection itself failed: the pool drops it and may retry a read.
class ConnectionLost : public StoreError {
 public:
  using StoreError::StoreError;
};

std::string trimmed(const char* s) {
  std::string out = s ? s : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

class PgRow final : public Row {
 public:
  PgRow(const PGresult* res, int row) : res_(res), row_(row) {}
  std::int64_t i64(int col) const override {
    const char* v = PQgetvalue(res_, row_, col);
    std::int64_t out = 0;
    std::from_chars(v, v + PQgetlength(res_, row_, col), out);
    return out;
  }
  std::string text(int col) const override {
    return std::string(PQgetvalue(res_, row_, col),
                       static_cast<std::size_t>(PQgetlength(res_, row_, col)));
  }
  bool boolean(int col) const override { return PQgetvalue(res_, row_, col)[0] == 't'; }

 private:
  const PGresult* res_;
  int row_;
};

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

}  // namespace

class PgConn final : public SqlConn {
 public:
  explicit PgConn(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
      // libpq's connection errors name host, port and user, never the password.
      std::string msg = "postgres: cannot connect: " + trimmed(PQerrorMessage(conn_));
      PQfinish(conn_);
      throw ConnectionLost(msg);
    }
    // Notices ("relation already exists, skipping") are not worth a line on stderr.
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
  }
  ~PgConn() override { PQfinish(conn_); }

  // False if the server has gone away since the last use. Reads what is pending without
  // waiting: a terminated session leaves a FATAL message and then EOF, so read twice.
  bool healthy() {
    for (int i = 0; i < 2; ++i)
      if (PQconsumeInput(conn_) != 1 || PQstatus(conn_) != CONNECTION_OK) return false;
    return true;
  }

  std::int64_t run(const char* sql, std::span<const Param> params, const RowFn& on_row) override {
    const std::string& name = prepare(sql, static_cast<int>(params.size()));
    std::vector<std::string> ints;  // text form of integer parameters
    ints.reserve(params.size());
    std::vector<const char*> values(params.size());
    std::vector<int> lengths(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
      const Param& p = params[i];
      switch (p.kind()) {
        case Param::Kind::null:
          values[i] = nullptr;
          break;
        case Param::Kind::boolean:
          values[i] = p.integer() ? "t" : "f";
          lengths[i] = 1;
          break;
        case Param::Kind::integer:
          ints.push_back(std::to_string(p.integer()));
          values[i] = ints.back().c_str();
          lengths[i] = static_cast<int>(ints.back().size());
          break;
        case Param::Kind::text:
          values[i] = p.text().data();
          lengths[i] = static_cast<int>(p.text().size());
          break;
      }
    }
    // libpq reads text-format values as C strings; a borrowed string_view need not end in
    // NUL, so strings go in binary format (for text columns: the raw UTF-8 bytes).
    std::vector<int> formats(params.size(), 0);
    for (std::size_t i = 0; i < params.size(); ++i)
      if (params[i].kind() == Param::Kind::text) formats[i] = 1;
    Result res(PQexecPrepared(conn_, name.c_str(), static_cast<int>(params.size()), values.data(),
                              lengths.data(), formats.data(), 0));
    check(res.get(), sql);
    if (on_row) {
      int n = PQntuples(res.get());
      for (int r = 0; r < n; ++r) on_row(PgRow(res.get(), r));
    }
    const char* changed = PQcmdTuples(res.get());
    return changed[0] ? std::atoll(changed) : 0;
  }

  void exec_script(const std::string& sql) override {
    Result res(PQexec(conn_, sql.c_str()));
    check(res.get(), "script");
  }

  void begin(Access mode) override {
    exec_script(mode == Access::write ? "BEGIN"
                                      : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  }
  void commit() override { exec_script("COMMIT"); }
  void rollback() noexcept override {
    if (PQtransactionStatus(conn_) == PQTRANS_IDLE) return;
    PQclear(PQexec(conn_, "ROLLBACK"));
  }

 private:
  const std::string& prepare(const char* sql, int n_params) {
    auto it = cache_.find(std::string_view(sql));
    if (it != cache_.end()) return it->second;
    std::string name = fmt::format("hype_{}", cache_.size() + 1);
    // Parameter types are left for the server to infer from the statement.
    Result res(PQprepare(conn_, name.c_str(), sql, n_params, nullptr));
    check(res.get(), sql);
    return cache_.emplace(sql, std::move(name)).first->second;
  }

  void check(const PGresult* res, std::string_view what) {
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return;
    const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    // The primary message names the constraint; the values are only in DETAIL, left out.
    const char* primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    std::string msg = fmt::format("postgres: {}: {} (sqlstate {})", what,
                                  primary ? trimmed(primary) : trimmed(PQerrorMessage(conn_)),
                                  state ? state : "none");
    if (PQstatus(conn_) != CONNECTION_OK) throw ConnectionLost(msg);
    if (state && std::string_view(state) == "23505") throw ConflictError(msg);
    throw StoreError(msg);
  }

  PGconn* conn_;
  std::unordered_map<std::string, std::string, SqlTextHash, std::equal_to<>> cache_;
};

PgStore::PgStore(std::string conninfo, int pool_size)
    : SqlStore(Dialect{"SELECT id, username, password_hash, created_at FROM users "
                       "WHERE lower(username) = lower($1)",
                       "SELECT 1 WHERE to_regclass('schema_migrations') IS NOT NULL"}),
      conninfo_(std::move(conninfo)),
      max_size_(pool_size < 1 ? 1 : pool_size) {
  idle_.push_back(std::make_unique<PgConn>(conninfo_));
  open_ = 1;
}

PgStore::~PgStore() = default;

std::unique_ptr<PgConn> PgStore::borrow() {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, kBorrowTimeout, [&] { return !idle_.empty() || open_ < max_size_; }))
    throw StoreError("postgres: no connection free in the pool");
  if (!idle_.empty()) {
    auto c = std::move(idle_.back());
    idle_.pop_back();
    if (c->healthy()) return c;
    c.reset();  // broken while idle: replace it below
  } else {
    ++open_;
  }
  lock.unlock();
  try {
    return std::make_unique<PgConn>(conninfo_);
  } catch (...) {
    discard();
    throw;
  }
}

void PgStore::give_back(std::unique_ptr<PgConn> c) {
  {
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(c));
  }
  cv_.notify_one();
}

void PgStore::discard() {
  {
    std::lock_guard lock(mu_);
    --open_;
  }
  cv_.notify_one();
}

void PgStore::with_conn(Access mode, const ConnFn& fn) {
  for (int attempt = 0;; ++attempt) {
    auto c = borrow();
    try {
      fn(*c);
    } catch (const ConnectionLost&) {
      c.reset();
      discard();
      if (mode == Access::read && attempt == 0) continue;
      throw;
    } catch (...) {
      c->rollback();
      give_back(std::move(c));
      throw;
    }
    give_back(std::move(c));
    return;
  }
}

void PgStore::lock_migrations(SqlConn& c) {
  run(c, "SELECT pg_advisory_lock($1)", {kMigrationLockKey});
}

void PgStore::unlock_migrations(SqlConn& c) noexcept {
  try {
    run(c, "SELECT pg_advisory_unlock($1)", {kMigrationLockKey});
  } catch (const std::exception&) {
    // The lock is tied to the session: a broken connection has released it already.
  }
}

}  // namespace hype::store
