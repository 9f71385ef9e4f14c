// Conformance suites every plugin passes and vendors instantiate in their own tests (GoogleTest).
//
//   TEST(MyAlert, Conformance) {
//     sdk::testing::expect_config_conformance(factory, ConfigNode::map({{"level", "warn"}}));
//     sdk::testing::expect_lifecycle_conformance(factory, ConfigNode::map({{"level", "warn"}}));
//   }
#pragma once

#include <gtest/gtest.h>

#include "switchboard/sdk/factory.hpp"
#include "switchboard/sdk/testing/fake_context.hpp"

namespace switchboard::sdk::testing {

// Validates `config` with the factory's schema and checks; fails the test on any error.
inline Settings settings_for(const Factory& factory, const ConfigNode& config, const std::string& path = "config") {
  Diagnostics diag;
  auto settings = apply_schema(factory.schema(), config, path, diag);
  if (settings) factory.validate(*settings, diag);
  for (const auto& e : diag.errors()) ADD_FAILURE() << e.path << ": " << e.message;
  return settings ? *settings : Settings{};
}

// Every problem `config` has for `factory` (schema, then the factory's own checks), as "path: message".
inline std::vector<std::string> validation_errors(const Factory& factory, const ConfigNode& config,
                                                  const std::string& path = "config") {
  Diagnostics diag;
  auto settings = apply_schema(factory.schema(), config, path, diag);
  if (settings) factory.validate(*settings, diag);
  std::vector<std::string> out;
  for (const auto& e : diag.errors()) out.push_back(e.path + ": " + e.message);
  return out;
}

// The schema's contract: every key documented; defaults valid; an unknown key refused with a suggestion.
inline void expect_config_conformance(const Factory& factory, const ConfigNode& valid_config) {
  for (const auto& key : factory.schema().keys()) {
    EXPECT_FALSE(key.doc.empty()) << "key '" << key.name << "' has no doc";
    EXPECT_FALSE(key.required && key.default_text) << "key '" << key.name << "' is required and has a default";
  }
  settings_for(factory, valid_config);
  if (!factory.schema().keys().empty()) {
    ConfigNode typo = valid_config.is_map() ? valid_config : ConfigNode::map({});
    std::string name = factory.schema().keys().front().name;
    std::string misspelt = name + "x";
    typo.entries().push_back({misspelt, {}, ConfigNode::scalar("1")});
    Diagnostics diag;
    EXPECT_FALSE(apply_schema(factory.schema(), typo, "config", diag)) << "unknown key '" << misspelt << "' accepted";
    bool suggested = std::any_of(diag.errors().begin(), diag.errors().end(), [&](const Diagnostic& d) {
      return d.message.find("did you mean '" + name + "'") != std::string::npos;
    });
    EXPECT_TRUE(suggested) << "unknown key '" << misspelt << "' reported without suggesting '" << name << "'";
  }
}

// The lifecycle contract: start and stop complete exactly once, are idempotent, and stop after start works.
inline void expect_lifecycle_conformance(const Factory& factory, const ConfigNode& config) {
  FakeContext ctx("conformance", factory.category());
  auto settings = settings_for(factory, config);
  auto instance = factory.create(ctx, settings);
  ASSERT_TRUE(instance) << "factory returned no instance";
  int starts = 0, stops = 0;
  Status last;
  auto count = [&](int& counter) { return [&counter, &last](Status s) { ++counter; last = s; }; };

  instance->start(count(starts));
  ctx.run();
  ASSERT_EQ(starts, 1) << "start() must complete exactly once";
  ASSERT_TRUE(last.ok()) << "start() failed: " << last.error().message;
  instance->start(count(starts));
  ctx.run();
  EXPECT_EQ(starts, 2) << "a second start() must complete";
  EXPECT_TRUE(last.ok()) << "a second start() must succeed (idempotent)";

  instance->stop(count(stops));
  ctx.run();
  EXPECT_EQ(stops, 1) << "stop() must complete exactly once";
  EXPECT_TRUE(last.ok()) << "stop() failed";
  instance->stop(count(stops));
  ctx.run();
  EXPECT_EQ(stops, 2) << "a second stop() must complete";
  EXPECT_TRUE(last.ok()) << "a second stop() must succeed (idempotent)";
  ctx.advance(std::chrono::hours(1));
  EXPECT_EQ(ctx.pending_timers(), 0u) << "timers left running after stop()";
}

}  // namespace switchboard::sdk::testing
