// YAML to ConfigNode: positions, ${ENV}, duplicate keys, syntax errors.
#include <gtest/gtest.h>

#include <map>

#include "switchboard/core/yaml_source.hpp"

namespace sdk = switchboard::sdk;
using switchboard::core::parse_yaml;

namespace {
switchboard::core::EnvironmentLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}
}  // namespace

TEST(YamlSource, KeepsPositionsOfKeysAndValues) {
  sdk::Diagnostics diag;
  auto root = parse_yaml("drivers:\n  pbx:\n    type: csta\n", "a.yaml", diag, fake_env({}));
  ASSERT_TRUE(diag.empty());
  const auto& pbx = root.find("drivers")->entries()[0];
  EXPECT_EQ(pbx.key, "pbx");
  EXPECT_EQ(pbx.key_position.line, 2);
  EXPECT_EQ(pbx.key_position.column, 3);
  const auto* type = pbx.value.find("type");
  EXPECT_EQ(type->text(), "csta");
  EXPECT_EQ(type->position().line, 3);
  EXPECT_EQ(type->position().column, 11);
  EXPECT_EQ(type->position().file, "a.yaml");
}

TEST(YamlSource, SubstitutesEnvironmentVariables) {
  sdk::Diagnostics diag;
  auto root = parse_yaml("a: ${HOST}:${PORT:-1040}\nb: $${LITERAL}\nc: ${EMPTY:-fallback}\n", "a.yaml", diag,
                         fake_env({{"HOST", "pbx.local"}, {"EMPTY", ""}}));
  ASSERT_TRUE(diag.empty());
  EXPECT_EQ(root.find("a")->text(), "pbx.local:1040");
  EXPECT_EQ(root.find("b")->text(), "${LITERAL}");
  EXPECT_EQ(root.find("c")->text(), "fallback");
}

TEST(YamlSource, AMissingVariableIsAPositionedError) {
  sdk::Diagnostics diag;
  parse_yaml("storage:\n  password: ${DB_PASSWORD}\n", "a.yaml", diag, fake_env({}));
  ASSERT_EQ(diag.size(), 1u);
  EXPECT_EQ(diag.errors()[0].path, "storage.password");
  EXPECT_EQ(diag.errors()[0].position.line, 2);
  EXPECT_NE(diag.errors()[0].message.find("'DB_PASSWORD' is not set"), std::string::npos);
}

TEST(YamlSource, ADuplicateKeyIsAnError) {
  sdk::Diagnostics diag;
  parse_yaml("a: 1\nb: 2\na: 3\n", "a.yaml", diag, fake_env({}));
  ASSERT_EQ(diag.size(), 1u);
  EXPECT_EQ(diag.errors()[0].message, "duplicate key (first given at line 1)");
  EXPECT_EQ(diag.errors()[0].position.line, 3);
}

TEST(YamlSource, ASyntaxErrorHasItsPosition) {
  sdk::Diagnostics diag;
  parse_yaml("a:\n  b: [1, 2\n", "a.yaml", diag, fake_env({}));
  ASSERT_EQ(diag.size(), 1u);
  EXPECT_EQ(diag.errors()[0].path, "syntax");
  EXPECT_GT(diag.errors()[0].position.line, 0);
}
