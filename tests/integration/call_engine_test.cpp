// The call engine end to end with real plugins: the SQLite storage, the project_rules strategy and a
// scripted PBX driver, in virtual time. Every outcome code the engine writes and every way of moving on.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include <spdlog/sinks/ostream_sink.h>

#include "../plugins/scripted_driver.hpp"
#include "switchboard/core/call_engine.hpp"
#include "switchboard/core/host_config.hpp"
#include "switchboard/core/runtime.hpp"
#include "switchboard/core/storage_session.hpp"
#include "switchboard/core/yaml_source.hpp"

namespace fs = std::filesystem;
namespace sdk = switchboard::sdk;
namespace core = switchboard::core;
using namespace std::chrono_literals;

namespace {

core::PluginRegistry& registry() {
  static core::PluginRegistry r;
  static bool loaded = false;
  if (!loaded) {
    r.load_directory(SWITCHBOARD_PLUGIN_OUTPUT_DIRECTORY);
    r.load_directory(SWITCHBOARD_TEST_PLUGIN_DIRECTORY);
    loaded = true;
  }
  return r;
}

sdk::Rule rule(std::int64_t id, std::string project, std::string caller, std::vector<std::string> operators) {
  sdk::Rule r;
  r.id = id;
  r.project = std::move(project);
  r.callers[0] = caller;
  r.callers_normalised[0] = caller;
  r.operators = std::move(operators);
  return r;
}

class CallEngine : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("switchboard-engine-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    runtime_.reset();
    fs::remove_all(dir_);
  }

  void start(std::vector<sdk::Rule> rules, bool busy_target_active = false) {
    std::ostringstream yaml;
    yaml << "logging: {level: warn}\n"
            "numbers: {region: CZ, pbx_exit_code: \"0\", internal_max_digits: 4}\n"
            "storage: {main: {type: soci, config: {connection: \"sqlite3://"
         << (dir_ / "db.sqlite").string()
         << "\"}}}\n"
            "routing:\n"
            "  projects:\n"
            "    type: project_rules\n"
            "    config:\n"
            "      storage: main\n"
            "      projects: [{number: \"100\", operators: \"116;117;\"}]\n"
            "      all_projects_operators: [\"118\"]\n"
            "      busy_target: {number: \"190\", active: "
         << (busy_target_active ? "true" : "false")
         << "}\n"
            "      ring_timeout: 20s\n"
            "drivers: {pbx: {type: scripted}}\n";
    sdk::Diagnostics diag;
    auto root = core::parse_yaml(yaml.str(), "engine.yaml", diag);
    config_ = core::validate_config(root, "engine.yaml", registry(), diag);
    std::ostringstream errors;
    core::print_diagnostics(diag, errors);
    ASSERT_TRUE(config_) << errors.str();
    if (!rules.empty()) {
      auto session = core::StorageSession::open(*config_, logs_, "main");
      ASSERT_TRUE(session.ok()) << session.error().message;
      sdk::RuleWrite write;
      write.rules = std::move(rules);
      auto written = (*session)->call<sdk::RuleWriteSummary>(
          [&write](sdk::Storage& s, auto done) { s.write_rules(std::move(write), done); });
      ASSERT_TRUE(written.ok()) << written.error().message;
    }
    runtime_ = std::make_unique<core::Runtime>(*config_, logs_, core::ClockMode::virtual_time,
                                               sdk::TimePoint(std::chrono::seconds(1'140'618'476)));
    auto status = runtime_->start();
    ASSERT_TRUE(status.ok()) << status.error().message;
    driver_ = static_cast<scripted::ScriptedDriver*>(runtime_->find(sdk::Category::driver, "pbx"));
    strand_ = runtime_->find_ref(sdk::Category::driver, "pbx").strand;
    runtime_->on_engine([this] { runtime_->engine()->on_record([this](const sdk::CallRecord& r) { records_.push_back(r); }); });
    runtime_->run_ready();
  }

  // Runs `step` on the driver's strand, then everything it caused (without moving the clock).
  void pbx(std::function<void(scripted::ScriptedDriver&)> step) {
    sdk::asio::post(*strand_, [this, step] { step(*driver_); });
    runtime_->run_ready();
  }
  std::vector<std::string> deflected_to() const {
    std::vector<std::string> out;
    for (const auto& d : driver_->deflects) out.push_back(d.to);
    return out;
  }
  const sdk::CallRecord& only_record() {
    EXPECT_EQ(records_.size(), 1u);
    static sdk::CallRecord none;
    return records_.empty() ? none : records_.front();
  }

  fs::path dir_;
  core::LogSetup logs_;
  std::optional<core::HostConfig> config_;
  std::unique_ptr<core::Runtime> runtime_;
  scripted::ScriptedDriver* driver_ = nullptr;
  sdk::Strand* strand_ = nullptr;
  std::vector<sdk::CallRecord> records_;
};

const std::string customer = "+420602123456";

}  // namespace

TEST_F(CallEngine, MonitorsEveryProjectNumberAndOperator) {
  start({rule(12, "100", customer, {"114", "115"})});
  EXPECT_EQ(driver_->monitored, (std::set<std::string>{"100", "114", "115", "116", "117", "118"}))
      << "project numbers, configured operators and the operators the rules name; not the inactive busy target";
}

TEST_F(CallEngine, RuleOperatorsInOrderBusyOneSkipped_Code1) {
  start({rule(12, "100", customer, {"114", "115"})});
  pbx([](auto& d) { d.set_state("114", sdk::DeviceState::busy); });
  pbx([](auto& d) { d.offer("c1", "100", "0602123456"); });
  EXPECT_EQ(deflected_to(), (std::vector<std::string>{"115"}));
  pbx([](auto& d) { d.answer("c1", "115"); });
  const auto& r = only_record();
  EXPECT_EQ(r.outcome, 1);
  EXPECT_EQ(r.operator_extension, "115");
  EXPECT_EQ(r.customer_id, 12);
  EXPECT_EQ(r.project, "100");
  EXPECT_EQ(r.caller, "0602123456");
}

TEST_F(CallEngine, RingNoAnswerMovesOnAfterTheRingTimeout) {
  start({rule(12, "100", customer, {"114", "115"})});
  pbx([](auto& d) { d.offer("c1", "100", customer); });
  EXPECT_EQ(deflected_to(), (std::vector<std::string>{"114"}));
  runtime_->advance(19s);
  EXPECT_EQ(deflected_to().size(), 1u) << "still ringing at 114";
  runtime_->advance(2s);
  ASSERT_EQ(driver_->deflects.size(), 2u);
  EXPECT_EQ(driver_->deflects[1].from, "114") << "deflected from where it rings now";
  EXPECT_EQ(driver_->deflects[1].to, "115");
  pbx([](auto& d) { d.answer("c1", "115"); });
  EXPECT_EQ(only_record().outcome, 1);
  EXPECT_NE(std::find(only_record().reasons.begin(), only_record().reasons.end(), "114 did not answer within 20s"),
            only_record().reasons.end());
}

TEST_F(CallEngine, ARefusedDeflectAndAFailedTargetMoveOn) {
  start({rule(12, "100", customer, {"114", "115", "116"})});
  driver_->refuse["114"] = sdk::ErrorCode::busy;
  pbx([](auto& d) { d.offer("c1", "100", customer); });
  EXPECT_EQ(deflected_to(), (std::vector<std::string>{"114", "115"}));
  pbx([](auto& d) { d.fail("c1", "115"); });
  EXPECT_EQ(deflected_to(), (std::vector<std::string>{"114", "115", "116"}));
  pbx([](auto& d) { d.answer("c1", "116"); });
  EXPECT_EQ(only_record().outcome, 1);
  EXPECT_EQ(only_record().operator_extension, "116");
}

TEST_F(CallEngine, NoRuleGoesToProjectThenAllProjectsOperators_Codes2And3) {
  start({rule(12, "100", customer, {"114"})});
  pbx([](auto& d) { d.set_state("116", sdk::DeviceState::offline); });
  pbx([](auto& d) { d.offer("c1", "100", "0777000111"); });
  EXPECT_EQ(deflected_to(), (std::vector<std::string>{"117"}));
  pbx([](auto& d) { d.answer("c1", "117"); });
  EXPECT_EQ(only_record().outcome, 2);
  EXPECT_FALSE(only_record().customer_id);
  records_.clear();
  pbx([](auto& d) { d.set_state("117", sdk::DeviceState::busy); });
  pbx([](auto& d) { d.offer("c2", "100", "0777000112"); });
  EXPECT_EQ(deflected_to().back(), "118");
  pbx([](auto& d) { d.answer("c2", "118"); });
  EXPECT_EQ(only_record().outcome, 3);
}

TEST_F(CallEngine, RuleOperatorsBusyFallBackToTheProject_Code2) {
  start({rule(12, "100", customer, {"114"})});
  pbx([](auto& d) { d.set_state("114", sdk::DeviceState::busy); });
  pbx([](auto& d) { d.offer("c1", "100", customer); });
  EXPECT_EQ(deflected_to(), (std::vector<std::string>{"116"}));
  pbx([](auto& d) { d.answer("c1", "116"); });
  EXPECT_EQ(only_record().outcome, 2);
  EXPECT_EQ(only_record().customer_id, 12) << "the customer is still known";
}

TEST_F(CallEngine, BusyTargetWhenActive_Code4) {
  start({rule(12, "100", customer, {"114"})}, true);
  pbx([](auto& d) { d.set_state("114", sdk::DeviceState::busy); });
  pbx([](auto& d) { d.offer("c1", "100", customer); });
  EXPECT_EQ(deflected_to(), (std::vector<std::string>{"190"}));
  pbx([](auto& d) { d.answer("c1", "190"); });
  EXPECT_EQ(only_record().outcome, 4);
}

TEST_F(CallEngine, WithheldCallerGoesToAllProjectsOperators_Code8) {
  start({rule(12, "100", customer, {"114"})});
  pbx([](auto& d) { d.offer("c1", "100", ""); });
  EXPECT_EQ(deflected_to(), (std::vector<std::string>{"118"}));
  pbx([](auto& d) { d.answer("c1", "118"); });
  EXPECT_EQ(only_record().outcome, 8);
  EXPECT_EQ(only_record().caller, "");
}

TEST_F(CallEngine, NobodyFree_Code9WithoutOperator) {
  start({rule(12, "100", customer, {"114"})});
  for (const char* d : {"114", "116", "117", "118"})
    pbx([d](auto& drv) { drv.set_state(d, sdk::DeviceState::busy); });
  pbx([](auto& d) { d.offer("c1", "100", customer); });
  EXPECT_TRUE(driver_->deflects.empty());
  EXPECT_EQ(only_record().outcome, 9);
  EXPECT_EQ(only_record().operator_extension, "");
}

TEST_F(CallEngine, EmptyDatabase_Code10) {
  start({});
  pbx([](auto& d) { d.offer("c1", "100", customer); });
  EXPECT_EQ(deflected_to(), (std::vector<std::string>{"118"}));
  pbx([](auto& d) { d.answer("c1", "118"); });
  EXPECT_EQ(only_record().outcome, 10);
}

TEST_F(CallEngine, CallerHangsUpWhileRinging_Code11) {
  start({rule(12, "100", customer, {"114"})});
  pbx([](auto& d) { d.offer("c1", "100", customer); });
  pbx([](auto& d) { d.hang_up("c1", "114"); });
  EXPECT_EQ(only_record().outcome, 11);
  EXPECT_EQ(only_record().operator_extension, "");
  runtime_->advance(60s);
  EXPECT_EQ(records_.size(), 1u) << "no ring timeout after the call ended";
  EXPECT_EQ(driver_->deflects.size(), 1u);
}

TEST_F(CallEngine, RecordsAreStoredDurablyAndInOrder) {
  start({rule(12, "100", customer, {"114"})});
  pbx([](auto& d) { d.offer("c1", "100", customer); });
  pbx([](auto& d) { d.answer("c1", "114"); });
  pbx([](auto& d) { d.offer("c2", "100", ""); });
  pbx([](auto& d) { d.answer("c2", "118"); });
  runtime_->stop();
  auto session = core::StorageSession::open(*config_, logs_, "main");
  ASSERT_TRUE(session.ok());
  auto stored = (*session)->call<std::vector<sdk::CallRecord>>([](sdk::Storage& s, auto done) { s.read_calls(0, 10, done); });
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 2u);
  EXPECT_EQ((*stored)[0].outcome, 1);
  EXPECT_EQ((*stored)[1].outcome, 8);
  EXPECT_LT((*stored)[0].sequence, (*stored)[1].sequence);
}

// The alert rules: a lost PBX link raises pbx_link_down through the alert actions, its return pbx_link_up;
// a flapping link is coalesced to one notification per interval.
class LinkAlerts : public ::testing::Test {
 protected:
  void SetUp() override {
    sdk::Diagnostics diag;
    auto root = core::parse_yaml("logging: {level: info}\n"
                                 "alerting: {min_interval: 60s}\n"
                                 "drivers: {pbx: {type: scripted}}\n"
                                 "alerts: {ops: {type: log}}\n",
                                 "alerts.yaml", diag);
    config_ = core::validate_config(root, "alerts.yaml", registry(), diag);
    ASSERT_TRUE(config_);
    logs_.add_sink(std::make_shared<spdlog::sinks::ostream_sink_mt>(captured_));
    logs_.configure(config_->host.object("logging"));
    runtime_ = std::make_unique<core::Runtime>(*config_, logs_, core::ClockMode::virtual_time, sdk::TimePoint{});
    ASSERT_TRUE(runtime_->start().ok());
    driver_ = static_cast<scripted::ScriptedDriver*>(runtime_->find(sdk::Category::driver, "pbx"));
    strand_ = runtime_->find_ref(sdk::Category::driver, "pbx").strand;
    runtime_->run_ready();
  }
  void link(bool up) {
    sdk::asio::post(*strand_, [this, up] { driver_->link(up, up ? "reconnected" : "3 heartbeats unanswered"); });
    runtime_->run_ready();
  }
  int count(const std::string& text) {
    logs_.flush();
    std::string all = captured_.str();
    int n = 0;
    for (auto pos = all.find(text); pos != std::string::npos; pos = all.find(text, pos + 1)) ++n;
    return n;
  }

  core::LogSetup logs_;
  std::ostringstream captured_;
  std::optional<core::HostConfig> config_;
  std::unique_ptr<core::Runtime> runtime_;
  scripted::ScriptedDriver* driver_ = nullptr;
  sdk::Strand* strand_ = nullptr;
};

TEST_F(LinkAlerts, ALostLinkFiresAtOnceAndItsReturnResolvesIt) {
  EXPECT_EQ(count("alert fired rule=pbx_link_down"), 0) << "the link coming up at start is no alert";
  link(false);
  EXPECT_EQ(count("alert fired rule=pbx_link_down severity=critical key=link:pbx"), 1);
  runtime_->advance(61s);
  link(true);
  EXPECT_EQ(count("alert resolved rule=pbx_link_up"), 1);
}

TEST_F(LinkAlerts, AFlappingLinkIsCoalesced) {
  link(false);
  for (int i = 0; i < 5; ++i) {
    runtime_->advance(1s);
    link(true);
    runtime_->advance(1s);
    link(false);
  }
  EXPECT_EQ(count("rule=pbx_link_down"), 1) << "down at the end of the interval as at its start: nothing new";
  EXPECT_EQ(count("rule=pbx_link_up"), 0);
  link(true);
  runtime_->advance(60s);
  EXPECT_EQ(count("alert resolved rule=pbx_link_up"), 1) << "up at the end of the interval: sent then";
}

TEST_F(LinkAlerts, StoppingTheHostIsNoOutage) {
  runtime_->stop();
  EXPECT_EQ(count("rule=pbx_link_down"), 0);
}
