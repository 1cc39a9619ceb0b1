// `hype serve` without server.web_root finds the web client beside the binary: the installed
// layout first, then the source tree it was built in; "none" and an explicit path win.
#include "app/web_root.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace hype::app {
namespace {

namespace fs = std::filesystem;

class WebRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("hype-webroot-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "prefix" / "bin");
    fs::create_directories(dir / "repo" / "build" / "release" / "src" / "app");
  }
  void TearDown() override { fs::remove_all(dir); }
  static void index_in(const fs::path& d) {
    fs::create_directories(d);
    std::ofstream(d / "index.html") << "<!doctype html>";
  }
  fs::path dir;
};

TEST_F(WebRoot, InstalledLayout) {
  std::string exe = (dir / "prefix" / "bin" / "hype").string();
  EXPECT_EQ(resolve_web_root("", exe), "");  // nothing there yet: API only
  index_in(dir / "prefix" / "share" / "hype" / "web");
  EXPECT_EQ(resolve_web_root("", exe), (dir / "prefix" / "share" / "hype" / "web").string());
}

TEST_F(WebRoot, BuildTree) {
  std::string exe = (dir / "repo" / "build" / "release" / "src" / "app" / "hype").string();
  fs::create_directories(dir / "repo" / "web" / "dist");  // not built: no index.html
  EXPECT_EQ(resolve_web_root("", exe), "");
  index_in(dir / "repo" / "web" / "dist");
  EXPECT_EQ(resolve_web_root("", exe), (dir / "repo" / "web" / "dist").string());
}

TEST_F(WebRoot, ConfiguredPathAndNoneWin) {
  index_in(dir / "prefix" / "share" / "hype" / "web");
  std::string exe = (dir / "prefix" / "bin" / "hype").string();
  EXPECT_EQ(resolve_web_root("/srv/hype-web", exe), "/srv/hype-web");
  EXPECT_EQ(resolve_web_root("none", exe), "");
  EXPECT_EQ(resolve_web_root("", ""), "");
}

TEST(WebRootExe, CurrentExecutableIsThisTest) {
  EXPECT_NE(current_executable().find("app_tests"), std::string::npos);
}

}  // namespace
}  // namespace hype::app
