#include "log_alert.hpp"

#include <gtest/gtest.h>

#include "switchboard/sdk/testing/conformance.hpp"

namespace sdk = switchboard::sdk;
using switchboard::plugins::LogAlert;
using sdk::ConfigNode;

namespace {

sdk::FactoryFor<LogAlert> factory("log", "test");

sdk::Alert link_down() {
  sdk::Alert a;
  a.rule = "pbx_link_down";
  a.severity = sdk::Severity::critical;
  a.summary = "PBX link down";
  a.dedup_key = "link:hicom-main";
  a.labels["driver"] = "hicom-main";
  return a;
}

}  // namespace

TEST(LogAlert, PassesTheConfigConformance) { sdk::testing::expect_config_conformance(factory, ConfigNode::map({})); }

TEST(LogAlert, PassesTheLifecycleConformance) {
  sdk::testing::expect_lifecycle_conformance(factory, ConfigNode::map({{"level", "warn"}}));
}

TEST(LogAlert, RejectsAnUnknownLevelWithASuggestion) {
  sdk::Diagnostics diag;
  EXPECT_FALSE(sdk::apply_schema(factory.schema(), ConfigNode::map({{"level", "eror"}}), "alerts.x.config", diag));
  ASSERT_EQ(diag.size(), 1u);
  EXPECT_EQ(diag.errors()[0].path, "alerts.x.config.level");
  EXPECT_NE(diag.errors()[0].message.find("did you mean 'error'"), std::string::npos) << diag.errors()[0].message;
}

TEST(LogAlert, WritesTheAlertAtTheLevelOfItsSeverity) {
  sdk::testing::FakeContext ctx("ops");
  LogAlert alert(ctx, sdk::testing::settings_for(factory, ConfigNode::map({})));
  alert.start([](sdk::Status) {});
  sdk::Status result = sdk::make_error(sdk::ErrorCode::failed, "not called");
  alert.fire(link_down(), [&](sdk::Status s) { result = s; });
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(ctx.logger().lines.size(), 1u);
  const auto& line = ctx.logger().lines[0];
  EXPECT_EQ(line.level, sdk::LogLevel::error);
  EXPECT_EQ(line.text,
            "alert fired rule=pbx_link_down severity=critical key=link:hicom-main summary=\"PBX link down\" "
            "driver=hicom-main");
}

TEST(LogAlert, LogsAResolvedAlertAtInfo) {
  sdk::testing::FakeContext ctx("ops");
  LogAlert alert(ctx, sdk::testing::settings_for(factory, ConfigNode::map({{"prefix", "ALARM"}})));
  alert.start([](sdk::Status) {});
  auto a = link_down();
  a.resolved = true;
  alert.fire(a, [](sdk::Status) {});
  ASSERT_EQ(ctx.logger().lines.size(), 1u);
  EXPECT_EQ(ctx.logger().lines[0].level, sdk::LogLevel::info);
  EXPECT_EQ(ctx.logger().lines[0].text.rfind("ALARM resolved rule=pbx_link_down", 0), 0u);
}

TEST(LogAlert, AFixedLevelOverridesTheSeverity) {
  sdk::testing::FakeContext ctx("ops");
  LogAlert alert(ctx, sdk::testing::settings_for(factory, ConfigNode::map({{"level", "warn"}})));
  alert.start([](sdk::Status) {});
  alert.fire(link_down(), [](sdk::Status) {});
  ASSERT_EQ(ctx.logger().lines.size(), 1u);
  EXPECT_EQ(ctx.logger().lines[0].level, sdk::LogLevel::warn);
}

TEST(LogAlert, RefusesToFireWhenNotStarted) {
  sdk::testing::FakeContext ctx("ops");
  LogAlert alert(ctx, sdk::testing::settings_for(factory, ConfigNode::map({})));
  sdk::Status result;
  alert.fire(link_down(), [&](sdk::Status s) { result = s; });
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, sdk::ErrorCode::unavailable);
  EXPECT_TRUE(ctx.logger().lines.empty());
}
