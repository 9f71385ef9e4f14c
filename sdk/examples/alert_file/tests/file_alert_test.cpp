#include "file_alert.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <gtest/gtest.h>

#include "switchboard/sdk/testing/conformance.hpp"

namespace sdk = switchboard::sdk;
namespace fs = std::filesystem;
using example::FileAlert;
using sdk::ConfigNode;

namespace {

sdk::FactoryFor<FileAlert> factory("file", "test");

sdk::Alert link_down() {
  sdk::Alert a;
  a.rule = "pbx_link_down";
  a.severity = sdk::Severity::critical;
  a.summary = "PBX link down";
  a.dedup_key = "link:hicom-main";
  a.labels["driver"] = "hicom-main";
  a.at = sdk::TimePoint(std::chrono::milliseconds(1'700'000'000'123));  // 2023-11-14T22:13:20.123Z
  return a;
}

// Each test gets its own directory, removed afterwards.
class FileAlertTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("example_alert_file_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string file() const { return (dir_ / "alerts.log").string(); }
  ConfigNode config(const std::string& format = "text") const {
    return ConfigNode::map({{"path", file()}, {"format", format}});
  }
  std::vector<std::string> lines() const {
    std::ifstream in(file());
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  // Starts `alert` on `ctx` and runs the start to completion.
  static void start(FileAlert& alert, sdk::testing::FakeContext& ctx) {
    sdk::Status started = sdk::make_error(sdk::ErrorCode::failed, "not called");
    alert.start([&](sdk::Status s) { started = s; });
    ctx.run();
    ASSERT_TRUE(started.ok());
  }

  fs::path dir_;
};

}  // namespace

TEST_F(FileAlertTest, PassesTheConfigConformance) { sdk::testing::expect_config_conformance(factory, config()); }

TEST_F(FileAlertTest, PassesTheLifecycleConformance) {
  sdk::testing::expect_lifecycle_conformance(factory, config("json"));
}

TEST_F(FileAlertTest, RequiresAPath) {
  sdk::Diagnostics diag;
  EXPECT_FALSE(sdk::apply_schema(factory.schema(), ConfigNode::map({}), "alerts.x.config", diag));
  ASSERT_EQ(diag.size(), 1u);
  EXPECT_EQ(diag.errors()[0].path, "alerts.x.config.path");
  EXPECT_NE(diag.errors()[0].message.find("missing required key 'path'"), std::string::npos);
}

TEST_F(FileAlertTest, RefusesAnEmptyPath) {
  sdk::Diagnostics diag;
  auto settings = sdk::apply_schema(factory.schema(), ConfigNode::map({{"path", ""}}), "alerts.x.config", diag);
  ASSERT_TRUE(settings);
  factory.validate(*settings, diag);
  ASSERT_EQ(diag.size(), 1u);
  EXPECT_EQ(diag.errors()[0].path, "alerts.x.config.path");
}

TEST_F(FileAlertTest, RejectsAnUnknownFormatWithASuggestion) {
  sdk::Diagnostics diag;
  EXPECT_FALSE(sdk::apply_schema(factory.schema(), ConfigNode::map({{"path", "a.log"}, {"format", "jsn"}}),
                                 "alerts.x.config", diag));
  ASSERT_EQ(diag.size(), 1u);
  EXPECT_NE(diag.errors()[0].message.find("did you mean 'json'"), std::string::npos) << diag.errors()[0].message;
}

TEST_F(FileAlertTest, AppendsOneTextLinePerAlertOffTheStrand) {
  sdk::testing::FakeContext ctx("ops");
  FileAlert alert(ctx, sdk::testing::settings_for(factory, config()));
  start(alert, ctx);
  int calls = 0;
  sdk::Status result = sdk::make_error(sdk::ErrorCode::failed, "not called");
  alert.fire(link_down(), [&](sdk::Status s) { ++calls; result = s; });
  // fire() only queued the write: nothing is written or answered until the blocking pool runs.
  EXPECT_EQ(calls, 0);
  EXPECT_FALSE(fs::exists(file()));
  ctx.run();
  ASSERT_EQ(calls, 1);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(lines(), std::vector<std::string>{"2023-11-14T22:13:20.123Z critical fired rule=pbx_link_down "
                                              "key=link:hicom-main summary=\"PBX link down\" driver=hicom-main"});
}

TEST_F(FileAlertTest, KeepsFireOrderAndAppendsToAnExistingFile) {
  std::ofstream(file()) << "earlier line\n";
  sdk::testing::FakeContext ctx("ops");
  FileAlert alert(ctx, sdk::testing::settings_for(factory, config()));
  start(alert, ctx);
  auto resolved = link_down();
  resolved.resolved = true;
  resolved.severity = sdk::Severity::info;
  int delivered = 0;
  alert.fire(link_down(), [&](sdk::Status s) { delivered += s.ok(); });
  alert.fire(resolved, [&](sdk::Status s) { delivered += s.ok(); });
  ctx.run();
  EXPECT_EQ(delivered, 2);
  auto l = lines();
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[0], "earlier line");
  EXPECT_NE(l[1].find(" critical fired rule=pbx_link_down"), std::string::npos) << l[1];
  EXPECT_NE(l[2].find(" info resolved rule=pbx_link_down"), std::string::npos) << l[2];
}

TEST_F(FileAlertTest, QuotesTextValuesSoEveryAlertStaysOneLine) {
  auto a = link_down();
  a.summary = "two\nlines \"quoted\"";
  a.labels = {{"host", "pbx 1"}};
  EXPECT_EQ(example::format_line(a, example::LineFormat::text),
            "2023-11-14T22:13:20.123Z critical fired rule=pbx_link_down key=link:hicom-main "
            "summary=\"two\\nlines \\\"quoted\\\"\" host=\"pbx 1\"");
}

TEST_F(FileAlertTest, WritesJsonLinesWithEscapedStrings) {
  sdk::testing::FakeContext ctx("ops");
  FileAlert alert(ctx, sdk::testing::settings_for(factory, config("json")));
  start(alert, ctx);
  auto a = link_down();
  a.summary = "say \"hi\"\\ now\n\tdone\x01";
  a.labels = {{"driver", "hicom-main"}, {"path", "C:\\pbx"}};
  sdk::Status result = sdk::make_error(sdk::ErrorCode::failed, "not called");
  alert.fire(a, [&](sdk::Status s) { result = s; });
  ctx.run();
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(lines(), std::vector<std::string>{
                         R"({"at":"2023-11-14T22:13:20.123Z","rule":"pbx_link_down","severity":"critical",)"
                         R"("resolved":false,"summary":"say \"hi\"\\ now\n\tdone\u0001","dedup_key":"link:hicom-main",)"
                         R"("labels":{"driver":"hicom-main","path":"C:\\pbx"}})"});
}

TEST_F(FileAlertTest, ReportsAFileThatCannotBeOpenedWithPathAndReason) {
  std::string missing = (dir_ / "no-such-dir" / "alerts.log").string();
  sdk::testing::FakeContext ctx("ops");
  FileAlert alert(ctx, sdk::testing::settings_for(factory, ConfigNode::map({{"path", missing}})));
  start(alert, ctx);
  sdk::Status result;
  alert.fire(link_down(), [&](sdk::Status s) { result = s; });
  ctx.run();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, sdk::ErrorCode::failed);
  EXPECT_EQ(result.error().message, "cannot open " + missing + " for appending: No such file or directory");
}

TEST_F(FileAlertTest, RefusesToFireWhenNotStarted) {
  sdk::testing::FakeContext ctx("ops");
  FileAlert alert(ctx, sdk::testing::settings_for(factory, config()));
  sdk::Status result;
  alert.fire(link_down(), [&](sdk::Status s) { result = s; });
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, sdk::ErrorCode::unavailable);
  ctx.run();
  EXPECT_FALSE(fs::exists(file()));
}

TEST_F(FileAlertTest, StopAnswersPendingAlertsOnceWithCancelled) {
  sdk::testing::FakeContext ctx("ops");
  FileAlert alert(ctx, sdk::testing::settings_for(factory, config()));
  start(alert, ctx);
  std::vector<std::string> answers;
  auto record = [&](sdk::Status s) { answers.push_back(s.ok() ? "ok" : sdk::to_string(s.error().code)); };
  alert.fire(link_down(), record);  // handed to the pool
  alert.fire(link_down(), record);  // queued behind it
  bool stopped = false;
  alert.stop([&](sdk::Status s) { stopped = s.ok(); });
  EXPECT_TRUE(stopped);
  EXPECT_EQ(answers, (std::vector<std::string>{"cancelled", "cancelled"}));
  ctx.run();  // the write already on the pool finishes; nobody is answered twice
  EXPECT_EQ(answers.size(), 2u);
  EXPECT_LE(lines().size(), 1u);
}
