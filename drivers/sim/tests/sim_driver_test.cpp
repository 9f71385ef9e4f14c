#include "sim_driver.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>

#include "switchboard/sdk/routing.hpp"
#include "switchboard/sdk/testing/conformance.hpp"

namespace sdk = switchboard::sdk;
using sdk::ConfigNode;
using switchboard::drivers::SimDriver;
using namespace std::chrono_literals;

namespace {

sdk::FactoryFor<SimDriver> factory("sim", "test");

using Keys = std::vector<std::pair<std::string, ConfigNode>>;

// One project, operators who always answer after 3s and talk 10s, patient callers, and exactly one call
// within the first minute or so; each test overrides what it is about.
ConfigNode config(const Keys& overrides = {}) {
  std::map<std::string, ConfigNode> keys{
      {"projects", ConfigNode::list({"100"})},
      {"calls_per_minute", "60"},
      {"max_calls", "1"},
      {"known_callers", "0"},
      {"withheld_callers", "0"},
      {"offline_operators", "0"},
      {"answer_probability", "1"},
      {"answer_delay_min", "3s"},
      {"answer_delay_max", "3s"},
      {"talk_time_min", "10s"},
      {"talk_time_max", "10s"},
      {"abandon_min", "10m"},
      {"abandon_max", "10m"},
  };
  for (const auto& [key, value] : overrides) keys[key] = value;
  std::vector<ConfigNode::Entry> entries;
  for (const auto& [key, value] : keys) entries.push_back({key, {}, value});
  return ConfigNode::map(std::move(entries));
}

std::string to_text(const sdk::Event& event) {
  if (const auto* c = std::get_if<sdk::CallEvent>(&event))
    return "call " + std::to_string(static_cast<int>(c->type)) + " " + c->connection.call_id + "@" +
           c->connection.device + " calling=" + c->calling + " called=" + c->called + " other=" + c->other_device +
           " cause=" + c->cause + " state=" + std::to_string(static_cast<int>(c->local_state)) +
           " at=" + std::to_string(c->at.time_since_epoch().count());
  if (const auto* d = std::get_if<sdk::DeviceEvent>(&event))
    return "device " + d->device + " " + std::to_string(static_cast<int>(d->state)) +
           " at=" + std::to_string(d->at.time_since_epoch().count());
  const auto& l = std::get<sdk::LinkEvent>(event);
  return std::string("link ") + (l.up ? "up" : "down");
}

// The driver on a FakeContext, with the engine's side of the conversation.
struct Sim {
  explicit Sim(const ConfigNode& cfg, std::string name = "sim-a") : ctx(std::move(name), sdk::Category::driver) {
    driver = std::make_unique<SimDriver>(ctx, sdk::testing::settings_for(factory, cfg));
  }

  void start(std::vector<std::string> devices = {"100", "114", "115"}) {
    sdk::Status started = sdk::make_error(sdk::ErrorCode::failed, "start did not complete");
    driver->start([&](sdk::Status s) { started = s; });
    ctx.run();
    ASSERT_TRUE(started.ok()) << started.error().message;
    sdk::Status monitored = sdk::make_error(sdk::ErrorCode::failed, "monitor did not complete");
    driver->monitor(std::move(devices), [&](sdk::Status s) { monitored = s; });
    ctx.run();
    ASSERT_TRUE(monitored.ok()) << monitored.error().message;
  }

  // Events published from `from` on (an index into published()).
  std::vector<sdk::CallEvent> calls(std::size_t from = 0) const {
    std::vector<sdk::CallEvent> out;
    for (std::size_t i = from; i < ctx.published().size(); ++i)
      if (auto* c = std::get_if<sdk::CallEvent>(&ctx.published()[i])) out.push_back(*c);
    return out;
  }
  std::vector<sdk::DeviceEvent> devices(std::size_t from = 0) const {
    std::vector<sdk::DeviceEvent> out;
    for (std::size_t i = from; i < ctx.published().size(); ++i)
      if (auto* d = std::get_if<sdk::DeviceEvent>(&ctx.published()[i])) out.push_back(*d);
    return out;
  }
  std::size_t mark() const { return ctx.published().size(); }

  // The delivered event of the next new call not yet returned, moving the clock second by second for it.
  sdk::CallEvent next_call() {
    for (int second = 0; second <= 3600; ++second) {
      for (; scanned < ctx.published().size(); ++scanned) {
        const auto* c = std::get_if<sdk::CallEvent>(&ctx.published()[scanned]);
        if (c && c->type == sdk::CallEventType::delivered && c->cause == "new_call") {
          ++scanned;
          return *c;
        }
      }
      ctx.advance(1s);
    }
    ADD_FAILURE() << "no call arrived within an hour";
    return {};
  }

  sdk::Status deflect(const std::string& call_id, const std::string& from, const std::string& to) {
    sdk::Status result = sdk::make_error(sdk::ErrorCode::failed, "deflect did not complete");
    int completions = 0;
    driver->deflect({call_id, from}, to, [&](sdk::Status s) {
      result = s;
      ++completions;
    });
    ctx.run();
    EXPECT_EQ(completions, 1);
    return result;
  }

  sdk::testing::FakeContext ctx;
  std::unique_ptr<SimDriver> driver;
  std::size_t scanned = 0;  // published() events next_call() has looked at
};

sdk::ErrorCode code_of(const sdk::Status& status) { return status.ok() ? sdk::ErrorCode::failed : status.error().code; }

// ----- fakes of the instances the driver reads ------------------------------------------------------

class FakeStorage final : public sdk::Storage {
 public:
  FakeStorage(sdk::Strand& strand, std::vector<sdk::Rule> rules) : strand_(strand), rules_(std::move(rules)) {}

  void list_rules(std::optional<std::string> project, sdk::ResultCallback<std::vector<sdk::Rule>> done) override {
    called_on_own_strand = strand_.running_in_this_thread();
    ++list_calls;
    if (hold_answer) {
      held = std::move(done);
      return;
    }
    // Answers later on its own strand, as a storage that offloads its SQL does.
    sdk::asio::post(strand_, [this, done = std::move(done)] {
      done(rules_);
      if (after_answer) after_answer();
    });
  }
  void answer_held() { held(rules_); }

  bool called_on_own_strand = false;
  int list_calls = 0;
  bool hold_answer = false;
  sdk::ResultCallback<std::vector<sdk::Rule>> held;
  std::function<void()> after_answer;

  // Not needed by the driver.
  void start(sdk::Completion done) override { done({}); }
  void stop(sdk::Completion done) override { done({}); }
  void load_rule_keys(sdk::ResultCallback<std::vector<sdk::RuleKeys>> done) override { done(no()); }
  void get_rules(std::vector<std::int64_t>, sdk::ResultCallback<std::vector<sdk::Rule>> done) override { done(no()); }
  void search_rules(sdk::RuleQuery, sdk::ResultCallback<std::vector<sdk::Rule>> done) override { done(no()); }
  void write_rules(sdk::RuleWrite, sdk::ResultCallback<sdk::RuleWriteSummary> done) override { done(no()); }
  void delete_rule(std::int64_t, sdk::Completion done) override { done(no()); }
  void add_note(sdk::Note, sdk::ResultCallback<sdk::Note> done) override { done(no()); }
  void notes_for(std::int64_t, sdk::ResultCallback<std::vector<sdk::Note>> done) override { done(no()); }
  void list_notes(std::optional<std::string>, sdk::ResultCallback<std::vector<sdk::Note>> done) override { done(no()); }
  void append_calls(std::vector<sdk::CallRecord>, sdk::ResultCallback<std::vector<sdk::CallRecord>> done) override {
    done(no());
  }
  void read_calls(std::uint64_t, std::size_t, sdk::ResultCallback<std::vector<sdk::CallRecord>> done) override {
    done(no());
  }
  void delete_calls_through(std::uint64_t, sdk::ResultCallback<std::uint64_t> done) override { done(no()); }
  void load_agents(sdk::ResultCallback<std::vector<sdk::Agent>> done) override { done(no()); }
  void save_agent(sdk::Agent, sdk::ResultCallback<sdk::Agent> done) override { done(no()); }
  void remove_agent(std::string, sdk::Completion done) override { done(no()); }
  void load_groups(sdk::ResultCallback<std::vector<sdk::SaGroup>> done) override { done(no()); }
  void save_group(sdk::SaGroup, sdk::Completion done) override { done(no()); }
  void add_missed(sdk::MissedCall, sdk::ResultCallback<sdk::MissedCall> done) override { done(no()); }
  void list_missed(std::optional<std::string>, sdk::ResultCallback<std::vector<sdk::MissedCall>> done) override {
    done(no());
  }
  void mark_missed_done(std::int64_t, sdk::Completion done) override { done(no()); }
  void append_audit(std::vector<sdk::AuditRecord>, sdk::Completion done) override { done(no()); }

 private:
  static sdk::Error no() { return sdk::make_error(sdk::ErrorCode::not_supported, "not in this fake"); }
  sdk::Strand& strand_;
  std::vector<sdk::Rule> rules_;
};

sdk::Rule rule(std::string project, std::array<std::string, 3> callers) {
  sdk::Rule r;
  r.project = std::move(project);
  r.callers = std::move(callers);
  return r;
}

class FakeRouting final : public sdk::RoutingStrategy {
 public:
  explicit FakeRouting(std::vector<std::string> numbers) : numbers_(std::move(numbers)) {}
  void start(sdk::Completion done) override { done({}); }
  void stop(sdk::Completion done) override { done({}); }
  std::vector<std::string> numbers() const override { return numbers_; }
  std::vector<std::string> devices() const override { return {}; }
  sdk::RoutingDecision decide(const sdk::RoutingRequest&, const sdk::DeviceView&) override { return {}; }

 private:
  std::vector<std::string> numbers_;
};

}  // namespace

// ----- configuration and lifecycle ---------------------------------------------------------------------

TEST(SimDriver, PassesTheConfigConformance) { sdk::testing::expect_config_conformance(factory, ConfigNode::map({})); }

TEST(SimDriver, PassesTheLifecycleConformance) {
  // With projects, calls are scheduled from start, so the check for timers left after stop has one to find.
  sdk::testing::expect_lifecycle_conformance(factory, ConfigNode::map({{"projects", "100;200;"}}));
}

TEST(SimDriver, RejectsSettingsThatContradictEachOther) {
  sdk::Diagnostics diag;
  auto cfg = config({{"speed", "0"}, {"known_callers", "0.9"}, {"withheld_callers", "0.2"},
                     {"talk_time_min", "5m"}, {"talk_time_max", "1m"}});
  auto settings = sdk::apply_schema(factory.schema(), cfg, "drivers.pbx.config", diag);
  ASSERT_TRUE(settings);
  factory.validate(*settings, diag);
  std::vector<std::string> paths;
  for (const auto& e : diag.errors()) paths.push_back(e.path + ": " + e.message);
  EXPECT_EQ(paths, (std::vector<std::string>{
                       "drivers.pbx.config.speed: must be greater than 0",
                       "drivers.pbx.config.withheld_callers: known_callers + withheld_callers must not exceed 1",
                       "drivers.pbx.config.talk_time_min: must not exceed talk_time_max",
                   }));
}

TEST(SimDriver, StartPublishesLinkUpThenTheDevicesMonitoredBeforeIt) {
  Sim sim(config());
  sim.driver->monitor({"100", "114", "115", "114"}, [](sdk::Status s) { EXPECT_TRUE(s.ok()); });
  sim.ctx.run();
  EXPECT_TRUE(sim.ctx.published().empty()) << "no events before the link is up";
  sim.driver->start([](sdk::Status s) { EXPECT_TRUE(s.ok()); });
  sim.ctx.run();
  std::vector<std::string> events;
  for (const auto& e : sim.ctx.published()) events.push_back(to_text(e));
  auto at = std::to_string(sim.ctx.clock().now().time_since_epoch().count());
  EXPECT_EQ(events, (std::vector<std::string>{"link up", "device 100 1 at=" + at, "device 114 1 at=" + at,
                                              "device 115 1 at=" + at}));
  EXPECT_EQ(std::get<sdk::LinkEvent>(sim.ctx.published()[0]).driver, "sim-a");
}

TEST(SimDriver, ReportsWhatItCanDoAndRefusesTransfers) {
  Sim sim(config());
  auto caps = sim.driver->capabilities();
  EXPECT_TRUE(caps.deflect && caps.clear_connection && caps.snapshot);
  EXPECT_FALSE(caps.single_step_transfer);
  sim.start();
  auto call = sim.next_call();
  sdk::Status result;
  sim.driver->transfer({call.connection.call_id, "100"}, "114", [&](sdk::Status s) { result = s; });
  EXPECT_EQ(code_of(result), sdk::ErrorCode::not_supported);
}

// ----- calls ---------------------------------------------------------------------------------------------

TEST(SimDriver, ANewCallIsDeliveredAtTheProjectNumber) {
  Sim sim(config());
  sim.start();
  auto call = sim.next_call();
  EXPECT_EQ(call.driver, "sim-a");
  EXPECT_EQ(call.connection.call_id, "sim-1");
  EXPECT_EQ(call.connection.device, "100");
  EXPECT_EQ(call.called, "100");
  EXPECT_EQ(call.other_device, "100");
  EXPECT_EQ(call.local_state, sdk::ConnectionState::alerting);
  EXPECT_LE(call.at, sim.ctx.clock().now());
  EXPECT_GT(call.at, sim.ctx.clock().now() - 1s) << "stamped when it arrived, within the last step";
  // An unknown caller: a Czech mobile behind the exit code 0.
  ASSERT_EQ(call.calling.size(), 10u) << call.calling;
  EXPECT_EQ(call.calling.substr(0, 1), "0");
  EXPECT_TRUE(call.calling[1] == '6' || call.calling[1] == '7') << call.calling;
  EXPECT_TRUE(sim.ctx.logger().contains("call delivered call=sim-1 device=100"));
}

TEST(SimDriver, DeflectToAnIdleOperatorDivertsAndRingsThere) {
  Sim sim(config());
  sim.start();
  auto call = sim.next_call();
  auto from = sim.mark();
  ASSERT_TRUE(sim.deflect("sim-1", "100", "114").ok());

  auto calls = sim.calls(from);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].type, sdk::CallEventType::diverted);
  EXPECT_EQ(calls[0].connection.device, "100");
  EXPECT_EQ(calls[0].other_device, "114");
  EXPECT_EQ(calls[1].type, sdk::CallEventType::delivered);
  EXPECT_EQ(calls[1].connection.call_id, "sim-1");
  EXPECT_EQ(calls[1].connection.device, "114");
  EXPECT_EQ(calls[1].calling, call.calling);
  EXPECT_EQ(calls[1].called, "100");
  EXPECT_EQ(calls[1].other_device, "114");
  EXPECT_EQ(calls[1].cause, "redirected");
  EXPECT_EQ(calls[1].local_state, sdk::ConnectionState::alerting);
  auto devices = sim.devices(from);
  ASSERT_EQ(devices.size(), 1u) << "the project number holds calls without changing state";
  EXPECT_EQ(devices[0].device, "114");
  EXPECT_EQ(devices[0].state, sdk::DeviceState::ringing);
}

TEST(SimDriver, RefusesDeflectsThatCannotBeCarriedOut) {
  Sim sim(config({{"calls_per_minute", "600"}, {"max_calls", "2"}}));
  sim.start({"100", "114", "115"});
  sim.next_call();
  sim.next_call();
  ASSERT_TRUE(sim.deflect("sim-1", "100", "114").ok());

  auto from = sim.mark();
  EXPECT_EQ(code_of(sim.deflect("sim-2", "100", "114")), sdk::ErrorCode::busy) << "114 is ringing";
  EXPECT_EQ(code_of(sim.deflect("sim-2", "100", "999")), sdk::ErrorCode::unavailable) << "no such extension";
  EXPECT_EQ(code_of(sim.deflect("sim-2", "115", "114")), sdk::ErrorCode::refused) << "sim-2 alerts at 100";
  EXPECT_EQ(code_of(sim.deflect("sim-1", "100", "115")), sdk::ErrorCode::refused) << "sim-1 has left 100";
  EXPECT_EQ(code_of(sim.deflect("sim-9", "100", "115")), sdk::ErrorCode::refused) << "no such call";
  sim.ctx.advance(3s);  // 114 answers
  EXPECT_EQ(code_of(sim.deflect("sim-2", "100", "114")), sdk::ErrorCode::busy) << "114 is talking";
  EXPECT_EQ(code_of(sim.deflect("sim-1", "114", "115")), sdk::ErrorCode::refused) << "sim-1 is answered";
  for (const auto& c : sim.calls(from))
    EXPECT_NE(c.type, sdk::CallEventType::diverted) << "a refused deflect moved a call";
}

TEST(SimDriver, ADeflectToALoggedOutOperatorIsUnavailable) {
  Sim sim(config({{"offline_operators", "0.5"}}));
  sim.start({"100", "114", "115", "116", "117"});
  std::vector<std::string> offline;
  for (const auto& d : sim.devices())
    if (d.state == sdk::DeviceState::offline) offline.push_back(d.device);
  ASSERT_EQ(offline.size(), 2u) << "half of four operators";
  sim.next_call();
  EXPECT_EQ(code_of(sim.deflect("sim-1", "100", offline[0])), sdk::ErrorCode::unavailable);
}

TEST(SimDriver, AnOperatorAnswersAndTheCallClearsAfterTheTalkTime) {
  Sim sim(config());
  sim.start();
  sim.next_call();
  ASSERT_TRUE(sim.deflect("sim-1", "100", "114").ok());
  auto deflected_at = sim.ctx.clock().now();

  auto from = sim.mark();
  sim.ctx.advance(3s);
  auto calls = sim.calls(from);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].type, sdk::CallEventType::established);
  EXPECT_EQ(calls[0].connection.device, "114");
  EXPECT_EQ(calls[0].other_device, "114");
  EXPECT_EQ(calls[0].local_state, sdk::ConnectionState::connected);
  EXPECT_EQ(calls[0].at, deflected_at + 3s);
  auto devices = sim.devices(from);
  ASSERT_EQ(devices.size(), 1u);
  EXPECT_EQ(devices[0].state, sdk::DeviceState::busy);

  from = sim.mark();
  sim.ctx.advance(10s);
  calls = sim.calls(from);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].type, sdk::CallEventType::cleared);
  EXPECT_EQ(calls[0].connection.device, "114");
  EXPECT_EQ(calls[0].other_device, "114");
  EXPECT_EQ(calls[0].cause, "normal_clearing");
  EXPECT_EQ(calls[0].at, deflected_at + 13s);
  devices = sim.devices(from);
  ASSERT_EQ(devices.size(), 1u);
  EXPECT_EQ(devices[0].device, "114");
  EXPECT_EQ(devices[0].state, sdk::DeviceState::idle);
}

TEST(SimDriver, ACallNobodyAnswersStaysAlertingForTheNextDeflect) {
  Sim sim(config({{"answer_probability", "0"}}));
  sim.start();
  sim.next_call();
  ASSERT_TRUE(sim.deflect("sim-1", "100", "114").ok());
  auto from = sim.mark();
  sim.ctx.advance(2min);
  EXPECT_TRUE(sim.calls(from).empty()) << "114 never answers and the caller is patient";

  ASSERT_TRUE(sim.deflect("sim-1", "114", "115").ok());
  auto calls = sim.calls(from);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].type, sdk::CallEventType::diverted);
  EXPECT_EQ(calls[0].connection.device, "114");
  EXPECT_EQ(calls[1].type, sdk::CallEventType::delivered);
  EXPECT_EQ(calls[1].connection.device, "115");
  EXPECT_EQ(calls[1].called, "100") << "still the number the caller dialled";
  EXPECT_EQ(calls[1].redirecting, "114");
  auto devices = sim.devices(from);
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_EQ(devices[0].device, "114");
  EXPECT_EQ(devices[0].state, sdk::DeviceState::idle);
  EXPECT_EQ(devices[1].device, "115");
  EXPECT_EQ(devices[1].state, sdk::DeviceState::ringing);
}

TEST(SimDriver, ACallerHangsUpWhileRinging) {
  Sim sim(config({{"answer_probability", "0"}, {"abandon_min", "20s"}, {"abandon_max", "20s"}}));
  sim.start();
  auto call = sim.next_call();
  auto arrived = call.at;
  ASSERT_TRUE(sim.deflect("sim-1", "100", "114").ok());
  auto from = sim.mark();
  sim.ctx.advance(20s);
  auto calls = sim.calls(from);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].type, sdk::CallEventType::cleared);
  EXPECT_EQ(calls[0].connection.device, "114");
  EXPECT_EQ(calls[0].other_device, call.calling) << "the caller released";
  EXPECT_EQ(calls[0].cause, "normal_clearing");
  EXPECT_EQ(calls[0].at, arrived + 20s) << "patience counts from the arrival";
  auto devices = sim.devices(from);
  ASSERT_EQ(devices.size(), 1u);
  EXPECT_EQ(devices[0].state, sdk::DeviceState::idle);
}

TEST(SimDriver, AWithheldCallerReleasesAsCaller) {
  Sim sim(config({{"withheld_callers", "1"}, {"abandon_min", "20s"}, {"abandon_max", "20s"}}));
  sim.start();
  auto call = sim.next_call();
  EXPECT_EQ(call.calling, "");
  auto from = sim.mark();
  sim.ctx.advance(20s);
  auto calls = sim.calls(from);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].connection.device, "100");
  EXPECT_EQ(calls[0].other_device, "caller");
}

TEST(SimDriver, ClearEndsACallWhereItIs) {
  Sim sim(config());
  sim.start();
  sim.next_call();
  sdk::Status wrong;
  sim.driver->clear({"sim-1", "114"}, [&](sdk::Status s) { wrong = s; });
  EXPECT_EQ(code_of(wrong), sdk::ErrorCode::refused);

  auto from = sim.mark();
  sdk::Status result = sdk::make_error(sdk::ErrorCode::failed, "clear did not complete");
  sim.driver->clear({"sim-1", "100"}, [&](sdk::Status s) { result = s; });
  ASSERT_TRUE(result.ok());
  auto calls = sim.calls(from);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].type, sdk::CallEventType::cleared);
  EXPECT_EQ(calls[0].other_device, "100");
  sim.ctx.advance(1h);
  EXPECT_EQ(sim.calls(from).size(), 1u) << "a cleared call's timers are gone";
}

TEST(SimDriver, SnapshotShowsTheDeviceStateAndItsCall) {
  Sim sim(config());
  sim.start();
  sim.next_call();
  ASSERT_TRUE(sim.deflect("sim-1", "100", "114").ok());
  std::optional<sdk::Result<sdk::DeviceSnapshot>> snap;
  sim.driver->snapshot("114", [&](sdk::Result<sdk::DeviceSnapshot> r) { snap.emplace(std::move(r)); });
  ASSERT_TRUE(snap && snap->ok());
  EXPECT_EQ((*snap)->state, sdk::DeviceState::ringing);
  ASSERT_EQ((*snap)->calls.size(), 1u);
  EXPECT_EQ((*snap)->calls[0].call_id, "sim-1");
  EXPECT_EQ((*snap)->states[0], sdk::ConnectionState::alerting);

  sim.driver->snapshot("999", [&](sdk::Result<sdk::DeviceSnapshot> r) { snap.emplace(std::move(r)); });
  ASSERT_TRUE(snap && !snap->ok());
  EXPECT_EQ(snap->error().code, sdk::ErrorCode::not_found);
}

TEST(SimDriver, SpeedDividesEveryDuration) {
  Sim sim(config({{"speed", "2"}, {"answer_delay_min", "4s"}, {"answer_delay_max", "4s"}}));
  sim.start();
  sim.next_call();
  ASSERT_TRUE(sim.deflect("sim-1", "100", "114").ok());
  auto from = sim.mark();
  sim.ctx.advance(2s);
  auto calls = sim.calls(from);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].type, sdk::CallEventType::established);
}

TEST(SimDriver, MaxCallsStopsArrivals) {
  Sim sim(config({{"calls_per_minute", "120"}, {"max_calls", "3"}, {"abandon_min", "5s"}, {"abandon_max", "5s"}}));
  sim.start();
  sim.ctx.advance(1h);
  int arrivals = 0;
  for (const auto& c : sim.calls())
    if (c.type == sdk::CallEventType::delivered) ++arrivals;
  EXPECT_EQ(arrivals, 3);
  EXPECT_EQ(sim.ctx.pending_timers(), 0u) << "nothing left to schedule";
}

// ----- determinism ---------------------------------------------------------------------------------------

namespace {

// A small engine: each new call goes to the first idle operator; whatever is not answered rings on.
std::vector<std::string> run_busy_morning(std::int64_t seed, bool route_calls) {
  Sim sim(config({{"seed", std::to_string(seed)},
                  {"calls_per_minute", "6"},
                  {"max_calls", "0"},
                  {"withheld_callers", "0.2"},
                  {"answer_probability", "0.7"},
                  {"answer_delay_min", "2s"},
                  {"answer_delay_max", "8s"},
                  {"talk_time_min", "20s"},
                  {"talk_time_max", "90s"},
                  {"abandon_min", "15s"},
                  {"abandon_max", "60s"}}));
  sim.start({"100", "114", "115", "116"});
  std::map<std::string, sdk::DeviceState> states;
  for (const auto& d : sim.devices()) states[d.device] = d.state;
  for (int second = 0; second < 5 * 60; ++second) {
    auto from = sim.mark();
    sim.ctx.advance(1s);
    for (const auto& d : sim.devices(from)) states[d.device] = d.state;
    if (!route_calls) continue;
    for (const auto& c : sim.calls(from)) {
      if (c.type != sdk::CallEventType::delivered || c.cause != "new_call") continue;
      for (const auto& [device, state] : states)
        if (device != "100" && state == sdk::DeviceState::idle) {
          EXPECT_TRUE(sim.deflect(c.connection.call_id, "100", device).ok());
          states[device] = sdk::DeviceState::ringing;
          break;
        }
    }
  }
  std::vector<std::string> events;
  for (const auto& e : sim.ctx.published()) events.push_back(to_text(e));
  return events;
}

std::vector<std::string> arrivals_of(const std::vector<std::string>& events) {
  std::vector<std::string> out;
  for (const auto& e : events)
    if (e.find("cause=new_call") != std::string::npos) out.push_back(e);
  return out;
}

}  // namespace

TEST(SimDriver, TheSameSeedGivesTheSameEventsAndAnotherSeedOthers) {
  auto first = run_busy_morning(7, true);
  auto again = run_busy_morning(7, true);
  auto other = run_busy_morning(8, true);
  ASSERT_GT(first.size(), 40u) << "the run should have some traffic to compare";
  bool answered = std::any_of(first.begin(), first.end(), [](const std::string& e) {
    return e.rfind("call " + std::to_string(static_cast<int>(sdk::CallEventType::established)), 0) == 0;
  });
  EXPECT_TRUE(answered) << "the run should reach operators";
  EXPECT_EQ(first, again);
  EXPECT_NE(first, other);
}

TEST(SimDriver, TheOfferedCallsDoNotDependOnTheRouting) {
  // What-if runs compare strategies on identical traffic.
  auto routed = run_busy_morning(7, true);
  auto left_waiting = run_busy_morning(7, false);
  EXPECT_NE(routed, left_waiting);
  EXPECT_EQ(arrivals_of(routed), arrivals_of(left_waiting));
}

// ----- stop ------------------------------------------------------------------------------------------------

TEST(SimDriver, StopCancelsEveryTimerAndPublishesLinkDownOnce) {
  Sim sim(config({{"calls_per_minute", "60"}, {"max_calls", "0"}}));
  sim.start();
  sim.next_call();
  ASSERT_TRUE(sim.deflect("sim-1", "100", "114").ok());
  ASSERT_GT(sim.ctx.pending_timers(), 0u);

  int stops = 0;
  sim.driver->stop([&](sdk::Status s) {
    EXPECT_TRUE(s.ok());
    ++stops;
  });
  sim.driver->stop([&](sdk::Status s) {
    EXPECT_TRUE(s.ok());
    ++stops;
  });
  sim.ctx.run();
  EXPECT_EQ(stops, 2);
  EXPECT_EQ(sim.ctx.pending_timers(), 0u);
  int downs = 0;
  for (const auto& e : sim.ctx.published())
    if (auto* l = std::get_if<sdk::LinkEvent>(&e); l && !l->up) ++downs;
  EXPECT_EQ(downs, 1);
  ASSERT_TRUE(std::holds_alternative<sdk::LinkEvent>(sim.ctx.published().back()));

  auto from = sim.mark();
  sim.ctx.advance(1h);
  EXPECT_EQ(sim.mark(), from) << "nothing happens after stop";
  EXPECT_EQ(code_of(sim.deflect("sim-1", "114", "115")), sdk::ErrorCode::unavailable);
  EXPECT_TRUE(sim.ctx.logger().contains("stopped calls_offered="));
}

// ----- known callers and projects from other instances ----------------------------------------------

TEST(SimDriver, KnownCallersComeFromTheOnlyStorage) {
  Sim sim(config({{"projects", ConfigNode::list({"100", "200"})},
                  {"known_callers", "1"},
                  {"calls_per_minute", "600"},
                  {"max_calls", "20"}}));
  auto storage_strand = sdk::asio::make_strand(sim.ctx.io_context());
  FakeStorage storage(storage_strand, {rule("200", {"602 123 456", "", ""}), rule("", {"0 777 111 222", "", ""})});
  sim.ctx.add_instance(sdk::Category::storage, "crm", &storage, &storage_strand);
  bool started = false;
  bool started_inside_storage_answer = false;
  storage.after_answer = [&] { started_inside_storage_answer = started; };

  sim.driver->start([&](sdk::Status s) {
    EXPECT_TRUE(s.ok());
    started = true;
  });
  sim.ctx.run();
  ASSERT_TRUE(started);
  EXPECT_TRUE(storage.called_on_own_strand) << "list_rules must run on the storage's strand";
  EXPECT_FALSE(started_inside_storage_answer) << "the answer must be handled on the driver's strand";
  sim.ctx.advance(1h);

  std::map<std::string, std::set<std::string>> projects_by_caller;
  for (const auto& c : sim.calls())
    if (c.cause == "new_call") projects_by_caller[c.calling].insert(c.called);
  EXPECT_EQ(projects_by_caller.size(), 2u) << "only the customers' numbers, spaces removed";
  EXPECT_EQ(projects_by_caller["602123456"], std::set<std::string>{"200"}) << "the rule's project";
  EXPECT_FALSE(projects_by_caller["0777111222"].empty());
}

TEST(SimDriver, TheStorageKeyChoosesAmongSeveral) {
  Sim sim(config({{"storage", "crm"}, {"known_callers", "1"}, {"calls_per_minute", "600"}, {"max_calls", "5"}}));
  FakeStorage archive(sim.ctx.strand(), {rule("", {"111", "", ""})});
  FakeStorage crm(sim.ctx.strand(), {rule("", {"222", "", ""})});
  sim.ctx.add_instance(sdk::Category::storage, "archive", &archive);
  sim.ctx.add_instance(sdk::Category::storage, "crm", &crm);
  sim.start();
  sim.ctx.advance(1h);
  EXPECT_EQ(archive.list_calls, 0);
  std::set<std::string> callers;
  for (const auto& c : sim.calls())
    if (c.cause == "new_call") callers.insert(c.calling);
  EXPECT_EQ(callers, std::set<std::string>{"222"});
}

TEST(SimDriver, WithSeveralStoragesAndNoKeyEveryCallerIsUnknown) {
  Sim sim(config({{"known_callers", "1"}}));
  FakeStorage one(sim.ctx.strand(), {rule("", {"111", "", ""})});
  FakeStorage two(sim.ctx.strand(), {rule("", {"222", "", ""})});
  sim.ctx.add_instance(sdk::Category::storage, "one", &one);
  sim.ctx.add_instance(sdk::Category::storage, "two", &two);
  sim.start();
  auto call = sim.next_call();
  EXPECT_EQ(one.list_calls + two.list_calls, 0);
  EXPECT_EQ(call.calling.size(), 10u) << call.calling;
}

TEST(SimDriver, StopWhileLoadingCallersCancelsTheStartOnce) {
  Sim sim(config());
  FakeStorage storage(sim.ctx.strand(), {rule("", {"111", "", ""})});
  storage.hold_answer = true;
  sim.ctx.add_instance(sdk::Category::storage, "crm", &storage);
  std::vector<sdk::Status> starts;
  sim.driver->start([&](sdk::Status s) { starts.push_back(s); });
  sim.driver->start([&](sdk::Status s) { starts.push_back(s); });
  sim.ctx.run();
  EXPECT_TRUE(starts.empty()) << "start waits for the storage";
  sdk::Status stopped = sdk::make_error(sdk::ErrorCode::failed, "stop did not complete");
  sim.driver->stop([&](sdk::Status s) { stopped = s; });
  EXPECT_TRUE(stopped.ok());
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(code_of(starts[0]), sdk::ErrorCode::cancelled);
  EXPECT_EQ(code_of(starts[1]), sdk::ErrorCode::cancelled);

  storage.answer_held();
  sim.ctx.advance(1h);
  EXPECT_EQ(starts.size(), 2u);
  EXPECT_TRUE(sim.ctx.published().empty()) << "the late answer must not bring the link up";
}

TEST(SimDriver, ProjectsComeFromTheRoutingStrategiesWhenNotConfigured) {
  ConfigNode cfg = config({{"calls_per_minute", "600"}, {"max_calls", "30"}});
  auto& entries = cfg.entries();
  entries.erase(std::remove_if(entries.begin(), entries.end(), [](const auto& e) { return e.key == "projects"; }),
                entries.end());
  Sim sim(cfg);
  FakeRouting sales({"100", "200"});
  FakeRouting support({"200", "300"});
  sim.ctx.add_instance(sdk::Category::routing, "sales", &sales);
  sim.ctx.add_instance(sdk::Category::routing, "support", &support);
  sim.start({"100", "200", "300", "114"});
  sim.ctx.advance(1h);
  std::set<std::string> called;
  for (const auto& c : sim.calls())
    if (c.cause == "new_call") called.insert(c.called);
  EXPECT_EQ(called, (std::set<std::string>{"100", "200", "300"}));
  EXPECT_TRUE(sim.ctx.logger().contains("projects=100,200,300"));
}

// ----- hunt groups -----------------------------------------------------------------------------------------

namespace {

ConfigNode hunt_group_401() {
  return ConfigNode::list(
      {ConfigNode::map({{"number", "401"}, {"members", ConfigNode::list({"114", "115"})}})});
}

sdk::Status set_agent_state(Sim& sim, const std::string& device, const std::string& group, sdk::AgentState state) {
  sdk::Status result = sdk::make_error(sdk::ErrorCode::failed, "set_agent_state did not complete");
  sim.driver->set_agent_state(device, group, state, [&](sdk::Status s) { result = s; });
  sim.ctx.run();
  return result;
}

}  // namespace

TEST(SimDriver, SetsAgentStateAsHuntGroupMembership) {
  Sim sim(config({{"hunt_groups", hunt_group_401()}}));
  EXPECT_TRUE(sim.driver->capabilities().agent_state);
  EXPECT_EQ(code_of(set_agent_state(sim, "114", "401", sdk::AgentState::logged_out)), sdk::ErrorCode::unavailable)
      << "not before start, like every request";
  sim.start({"100", "114", "115", "401"});
  EXPECT_TRUE(set_agent_state(sim, "114", "401", sdk::AgentState::not_ready).ok());
  EXPECT_TRUE(set_agent_state(sim, "115", "401", sdk::AgentState::logged_out).ok());
  EXPECT_EQ(code_of(set_agent_state(sim, "116", "401", sdk::AgentState::ready)), sdk::ErrorCode::not_found);
  EXPECT_TRUE(set_agent_state(sim, "114", "499", sdk::AgentState::ready).ok())
      << "an SA group the PBX does not ring (Switchboard distributes its calls): membership only";

  auto call = sim.next_call();
  EXPECT_EQ(code_of(sim.deflect(call.connection.call_id, "100", "401")), sdk::ErrorCode::busy) << "nobody joined";
  EXPECT_TRUE(set_agent_state(sim, "115", "401", sdk::AgentState::ready).ok());
  EXPECT_TRUE(set_agent_state(sim, "114", "401", sdk::AgentState::logged_in).ok());
  auto mark = sim.mark();
  ASSERT_TRUE(sim.deflect(call.connection.call_id, "100", "401").ok());
  sim.ctx.advance(3s);  // both answer after 3s: 114, rung first, is first
  std::vector<std::string> seen;
  for (const auto& c : sim.calls(mark)) seen.push_back(std::string(sdk::to_string(c.type)) + "@" + c.connection.device);
  EXPECT_EQ(seen, (std::vector<std::string>{"diverted@100", "delivered@114", "delivered@115", "established@114",
                                            "cleared@115"}));
  EXPECT_EQ(sim.devices().back().device, "115");
  EXPECT_EQ(sim.devices().back().state, sdk::DeviceState::idle);
}

TEST(SimDriver, AHuntGroupFollowsTheAgentStateOfTheGroupItServes) {
  // The engine names the SA group (300); the PBX rings its hunt group 390.
  auto groups = ConfigNode::list({ConfigNode::map(
      {{"number", "390"}, {"members", ConfigNode::list({"114", "115"})}, {"group", "300"}})});
  Sim sim(config({{"hunt_groups", groups}}));
  sim.start();
  EXPECT_TRUE(set_agent_state(sim, "114", "300", sdk::AgentState::logged_out).ok());
  EXPECT_TRUE(set_agent_state(sim, "115", "390", sdk::AgentState::logged_out).ok()) << "its own number too";
  auto call = sim.next_call();
  EXPECT_EQ(code_of(sim.deflect(call.connection.call_id, "100", "390")), sdk::ErrorCode::busy);
  EXPECT_TRUE(set_agent_state(sim, "115", "300", sdk::AgentState::logged_in).ok());
  auto mark = sim.mark();
  ASSERT_TRUE(sim.deflect(call.connection.call_id, "100", "390").ok());
  auto calls = sim.calls(mark);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].connection.device, "115");
}

TEST(SimDriver, ScriptedDialsAreOriginatedAtTheOperator) {
  auto dial = ConfigNode::map({{"after", "5s"}, {"from", "114"}, {"number", "401"}});
  Sim sim(config({{"hunt_groups", hunt_group_401()}, {"dials", ConfigNode::list({dial})}, {"max_calls", "0"},
                  {"calls_per_minute", "0"}}));
  sim.start();
  sim.ctx.advance(5s);
  auto calls = sim.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].type, sdk::CallEventType::originated);
  EXPECT_EQ(calls[0].connection.device, "114");
  EXPECT_EQ(calls[0].calling, "114");
  EXPECT_EQ(calls[0].called, "401");
  EXPECT_EQ(calls[0].driver, "sim-a");
  EXPECT_EQ(sim.devices().back().state, sdk::DeviceState::busy);
  // The engine clears the join-code call; the operator is free again.
  sdk::Status cleared;
  sim.driver->clear(calls[0].connection, [&](sdk::Status s) { cleared = s; });
  sim.ctx.run();
  EXPECT_TRUE(cleared.ok());
  EXPECT_EQ(sim.calls().back().type, sdk::CallEventType::cleared);
  EXPECT_EQ(sim.devices().back().state, sdk::DeviceState::idle);
}

TEST(SimDriver, AHuntGroupNumberIsNoProjectAndIsDeclaredOnce) {
  FakeRouting routing({"100", "401"});
  ConfigNode cfg = config({{"hunt_groups", hunt_group_401()}});
  auto& entries = cfg.entries();
  entries.erase(std::remove_if(entries.begin(), entries.end(), [](const auto& e) { return e.key == "projects"; }),
                entries.end());
  Sim sim(cfg);
  sim.ctx.add_instance(sdk::Category::routing, "r", &routing);
  sim.start({"100", "114", "401"});
  EXPECT_TRUE(sim.ctx.logger().contains("project numbers that are hunt groups numbers=401"));
  EXPECT_TRUE(sim.ctx.logger().contains("projects=100 "));
  EXPECT_EQ(sim.devices().back().device, "401");
  EXPECT_EQ(sim.devices().back().state, sdk::DeviceState::idle);

  sdk::Diagnostics diag;
  auto twice = ConfigNode::list({ConfigNode::map({{"number", "401"}, {"members", ConfigNode::list({"114", "114"})}}),
                                 ConfigNode::map({{"number", "401"}, {"members", ConfigNode::list({"115"})}})});
  auto settings = sdk::apply_schema(factory.schema(), config({{"hunt_groups", twice}}), "drivers.pbx.config", diag);
  ASSERT_TRUE(settings);
  factory.validate(*settings, diag);
  std::vector<std::string> paths;
  for (const auto& e : diag.errors()) paths.push_back(e.path + ": " + e.message);
  EXPECT_EQ(paths, (std::vector<std::string>{
                       "drivers.pbx.config.hunt_groups[0].members: '114' is empty, the group itself or given twice",
                       "drivers.pbx.config.hunt_groups[1].number: '401' is already the number of hunt_groups[0]"}));
}
