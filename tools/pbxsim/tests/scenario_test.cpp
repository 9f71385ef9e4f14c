// The scenario file: defaults, the example in the source tree, and errors with their positions.
#include <algorithm>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "scenario.hpp"

namespace switchboard::pbxsim {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> errors_of(const std::string& yaml) {
  sdk::Diagnostics diag;
  auto scenario = parse_scenario(yaml, "s.yaml", diag);
  EXPECT_FALSE(scenario.has_value());
  auto sorted = diag.errors();  // in file order, as printed
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return std::pair(a.position.line, a.position.column) < std::pair(b.position.line, b.position.column);
  });
  std::vector<std::string> lines;
  for (const auto& d : sorted)
    lines.push_back(std::to_string(d.position.line) + ":" + std::to_string(d.position.column) + " " + d.path + ": " +
                    d.message);
  return lines;
}

TEST(Scenario, MinimalScenarioTakesTheSimDriversDefaults) {
  sdk::Diagnostics diag;
  auto scenario = parse_scenario("projects: [100]\nextensions: [101, 102]\n", "s.yaml", diag);
  ASSERT_TRUE(scenario) << (diag.empty() ? "" : diag.errors()[0].message);
  EXPECT_EQ(scenario->projects, std::vector<std::string>{"100"});
  EXPECT_EQ(scenario->extensions, (std::vector<std::string>{"101", "102"}));
  EXPECT_TRUE(scenario->callers.empty());
  EXPECT_FALSE(scenario->session.required);
  EXPECT_EQ(scenario->status_interval, 30s);
  EXPECT_EQ(scenario->status_misses, 2);
  sim::PbxModelSettings defaults;
  EXPECT_EQ(scenario->calls.seed, defaults.seed);
  EXPECT_EQ(scenario->calls.calls_per_minute, defaults.calls_per_minute);
  EXPECT_EQ(scenario->calls.answer_probability, defaults.answer_probability);
  EXPECT_EQ(scenario->calls.answer_delay_max, defaults.answer_delay_max);
  EXPECT_EQ(scenario->calls.abandon_min, defaults.abandon_min);
  EXPECT_EQ(scenario->calls.offline_operators, defaults.offline_operators);
}

TEST(Scenario, ABareZeroIsANeverInterval) {
  sdk::Diagnostics diag;
  auto scenario = parse_scenario("projects: [100]\nextensions: [101]\nstatus_interval: 0\n", "s.yaml", diag);
  ASSERT_TRUE(scenario);
  EXPECT_EQ(scenario->status_interval, 0ms);
}

TEST(Scenario, TheExampleParses) {
  sdk::Diagnostics diag;
  auto scenario = load_scenario(PBXSIM_EXAMPLE_SCENARIO, diag);
  ASSERT_TRUE(scenario) << (diag.empty() ? "" : diag.errors()[0].path + ": " + diag.errors()[0].message);
  EXPECT_FALSE(scenario->callers.empty());
  EXPECT_EQ(scenario->callers[0].number, "0602123456");
}

TEST(Scenario, UnknownKeysAndBadValuesHavePositions) {
  auto errors = errors_of(R"(projects: ["100"]
extensions: ["101"]
status_intervall: 5s
calls:
  speed: fast
  answer_delay_min: 9s
session: {required: maybe}
)");
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0], "3:1 status_intervall: unknown key (did you mean 'status_interval'?)");
  EXPECT_EQ(errors[1], "5:10 calls.speed: expected a number, got 'fast'");
  EXPECT_EQ(errors[2], "7:21 session.required: expected a bool (true or false), got 'maybe'");
}

TEST(Scenario, SemanticMistakes) {
  auto errors = errors_of(R"(projects: ["100", "101"]
extensions: ["101", ""]
callers:
  - {number: "0602123456", project: "300"}
calls: {answer_delay_min: 9s, known_callers: 0.9, withheld_callers: 0.2}
)");
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_EQ(errors[0], "2:14 extensions[0]: '101' is already given as projects[1]");
  EXPECT_EQ(errors[1], "2:21 extensions[1]: must not be empty");
  EXPECT_EQ(errors[2], "4:37 callers[0].project: '300' is not one of the projects");
  EXPECT_EQ(errors[3], "5:27 calls.answer_delay_min: must not exceed answer_delay_max");
  EXPECT_EQ(errors[4], "5:69 calls.withheld_callers: known_callers + withheld_callers must not exceed 1");
}

TEST(Scenario, HuntGroupsAreDevicesOfExtensions) {
  sdk::Diagnostics diag;
  auto scenario = parse_scenario(R"(projects: ["100"]
extensions: ["101", "102"]
hunt_groups: [{number: "401", members: ["101", "102"]}]
calls: {dials: [{after: 5s, from: "101", number: "401"}]}
)",
                                 "s.yaml", diag);
  ASSERT_TRUE(scenario) << (diag.empty() ? "" : diag.errors()[0].message);
  ASSERT_EQ(scenario->hunt_groups.size(), 1u);
  EXPECT_EQ(scenario->hunt_groups[0].number, "401");
  EXPECT_EQ(scenario->hunt_groups[0].members, (std::vector<std::string>{"101", "102"}));
  ASSERT_EQ(scenario->calls.dials.size(), 1u);
  EXPECT_EQ(scenario->calls.dials[0].after, 5s);
  EXPECT_EQ(scenario->calls.dials[0].from, "101");
  EXPECT_EQ(scenario->calls.dials[0].number, "401");

  auto errors = errors_of(R"(projects: ["100"]
extensions: ["101", "401"]
hunt_groups:
  - {number: "401", members: ["101", "109"]}
)");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0], "2:21 extensions[1]: '401' is already given as hunt_groups[0]");
  EXPECT_EQ(errors[1], "4:30 hunt_groups[0].members: '109' is not one of the extensions");
}

TEST(Scenario, MissingProjectsAndEmptyFile) {
  auto missing = errors_of("extensions: [\"101\"]\n");
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0], "1:1 projects: missing required key 'projects'");
  EXPECT_EQ(errors_of("").size(), 2u);
  auto syntax = errors_of("projects: [\"100\"\n");
  ASSERT_EQ(syntax.size(), 1u);
  EXPECT_NE(syntax[0].find("syntax"), std::string::npos);
}

}  // namespace
}  // namespace switchboard::pbxsim
