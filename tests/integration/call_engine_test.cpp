// The call engine end to end with real plugins: the SQLite storage, the project_rules strategy and a
// scripted PBX driver, in virtual time. Every outcome code the engine writes and every way of moving on.
#include <gtest/gtest.h>
#include <time.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <spdlog/sinks/ostream_sink.h>

#include "../plugins/scripted_driver.hpp"
#include "real_plugins.hpp"
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
    std::ostringstream routing;
    routing << "routing:\n"
               "  projects:\n"
               "    type: project_rules\n"
               "    config:\n"
               "      storage: main\n"
               "      projects: [{number: \"100\", operators: \"116;117;\"}]\n"
               "      all_projects_operators: [\"118\"]\n"
               "      busy_target: {number: \"190\", active: "
            << (busy_target_active ? "true" : "false")
            << "}\n"
               "      ring_timeout: 20s\n";
    start_with(routing.str(), std::move(rules));
  }

  // `routing` is the configuration's routing section; the storage `main` and the scripted driver `pbx` exist.
  void start_with(const std::string& routing, std::vector<sdk::Rule> rules = {}) {
    std::ostringstream yaml;
    yaml << "logging: {level: warn}\n"
            "numbers: {region: CZ, pbx_exit_code: \"0\", internal_max_digits: 4}\n"
            "command_log: \""
         << (dir_ / "LOG_SA.TXT").string()
         << "\"\n"
            "control: {socket: \"\"}\n"
            "storage: {main: {type: soci, config: {connection: \"sqlite3://"
         << (dir_ / "db.sqlite").string() << "\"}}}\n"
         << routing << "drivers: {pbx: {type: scripted}}\n";
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

// Virtual time runs blocking work itself (no pool thread to wake per call-log append): queued, then run on the
// thread driving the clock, in order, once no handler is ready; work a completion queues runs in the same
// pass; its CPU time is kept apart for the benchmarks.
TEST_F(CallEngine, VirtualTimeRunsBlockingWorkOnTheClocksThreadInOrderWithItsCpuKeptApart) {
  start({});
  std::vector<int> order;
  std::set<std::thread::id> threads;
  const auto cpu_before = runtime_->blocking_cpu();
  for (int i = 0; i < 3; ++i)
    runtime_->run_blocking([&, i] {
      order.push_back(i);
      threads.insert(std::this_thread::get_id());
      if (i != 1) return;
      // About 30 ms of CPU, then a completion on the engine's strand that queues more blocking work.
      timespec start{}, now{};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
      do clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
      while ((now.tv_sec - start.tv_sec) * 1'000'000'000L + (now.tv_nsec - start.tv_nsec) < 30'000'000L);
      sdk::asio::post(runtime_->engine_strand(), [&] { runtime_->run_blocking([&] { order.push_back(3); }); });
    });
  EXPECT_TRUE(order.empty()) << "blocking work is queued, not run by run_blocking itself";
  runtime_->run_ready();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(threads, (std::set<std::thread::id>{std::this_thread::get_id()}));
  EXPECT_GE(runtime_->blocking_cpu() - cpu_before, std::chrono::milliseconds(30));
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

// ----- SA groups (the sa_group strategy with the engine) -------------------------------------------------

const std::string sa_routing = R"(routing:
  projects:
    type: project_rules
    config:
      storage: main
      projects: [{number: "100", operators: "116;", unanswered: {action: notify, agent: "120", after: 30s}}]
  groups:
    type: sa_group
    config:
      storage: main
      groups:
        - {number: "300", name: Support, capacity: 1, members: "101;102;", wrapup: 5s, ring_timeout: 15s}
        - {number: "400", name: Sales, members: "103;", unanswered: {action: clear, after: 20s}}
)";

std::vector<std::string> lines_of(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST_F(CallEngine, TwoStrategiesSideBySideInOneConfig) {
  start_with(sa_routing, {rule(12, "100", customer, {"114"}), rule(13, "", "+420777000111", {})});
  pbx([](auto& d) { d.offer("c1", "100", customer); });
  pbx([](auto& d) { d.offer("c2", "300", "0777000111"); });
  EXPECT_EQ(deflected_to(), (std::vector<std::string>{"114", "101"}));
  pbx([](auto& d) { d.answer("c1", "114"); });
  pbx([](auto& d) { d.answer("c2", "101"); });
  ASSERT_EQ(records_.size(), 2u);
  EXPECT_EQ(records_[0].outcome, 1);
  EXPECT_EQ(records_[0].strategy, "projects");
  EXPECT_EQ(records_[1].outcome, 20) << "answered by a group member";
  EXPECT_EQ(records_[1].strategy, "groups");
  EXPECT_EQ(records_[1].customer_id, 13) << "screen pop from the lookup-only rule";
}

TEST_F(CallEngine, WaitingCallsAreServedFirstInFirstOutAndTheNextOverflows) {
  start_with(sa_routing);
  pbx([](auto& d) { d.set_state("101", sdk::DeviceState::busy); });
  pbx([](auto& d) { d.set_state("102", sdk::DeviceState::busy); });
  pbx([](auto& d) { d.offer("c1", "300", "0777000001"); });
  EXPECT_TRUE(driver_->deflects.empty()) << "c1 waits: capacity 1";
  pbx([](auto& d) { d.offer("c2", "300", "0777000002"); });
  ASSERT_EQ(records_.size(), 1u) << "capacity + 1: overflow, which clears";
  EXPECT_EQ(records_[0].call_id, "c2");
  EXPECT_EQ(records_[0].outcome, 22);
  ASSERT_EQ(driver_->clears.size(), 1u);
  EXPECT_EQ(driver_->clears[0].call_id, "c2");
  pbx([](auto& d) { d.set_state("102", sdk::DeviceState::idle); });
  EXPECT_EQ(deflected_to(), (std::vector<std::string>{"102"})) << "a member free: the waiting call goes at once";
  EXPECT_EQ(driver_->deflects[0].call_id, "c1");
  pbx([](auto& d) { d.answer("c1", "102"); });
  EXPECT_EQ(records_.back().outcome, 20);
  EXPECT_NE(std::find(records_.back().reasons.begin(), records_.back().reasons.end(), "waited 0s in the queue"),
            records_.back().reasons.end());
}

TEST_F(CallEngine, WrapUpIsRespectedAndItsEndIsNoticedWithoutADeviceChange) {
  start_with(sa_routing);
  pbx([](auto& d) { d.set_state("102", sdk::DeviceState::busy); });
  pbx([](auto& d) { d.offer("c1", "300", "0777000001"); });
  pbx([](auto& d) { d.answer("c1", "101"); });
  pbx([](auto& d) { d.hang_up("c1", "101"); });
  pbx([](auto& d) { d.set_state("101", sdk::DeviceState::idle); });
  pbx([](auto& d) { d.offer("c2", "300", "0777000002"); });
  EXPECT_EQ(deflected_to(), (std::vector<std::string>{"101"})) << "101 in wrap-up: c2 waits";
  runtime_->advance(4s);
  EXPECT_EQ(deflected_to().size(), 1u);
  runtime_->advance(2s);
  EXPECT_EQ(deflected_to(), (std::vector<std::string>{"101", "101"})) << "wrap-up over: the periodic recheck";
}

TEST_F(CallEngine, AMemberDiallingTheCodesLeavesAndJoinsThroughThePbxAndTheCommandLog) {
  start_with(sa_routing);
  pbx([](auto& d) { d.dial("d1", "101", "402"); });
  ASSERT_EQ(driver_->clears.size(), 1u) << "the dial-code call is cleared";
  EXPECT_EQ(driver_->clears[0].call_id, "d1");
  EXPECT_EQ(driver_->agent_states, (std::vector<std::string>{"101 300 out"}));
  pbx([](auto& d) { d.offer("c1", "300", "0777000001"); });
  EXPECT_EQ(deflected_to(), (std::vector<std::string>{"102"})) << "101 left";
  driver_->refuse_agent_state = true;
  pbx([](auto& d) { d.dial("d2", "101", "401"); });
  EXPECT_EQ(driver_->agent_states, (std::vector<std::string>{"101 300 out", "101 300 in"}));
  auto log = lines_of(dir_ / "LOG_SA.TXT");
  ASSERT_EQ(log.size(), 2u);
  EXPECT_NE(log[0].find(";pbx;dial code 402;set_agent_state device=101 group=300 state=logged_out;ok;"),
            std::string::npos) << log[0];
  EXPECT_NE(log[1].find(";set_agent_state device=101 group=300 state=logged_in;error: scripted refusal;"),
            std::string::npos) << log[1];
}

TEST_F(CallEngine, JoiningFromTheHostAndRefusingANonMember) {
  start_with(sa_routing);
  runtime_->on_engine([this] {
    EXPECT_TRUE(runtime_->engine()->set_membership("103", false, "cli").ok());
    auto refused = runtime_->engine()->set_membership("199", true, "cli");
    EXPECT_FALSE(refused.ok());
    EXPECT_NE(refused.error().message.find("199 is no member"), std::string::npos);
    auto status = runtime_->engine()->group_status();
    ASSERT_EQ(status.size(), 2u);
    EXPECT_EQ(status[1].number, "400");
    ASSERT_EQ(status[1].members.size(), 1u);
    EXPECT_FALSE(status[1].members[0].joined);
  });
  runtime_->run_ready();
  EXPECT_EQ(driver_->agent_states, (std::vector<std::string>{"103 400 out"}));
}

TEST_F(CallEngine, AMemberLeavingWhileACallRingsThereKeepsItUntilTheRingTimeoutMovesItOn) {
  start_with(sa_routing);
  pbx([](auto& d) { d.offer("c1", "300", "0777000001"); });
  EXPECT_EQ(deflected_to(), (std::vector<std::string>{"101"}));
  runtime_->on_engine([this] { EXPECT_TRUE(runtime_->engine()->set_membership("101", false, "cli").ok()); });
  runtime_->run_ready();
  EXPECT_TRUE(driver_->clears.empty()) << "the ringing call stays";
  runtime_->advance(14s);
  EXPECT_EQ(deflected_to().size(), 1u);
  runtime_->advance(2s);
  EXPECT_EQ(deflected_to(), (std::vector<std::string>{"101", "102"})) << "the group's 15s ring timeout, then 102";
  pbx([](auto& d) { d.offer("c2", "300", "0777000002"); });
  EXPECT_EQ(deflected_to().size(), 2u) << "101 left and 102 rings: c2 waits, 101 is not offered";
  pbx([](auto& d) { d.answer("c1", "102"); });
  EXPECT_EQ(records_.back().outcome, 20);
  EXPECT_NE(std::find(records_.back().reasons.begin(), records_.back().reasons.end(), "101 did not answer within 15s"),
            records_.back().reasons.end());
}

TEST_F(CallEngine, UnansweredCallsGoOnTheAgentsListOrAreEnded) {
  start_with(sa_routing);
  pbx([](auto& d) { d.set_state("116", sdk::DeviceState::busy); });
  pbx([](auto& d) { d.offer("c1", "100", customer); });
  EXPECT_EQ(records_.size(), 1u) << "nobody free in project 100: outcome 9";
  EXPECT_EQ(records_[0].outcome, 9);
  pbx([](auto& d) { d.offer("c2", "400", "0777000002"); });
  EXPECT_EQ(deflected_to(), (std::vector<std::string>{"103"}));
  runtime_->advance(19s);
  EXPECT_EQ(records_.size(), 1u);
  runtime_->advance(2s);
  ASSERT_EQ(records_.size(), 2u);
  EXPECT_EQ(records_[1].outcome, 12) << "ended by the unanswered-call policy";
  ASSERT_FALSE(driver_->clears.empty());
  EXPECT_EQ(driver_->clears.back().call_id, "c2");
  EXPECT_EQ(driver_->clears.back().device, "103") << "cleared where it rings";
  runtime_->stop();
  auto session = core::StorageSession::open(*config_, logs_, "main");
  ASSERT_TRUE(session.ok());
  auto missed = (*session)->call<std::vector<sdk::MissedCall>>(
      [](sdk::Storage& s, auto done) { s.list_missed(std::nullopt, done); });
  ASSERT_TRUE(missed.ok()) << missed.error().message;
  ASSERT_EQ(missed->size(), 1u) << "the project's notify policy, not the group's clear";
  EXPECT_EQ((*missed)[0].agent_extension, "120");
  EXPECT_EQ((*missed)[0].number, "100");
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
