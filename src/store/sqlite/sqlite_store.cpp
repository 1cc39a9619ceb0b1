// SQLite driver: connections, statement cache, error mapping, and the connection pool.
#include "store/sqlite/sqlite_store.hpp"

#include <sqlite3.h>

#include <fmt/format.h>
#include <unordered_map>

#include "core/errors.hpp"

namespace hype::store {
namespace {

constexpr int kBusyTimeoutMs = 5000;

[[noreturn]] void fail(sqlite3* db, int rc, std::string_view what) {
  int ext = db ? sqlite3_extended_errcode(db) : rc;
  // SQLite's messages name the constraint ("UNIQUE constraint failed: users.username"),
  // never the values.
  std::string msg = fmt::format("sqlite: {}: {} (code {})", what,
                                db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), ext);
  if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
    throw ConflictError(msg);
  throw StoreError(msg);
}

// $1 -> ?1: the shared SQL uses PostgreSQL placeholders.
std::string to_sqlite_placeholders(std::string sql) {
  for (char& ch : sql)
    if (ch == '$') ch = '?';
  return sql;
}

class SqliteRow final : public Row {
 public:
  explicit SqliteRow(sqlite3_stmt* st) : st_(st) {}
  std::int64_t i64(int col) const override { return sqlite3_column_int64(st_, col); }
  std::string text(int col) const override {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st_, col));
    if (!p) return {};
    return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(st_, col)));
  }
  bool boolean(int col) const override { return sqlite3_column_int64(st_, col) != 0; }

 private:
  sqlite3_stmt* st_;
};

}  // namespace

class SqliteConn final : public SqlConn {
 public:
  SqliteConn(const std::string& path, bool writer) {
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = fmt::format("sqlite: cannot open {}: {}", path,
                                    db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
      sqlite3_close(db_);
      throw StoreError(msg);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    try {
      // journal_mode is stored in the file: the writer sets it once for everyone.
      if (writer) exec_script("PRAGMA journal_mode=WAL");
      exec_script("PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL");
      if (!writer) exec_script("PRAGMA query_only=ON");
    } catch (...) {
      sqlite3_close(db_);
      throw;
    }
  }

  ~SqliteConn() override {
    for (auto& [sql, st] : cache_) sqlite3_finalize(st);
    sqlite3_close(db_);
  }

  std::int64_t run(const char* sql, std::span<const Param> params, const RowFn& on_row) override {
    sqlite3_stmt* st = prepare(sql);
    struct Reset {
      sqlite3_stmt* st;
      ~Reset() {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
      }
    } reset{st};
    for (std::size_t i = 0; i < params.size(); ++i) bind(st, static_cast<int>(i) + 1, params[i]);
    SqliteRow row(st);
    for (;;) {
      int rc = sqlite3_step(st);
      if (rc == SQLITE_ROW) {
        if (on_row) on_row(row);
        continue;
      }
      if (rc == SQLITE_DONE) break;
      fail(db_, rc, sql);
    }
    return sqlite3_stmt_readonly(st) ? 0 : sqlite3_changes(db_);
  }

  void exec_script(const std::string& sql) override {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    sqlite3_free(err);  // sqlite3_errmsg below says the same
    if (rc != SQLITE_OK) fail(db_, rc, "script");
  }

  void begin(Access mode) override {
    exec_script(mode == Access::write ? "BEGIN IMMEDIATE" : "BEGIN");
  }
  void commit() override { exec_script("COMMIT"); }
  void rollback() noexcept override {
    if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }

 private:
  sqlite3_stmt* prepare(const char* sql) {
    auto it = cache_.find(std::string_view(sql));
    if (it != cache_.end()) return it->second;
    std::string text = to_sqlite_placeholders(sql);
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v3(db_, text.c_str(), static_cast<int>(text.size()),
                                SQLITE_PREPARE_PERSISTENT, &st, nullptr);
    if (rc != SQLITE_OK) fail(db_, rc, sql);
    cache_.emplace(sql, st);
    return st;
  }

  void bind(sqlite3_stmt* st, int i, const Param& p) {
    int rc = SQLITE_OK;
    switch (p.kind()) {
      case Param::Kind::null:
        rc = sqlite3_bind_null(st, i);
        break;
      case Param::Kind::integer:
      case Param::Kind::boolean:
        rc = sqlite3_bind_int64(st, i, p.integer());
        break;
      case Param::Kind::text:
        // The value outlives the statement's execution, so SQLite need not copy it.
        rc = sqlite3_bind_text(st, i, p.text().data(), static_cast<int>(p.text().size()),
                               SQLITE_STATIC);
        break;
    }
    if (rc != SQLITE_OK) fail(db_, rc, "bind");
  }

  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*, SqlTextHash, std::equal_to<>> cache_;
};

SqliteStore::SqliteStore(std::string path, int readers)
    : SqlStore(Dialect{
          // users.username is COLLATE NOCASE: the comparison and its index ignore case.
          "SELECT id, username, password_hash, created_at FROM users WHERE username = $1",
          "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"}),
      path_(std::move(path)),
      max_readers_(readers < 1 ? 1 : readers),
      writer_(std::make_unique<SqliteConn>(path_, true)) {}

SqliteStore::~SqliteStore() = default;

std::unique_ptr<SqliteConn> SqliteStore::borrow_reader() {
  std::unique_lock lock(pool_mu_);
  pool_cv_.wait(lock, [&] { return !idle_readers_.empty() || open_readers_ < max_readers_; });
  if (!idle_readers_.empty()) {
    auto c = std::move(idle_readers_.back());
    idle_readers_.pop_back();
    return c;
  }
  ++open_readers_;
  lock.unlock();
  try {
    return std::make_unique<SqliteConn>(path_, false);
  } catch (...) {
    lock.lock();
    --open_readers_;
    pool_cv_.notify_one();
    throw;
  }
}

void SqliteStore::give_back(std::unique_ptr<SqliteConn> c) {
  {
    std::lock_guard lock(pool_mu_);
    idle_readers_.push_back(std::move(c));
  }
  pool_cv_.notify_one();
}

void SqliteStore::with_conn(Access mode, const ConnFn& fn) {
  if (mode == Access::write) {
    std::lock_guard lock(write_mu_);
    try {
      fn(*writer_);
    } catch (...) {
      writer_->rollback();  // never leave the shared writer inside a transaction
      throw;
    }
    return;
  }
  auto c = borrow_reader();
  try {
    fn(*c);
  } catch (...) {
    c->rollback();
    give_back(std::move(c));
    throw;
  }
  give_back(std::move(c));
}

}  // namespace hype::store
