// The switchboard-pbxsim executable: command line, scenario errors, the listening line, the control port's
// quit, SIGTERM, and a small load run against a client that deflects every call.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace switchboard::pbxsim::testing {
namespace {

namespace fs = std::filesystem;

class BinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("pbxsim-test-" + std::to_string(getpid()) + "-" + info->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    auto path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  fs::path dir_;
};

const std::string kScenario = R"(projects: ["100", "200"]
extensions: ["101", "102", "103"]
callers: [{number: "0602123456", project: "100"}, {number: "0777123456"}]
status_interval: 0
calls: {calls_per_minute: 0, offline_operators: 0}
)";

TEST_F(BinaryTest, ScenarioErrorsGiveFileLineColumnAndExit2) {
  auto unknown = write("unknown.yaml", "projects: [\"100\"]\nextensions: [\"101\"]\nsesion: {}\n");
  ChildProcess bad_key({PBXSIM_BINARY, "--listen", "127.0.0.1:0", "--scenario", unknown}, true);
  auto output = bad_key.read_rest(10s);
  EXPECT_EQ(bad_key.wait(), 2);
  EXPECT_NE(output.find(unknown + ":3:1: error: sesion: unknown key (did you mean 'session'?)"), std::string::npos)
      << output;

  auto missing = write("missing.yaml", "extensions: [\"101\"]\n");
  ChildProcess no_projects({PBXSIM_BINARY, "--listen", "127.0.0.1:0", "--scenario", missing}, true);
  output = no_projects.read_rest(10s);
  EXPECT_EQ(no_projects.wait(), 2);
  EXPECT_NE(output.find(missing + ":1:1: error: projects: missing required key 'projects'"), std::string::npos)
      << output;

  ChildProcess no_file({PBXSIM_BINARY, "--listen", "127.0.0.1:0", "--scenario", (dir_ / "none.yaml").string()}, true);
  output = no_file.read_rest(10s);
  EXPECT_EQ(no_file.wait(), 2);
  EXPECT_NE(output.find("cannot read the scenario"), std::string::npos) << output;
}

TEST_F(BinaryTest, BadArgumentsExit2AndHelpExits0) {
  auto scenario = write("s.yaml", kScenario);
  ChildProcess bad_listen({PBXSIM_BINARY, "--listen", "localhost", "--scenario", scenario}, true);
  auto output = bad_listen.read_rest(10s);
  EXPECT_EQ(bad_listen.wait(), 2);
  EXPECT_NE(output.find("HOST:PORT"), std::string::npos) << output;

  ChildProcess rate_alone({PBXSIM_BINARY, "--listen", "127.0.0.1:0", "--scenario", scenario, "--rate", "5"}, true);
  rate_alone.read_rest(10s);
  EXPECT_EQ(rate_alone.wait(), 2);

  ChildProcess help({PBXSIM_BINARY, "--help"}, true);
  output = help.read_rest(10s);
  EXPECT_EQ(help.wait(), 0);
  EXPECT_NE(output.find("--report-json"), std::string::npos) << output;
}

TEST_F(BinaryTest, PrintsItsPortsAndQuitsOnTheControlCommand) {
  auto scenario = write("s.yaml", kScenario);
  ChildProcess pbxsim({PBXSIM_BINARY, "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0", "--scenario", scenario,
                       "--log-level", "warn"},
                      false);
  auto line = pbxsim.read_line(10s);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->rfind("listening csta=127.0.0.1:", 0), 0u) << *line;
  auto csta_port = port_in(*line, "csta");
  auto control_port = port_in(*line, "control");
  ASSERT_NE(csta_port, 0);
  ASSERT_NE(control_port, 0);

  CstaTestClient client(csta_port);
  EXPECT_EQ(client.request(make(MessageKind::system_status)).kind, MessageKind::system_status_response);
  ControlClient control(control_port);
  EXPECT_EQ(control.command("quit"), "ok bye");
  EXPECT_TRUE(client.closed_within(5s));
  pbxsim.read_rest(10s);
  EXPECT_EQ(pbxsim.wait(), 0);
}

TEST_F(BinaryTest, StopsOnSigterm) {
  auto scenario = write("s.yaml", kScenario);
  ChildProcess pbxsim({PBXSIM_BINARY, "--listen", "127.0.0.1:0", "--scenario", scenario, "--log-level", "warn"},
                      false);
  auto line = pbxsim.read_line(10s);
  ASSERT_TRUE(line);
  EXPECT_NE(line->find(" control=none"), std::string::npos) << *line;
  CstaTestClient client(port_in(*line, "csta"));
  client.request(monitor_start("101"));
  pbxsim.signal(SIGTERM);
  EXPECT_TRUE(client.closed_within(5s));
  pbxsim.read_rest(10s);
  EXPECT_EQ(pbxsim.wait(), 0);
}

TEST_F(BinaryTest, LoadRunReportsEveryCallRouted) {
  auto scenario = write("s.yaml", kScenario);
  auto report_path = (dir_ / "report.json").string();
  ChildProcess pbxsim({PBXSIM_BINARY, "--listen", "127.0.0.1:0", "--scenario", scenario, "--load", "200", "--rate",
                       "2000", "--report-json", report_path, "--seed", "7", "--log-level", "warn"},
                      false);
  auto line = pbxsim.read_line(10s);
  ASSERT_TRUE(line);
  CstaTestClient client(port_in(*line, "csta"));
  for (const char* device : {"100", "200", "101", "102", "103"})
    ASSERT_EQ(client.request(monitor_start(device)).kind, MessageKind::monitor_start_response);

  // The router under test: every call delivered at a project goes to the next extension in turn.
  const std::vector<std::string> extensions{"101", "102", "103"};
  std::size_t deflects = 0;
  std::size_t refusals = 0;
  while (auto frame = client.next_frame(5s)) {
    auto message = csta::decode_message(frame->body);
    ASSERT_TRUE(message.ok()) << message.error().message;
    if (message->kind == MessageKind::csta_error_code) ++refusals;
    if (message->kind != MessageKind::delivered || message->cause != "new_call") continue;
    client.send(deflect(message->connection, extensions[deflects++ % extensions.size()]));
  }
  EXPECT_TRUE(client.closed());
  auto summary = pbxsim.read_rest(10s);
  EXPECT_EQ(pbxsim.wait(), 0);
  EXPECT_NE(summary.find("offered 200 routed 200 errors 0"), std::string::npos) << summary;
  EXPECT_EQ(deflects, 200u);
  EXPECT_EQ(refusals, 0u);

  std::ifstream in(report_path);
  ASSERT_TRUE(in) << "no report at " << report_path;
  auto report = nlohmann::json::parse(in);
  EXPECT_EQ(report["offered"], 200);
  EXPECT_EQ(report["routed"], 200);
  EXPECT_EQ(report["errors"], 0);
  EXPECT_GT(report["seconds"].get<double>(), 0.05);  // 200 calls at 2000/s take about 0.1 s
  EXPECT_GT(report["rate"].get<double>(), 0);
  for (const char* group : {"latency_us", "write_latency_us", "send_lag_us"}) {
    const auto& latency = report[group];
    for (const char* key : {"p50", "p90", "p99", "p99_9", "max"}) EXPECT_TRUE(latency.contains(key)) << group << key;
    EXPECT_LE(latency["p50"].get<double>(), latency["p99"].get<double>()) << group;
    EXPECT_LE(latency["p99"].get<double>(), latency["p99_9"].get<double>()) << group;
    EXPECT_LE(latency["p99_9"].get<double>(), latency["max"].get<double>()) << group;
  }
  // Each call's latency from its scheduled time is its send lag plus its latency from the write, so no
  // percentile of the first is below the same percentile of the second.
  for (const char* key : {"p50", "p90", "p99", "p99_9", "max"})
    EXPECT_GE(report["latency_us"][key].get<double>(), report["write_latency_us"][key].get<double>()) << key;
}

TEST_F(BinaryTest, LoadModeWaitsForSetUpAndStopsOnSigterm) {
  // The binary's set-up deadline is 30 s (Load.NoClientSetUpInTimeExits1 checks a short one in-process).
  auto scenario = write("s.yaml", kScenario);
  auto report_path = (dir_ / "report.json").string();
  ChildProcess pbxsim({PBXSIM_BINARY, "--listen", "127.0.0.1:0", "--scenario", scenario, "--load", "10", "--rate",
                       "100", "--report-json", report_path, "--log-level", "warn"},
                      false);
  ASSERT_TRUE(pbxsim.read_line(10s));
  pbxsim.signal(SIGTERM);
  pbxsim.read_rest(10s);
  EXPECT_EQ(pbxsim.wait(), 0);
  EXPECT_FALSE(fs::exists(report_path));
}

}  // namespace
}  // namespace switchboard::pbxsim::testing
