// The SDK's schema checking: types, ranges, defaults, lists, references, suggestions.
#include <gtest/gtest.h>

#include "switchboard/sdk/config.hpp"

namespace sdk = switchboard::sdk;
using sdk::ConfigNode;
using sdk::TypeSpec;
using sdk::ValueType;

namespace {

sdk::ConfigSchema driver_like() {
  sdk::ConfigSchema session;
  session.add("application_id", ValueType::string).required().doc("id");
  session.add("password", ValueType::string).secret().doc("pw");

  sdk::ConfigSchema project;
  project.add("number", ValueType::string).required().doc("n");
  project.add("operators", TypeSpec::list_of(TypeSpec::of(ValueType::string))).semicolon_string().doc("ops");

  sdk::ConfigSchema s;
  s.add("host", ValueType::string).required().doc("h");
  s.add("port", ValueType::integer).range(1, 65535).default_value(1040).doc("p");
  s.add("heartbeat_interval", ValueType::duration).range(100, 600'000).default_value("30s").doc("hb");
  s.add("buffer", ValueType::size).default_value("64KiB").doc("b");
  s.add("ratio", ValueType::number).range(0, 1).default_value("0.5").doc("r");
  s.add("mode", TypeSpec::enum_of({"deflect", "routeing"})).default_value("deflect").doc("m");
  s.add("enabled", ValueType::boolean).default_value(true).doc("e");
  s.add("listen", ValueType::endpoint).default_value("127.0.0.1:8080").doc("l");
  s.add("storage", TypeSpec::reference_to(sdk::Category::storage)).doc("st");
  s.add("session", TypeSpec::object_of(session)).doc("s");
  s.add("projects", TypeSpec::list_of(TypeSpec::object_of(project))).doc("pr");
  s.add("levels", TypeSpec::map_of(TypeSpec::enum_of({"info", "debug"}))).doc("lv");
  return s;
}

struct Checked {
  std::optional<sdk::Settings> settings;
  sdk::Diagnostics diag;
  std::string messages() const {
    std::string out;
    for (const auto& e : diag.errors()) out += e.path + ": " + e.message + "\n";
    return out;
  }
};

Checked check(const ConfigNode& node) {
  Checked c;
  c.settings = sdk::apply_schema(driver_like(), node, "drivers.pbx.config", c.diag);
  return c;
}

}  // namespace

TEST(ConfigSchema, FillsDefaultsAndTypesValues) {
  auto c = check(ConfigNode::map({{"host", "10.0.0.5"}}));
  ASSERT_TRUE(c.settings) << c.messages();
  const auto& s = *c.settings;
  EXPECT_EQ(s.string("host"), "10.0.0.5");
  EXPECT_EQ(s.integer("port"), 1040);
  EXPECT_EQ(s.duration("heartbeat_interval"), std::chrono::seconds(30));
  EXPECT_EQ(s.size("buffer"), 64u * 1024);
  EXPECT_DOUBLE_EQ(s.number("ratio"), 0.5);
  EXPECT_EQ(s.string("mode"), "deflect");
  EXPECT_TRUE(s.boolean("enabled"));
  EXPECT_EQ(s.endpoint("listen").host, "127.0.0.1");
  EXPECT_EQ(s.endpoint("listen").port, 8080);
  EXPECT_FALSE(s.has("storage"));
  EXPECT_FALSE(s.has("session")) << "an optional object with required keys stays absent";
  EXPECT_TRUE(s.strings("projects").empty());
}

TEST(ConfigSchema, ParsesDurationsSizesAndEndpoints) {
  auto c = check(ConfigNode::map({{"host", "h"}, {"heartbeat_interval", "1m30s"}, {"buffer", "2MiB"},
                                  {"listen", "[::1]:9000"}}));
  ASSERT_TRUE(c.settings) << c.messages();
  EXPECT_EQ(c.settings->duration("heartbeat_interval"), std::chrono::seconds(90));
  EXPECT_EQ(c.settings->size("buffer"), 2u * 1024 * 1024);
  EXPECT_EQ(c.settings->endpoint("listen").host, "::1");
  EXPECT_EQ(c.settings->endpoint("listen").to_string(), "[::1]:9000");
}

TEST(ConfigSchema, ReportsEveryProblemAtOnce) {
  auto c = check(ConfigNode::map({{"prot", "1"}, {"port", "70000"}, {"heartbeat_interval", "30"}, {"mode", "deflekt"},
                                  {"enabled", "maybe"}, {"listen", "localhost"}}));
  EXPECT_FALSE(c.settings);
  EXPECT_EQ(c.messages(),
            "drivers.pbx.config.prot: unknown key (did you mean 'port'?)\n"
            "drivers.pbx.config.host: missing required key 'host'\n"
            "drivers.pbx.config.port: value 70000 is out of range: must be between 1 and 65535\n"
            "drivers.pbx.config.heartbeat_interval: expected a duration such as 250ms, 5s, 2m or 1h, got '30'\n"
            "drivers.pbx.config.mode: 'deflekt' is not one of deflect, routeing (did you mean 'deflect'?)\n"
            "drivers.pbx.config.enabled: expected a bool (true or false), got 'maybe'\n"
            "drivers.pbx.config.listen: expected an endpoint host:port (port 1-65535), got 'localhost'\n");
}

TEST(ConfigSchema, RangeOfADurationIsCheckedInMilliseconds) {
  auto c = check(ConfigNode::map({{"host", "h"}, {"heartbeat_interval", "50ms"}}));
  EXPECT_FALSE(c.settings);
  EXPECT_EQ(c.messages(), "drivers.pbx.config.heartbeat_interval: value 50ms is out of range: must be between 100ms "
                          "and 600000ms\n");
}

TEST(ConfigSchema, AcceptsTheLegacySemicolonListForm) {
  auto c = check(ConfigNode::map({{"host", "h"},
                                  {"projects", ConfigNode::list({ConfigNode::map({{"number", "100"}, {"operators", "114;115;"}}),
                                                                 ConfigNode::map({{"number", "200"},
                                                                                  {"operators", ConfigNode::list({"116"})}})})}}));
  ASSERT_TRUE(c.settings) << c.messages();
  auto projects = c.settings->objects("projects");
  ASSERT_EQ(projects.size(), 2u);
  EXPECT_EQ(projects[0]->strings("operators"), (std::vector<std::string>{"114", "115"}));
  EXPECT_EQ(projects[1]->strings("operators"), (std::vector<std::string>{"116"}));
  EXPECT_EQ(projects[1]->path(), "drivers.pbx.config.projects[1]");
}

TEST(ConfigSchema, ReportsErrorsInsideListsWithTheirIndex) {
  auto c = check(ConfigNode::map({{"host", "h"}, {"projects", ConfigNode::list({ConfigNode::map({{"numbr", "1"}})})}}));
  EXPECT_FALSE(c.settings);
  EXPECT_EQ(c.messages(),
            "drivers.pbx.config.projects[0].numbr: unknown key (did you mean 'number'?)\n"
            "drivers.pbx.config.projects[0].number: missing required key 'number'\n");
}

TEST(ConfigSchema, RecordsReferencesForTheHostToResolve) {
  auto c = check(ConfigNode::map({{"host", "h"}, {"storage", "main-db"}}));
  ASSERT_TRUE(c.settings) << c.messages();
  ASSERT_EQ(c.diag.references().size(), 1u);
  EXPECT_EQ(c.diag.references()[0].name, "main-db");
  EXPECT_EQ(c.diag.references()[0].category, sdk::Category::storage);
  EXPECT_EQ(c.diag.references()[0].path, "drivers.pbx.config.storage");
}

TEST(ConfigSchema, MarksSecretsSoPrintersRedactThem) {
  auto c = check(ConfigNode::map({{"host", "h"}, {"session", ConfigNode::map({{"application_id", "a"}, {"password", "pw"}})}}));
  ASSERT_TRUE(c.settings) << c.messages();
  EXPECT_TRUE(c.settings->object("session").value("password").secret);
  EXPECT_FALSE(c.settings->object("session").value("application_id").secret);
  EXPECT_EQ(c.settings->object("session").string("password"), "pw") << "the instance still gets the value";
}

TEST(ConfigSchema, ChecksMapValues) {
  auto c = check(ConfigNode::map({{"host", "h"}, {"levels", ConfigNode::map({{"a", "info"}, {"b", "loud"}})}}));
  EXPECT_FALSE(c.settings);
  EXPECT_EQ(c.messages(), "drivers.pbx.config.levels.b: 'loud' is not one of info, debug\n");
}

TEST(ConfigSchema, RejectsAScalarWhereAMapBelongs) {
  auto c = check(ConfigNode::map({{"host", "h"}, {"session", "yes"}}));
  EXPECT_FALSE(c.settings);
  EXPECT_EQ(c.messages(), "drivers.pbx.config.session: expected a map, got 'yes'\n");
}

TEST(ConfigSchema, SuggestsOnlyCloseNames) {
  EXPECT_EQ(sdk::did_you_mean("prot", {"port", "host"}), " (did you mean 'port'?)");
  EXPECT_EQ(sdk::did_you_mean("heartbeat_intervall", {"heartbeat_interval"}), " (did you mean 'heartbeat_interval'?)");
  EXPECT_EQ(sdk::did_you_mean("zzzz", {"port", "host"}), "");
}

TEST(ConfigSchema, DiagnosticsFromAFactoryCheckPointAtTheKey) {
  auto c = check(ConfigNode::map({{"host", "h"}, {"port", "2000"}}));
  ASSERT_TRUE(c.settings);
  sdk::Diagnostics diag;
  diag.error(*c.settings, "port", "port 2000 is reserved");
  ASSERT_EQ(diag.size(), 1u);
  EXPECT_EQ(diag.errors()[0].path, "drivers.pbx.config.port");
}
