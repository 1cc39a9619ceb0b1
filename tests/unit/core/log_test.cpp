// log.format = "json": every line is one JSON object, whatever the message holds.
#include "core/log.hpp"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <boost/json.hpp>
#include <sstream>
#include <string>

namespace hype {
namespace {

TEST(JsonLog, EachLineIsAJsonObjectWithTheEscapedMessage) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  spdlog::logger logger("hype", sink);
  logger.set_formatter(make_json_log_formatter());
  logger.warn("quote \" backslash \\ newline \n tab \t é");
  logger.info(std::string("bad utf-8 \xff\xfe end"));
  std::istringstream lines(out.str());
  std::string line;
  std::vector<boost::json::object> got;
  while (std::getline(lines, line)) got.push_back(boost::json::parse(line).as_object());
  ASSERT_EQ(got.size(), 2u);  // the newline in the message did not split the line
  EXPECT_EQ(got[0].at("level"), "warning");
  EXPECT_EQ(got[0].at("logger"), "hype");
  EXPECT_EQ(got[0].at("msg"), "quote \" backslash \\ newline \n tab \t é");
  EXPECT_TRUE(got[0].at("thread").is_int64() || got[0].at("thread").is_uint64());
  std::string ts(got[0].at("ts").as_string());
  EXPECT_EQ(ts.size(), 24u) << ts;  // 2026-12-05T12:00:00.123Z
  EXPECT_EQ(ts.back(), 'Z');
  EXPECT_EQ(got[1].at("level"), "info");
  EXPECT_EQ(got[1].at("msg"), "bad utf-8 ?? end");
}

TEST(JsonLog, UnknownFormatIsRefused) {
  EXPECT_THROW(init_logging("info", "xml"), std::invalid_argument);
}

}  // namespace
}  // namespace hype
