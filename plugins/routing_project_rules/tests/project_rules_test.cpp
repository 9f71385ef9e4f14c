#include "project_rules.hpp"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "switchboard/sdk/testing/conformance.hpp"

namespace sdk = switchboard::sdk;
using sdk::ConfigNode;
using sdk::DeviceState;
using switchboard::plugins::ProjectRulesStrategy;

namespace {

sdk::FactoryFor<ProjectRulesStrategy> factory("project_rules", "test");

// Device states as a test sets them; a device never set is unknown, as for the engine.
class DeviceStates final : public sdk::DeviceView {
 public:
  DeviceStates& set(const std::string& device, DeviceState state) {
    states_[device] = state;
    return *this;
  }
  DeviceState state(std::string_view device) const override {
    auto it = states_.find(std::string(device));
    return it == states_.end() ? DeviceState::unknown : it->second;
  }
  std::optional<std::chrono::steady_clock::time_point> idle_since(std::string_view) const override {
    return std::nullopt;
  }

 private:
  std::map<std::string, DeviceState> states_;
};

// A rule as the customer index holds it; the request's RuleMatch entries point into it.
struct IndexedRule {
  std::int64_t id;
  std::string project;
  std::vector<std::string> operators;
};

constexpr const char* caller_as_dialled = "0602123456";
constexpr const char* caller_e164 = "+420602123456";

sdk::RoutingRequest call_to(const std::string& dialled, const std::vector<IndexedRule>& matching_rules = {}) {
  sdk::RoutingRequest request;
  request.call_id = "call-1";
  request.dialled = dialled;
  request.caller = caller_as_dialled;
  request.caller_normalised = caller_e164;
  for (const auto& rule : matching_rules) request.matches.push_back({rule.id, rule.project, rule.operators});
  return request;
}

ConfigNode list(std::vector<ConfigNode> items) { return ConfigNode::list(std::move(items)); }

// Project 100 (operators 116, 117), project 200 (118), all projects 120, 121, busy target 190.
ConfigNode config(bool busy_target_active = false) {
  return ConfigNode::map({
      {"storage", "main-db"},
      {"projects", list({ConfigNode::map({{"number", "100"}, {"operators", list({"116", "117"})}}),
                         ConfigNode::map({{"number", "200"}, {"operators", list({"118"})}})})},
      {"all_projects_operators", list({"120", "121"})},
      {"busy_target", ConfigNode::map({{"number", "190"}, {"active", busy_target_active ? "true" : "false"}})},
  });
}

std::unique_ptr<ProjectRulesStrategy> strategy_for(const ConfigNode& node) {
  static sdk::testing::FakeContext context("sales", sdk::Category::routing);
  return std::make_unique<ProjectRulesStrategy>(context, sdk::testing::settings_for(factory, node));
}

using Offered = std::vector<std::pair<std::string, sdk::OutcomeCode>>;

Offered offered(const sdk::RoutingDecision& decision) {
  Offered out;
  for (const auto& target : decision.targets) out.emplace_back(target.destination, target.outcome);
  return out;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += "\n  " + line;
  return out;
}

::testing::AssertionResult trail_has(const sdk::RoutingDecision& decision, const std::string& line) {
  if (std::find(decision.trail.begin(), decision.trail.end(), line) != decision.trail.end())
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "no line \"" << line << "\" in the trail:" << joined(decision.trail);
}

// Schema and validate() together, as the host runs them.
sdk::Diagnostics check(const ConfigNode& node) {
  sdk::Diagnostics diag;
  auto settings = sdk::apply_schema(factory.schema(), node, "config", diag);
  if (settings) factory.validate(*settings, diag);
  return diag;
}

::testing::AssertionResult has_error(const sdk::Diagnostics& diag, const std::string& path, const std::string& text) {
  std::string seen;
  for (const auto& e : diag.errors()) {
    if (e.path == path && e.message.find(text) != std::string::npos) return ::testing::AssertionSuccess();
    seen += "\n  " + e.path + ": " + e.message;
  }
  return ::testing::AssertionFailure() << "no error at " << path << " containing \"" << text << "\"; got:" << seen;
}

ConfigNode with(ConfigNode node, const std::string& key, ConfigNode value) {
  for (auto& entry : node.entries())
    if (entry.key == key) {
      entry.value = std::move(value);
      return node;
    }
  node.entries().push_back({key, {}, std::move(value)});
  return node;
}

}  // namespace

// ----- contract ------------------------------------------------------------------------------------

TEST(ProjectRules, PassesTheConfigConformance) { sdk::testing::expect_config_conformance(factory, config()); }

TEST(ProjectRules, PassesTheLifecycleConformance) { sdk::testing::expect_lifecycle_conformance(factory, config(true)); }

TEST(ProjectRules, RegistersAsTheRoutingTypeProjectRules) {
  struct Collecting final : sdk::Registrar {
    void add(std::unique_ptr<sdk::Factory> f) override { factories.push_back(std::move(f)); }
    std::vector<std::unique_ptr<sdk::Factory>> factories;
  } registrar;
  switchboard::plugins::register_project_rules(registrar);
  ASSERT_EQ(registrar.factories.size(), 1u);
  EXPECT_EQ(registrar.factories[0]->type(), "project_rules");
  EXPECT_EQ(registrar.factories[0]->category(), sdk::Category::routing);
}

TEST(ProjectRules, NumbersAreTheProjectNumbers) {
  EXPECT_EQ(strategy_for(config())->numbers(), (std::vector<std::string>{"100", "200"}));
}

TEST(ProjectRules, DevicesAreEveryConfiguredOperatorOnceInFirstSeenOrder) {
  auto node = with(config(true), "projects",
                   list({ConfigNode::map({{"number", "100"}, {"operators", list({"116", "117"})}}),
                         ConfigNode::map({{"number", "200"}, {"operators", list({"117", "118"})}})}));
  node = with(std::move(node), "all_projects_operators", list({"120", "116"}));
  EXPECT_EQ(strategy_for(node)->devices(), (std::vector<std::string>{"116", "117", "118", "120", "190"}));
}

TEST(ProjectRules, AnInactiveBusyTargetIsNotMonitored) {
  EXPECT_EQ(strategy_for(config(false))->devices(), (std::vector<std::string>{"116", "117", "118", "120", "121"}));
}

TEST(ProjectRules, StorageIsARequiredReferenceToAStorageInstance) {
  sdk::Diagnostics diag;
  ASSERT_TRUE(sdk::apply_schema(factory.schema(), config(), "config", diag));
  ASSERT_EQ(diag.references().size(), 1u);
  EXPECT_EQ(diag.references()[0].category, sdk::Category::storage);
  EXPECT_EQ(diag.references()[0].name, "main-db");

  ConfigNode without_storage = config();
  std::erase_if(without_storage.entries(), [](const ConfigNode::Entry& e) { return e.key == "storage"; });
  EXPECT_TRUE(has_error(check(without_storage), "config.storage", "missing required key"));
}

// ----- outcome codes -------------------------------------------------------------------------------

TEST(ProjectRules, ARuleOfTheDialledProjectOffersItsOperatorsInOrderWithOutcome1ThenTheFallbacks) {
  std::vector<IndexedRule> rules{{12, "100", {"115", "114"}}};
  auto decision = strategy_for(config())->decide(call_to("100", rules), DeviceStates{});
  EXPECT_EQ(decision.action, sdk::RoutingDecision::Action::offer);
  EXPECT_EQ(offered(decision), (Offered{{"115", 1}, {"114", 1}, {"116", 2}, {"117", 2}, {"120", 3}, {"121", 3}}));
  EXPECT_EQ(decision.customer_id, 12);
  ASSERT_EQ(decision.targets.size(), 6u);
  EXPECT_EQ(decision.targets[0].reason, "operator of rule 12");
  EXPECT_EQ(decision.targets[2].reason, "operator of project 100");
  EXPECT_EQ(decision.targets[4].reason, "operator for all projects");
  EXPECT_TRUE(trail_has(decision, "caller +420602123456 matches rule 12 of project 100"));
  EXPECT_TRUE(trail_has(decision, "busy target 190 not active"));
}

TEST(ProjectRules, AnActiveBusyTargetFollowsTheRuleOperatorsWithOutcome4) {
  std::vector<IndexedRule> rules{{12, "100", {"114", "115"}}};
  auto decision = strategy_for(config(true))->decide(call_to("100", rules), DeviceStates{});
  EXPECT_EQ(offered(decision),
            (Offered{{"114", 1}, {"115", 1}, {"190", 4}, {"116", 2}, {"117", 2}, {"120", 3}, {"121", 3}}));
  ASSERT_EQ(decision.targets.size(), 7u);
  EXPECT_EQ(decision.targets[2].reason, "busy target");
}

TEST(ProjectRules, TheBusyTargetServesOnlyCallsWithARuleOfTheProject) {
  auto decision = strategy_for(config(true))->decide(call_to("100"), DeviceStates{});
  EXPECT_EQ(offered(decision), (Offered{{"116", 2}, {"117", 2}, {"120", 3}, {"121", 3}}));
}

TEST(ProjectRules, WithoutARuleTheProjectOperatorsGetOutcome2AndTheAllProjectsOperators3) {
  auto decision = strategy_for(config())->decide(call_to("200"), DeviceStates{});
  EXPECT_EQ(offered(decision), (Offered{{"118", 2}, {"120", 3}, {"121", 3}}));
  EXPECT_FALSE(decision.customer_id.has_value());
  EXPECT_TRUE(trail_has(decision, "no rule of project 200 matches caller +420602123456"));
}

TEST(ProjectRules, AWithheldCallerGoesToTheAllProjectsOperatorsWithOutcome8) {
  auto request = call_to("100");
  request.caller.clear();
  request.caller_normalised.clear();
  auto decision = strategy_for(config(true))->decide(request, DeviceStates{});
  EXPECT_EQ(offered(decision), (Offered{{"120", 8}, {"121", 8}}));
  EXPECT_FALSE(decision.customer_id.has_value());
  EXPECT_TRUE(trail_has(decision, "caller withheld: operators for all projects"));

  request.directory_empty = true;  // a withheld caller is code 8 whatever the database holds
  EXPECT_EQ(offered(strategy_for(config())->decide(request, DeviceStates{})), (Offered{{"120", 8}, {"121", 8}}));
}

TEST(ProjectRules, AnEmptyDatabaseSendsTheCallToTheAllProjectsOperatorsWithOutcome10) {
  auto request = call_to("100");
  request.directory_empty = true;
  auto decision = strategy_for(config(true))->decide(request, DeviceStates{});
  EXPECT_EQ(offered(decision), (Offered{{"120", 10}, {"121", 10}}));
  EXPECT_TRUE(trail_has(decision, "no rules in the database: operators for all projects"));
}

TEST(ProjectRules, WhenNoTargetIsFreeTheDecisionIsEmptyWithOutcome9) {
  std::vector<IndexedRule> rules{{12, "100", {"114"}}};
  DeviceStates states;
  for (const char* device : {"114", "116", "117", "120", "121", "190"}) states.set(device, DeviceState::busy);
  auto decision = strategy_for(config(true))->decide(call_to("100", rules), states);
  EXPECT_TRUE(decision.targets.empty());
  EXPECT_EQ(decision.outcome_when_exhausted, 9);
  EXPECT_EQ(decision.customer_id, 12);  // the log still names the customer
  EXPECT_TRUE(trail_has(decision, "operator 114 busy"));
  EXPECT_TRUE(trail_has(decision, "busy target 190 busy"));
  EXPECT_TRUE(trail_has(decision, "all-projects operator 121 busy"));
  EXPECT_EQ(decision.trail.back(), "no target left: outcome 9");
}

TEST(ProjectRules, AWithheldCallerWithNoAllProjectsOperatorsGetsOutcome9) {
  auto request = call_to("100");
  request.caller.clear();
  request.caller_normalised.clear();
  auto decision = strategy_for(with(config(), "all_projects_operators", list({})))->decide(request, DeviceStates{});
  EXPECT_TRUE(decision.targets.empty());
  EXPECT_EQ(decision.outcome_when_exhausted, 9);
  EXPECT_TRUE(trail_has(decision, "no operators for all projects"));
}

// ----- device states and duplicates ----------------------------------------------------------------

TEST(ProjectRules, BusyRingingAndOfflineTargetsAreSkippedWithTheReason) {
  std::vector<IndexedRule> rules{{12, "100", {"114", "115"}}};
  DeviceStates states;
  states.set("114", DeviceState::busy).set("115", DeviceState::ringing).set("116", DeviceState::offline);
  states.set("117", DeviceState::idle);
  auto decision = strategy_for(config())->decide(call_to("100", rules), states);
  EXPECT_EQ(offered(decision), (Offered{{"117", 2}, {"120", 3}, {"121", 3}}));
  EXPECT_TRUE(trail_has(decision, "operator 114 busy"));
  EXPECT_TRUE(trail_has(decision, "operator 115 ringing"));
  EXPECT_TRUE(trail_has(decision, "project operator 116 offline"));
}

TEST(ProjectRules, AnUnknownStateCountsAsFree) {
  std::vector<IndexedRule> rules{{12, "100", {"114", "115"}}};
  DeviceStates states;
  states.set("114", DeviceState::unknown);  // "115" is not in the table at all
  auto decision = strategy_for(config())->decide(call_to("100", rules), states);
  ASSERT_GE(decision.targets.size(), 2u);
  EXPECT_EQ(offered(decision)[0], (std::pair<std::string, sdk::OutcomeCode>{"114", 1}));
  EXPECT_EQ(offered(decision)[1], (std::pair<std::string, sdk::OutcomeCode>{"115", 1}));
}

TEST(ProjectRules, EachExtensionIsOfferedOnceAtItsFirstOccurrence) {
  std::vector<IndexedRule> rules{{12, "100", {"116", "114", "116"}}};
  auto node = with(config(true), "all_projects_operators", list({"114", "190", "120"}));
  auto decision = strategy_for(node)->decide(call_to("100", rules), DeviceStates{});
  EXPECT_EQ(offered(decision), (Offered{{"116", 1}, {"114", 1}, {"190", 4}, {"117", 2}, {"120", 3}}));
  EXPECT_TRUE(trail_has(decision, "operator 116 already offered"));
  EXPECT_TRUE(trail_has(decision, "project operator 116 already offered"));
  EXPECT_TRUE(trail_has(decision, "all-projects operator 114 already offered"));
}

// ----- which rule counts ---------------------------------------------------------------------------

TEST(ProjectRules, ARuleOfAnotherProjectDoesNotRouteButNamesTheCustomer) {
  std::vector<IndexedRule> rules{{7, "200", {"118"}}};
  auto decision = strategy_for(config(true))->decide(call_to("100", rules), DeviceStates{});
  EXPECT_EQ(offered(decision), (Offered{{"116", 2}, {"117", 2}, {"120", 3}, {"121", 3}}));
  EXPECT_EQ(decision.customer_id, 7);
  EXPECT_TRUE(trail_has(decision, "customer card from rule 7 of project 200; its operators serve that project"));
}

TEST(ProjectRules, ALookupOnlyRuleNamesTheCustomer) {
  std::vector<IndexedRule> rules{{5, "", {}}};
  auto decision = strategy_for(config())->decide(call_to("100", rules), DeviceStates{});
  EXPECT_EQ(offered(decision), (Offered{{"116", 2}, {"117", 2}, {"120", 3}, {"121", 3}}));
  EXPECT_EQ(decision.customer_id, 5);
  EXPECT_TRUE(trail_has(decision, "customer card from lookup-only rule 5"));
}

TEST(ProjectRules, AmongOtherRulesTheLowestIdNamesTheCustomer) {
  std::vector<IndexedRule> rules{{9, "200", {"118"}}, {5, "", {}}, {7, "300", {"119"}}, {6, "", {}}};
  auto decision = strategy_for(config())->decide(call_to("100", rules), DeviceStates{});
  EXPECT_EQ(decision.customer_id, 5);
}

TEST(ProjectRules, ARuleOfTheProjectWinsOverLookupOnlyRulesWithLowerIds) {
  std::vector<IndexedRule> rules{{3, "", {}}, {12, "100", {"114"}}};
  auto decision = strategy_for(config())->decide(call_to("100", rules), DeviceStates{});
  EXPECT_EQ(decision.customer_id, 12);
  ASSERT_FALSE(decision.targets.empty());
  EXPECT_EQ(offered(decision)[0], (std::pair<std::string, sdk::OutcomeCode>{"114", 1}));
}

TEST(ProjectRules, SeveralRulesOfTheProjectAreAmbiguousAndTheLowestIdIsUsed) {
  std::vector<IndexedRule> rules{{15, "100", {"115"}}, {12, "100", {"114"}}, {19, "100", {"119"}}};
  auto decision = strategy_for(config())->decide(call_to("100", rules), DeviceStates{});
  EXPECT_EQ(decision.customer_id, 12);
  EXPECT_EQ(offered(decision), (Offered{{"114", 1}, {"116", 2}, {"117", 2}, {"120", 3}, {"121", 3}}));
  EXPECT_TRUE(trail_has(decision, "caller +420602123456 matches 3 rules of project 100 (ambiguous): using rule 12"));
}

TEST(ProjectRules, ARuleWithoutOperatorsFallsThroughToTheBusyTarget) {
  std::vector<IndexedRule> rules{{12, "100", {}}};
  auto decision = strategy_for(config(true))->decide(call_to("100", rules), DeviceStates{});
  EXPECT_EQ(offered(decision), (Offered{{"190", 4}, {"116", 2}, {"117", 2}, {"120", 3}, {"121", 3}}));
  EXPECT_TRUE(trail_has(decision, "rule 12 names no operators"));
}

TEST(ProjectRules, WithoutABusyTargetTheTrailSaysSo) {
  ConfigNode node = config();
  std::erase_if(node.entries(), [](const ConfigNode::Entry& e) { return e.key == "busy_target"; });
  std::vector<IndexedRule> rules{{12, "100", {"114"}}};
  auto decision = strategy_for(node)->decide(call_to("100", rules), DeviceStates{});
  EXPECT_TRUE(trail_has(decision, "no busy target"));
  EXPECT_EQ(offered(decision), (Offered{{"114", 1}, {"116", 2}, {"117", 2}, {"120", 3}, {"121", 3}}));
}

TEST(ProjectRules, ANumberThatIsNotAProjectGetsOnlyTheAllProjectsOperators) {
  auto decision = strategy_for(config(true))->decide(call_to("300"), DeviceStates{});
  EXPECT_EQ(offered(decision), (Offered{{"120", 3}, {"121", 3}}));
  EXPECT_TRUE(trail_has(decision, "300 is not a project of this strategy"));
}

TEST(ProjectRules, TheTrailExplainsEveryStepInOrder) {
  // The example of docs/routing.md.
  std::vector<IndexedRule> rules{{12, "100", {"114", "115"}}};
  DeviceStates states;
  states.set("114", DeviceState::busy).set("116", DeviceState::offline);
  auto decision = strategy_for(config(false))->decide(call_to("100", rules), states);
  EXPECT_EQ(decision.trail, (std::vector<std::string>{"caller +420602123456 matches rule 12 of project 100",
                                                      "operator 114 busy", "busy target 190 not active",
                                                      "project operator 116 offline"}));
  EXPECT_EQ(offered(decision), (Offered{{"115", 1}, {"117", 2}, {"120", 3}, {"121", 3}}));
}

// ----- configuration -------------------------------------------------------------------------------

TEST(ProjectRules, AcceptsTheLegacySemicolonLists) {
  auto at = [](int line, int column) { return sdk::SourcePosition{"routing.yaml", line, column}; };
  // projects:
  //   - number: "100"
  //     operators: "116;117;"
  // all_projects_operators: "120;121;"
  auto project = ConfigNode::map({{"number", ConfigNode::scalar("100", at(5, 17))},
                                  {"operators", ConfigNode::scalar("116;117;", at(6, 20))}});
  auto node = ConfigNode::map({{"storage", ConfigNode::scalar("main-db", at(3, 16))},
                               {"projects", ConfigNode::list({project}, at(5, 9))},
                               {"all_projects_operators", ConfigNode::scalar("120;121;", at(7, 31))}});
  ASSERT_TRUE(check(node).empty());
  auto strategy = strategy_for(node);
  EXPECT_EQ(strategy->devices(), (std::vector<std::string>{"116", "117", "120", "121"}));
  EXPECT_EQ(offered(strategy->decide(call_to("100"), DeviceStates{})),
            (Offered{{"116", 2}, {"117", 2}, {"120", 3}, {"121", 3}}));
}

TEST(ProjectRules, RingTimeoutGoesIntoTheDecision) {
  EXPECT_EQ(strategy_for(config())->decide(call_to("100"), DeviceStates{}).ring_timeout, std::chrono::seconds(20));
  auto node = with(config(), "ring_timeout", "45s");
  EXPECT_EQ(strategy_for(node)->decide(call_to("100"), DeviceStates{}).ring_timeout, std::chrono::seconds(45));
}

TEST(ProjectRules, RingTimeoutMustLieBetweenOneSecondAndTenMinutes) {
  EXPECT_TRUE(has_error(check(with(config(), "ring_timeout", "500ms")), "config.ring_timeout", "out of range"));
  EXPECT_TRUE(has_error(check(with(config(), "ring_timeout", "11m")), "config.ring_timeout", "out of range"));
  EXPECT_TRUE(check(with(config(), "ring_timeout", "10m")).empty());
}

TEST(ProjectRules, RefusesAProjectNumberThatIsNotDigits) {
  auto node = with(config(), "projects", list({ConfigNode::map({{"number", "1OO"}})}));
  EXPECT_TRUE(has_error(check(node), "config.projects[0].number", "'1OO' is not an extension: digits only"));
}

TEST(ProjectRules, RefusesOperatorsThatAreNotDigits) {
  auto node = with(config(), "projects", list({ConfigNode::map({{"number", "100"}, {"operators", "116;11a;"}})}));
  node = with(std::move(node), "all_projects_operators", list({"120", "+420"}));
  node = with(std::move(node), "busy_target", ConfigNode::map({{"number", "19x"}}));
  auto diag = check(node);
  EXPECT_TRUE(has_error(diag, "config.projects[0].operators[1]", "'11a' is not an extension"));
  EXPECT_TRUE(has_error(diag, "config.all_projects_operators[1]", "'+420' is not an extension"));
  EXPECT_TRUE(has_error(diag, "config.busy_target.number", "'19x' is not an extension"));
  EXPECT_EQ(diag.size(), 3u);
}

TEST(ProjectRules, RefusesAProjectListedTwice) {
  auto node = with(config(), "projects",
                   list({ConfigNode::map({{"number", "100"}}), ConfigNode::map({{"number", "200"}}),
                         ConfigNode::map({{"number", "100"}})}));
  auto diag = check(node);
  EXPECT_TRUE(has_error(diag, "config.projects[2].number", "project 100 is listed twice"));
  EXPECT_EQ(diag.size(), 1u);
}

TEST(ProjectRules, RefusesAnActiveBusyTargetWithoutANumber) {
  auto node = with(config(), "busy_target", ConfigNode::map({{"active", "true"}}));
  EXPECT_TRUE(has_error(check(node), "config.busy_target.active", "an active busy target needs busy_target.number"));
  EXPECT_TRUE(check(with(config(), "busy_target", ConfigNode::map({{"active", "false"}}))).empty());
}

TEST(ProjectRules, RefusesAConfigurationWithoutProjects) {
  ConfigNode without_projects = config();
  std::erase_if(without_projects.entries(), [](const ConfigNode::Entry& e) { return e.key == "projects"; });
  EXPECT_TRUE(has_error(check(without_projects), "config.projects", "at least one project is needed"));
  EXPECT_TRUE(has_error(check(with(config(), "projects", list({}))), "config.projects", "at least one project"));
}
