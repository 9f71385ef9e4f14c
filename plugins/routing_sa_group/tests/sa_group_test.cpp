#include "sa_group.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "switchboard/sdk/testing/conformance.hpp"

namespace sdk = switchboard::sdk;
namespace fs = std::filesystem;
using sdk::ConfigNode;
using sdk::DeviceState;
using Action = sdk::RoutingDecision::Action;
using switchboard::plugins::SaGroupStrategy;
using namespace std::chrono_literals;

namespace {

sdk::FactoryFor<SaGroupStrategy> factory("sa_group", "test");

// Device states and idle times as a test sets them; a device never set is unknown, as for the engine.
class DeviceStates final : public sdk::DeviceView {
 public:
  DeviceStates& set(const std::string& device, DeviceState state) {
    states_[device] = state;
    return *this;
  }
  DeviceStates& idle_since(const std::string& device, std::chrono::steady_clock::time_point since) {
    states_[device] = DeviceState::idle;
    idle_[device] = since;
    return *this;
  }
  DeviceState state(std::string_view device) const override {
    auto it = states_.find(std::string(device));
    return it == states_.end() ? DeviceState::unknown : it->second;
  }
  std::optional<std::chrono::steady_clock::time_point> idle_since(std::string_view device) const override {
    auto it = idle_.find(std::string(device));
    if (it == idle_.end() || state(device) != DeviceState::idle) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, DeviceState> states_;
  std::map<std::string, std::chrono::steady_clock::time_point> idle_;
};

// A storage that holds agents and nothing else; load_agents answers as a real one does, on its strand.
class AgentStorage final : public sdk::Storage {
 public:
  std::vector<sdk::Agent> agents;
  std::optional<sdk::Error> failure;
  int loads = 0;

  void start(sdk::Completion done) override { done({}); }
  void stop(sdk::Completion done) override { done({}); }
  void load_agents(sdk::ResultCallback<std::vector<sdk::Agent>> done) override {
    ++loads;
    if (failure) done(*failure);
    else done(agents);
  }

  void load_rule_keys(sdk::ResultCallback<std::vector<sdk::RuleKeys>> done) override { done(unsupported()); }
  void get_rules(std::vector<std::int64_t>, sdk::ResultCallback<std::vector<sdk::Rule>> done) override { done(unsupported()); }
  void list_rules(std::optional<std::string>, sdk::ResultCallback<std::vector<sdk::Rule>> done) override { done(unsupported()); }
  void search_rules(sdk::RuleQuery, sdk::ResultCallback<std::vector<sdk::Rule>> done) override { done(unsupported()); }
  void write_rules(sdk::RuleWrite, sdk::ResultCallback<sdk::RuleWriteSummary> done) override { done(unsupported()); }
  void delete_rule(std::int64_t, sdk::Completion done) override { done(unsupported()); }
  void add_note(sdk::Note, sdk::ResultCallback<sdk::Note> done) override { done(unsupported()); }
  void notes_for(std::int64_t, sdk::ResultCallback<std::vector<sdk::Note>> done) override { done(unsupported()); }
  void list_notes(std::optional<std::string>, sdk::ResultCallback<std::vector<sdk::Note>> done) override { done(unsupported()); }
  void append_calls(std::vector<sdk::CallRecord>, sdk::ResultCallback<std::vector<sdk::CallRecord>> done) override {
    done(unsupported());
  }
  void read_calls(std::uint64_t, std::size_t, sdk::ResultCallback<std::vector<sdk::CallRecord>> done) override {
    done(unsupported());
  }
  void delete_calls_through(std::uint64_t, sdk::ResultCallback<std::uint64_t> done) override { done(unsupported()); }
  void save_agent(sdk::Agent, sdk::ResultCallback<sdk::Agent> done) override { done(unsupported()); }
  void remove_agent(std::string, sdk::Completion done) override { done(unsupported()); }
  void load_groups(sdk::ResultCallback<std::vector<sdk::SaGroup>> done) override { done(unsupported()); }
  void save_group(sdk::SaGroup, sdk::Completion done) override { done(unsupported()); }
  void add_missed(sdk::MissedCall, sdk::ResultCallback<sdk::MissedCall> done) override { done(unsupported()); }
  void list_missed(std::optional<std::string>, sdk::ResultCallback<std::vector<sdk::MissedCall>> done) override {
    done(unsupported());
  }
  void mark_missed_done(std::int64_t, sdk::Completion done) override { done(unsupported()); }
  void append_audit(std::vector<sdk::AuditRecord>, sdk::Completion done) override { done(unsupported()); }

 private:
  static sdk::Error unsupported() { return sdk::make_error(sdk::ErrorCode::not_supported, "not in this fake"); }
};

sdk::Agent agent(std::string name, std::string extension, std::string group, bool call_module = true) {
  sdk::Agent a;
  a.name = std::move(name);
  a.extension = std::move(extension);
  a.group = std::move(group);
  a.call_module = call_module;
  return a;
}

ConfigNode list(std::vector<ConfigNode> items) { return ConfigNode::list(std::move(items)); }

ConfigNode with(ConfigNode node, const std::string& key, ConfigNode value) {
  for (auto& entry : node.entries())
    if (entry.key == key) {
      entry.value = std::move(value);
      return node;
    }
  node.entries().push_back({key, {}, std::move(value)});
  return node;
}

// Group 300 "Support": members 101, 102, 103; `group_settings` overrides or adds keys of the group.
ConfigNode group_300(std::vector<std::pair<std::string, ConfigNode>> group_settings = {}) {
  ConfigNode group = ConfigNode::map({{"number", "300"}, {"name", "Support"}, {"capacity", "2"},
                                      {"members", list({"101", "102", "103"})}});
  for (auto& [key, value] : group_settings) group = with(std::move(group), key, std::move(value));
  return group;
}

ConfigNode config(std::vector<std::pair<std::string, ConfigNode>> group_settings = {}) {
  return ConfigNode::map({{"groups", list({group_300(std::move(group_settings))})}});
}

const char* caller_e164 = "+420602123456";

sdk::RoutingRequest call(const std::string& call_id, const std::string& dialled = "300") {
  sdk::RoutingRequest request;
  request.call_id = call_id;
  request.dialled = dialled;
  request.caller = "0602123456";
  request.caller_normalised = caller_e164;
  return request;
}

sdk::CallEvent call_event(sdk::CallEventType type, const std::string& call_id, const std::string& device,
                          const std::string& other_device = "") {
  sdk::CallEvent e;
  e.type = type;
  e.connection = {call_id, device};
  e.other_device = other_device.empty() ? device : other_device;
  return e;
}

using Offered = std::vector<std::pair<std::string, sdk::OutcomeCode>>;

Offered offered(const sdk::RoutingDecision& decision) {
  Offered out;
  for (const auto& target : decision.targets) out.emplace_back(target.destination, target.outcome);
  return out;
}

::testing::AssertionResult trail_has(const sdk::RoutingDecision& decision, const std::string& line) {
  if (std::find(decision.trail.begin(), decision.trail.end(), line) != decision.trail.end())
    return ::testing::AssertionSuccess();
  std::string seen;
  for (const auto& l : decision.trail) seen += "\n  " + l;
  return ::testing::AssertionFailure() << "no line \"" << line << "\" in the trail:" << seen;
}

::testing::AssertionResult has_error(const ConfigNode& node, const std::string& path, const std::string& text) {
  std::string seen;
  for (const auto& e : sdk::testing::validation_errors(factory, node)) {
    if (e.rfind(path + ": ", 0) == 0 && e.find(text) != std::string::npos) return ::testing::AssertionSuccess();
    seen += "\n  " + e;
  }
  return ::testing::AssertionFailure() << "no error at " << path << " containing \"" << text << "\"; got:" << seen;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class TemporaryFolder {
 public:
  TemporaryFolder() : path_(fs::temp_directory_path() / ("sa-group-test-" + std::to_string(::getpid()) + "-" +
                                                         std::to_string(counter_++))) {
    fs::remove_all(path_);
  }
  ~TemporaryFolder() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

// A started strategy in its own context, with the storage "main-db" registered there.
class SaGroup : public ::testing::Test {
 protected:
  SaGroup() { ctx.add_instance(sdk::Category::storage, "main-db", &storage); }

  std::unique_ptr<SaGroupStrategy> started(const ConfigNode& node) {
    auto strategy = std::make_unique<SaGroupStrategy>(ctx, sdk::testing::settings_for(factory, node));
    sdk::Status status = sdk::make_error(sdk::ErrorCode::failed, "start() did not complete");
    strategy->start([&](sdk::Status s) { status = s; });
    ctx.run();
    EXPECT_TRUE(status.ok()) << status.error().message;
    return strategy;
  }

  sdk::Status start_status(SaGroupStrategy& strategy) {
    sdk::Status status = sdk::make_error(sdk::ErrorCode::failed, "start() did not complete");
    strategy.start([&](sdk::Status s) { status = s; });
    ctx.run();
    return status;
  }

  std::chrono::steady_clock::time_point now() { return ctx.clock().steady_now(); }

  sdk::testing::FakeContext ctx{"support", sdk::Category::routing};
  AgentStorage storage;
  DeviceStates devices;
};

// ----- contract ------------------------------------------------------------------------------------

TEST(SaGroupContract, PassesTheConfigConformance) {
  auto node = config({{"distribution", "ring_all"}, {"pbx_number", "390"}});
  node = with(std::move(node), "storage", "main-db");
  sdk::testing::expect_config_conformance(factory, node);
}

TEST(SaGroupContract, PassesTheLifecycleConformance) { sdk::testing::expect_lifecycle_conformance(factory, config()); }

TEST(SaGroupContract, PassesTheLifecycleConformanceWithAStateFile) {
  TemporaryFolder folder;
  auto node = with(config(), "state_file", (folder.path() / "members.txt").string());
  sdk::testing::expect_lifecycle_conformance(factory, node);
}

TEST(SaGroupContract, RegistersAsTheRoutingTypeSaGroup) {
  struct Collecting final : sdk::Registrar {
    void add(std::unique_ptr<sdk::Factory> f) override { factories.push_back(std::move(f)); }
    std::vector<std::unique_ptr<sdk::Factory>> factories;
  } registrar;
  switchboard::plugins::register_sa_group(registrar);
  ASSERT_EQ(registrar.factories.size(), 1u);
  EXPECT_EQ(registrar.factories[0]->type(), "sa_group");
  EXPECT_EQ(registrar.factories[0]->category(), sdk::Category::routing);
}

TEST(SaGroupContract, IsAlsoHuntGroupsAndCallPolicies) {
  sdk::testing::FakeContext ctx("support", sdk::Category::routing);
  auto instance = factory.create(ctx, sdk::testing::settings_for(factory, config()));
  EXPECT_NE(dynamic_cast<sdk::HuntGroups*>(instance.get()), nullptr);
  EXPECT_NE(dynamic_cast<sdk::CallPolicies*>(instance.get()), nullptr);
}

TEST(SaGroupContract, StorageIsAnOptionalReferenceToAStorageInstance) {
  sdk::Diagnostics diag;
  ASSERT_TRUE(sdk::apply_schema(factory.schema(), with(config(), "storage", "main-db"), "config", diag));
  ASSERT_EQ(diag.references().size(), 1u);
  EXPECT_EQ(diag.references()[0].category, sdk::Category::storage);
  EXPECT_EQ(diag.references()[0].name, "main-db");
  EXPECT_TRUE(sdk::testing::validation_errors(factory, config()).empty());
}

// ----- numbers and devices -------------------------------------------------------------------------

TEST_F(SaGroup, NumbersAreTheGroupNumbers) {
  auto node = with(config(), "groups", list({group_300(), ConfigNode::map({{"number", "400"}})}));
  EXPECT_EQ(started(node)->numbers(), (std::vector<std::string>{"300", "400"}));
}

TEST_F(SaGroup, DevicesAreMembersPbxNumbersAndOverflowTargetsOnce) {
  auto ring_all = ConfigNode::map({{"number", "400"},
                                   {"members", "102;104;"},
                                   {"distribution", "ring_all"},
                                   {"pbx_number", "490"},
                                   {"overflow", ConfigNode::map({{"action", "target"}, {"target", "101"}})}});
  auto support = group_300({{"overflow", ConfigNode::map({{"action", "target"}, {"target", "190"}})}});
  auto node = with(config(), "groups", list({support, ring_all}));
  node = with(std::move(node), "storage", "main-db");
  storage.agents = {agent("eva", "105", "300"), agent("petr", "104", "400")};
  EXPECT_EQ(started(node)->devices(), (std::vector<std::string>{"101", "102", "103", "190", "104", "490", "105"}));
}

TEST_F(SaGroup, AClearingOverflowHasNoTargetToMonitor) {
  EXPECT_EQ(started(config())->devices(), (std::vector<std::string>{"101", "102", "103"}));
}

// ----- distributions -------------------------------------------------------------------------------

TEST_F(SaGroup, LinearOffersTheFreeMembersInMemberOrderWithOutcome20) {
  auto strategy = started(config());
  devices.set("101", DeviceState::busy).set("102", DeviceState::idle);  // 103 unknown: counts as free
  auto decision = strategy->decide(call("c-1"), devices);
  EXPECT_EQ(decision.action, Action::offer);
  EXPECT_EQ(offered(decision), (Offered{{"102", 20}, {"103", 20}}));
  EXPECT_EQ(decision.targets[0].reason, "member of group 300");
  EXPECT_EQ(decision.outcome_when_exhausted, 9);
  EXPECT_EQ(decision.ring_timeout, 20s);
  EXPECT_TRUE(trail_has(decision, "member 101 busy"));
  EXPECT_TRUE(trail_has(decision, "offered in member order: 102, 103"));
}

TEST_F(SaGroup, RingingAndOfflineMembersAreSkippedWithTheReason) {
  auto strategy = started(config());
  devices.set("101", DeviceState::ringing).set("102", DeviceState::offline);
  auto decision = strategy->decide(call("c-1"), devices);
  EXPECT_EQ(offered(decision), (Offered{{"103", 20}}));
  EXPECT_TRUE(trail_has(decision, "member 101 ringing"));
  EXPECT_TRUE(trail_has(decision, "member 102 offline"));
}

TEST_F(SaGroup, RoundRobinStartsAfterTheMemberOfferedFirstLastTime) {
  auto strategy = started(config({{"distribution", "round_robin"}}));
  auto first = strategy->decide(call("c-1"), devices);
  EXPECT_EQ(offered(first), (Offered{{"101", 20}, {"102", 20}, {"103", 20}}));
  EXPECT_TRUE(trail_has(first, "offered round robin from the first member: 101, 102, 103"));
  strategy->observe(call_event(sdk::CallEventType::delivered, "c-1", "101"));  // ends the offer's hold on 101

  auto second = strategy->decide(call("c-2"), devices);
  EXPECT_EQ(offered(second), (Offered{{"102", 20}, {"103", 20}, {"101", 20}}));
  EXPECT_TRUE(trail_has(second, "offered round robin after 101: 102, 103, 101"));
  strategy->observe(call_event(sdk::CallEventType::delivered, "c-2", "102"));

  devices.set("103", DeviceState::busy);  // the rotation keeps its place when the next member is not free
  auto third = strategy->decide(call("c-3"), devices);
  EXPECT_EQ(offered(third), (Offered{{"101", 20}, {"102", 20}}));
  strategy->observe(call_event(sdk::CallEventType::delivered, "c-3", "101"));

  devices.set("103", DeviceState::idle);
  EXPECT_EQ(offered(strategy->decide(call("c-4"), devices)), (Offered{{"102", 20}, {"103", 20}, {"101", 20}}));
}

TEST_F(SaGroup, LongestIdleOffersTheLongestIdleFirstAndUnknownIdleTimesLast) {
  auto strategy = started(config({{"distribution", "longest_idle"}, {"members", list({"101", "102", "103", "104"})}}));
  devices.idle_since("101", now() - 10s).idle_since("102", now() - 60s).idle_since("104", now() - 5s);
  // 103 has no idle time: its state is unknown
  auto decision = strategy->decide(call("c-1"), devices);
  EXPECT_EQ(offered(decision), (Offered{{"102", 20}, {"101", 20}, {"104", 20}, {"103", 20}}));
  EXPECT_TRUE(trail_has(decision,
                        "offered longest idle first: 102 (idle 60s), 101 (idle 10s), 104 (idle 5s), 103 (idle time unknown)"));
}

TEST_F(SaGroup, RingAllOffersThePbxHuntGroupOnce) {
  auto strategy = started(config({{"distribution", "ring_all"}, {"pbx_number", "390"}}));
  devices.set("101", DeviceState::busy);
  auto decision = strategy->decide(call("c-1"), devices);
  EXPECT_EQ(decision.action, Action::offer);
  EXPECT_EQ(offered(decision), (Offered{{"390", 20}}));
  EXPECT_EQ(decision.targets[0].reason, "members of group 300 (ring all)");
  EXPECT_TRUE(trail_has(decision, "ring all: PBX hunt group 390 rings the joined members (2 free: 102, 103)"));

  devices.set("102", DeviceState::busy).set("103", DeviceState::ringing);
  EXPECT_EQ(strategy->decide(call("c-2"), devices).action, Action::queue);
}

TEST_F(SaGroup, RingTimeoutComesFromTheGroup) {
  auto strategy = started(config({{"ring_timeout", "45s"}}));
  EXPECT_EQ(strategy->decide(call("c-1"), devices).ring_timeout, 45s);
}

// ----- the queue, capacity and overflow ------------------------------------------------------------

TEST_F(SaGroup, CallsWaitUpToTheCapacityAndTheNextOneIsCleared) {
  auto strategy = started(config());  // capacity 2, overflow clears by default
  for (const char* member : {"101", "102", "103"}) devices.set(member, DeviceState::busy);

  auto first = strategy->decide(call("c-1"), devices);
  EXPECT_EQ(first.action, Action::queue);
  EXPECT_TRUE(first.targets.empty());
  EXPECT_TRUE(trail_has(first, "no member of group 300 free: queued at position 1 of 1 (capacity 2)"));
  auto second = strategy->decide(call("c-2"), devices);
  EXPECT_EQ(second.action, Action::queue);
  EXPECT_TRUE(trail_has(second, "1 earlier call waiting in group 300: queued at position 2 of 2 (capacity 2)"));

  auto third = strategy->decide(call("c-3"), devices);
  EXPECT_EQ(third.action, Action::clear);
  EXPECT_EQ(third.outcome_when_exhausted, 22);
  EXPECT_TRUE(third.targets.empty());
  EXPECT_TRUE(trail_has(third, "group 300 full: 2 of 2 calls waiting"));
  EXPECT_TRUE(trail_has(third, "overflow clears the call: outcome 22"));
  EXPECT_EQ(strategy->group_status().at(0).waiting, (std::vector<std::string>{"c-1", "c-2"}));
}

TEST_F(SaGroup, AFullGroupOverflowsToTheTargetWithOutcome21) {
  auto strategy = started(config({{"overflow", ConfigNode::map({{"action", "target"}, {"target", "190"}})}}));
  for (const char* member : {"101", "102", "103"}) devices.set(member, DeviceState::busy);
  strategy->decide(call("c-1"), devices);
  strategy->decide(call("c-2"), devices);
  auto third = strategy->decide(call("c-3"), devices);
  EXPECT_EQ(third.action, Action::offer);
  EXPECT_EQ(offered(third), (Offered{{"190", 21}}));
  EXPECT_EQ(third.targets[0].reason, "overflow target");
  EXPECT_EQ(third.outcome_when_exhausted, 9);
  EXPECT_TRUE(trail_has(third, "overflow to 190"));

  devices.set("190", DeviceState::busy);
  auto fourth = strategy->decide(call("c-4"), devices);
  EXPECT_TRUE(fourth.targets.empty());
  EXPECT_TRUE(trail_has(fourth, "overflow target 190 busy"));
  EXPECT_TRUE(trail_has(fourth, "no target left: outcome 9"));
}

TEST_F(SaGroup, WithCapacityZeroNoCallWaits) {
  auto strategy = started(config({{"capacity", "0"}}));
  for (const char* member : {"101", "102", "103"}) devices.set(member, DeviceState::busy);
  auto decision = strategy->decide(call("c-1"), devices);
  EXPECT_EQ(decision.action, Action::clear);
  EXPECT_TRUE(trail_has(decision, "group 300 full: 0 of 0 calls waiting"));
}

TEST_F(SaGroup, WhenNobodyHasJoinedTheCallOverflowsAtOnce) {
  auto node = with(config({{"overflow", ConfigNode::map({{"action", "target"}, {"target", "190"}})}}), "start_joined",
                   "false");
  auto strategy = started(node);
  auto decision = strategy->decide(call("c-1"), devices);
  EXPECT_EQ(offered(decision), (Offered{{"190", 21}}));
  EXPECT_TRUE(trail_has(decision, "member 101 not joined"));
  EXPECT_TRUE(trail_has(decision, "nobody joined group 300"));
  EXPECT_TRUE(strategy->group_status().at(0).waiting.empty());

  auto clearing = started(with(config(), "start_joined", "false"));
  auto cleared = clearing->decide(call("c-2"), devices);
  EXPECT_EQ(cleared.action, Action::clear);
  EXPECT_EQ(cleared.outcome_when_exhausted, 22);
}

TEST_F(SaGroup, AWaitingCallOverflowsWhenTheLastMemberLeaves) {
  auto strategy = started(config());
  for (const char* member : {"101", "102", "103"}) devices.set(member, DeviceState::busy);
  ASSERT_EQ(strategy->decide(call("c-1"), devices).action, Action::queue);
  for (const char* member : {"101", "102", "103"}) ASSERT_TRUE(strategy->set_joined("300", member, false));
  auto decision = strategy->decide(call("c-1"), devices);
  EXPECT_EQ(decision.action, Action::clear);
  EXPECT_TRUE(trail_has(decision, "nobody joined group 300"));
  EXPECT_TRUE(strategy->group_status().at(0).waiting.empty());
}

TEST_F(SaGroup, WaitingCallsAreServedOldestFirst) {
  auto strategy = started(config());
  for (const char* member : {"101", "102", "103"}) devices.set(member, DeviceState::busy);
  ASSERT_EQ(strategy->decide(call("c-1"), devices).action, Action::queue);
  ASSERT_EQ(strategy->decide(call("c-2"), devices).action, Action::queue);

  devices.set("102", DeviceState::idle);
  // Asked first, the newer call still waits: the free member is the older call's.
  auto newer = strategy->decide(call("c-2"), devices);
  EXPECT_EQ(newer.action, Action::queue);
  EXPECT_TRUE(trail_has(newer, "1 earlier call waiting in group 300: this call stays at position 2 of 2"));

  auto older = strategy->decide(call("c-1"), devices);
  EXPECT_EQ(older.action, Action::offer);
  EXPECT_EQ(offered(older), (Offered{{"102", 20}}));
  EXPECT_EQ(strategy->group_status().at(0).waiting, (std::vector<std::string>{"c-2"}));

  // Until the PBX reports 102 ringing, the engine's view still shows it free: it is held for c-1.
  auto next = strategy->decide(call("c-2"), devices);
  EXPECT_EQ(next.action, Action::queue);
  EXPECT_TRUE(trail_has(next, "member 102 has call c-1 on offer"));
  EXPECT_TRUE(trail_has(next, "no member of group 300 free: queued at position 1 of 1 (capacity 2)"));
}

TEST_F(SaGroup, ANewCallQueuesBehindWaitingCallsEvenWhenAMemberIsFree) {
  auto strategy = started(config());
  for (const char* member : {"101", "102", "103"}) devices.set(member, DeviceState::busy);
  ASSERT_EQ(strategy->decide(call("c-1"), devices).action, Action::queue);
  devices.set("103", DeviceState::idle);
  auto newer = strategy->decide(call("c-2"), devices);
  EXPECT_EQ(newer.action, Action::queue);
  EXPECT_TRUE(newer.targets.empty());
  EXPECT_EQ(strategy->group_status().at(0).waiting, (std::vector<std::string>{"c-1", "c-2"}));
  EXPECT_EQ(offered(strategy->decide(call("c-1"), devices)), (Offered{{"103", 20}}));
}

TEST_F(SaGroup, AnOfferHoldsItsFirstMemberOnlyBriefly) {
  auto strategy = started(config({{"members", list({"101"})}}));
  ASSERT_EQ(offered(strategy->decide(call("c-1"), devices)), (Offered{{"101", 20}}));
  EXPECT_EQ(strategy->decide(call("c-2"), devices).action, Action::queue);
  ctx.advance(SaGroupStrategy::offer_reservation);  // the PBX never reported it: 101 is free again
  EXPECT_EQ(offered(strategy->decide(call("c-2"), devices)), (Offered{{"101", 20}}));
}

TEST_F(SaGroup, AWaitingCallThatIsClearedOrDivertedLeavesTheQueue) {
  auto strategy = started(config({{"capacity", "3"}}));
  for (const char* member : {"101", "102", "103"}) devices.set(member, DeviceState::busy);
  for (const char* id : {"c-1", "c-2", "c-3"}) ASSERT_EQ(strategy->decide(call(id), devices).action, Action::queue);

  strategy->observe(call_event(sdk::CallEventType::cleared, "c-1", "300", "+420602123456"));  // the caller gave up
  strategy->observe(call_event(sdk::CallEventType::diverted, "c-3", "300", "777"));  // forwarded by the PBX
  EXPECT_EQ(strategy->group_status().at(0).waiting, (std::vector<std::string>{"c-2"}));

  devices.set("101", DeviceState::idle);
  EXPECT_EQ(offered(strategy->decide(call("c-2"), devices)), (Offered{{"101", 20}}));
}

TEST_F(SaGroup, AWaitingCallTheEngineStopsAskingAboutLeavesTheQueue) {
  auto strategy = started(config());
  for (const char* member : {"101", "102", "103"}) devices.set(member, DeviceState::busy);
  ASSERT_EQ(strategy->decide(call("c-1"), devices).action, Action::queue);
  ASSERT_EQ(strategy->decide(call("c-2"), devices).action, Action::queue);
  ctx.advance(6s);
  ASSERT_EQ(strategy->decide(call("c-2"), devices).action, Action::queue);  // c-2 is still asked about
  ctx.advance(5s);
  devices.set("101", DeviceState::idle);
  auto decision = strategy->decide(call("c-2"), devices);
  EXPECT_EQ(offered(decision), (Offered{{"101", 20}}));
  EXPECT_TRUE(ctx.logger().contains("call c-1 left the queue of SA group 300: not asked about for 11s"));
}

// ----- wrap-up -------------------------------------------------------------------------------------

TEST_F(SaGroup, AMemberWhoseGroupCallEndedIsInWrapUpUntilItEnds) {
  auto strategy = started(config({{"wrapup", "5s"}}));
  ASSERT_EQ(offered(strategy->decide(call("c-1"), devices)).front().first, "101");
  strategy->observe(call_event(sdk::CallEventType::delivered, "c-1", "101"));
  strategy->observe(call_event(sdk::CallEventType::established, "c-1", "101"));
  ctx.advance(2min);  // the conversation
  strategy->observe(call_event(sdk::CallEventType::cleared, "c-1", "101", "+420602123456"));

  auto during = strategy->decide(call("c-2"), devices);
  EXPECT_EQ(offered(during), (Offered{{"102", 20}, {"103", 20}}));
  EXPECT_TRUE(trail_has(during, "member 101 in wrap-up for 5s more"));
  strategy->observe(call_event(sdk::CallEventType::cleared, "c-2", "102"));  // c-2 gave up unanswered: no wrap-up

  ctx.advance(2500ms);
  auto later = strategy->decide(call("c-3"), devices);
  EXPECT_TRUE(trail_has(later, "member 101 in wrap-up for 3s more"));
  EXPECT_EQ(offered(later), (Offered{{"102", 20}, {"103", 20}}));
  strategy->observe(call_event(sdk::CallEventType::cleared, "c-3", "102"));

  ctx.advance(2500ms);
  EXPECT_EQ(offered(strategy->decide(call("c-4"), devices)), (Offered{{"101", 20}, {"102", 20}, {"103", 20}}));
}

TEST_F(SaGroup, WrapUpHoldsBackAWaitingCallUntilItEnds) {
  auto strategy = started(config({{"wrapup", "10s"}, {"members", list({"101"})}}));
  ASSERT_EQ(offered(strategy->decide(call("c-1"), devices)), (Offered{{"101", 20}}));
  strategy->observe(call_event(sdk::CallEventType::established, "c-1", "101"));
  strategy->observe(call_event(sdk::CallEventType::cleared, "c-1", "101"));
  auto waiting = strategy->decide(call("c-2"), devices);
  EXPECT_EQ(waiting.action, Action::queue);
  EXPECT_TRUE(trail_has(waiting, "member 101 in wrap-up for 10s more"));
  for (int i = 0; i < 20; ++i) {  // the engine asks every 500 ms
    ctx.advance(500ms);
    auto again = strategy->decide(call("c-2"), devices);
    if (i < 19) ASSERT_EQ(again.action, Action::queue) << "after " << (i + 1) * 500 << "ms";
    else EXPECT_EQ(offered(again), (Offered{{"101", 20}}));
  }
}

TEST_F(SaGroup, CallsThatDidNotComeThroughTheGroupStartNoWrapUp) {
  auto strategy = started(config({{"wrapup", "10s"}}));
  strategy->observe(call_event(sdk::CallEventType::established, "private-1", "101"));
  strategy->observe(call_event(sdk::CallEventType::cleared, "private-1", "101"));
  EXPECT_EQ(offered(strategy->decide(call("c-1"), devices)).front().first, "101");
}

TEST_F(SaGroup, ARingAllCallAnsweredAtAMemberStartsItsWrapUp) {
  auto strategy = started(config({{"distribution", "ring_all"}, {"pbx_number", "390"}, {"wrapup", "5s"}}));
  ASSERT_EQ(offered(strategy->decide(call("c-1"), devices)), (Offered{{"390", 20}}));
  strategy->observe(call_event(sdk::CallEventType::established, "c-1", "102"));
  strategy->observe(call_event(sdk::CallEventType::cleared, "c-1", "+420602123456", "+420602123456"));
  auto next = strategy->decide(call("c-2"), devices);
  EXPECT_TRUE(trail_has(next, "member 102 in wrap-up for 5s more"));
  EXPECT_TRUE(trail_has(next, "ring all: PBX hunt group 390 rings the joined members (2 free: 101, 103)"));
}

// ----- members joining and leaving -----------------------------------------------------------------

TEST_F(SaGroup, AMemberThatLeftGetsNoCallsUntilItJoinsAgain) {
  auto strategy = started(config());
  EXPECT_TRUE(strategy->set_joined("300", "101", false));
  auto decision = strategy->decide(call("c-1"), devices);
  EXPECT_EQ(offered(decision), (Offered{{"102", 20}, {"103", 20}}));
  EXPECT_TRUE(trail_has(decision, "member 101 not joined"));
  EXPECT_FALSE(strategy->group_status().at(0).members.at(0).joined);
  strategy->observe(call_event(sdk::CallEventType::delivered, "c-1", "102"));

  EXPECT_TRUE(strategy->set_joined("300", "101", true));
  EXPECT_EQ(offered(strategy->decide(call("c-2"), devices)).front().first, "101");
}

TEST_F(SaGroup, OnlyMembersOfAGroupCanJoinOrLeaveIt) {
  auto strategy = started(config());
  EXPECT_FALSE(strategy->set_joined("300", "199", false));
  EXPECT_FALSE(strategy->set_joined("999", "101", false));
  EXPECT_TRUE(strategy->set_joined("300", "101", true));  // already joined: still a member
}

TEST_F(SaGroup, AMemberLeavingWhileACallRingsThereKeepsTheCall) {
  auto strategy = started(config({{"wrapup", "5s"}}));
  ASSERT_EQ(offered(strategy->decide(call("c-1"), devices)).front().first, "101");
  strategy->observe(call_event(sdk::CallEventType::delivered, "c-1", "101"));
  EXPECT_TRUE(strategy->set_joined("300", "101", false));
  // The call is still the group's: answered there, it ends in wrap-up as any group call does.
  strategy->observe(call_event(sdk::CallEventType::established, "c-1", "101"));
  strategy->observe(call_event(sdk::CallEventType::cleared, "c-1", "101"));
  EXPECT_TRUE(strategy->set_joined("300", "101", true));
  EXPECT_TRUE(trail_has(strategy->decide(call("c-2"), devices), "member 101 in wrap-up for 5s more"));
}

TEST_F(SaGroup, MembershipCodesAreTheConfiguredOnes) {
  auto strategy = started(config());
  EXPECT_EQ(strategy->membership_code("401"), sdk::MembershipCode::join);
  EXPECT_EQ(strategy->membership_code("402"), sdk::MembershipCode::leave);
  EXPECT_FALSE(strategy->membership_code("300").has_value());
  auto other = started(with(with(config(), "join_code", "71"), "leave_code", "72"));
  EXPECT_EQ(other->membership_code("71"), sdk::MembershipCode::join);
  EXPECT_EQ(other->membership_code("72"), sdk::MembershipCode::leave);
  EXPECT_FALSE(other->membership_code("401").has_value());
}

TEST_F(SaGroup, GroupsOfAMemberAndTheGroupStatus) {
  auto sales = ConfigNode::map({{"number", "400"}, {"members", "101;104;"}, {"distribution", "longest_idle"}});
  auto strategy = started(with(config(), "groups", list({group_300(), sales})));
  EXPECT_EQ(strategy->groups_of("101"), (std::vector<std::string>{"300", "400"}));
  EXPECT_EQ(strategy->groups_of("104"), (std::vector<std::string>{"400"}));
  EXPECT_TRUE(strategy->groups_of("199").empty());

  auto status = strategy->group_status();
  ASSERT_EQ(status.size(), 2u);
  EXPECT_EQ(status[0].number, "300");
  EXPECT_EQ(status[0].name, "Support");
  EXPECT_EQ(status[0].capacity, 2);
  EXPECT_EQ(status[0].distribution, "linear");
  ASSERT_EQ(status[0].members.size(), 3u);
  EXPECT_EQ(status[0].members[2].extension, "103");
  EXPECT_TRUE(status[0].members[2].joined);
  EXPECT_EQ(status[1].distribution, "longest_idle");
  EXPECT_EQ(status[1].capacity, 0);
}

// ----- the customer card ---------------------------------------------------------------------------

TEST_F(SaGroup, TheLowestLookupOnlyRuleNamesTheCustomer) {
  auto strategy = started(config());
  std::vector<std::string> operators{"116"};
  auto request = call("c-1");
  request.matches = {{9, "", {}}, {3, "100", operators}, {5, "", {}}};
  auto decision = strategy->decide(request, devices);
  EXPECT_EQ(decision.customer_id, 5);  // rule 3 belongs to project 100: it does not name a group call's customer
  EXPECT_EQ(decision.trail.front(), "customer card from lookup-only rule 5");
}

TEST_F(SaGroup, WithoutALookupOnlyRuleThereIsNoCustomerCard) {
  auto strategy = started(config());
  std::vector<std::string> operators{"116"};
  auto request = call("c-1");
  request.matches = {{3, "100", operators}};
  auto decision = strategy->decide(request, devices);
  EXPECT_FALSE(decision.customer_id.has_value());
  EXPECT_TRUE(trail_has(decision, "no lookup-only rule matches caller +420602123456"));

  auto withheld = call("c-2");
  withheld.caller.clear();
  withheld.caller_normalised.clear();
  EXPECT_TRUE(trail_has(strategy->decide(withheld, devices), "caller withheld: no customer card"));
}

TEST_F(SaGroup, QueuedAndOverflowingCallsStillNameTheCustomer) {
  auto strategy = started(config({{"capacity", "1"}}));
  for (const char* member : {"101", "102", "103"}) devices.set(member, DeviceState::busy);
  auto request = call("c-1");
  request.matches = {{7, "", {}}};
  EXPECT_EQ(strategy->decide(request, devices).customer_id, 7);
  request.call_id = "c-2";
  auto overflowing = strategy->decide(request, devices);
  EXPECT_EQ(overflowing.action, Action::clear);
  EXPECT_EQ(overflowing.customer_id, 7);
}

TEST_F(SaGroup, TheTrailExplainsEveryStepInOrder) {
  auto strategy = started(config({{"members", list({"101", "102", "103", "104"})}, {"wrapup", "3s"}}));
  ASSERT_EQ(offered(strategy->decide(call("c-0"), devices)).front().first, "101");
  strategy->observe(call_event(sdk::CallEventType::established, "c-0", "102"));
  strategy->observe(call_event(sdk::CallEventType::cleared, "c-0", "102"));
  ASSERT_TRUE(strategy->set_joined("300", "103", false));
  devices.set("101", DeviceState::busy);
  auto request = call("c-1");
  request.matches = {{5, "", {}}};
  auto decision = strategy->decide(request, devices);
  EXPECT_EQ(decision.trail, (std::vector<std::string>{"customer card from lookup-only rule 5", "member 101 busy",
                                                      "member 102 in wrap-up for 3s more", "member 103 not joined",
                                                      "offered in member order: 104"}));
}

TEST_F(SaGroup, ANumberThatIsNotAGroupGetsNoTarget) {
  auto decision = started(config())->decide(call("c-1", "999"), devices);
  EXPECT_TRUE(decision.targets.empty());
  EXPECT_EQ(decision.outcome_when_exhausted, 9);
  EXPECT_TRUE(trail_has(decision, "999 is not a group of this strategy"));
}

// ----- policies ------------------------------------------------------------------------------------

TEST_F(SaGroup, TheUnansweredPolicyIsTheGroups) {
  auto notify = ConfigNode::map({{"action", "notify"}, {"agent", "120"}, {"after", "45s"}});
  auto clearing = ConfigNode::map({{"number", "400"}, {"unanswered", ConfigNode::map({{"action", "clear"}})}});
  auto plain = ConfigNode::map({{"number", "500"}});
  auto strategy = started(with(config(), "groups", list({group_300({{"unanswered", notify}}), clearing, plain})));
  auto policy = strategy->unanswered("300");
  ASSERT_TRUE(policy.has_value());
  EXPECT_EQ(policy->action, sdk::UnansweredPolicy::Action::notify);
  EXPECT_EQ(policy->agent, "120");
  EXPECT_EQ(policy->after, 45s);
  auto cleared = strategy->unanswered("400");
  ASSERT_TRUE(cleared.has_value());
  EXPECT_EQ(cleared->action, sdk::UnansweredPolicy::Action::clear);
  EXPECT_EQ(cleared->after, 30s);
  EXPECT_FALSE(strategy->unanswered("500").has_value());
  EXPECT_FALSE(strategy->unanswered("999").has_value());
}

// ----- members from storage ------------------------------------------------------------------------

TEST_F(SaGroup, AgentsWithTheCallModuleAndTheGroupAreMembersAfterTheListedOnes) {
  storage.agents = {agent("zdenek", "110", "300"), agent("jana", "102", "300"),  // 102 is listed already
                    agent("eva", "99", "300"),     agent("petr", "104", "400"),  // another group
                    agent("karel", "105", "300", false)};                        // not a call-centre agent
  auto strategy = started(with(config(), "storage", "main-db"));
  EXPECT_EQ(storage.loads, 1);
  auto status = strategy->group_status();
  std::vector<std::string> members;
  for (const auto& m : status.at(0).members) members.push_back(m.extension);
  EXPECT_EQ(members, (std::vector<std::string>{"101", "102", "103", "99", "110"}));
  EXPECT_EQ(strategy->groups_of("110"), (std::vector<std::string>{"300"}));
  EXPECT_EQ(strategy->devices(), (std::vector<std::string>{"101", "102", "103", "99", "110"}));
  for (const char* member : {"101", "102", "103"}) devices.set(member, DeviceState::busy);
  EXPECT_EQ(offered(strategy->decide(call("c-1"), devices)), (Offered{{"99", 20}, {"110", 20}}));
}

TEST_F(SaGroup, AGroupMayHaveOnlyStorageMembers) {
  storage.agents = {agent("eva", "120", "300")};
  auto strategy = started(with(config({{"members", list({})}}), "storage", "main-db"));
  EXPECT_EQ(offered(strategy->decide(call("c-1"), devices)), (Offered{{"120", 20}}));
}

TEST_F(SaGroup, StartFailsWhenTheStorageIsMissing) {
  auto strategy = std::make_unique<SaGroupStrategy>(
      ctx, sdk::testing::settings_for(factory, with(config(), "storage", "other-db")));
  auto status = start_status(*strategy);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, sdk::ErrorCode::unavailable);
  EXPECT_NE(status.error().message.find("storage 'other-db' is not available"), std::string::npos)
      << status.error().message;
}

TEST_F(SaGroup, StartFailsWhenTheStorageCannotLoadTheAgents) {
  storage.failure = sdk::make_error(sdk::ErrorCode::unavailable, "database is locked");
  auto strategy = std::make_unique<SaGroupStrategy>(
      ctx, sdk::testing::settings_for(factory, with(config(), "storage", "main-db")));
  auto status = start_status(*strategy);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "cannot load the SA group members from storage 'main-db': database is locked");
}

TEST_F(SaGroup, StartWaitsForTheStorageOnItsOwnStrand) {
  sdk::asio::io_context storage_io;
  auto storage_strand = sdk::asio::make_strand(storage_io);
  ctx.add_instance(sdk::Category::storage, "main-db", &storage, &storage_strand);
  storage.agents = {agent("eva", "120", "300")};
  auto strategy = std::make_unique<SaGroupStrategy>(
      ctx, sdk::testing::settings_for(factory, with(config(), "storage", "main-db")));
  std::optional<sdk::Status> status;
  strategy->start([&](sdk::Status s) { status = s; });
  ctx.run();
  EXPECT_FALSE(status.has_value()) << "start() completed before the storage answered";
  EXPECT_EQ(storage.loads, 0) << "load_agents ran off the storage's strand";
  storage_io.run();
  ctx.run();
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(status->ok());
  EXPECT_EQ(strategy->groups_of("120"), (std::vector<std::string>{"300"}));
}

TEST_F(SaGroup, StoppingWhileStartingCancelsTheStart) {
  sdk::asio::io_context storage_io;
  auto storage_strand = sdk::asio::make_strand(storage_io);
  ctx.add_instance(sdk::Category::storage, "main-db", &storage, &storage_strand);
  auto strategy = std::make_unique<SaGroupStrategy>(
      ctx, sdk::testing::settings_for(factory, with(config(), "storage", "main-db")));
  std::optional<sdk::Status> started_status, stopped_status;
  strategy->start([&](sdk::Status s) { started_status = s; });
  ctx.run();
  strategy->stop([&](sdk::Status s) { stopped_status = s; });
  ctx.run();
  ASSERT_TRUE(started_status.has_value());
  EXPECT_EQ(started_status->error().code, sdk::ErrorCode::cancelled);
  ASSERT_TRUE(stopped_status.has_value());
  EXPECT_TRUE(stopped_status->ok());
  strategy.reset();
  storage_io.run();  // the late answer finds the instance gone and does nothing
  ctx.run();
}

// ----- the state file ------------------------------------------------------------------------------

TEST_F(SaGroup, TheStateFileKeepsWhoJoinedAcrossRestarts) {
  TemporaryFolder folder;
  const fs::path file = folder.path() / "var" / "sa-members.txt";  // the folder is created
  auto node = with(config(), "state_file", file.string());
  {
    auto strategy = started(node);
    EXPECT_FALSE(fs::exists(file)) << "nothing changed yet";
    ASSERT_TRUE(strategy->set_joined("300", "102", false));
    ctx.run();
    EXPECT_EQ(read_file(file),
              "# Switchboard sa_group membership, rewritten on every change: GROUP MEMBER joined|left\n"
              "300 101 joined\n300 102 left\n300 103 joined\n");
    EXPECT_FALSE(fs::exists(file.string() + ".tmp"));
  }
  auto restarted = started(node);
  auto members = restarted->group_status().at(0).members;
  ASSERT_EQ(members.size(), 3u);
  EXPECT_TRUE(members[0].joined);
  EXPECT_FALSE(members[1].joined);
  EXPECT_TRUE(members[2].joined);
  EXPECT_TRUE(trail_has(restarted->decide(call("c-1"), devices), "member 102 not joined"));
}

TEST_F(SaGroup, MembersMissingFromTheStateFileFollowStartJoined) {
  TemporaryFolder folder;
  fs::create_directories(folder.path());
  const fs::path file = folder.path() / "members.txt";
  std::ofstream(file) << "# comment\n300 101 joined\n\n300 999 joined\nnot a line\n";
  auto strategy = started(with(with(config(), "state_file", file.string()), "start_joined", "false"));
  auto members = strategy->group_status().at(0).members;
  EXPECT_TRUE(members[0].joined);
  EXPECT_FALSE(members[1].joined);
  EXPECT_FALSE(members[2].joined);
  EXPECT_TRUE(ctx.logger().contains("line 5: expected \"GROUP MEMBER joined|left\", got \"not a line\""));
}

TEST_F(SaGroup, EveryChangeIsSavedAndTheLastOneWins) {
  TemporaryFolder folder;
  const fs::path file = folder.path() / "members.txt";
  auto strategy = started(with(config(), "state_file", file.string()));
  // Several changes before the first write completes: one write in flight, then the latest state.
  strategy->set_joined("300", "101", false);
  strategy->set_joined("300", "102", false);
  strategy->set_joined("300", "101", true);
  std::optional<sdk::Status> stopped;
  strategy->stop([&](sdk::Status s) { stopped = s; });
  ctx.run();
  ASSERT_TRUE(stopped.has_value());
  EXPECT_NE(read_file(file).find("300 101 joined\n300 102 left\n300 103 joined\n"), std::string::npos)
      << read_file(file);
}

TEST_F(SaGroup, StartFailsWhenTheStateFileCannotBeRead) {
  TemporaryFolder folder;
  fs::create_directories(folder.path() / "members.txt");  // a folder where the file should be
  auto strategy = std::make_unique<SaGroupStrategy>(
      ctx, sdk::testing::settings_for(factory, with(config(), "state_file", (folder.path() / "members.txt").string())));
  auto status = start_status(*strategy);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("state_file: cannot read"), std::string::npos) << status.error().message;
}

// ----- configuration -------------------------------------------------------------------------------

TEST(SaGroupConfig, DefaultsAreTheSeedsCodesAndALinearGroupWithoutQueue) {
  auto settings = sdk::testing::settings_for(factory, ConfigNode::map({{"groups", list({ConfigNode::map({{"number", "300"}})})}}));
  EXPECT_EQ(settings.string("join_code"), "401");
  EXPECT_EQ(settings.string("leave_code"), "402");
  EXPECT_TRUE(settings.boolean("start_joined"));
  const auto& group = *settings.objects("groups").at(0);
  EXPECT_EQ(group.string("distribution"), "linear");
  EXPECT_EQ(group.integer("capacity"), 0);
  EXPECT_EQ(group.duration("ring_timeout"), 20s);
  EXPECT_EQ(group.duration("wrapup"), 0s);
  EXPECT_EQ(group.object("overflow").string("action"), "clear");
  EXPECT_FALSE(group.has("unanswered"));
}

TEST(SaGroupConfig, AcceptsTheLegacySemicolonMemberList) {
  sdk::testing::FakeContext ctx("support", sdk::Category::routing);
  SaGroupStrategy strategy(ctx, sdk::testing::settings_for(factory, config({{"members", "101;102;"}})));
  EXPECT_EQ(strategy.devices(), (std::vector<std::string>{"101", "102"}));
}

TEST(SaGroupConfig, RingAllNeedsAPbxNumber) {
  EXPECT_TRUE(has_error(config({{"distribution", "ring_all"}}), "config.groups[0].distribution", "ring_all needs pbx_number"));
}

TEST(SaGroupConfig, AnOverflowTargetActionNeedsATarget) {
  auto node = config({{"overflow", ConfigNode::map({{"action", "target"}})}});
  EXPECT_TRUE(has_error(node, "config.groups[0].overflow.action", "overflow action target needs overflow.target"));
}

TEST(SaGroupConfig, ANotifyPolicyNeedsAnAgent) {
  auto node = config({{"unanswered", ConfigNode::map({{"action", "notify"}})}});
  EXPECT_TRUE(has_error(node, "config.groups[0].unanswered.action", "unanswered action notify needs unanswered.agent"));
  EXPECT_TRUE(has_error(config({{"unanswered", ConfigNode::map({{"agent", "120"}})}}), "config.groups[0].unanswered.action",
                        "missing required key 'action'"));
}

TEST(SaGroupConfig, RefusesAnUnknownDistribution) {
  EXPECT_TRUE(has_error(config({{"distribution", "round_robbin"}}), "config.groups[0].distribution",
                        "'round_robbin' is not one of linear, round_robin, longest_idle, ring_all (did you mean "
                        "'round_robin'?)"));
}

TEST(SaGroupConfig, RefusesNumbersThatAreNotExtensions) {
  auto node = config({{"number", "3OO"},
                      {"members", "101;1x2;"},
                      {"pbx_number", "39O"},
                      {"overflow", ConfigNode::map({{"action", "target"}, {"target", "+420"}})},
                      {"unanswered", ConfigNode::map({{"action", "notify"}, {"agent", "a1"}})}});
  node = with(std::move(node), "join_code", "*401");
  auto errors = sdk::testing::validation_errors(factory, node);
  EXPECT_TRUE(has_error(node, "config.groups[0].number", "'3OO' is not an extension"));
  EXPECT_TRUE(has_error(node, "config.groups[0].members[1]", "'1x2' is not an extension"));
  EXPECT_TRUE(has_error(node, "config.groups[0].pbx_number", "'39O' is not an extension"));
  EXPECT_TRUE(has_error(node, "config.groups[0].overflow.target", "'+420' is not an extension"));
  EXPECT_TRUE(has_error(node, "config.groups[0].unanswered.agent", "'a1' is not an extension"));
  EXPECT_TRUE(has_error(node, "config.join_code", "'*401' is not an extension"));
  EXPECT_EQ(errors.size(), 6u);
}

TEST(SaGroupConfig, RefusesDuplicatesAndClashingCodes) {
  auto node = with(config(), "groups",
                   list({group_300({{"members", "101;102;101;"}}), ConfigNode::map({{"number", "300"}}),
                         ConfigNode::map({{"number", "401"}})}));
  EXPECT_TRUE(has_error(node, "config.groups[0].members[2]", "member 101 is listed twice in group 300"));
  EXPECT_TRUE(has_error(node, "config.groups[1].number", "group 300 is listed twice"));
  EXPECT_TRUE(has_error(node, "config.groups[2].number", "group number 401 is also the join or leave code"));
  EXPECT_TRUE(has_error(with(config(), "leave_code", "401"), "config.leave_code", "equals the join code"));
}

TEST(SaGroupConfig, RefusesAConfigurationWithoutGroups) {
  EXPECT_TRUE(has_error(ConfigNode::map({}), "config.groups", "at least one group is needed"));
  EXPECT_TRUE(has_error(with(config(), "groups", list({})), "config.groups", "at least one group is needed"));
}

TEST(SaGroupConfig, RefusesANegativeCapacityAndOutOfRangeDurations) {
  EXPECT_TRUE(has_error(config({{"capacity", "-1"}}), "config.groups[0].capacity", "out of range"));
  EXPECT_TRUE(has_error(config({{"ring_timeout", "500ms"}}), "config.groups[0].ring_timeout", "out of range"));
  EXPECT_TRUE(has_error(config({{"wrapup", "2h"}}), "config.groups[0].wrapup", "out of range"));
}

}  // namespace
