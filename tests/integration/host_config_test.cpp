// Whole-file validation with real plugins: instance sections, unknown types, references between instances,
// the factories' own checks, and redaction of secrets in the effective config.
#include <gtest/gtest.h>

#include <sstream>

#include "switchboard/core/host_config.hpp"
#include "switchboard/core/yaml_source.hpp"

namespace sdk = switchboard::sdk;
namespace core = switchboard::core;

namespace {

struct Validated {
  std::optional<core::HostConfig> config;
  std::string errors;
};

Validated validate(const std::string& yaml) {
  static core::PluginRegistry registry;
  static bool loaded = false;
  if (!loaded) {
    registry.load_directory(SWITCHBOARD_TEST_PLUGIN_DIRECTORY);
    registry.load_directory(SWITCHBOARD_PLUGIN_OUTPUT_DIRECTORY);
    loaded = true;
  }
  sdk::Diagnostics diag;
  auto root = core::parse_yaml(yaml, "t.yaml", diag);
  Validated v;
  v.config = core::validate_config(root, "t.yaml", registry, diag);
  std::ostringstream out;
  core::print_diagnostics(diag, out);
  v.errors = out.str();
  return v;
}

}  // namespace

TEST(HostConfig, AcceptsAValidFileAndKeepsInstancesInOrder) {
  auto v = validate("alerts:\n  b: {type: log}\n  a: {type: log_probe, config: {partner: b}}\n");
  ASSERT_TRUE(v.config) << v.errors;
  ASSERT_EQ(v.config->instances.size(), 2u);
  EXPECT_EQ(v.config->instances[0].name, "b");
  EXPECT_EQ(v.config->instances[1].name, "a");
  EXPECT_EQ(v.config->instances[1].settings.string("partner"), "b");
  EXPECT_EQ(v.config->host.object("runtime").integer("io_threads"), 1);
}

TEST(HostConfig, ReportsADanglingReferenceWithASuggestion) {
  auto v = validate("alerts:\n  ops-log: {type: log}\n  probe:\n    type: log_probe\n    config: {partner: ops-lg}\n");
  EXPECT_FALSE(v.config);
  EXPECT_EQ(v.errors, "t.yaml:5:23: error: alerts.probe.config.partner: no alert instance named 'ops-lg' (did you mean "
                      "'ops-log'?) in section 'alerts'\n");
}

TEST(HostConfig, RunsTheFactorysOwnChecks) {
  auto v = validate("alerts:\n  probe:\n    type: log_probe\n    config:\n      token: short\n");
  EXPECT_FALSE(v.config);
  EXPECT_EQ(v.errors, "t.yaml:5:14: error: alerts.probe.config.token: token must have at least 8 characters\n");
}

TEST(HostConfig, ReportsInstanceShapeErrors) {
  auto v = validate("alerts:\n  a: log\n  b: {config: {}}\n  c: {type: log, confg: {}}\n  d: {type: nope}\n");
  EXPECT_FALSE(v.config);
  EXPECT_EQ(v.errors,
            "t.yaml:2:6: error: alerts.a: expected a map with 'type' and 'config'\n"
            "t.yaml:3:6: error: alerts.b.type: missing required key 'type'\n"
            "t.yaml:4:18: error: alerts.c.confg: unknown key (did you mean 'config'?); an instance has only 'type' and "
            "'config'\n"
            "t.yaml:5:13: error: alerts.d.type: unknown alert type 'nope'; known: asio_probe, exec, log, log_probe, timer_probe, webhook (see "
            "`switchboard plugins list`)\n");
}

TEST(HostConfig, AnInstanceTypeBelongsToItsSection) {
  auto v = validate("drivers:\n  pbx: {type: log}\n");
  EXPECT_FALSE(v.config);
  EXPECT_EQ(v.errors, "t.yaml:2:15: error: drivers.pbx.type: unknown driver type 'log'; known: csta, scripted, sim (see "
                      "`switchboard plugins list`)\n");
}

TEST(HostConfig, RedactsSecretsInTheEffectiveConfig) {
  auto v = validate("alerts:\n  probe: {type: log_probe, config: {token: hunter2-very-secret}}\n");
  ASSERT_TRUE(v.config) << v.errors;
  std::ostringstream out;
  core::print_effective_config(*v.config, out);
  EXPECT_EQ(out.str().find("hunter2"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("token: \"<redacted>\""), std::string::npos) << out.str();
}

TEST(HostConfig, AnEmptyFileIsAValidConfigWithNoInstances) {
  auto v = validate("");
  ASSERT_TRUE(v.config) << v.errors;
  EXPECT_TRUE(v.config->instances.empty());
}
