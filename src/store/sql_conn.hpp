// The small seam between the SQL written once in SqlStore and the two drivers (SQLite and
// libpq). A driver runs one parameterized statement at a time, caches its prepared form per
// connection, and maps failures to ConflictError (unique key) or StoreError (the rest).
// SQL text uses PostgreSQL placeholders ($1, $2, ...); the SQLite driver rewrites them.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace hype::store {

// One bound value. Strings are borrowed: they must outlive the statement call.
class Param {
 public:
  enum class Kind { null, integer, text, boolean };
  Param(std::nullptr_t) : kind_(Kind::null) {}
  Param(std::int64_t v) : kind_(Kind::integer), i_(v) {}
  Param(int v) : kind_(Kind::integer), i_(v) {}
  Param(bool v) : kind_(Kind::boolean), i_(v ? 1 : 0) {}
  Param(std::string_view v) : kind_(Kind::text), s_(v) {}
  Param(const std::string& v) : kind_(Kind::text), s_(v) {}
  Param(const char* v) = delete;  // a literal belongs in the SQL text

  Kind kind() const { return kind_; }
  std::int64_t integer() const { return i_; }
  std::string_view text() const { return s_; }

 private:
  Kind kind_;
  std::int64_t i_ = 0;
  std::string_view s_;
};

// A result row, valid only inside the row callback.
class Row {
 public:
  virtual ~Row() = default;
  virtual std::int64_t i64(int col) const = 0;
  virtual std::string text(int col) const = 0;
  virtual bool boolean(int col) const = 0;
  int i32(int col) const { return static_cast<int>(i64(col)); }
};

enum class Access { read, write };

// Lets a statement cache keyed by std::string be searched with a const char* without a copy.
struct SqlTextHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class SqlConn {
 public:
  using RowFn = std::function<void(const Row&)>;
  virtual ~SqlConn() = default;
  // Runs one statement, calling on_row (if set) for each row; returns the rows changed.
  virtual std::int64_t run(const char* sql, std::span<const Param> params, const RowFn& on_row) = 0;
  // Runs several statements without parameters (migrations).
  virtual void exec_script(const std::string& sql) = 0;
  virtual void begin(Access mode) = 0;
  virtual void commit() = 0;
  virtual void rollback() noexcept = 0;
};

}  // namespace hype::store
