#include "test_backends.hpp"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace hype::store::testing {
namespace fs = std::filesystem;
namespace {

std::string make_temp_dir(const char* prefix) {
  std::string tmpl = (fs::temp_directory_path() / (std::string(prefix) + "XXXXXX")).string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

int sh(const std::string& cmd) {
  return std::system(cmd.c_str());
}

// The PostgreSQL server shared by every test of this binary, started on first use and
// stopped by the gtest environment at exit.
class PgServer : public ::testing::Environment {
 public:
  const std::string& admin_url() {
    if (admin_url_.empty()) start();
    return admin_url_;
  }

  void TearDown() override {
    if (dir_.empty()) return;
    sh(as_postgres() + bin("pg_ctl") + " -D " + dir_ + "/data -m fast -w stop >/dev/null");
    fs::remove_all(dir_);
    dir_.clear();
  }

 private:
  static std::string bin(const char* name) {
    return "/usr/lib/postgresql/15/bin/" + std::string(name);
  }
  static std::string as_postgres() { return geteuid() == 0 ? "runuser -u postgres -- " : ""; }

  void start() {
    if (const char* env = std::getenv("HYPE_TEST_PG_URL"); env && *env) {
      admin_url_ = env;
      return;
    }
    dir_ = make_temp_dir("hype-store-pg-");
    if (geteuid() == 0) sh("chown postgres:postgres " + dir_);
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
    int port = free_port();
    std::string init = as_postgres() + bin("initdb") + " -D " + dir_ +
                       "/data -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync >" + dir_ +
                       "/initdb.log 2>&1";
    std::string run = as_postgres() + bin("pg_ctl") + " -D " + dir_ + "/data -l " + dir_ +
                      "/pg.log -w -t 30 -o \"-p " + std::to_string(port) + " -k " + dir_ +
                      " -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
                      " -c full_page_writes=off\" start >/dev/null";
    if (sh(init) != 0 || sh(run) != 0)
      throw std::runtime_error("cannot start PostgreSQL; see " + dir_ + "/pg.log");
    admin_url_ = "postgresql://postgres@127.0.0.1:" + std::to_string(port) + "/postgres";
  }

  std::string dir_;
  std::string admin_url_;
};

PgServer* server() {
  static PgServer* s = [] {
    auto* env = new PgServer;
    ::testing::AddGlobalTestEnvironment(env);  // gtest owns it and calls TearDown at exit
    return env;
  }();
  return s;
}

// Runs one statement on the admin database; returns the first column of the first row.
std::string admin_exec(const std::string& sql) {
  PGconn* c = PQconnectdb(server()->admin_url().c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    throw std::runtime_error("admin connect: " + msg);
  }
  PGresult* r = PQexec(c, sql.c_str());
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
  std::string msg = PQresultErrorMessage(r);
  std::string first = ok && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
  PQclear(r);
  PQfinish(c);
  if (!ok) throw std::runtime_error("admin: " + sql + ": " + msg);
  return first;
}

}  // namespace

std::string with_database(const std::string& url, const std::string& db) {
  std::size_t scheme = url.find("://");
  std::size_t start = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  std::size_t query = url.find('?');
  if (start == std::string::npos || (query != std::string::npos && start > query)) {
    std::size_t at = query == std::string::npos ? url.size() : query;
    return url.substr(0, at) + "/" + db + url.substr(at);
  }
  std::size_t end = query == std::string::npos ? url.size() : query;
  return url.substr(0, start + 1) + db + url.substr(end);
}

SqliteBackend::~SqliteBackend() {
  std::error_code ec;
  for (auto& d : dirs_) fs::remove_all(d, ec);
}

std::string SqliteBackend::fresh_url() {
  dirs_.push_back(make_temp_dir("hype-store-sqlite-"));
  return "sqlite://" + dirs_.back() + "/sub/hype.db";
}

PgBackend::~PgBackend() {
  for (auto& db : dbs_) {
    try {
      admin_exec("DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  }
}

std::string PgBackend::fresh_url() {
  static std::atomic<int> counter{0};
  std::string db = "hype_test_" + std::to_string(getpid()) + "_" + std::to_string(++counter);
  admin_exec("CREATE DATABASE " + db);
  dbs_.push_back(db);
  return with_database(server()->admin_url(), db);
}

void PgBackend::break_connections() {
  for (auto& db : dbs_) {
    std::string where = " FROM pg_stat_activity WHERE datname = '" + db + "'";
    std::string pids = admin_exec("SELECT string_agg(pid::text, ',')" + where);
    admin_exec("SELECT pg_terminate_backend(pid)" + where);
    // Termination is asynchronous: wait until the sessions are really gone.
    for (int i = 0; i < 500 && admin_exec("SELECT count(*)" + where) != "0"; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    // A backend leaves pg_stat_activity before its process exits and its socket closes; until
    // then the client cannot see the connection is gone. The test server runs here, so wait
    // for the processes themselves (at most 5 s; a remote server's pids are not ours).
    for (std::size_t at = 0; at < pids.size();) {
      std::size_t end = pids.find(',', at);
      if (end == std::string::npos) end = pids.size();
      pid_t pid = static_cast<pid_t>(std::atoi(pids.substr(at, end - at).c_str()));
      for (int i = 0; i < 500 && pid > 0 && ::kill(pid, 0) == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      at = end + 1;
    }
  }
}

}  // namespace hype::store::testing
