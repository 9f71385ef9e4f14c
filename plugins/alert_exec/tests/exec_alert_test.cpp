#include "exec_alert.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "switchboard/sdk/call_log_format.hpp"
#include "switchboard/sdk/testing/conformance.hpp"

namespace sdk = switchboard::sdk;
namespace fs = std::filesystem;
using sdk::ConfigNode;
using switchboard::plugins::ExecAlert;
using namespace std::chrono_literals;

namespace {

sdk::FactoryFor<ExecAlert> factory("exec", "test");

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "alert-exec-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

  // An executable /bin/sh script with `body`.
  std::string script(const std::string& name, const std::string& body) const {
    auto file = path_ / name;
    std::ofstream(file) << "#!/bin/sh\n" << body << "\n";
    fs::permissions(file, fs::perms::owner_all);
    return file.string();
  }

 private:
  fs::path path_;
};

std::string read_file(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Waits in real time for a file the child writes; the child runs on its own, without ctx.run().
bool wait_for_file(const fs::path& file, std::chrono::milliseconds limit = 5s) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!fs::exists(file)) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

ConfigNode config(std::vector<std::string> command, std::vector<std::pair<std::string, ConfigNode>> more = {}) {
  std::vector<ConfigNode> items(command.begin(), command.end());
  std::vector<ConfigNode::Entry> entries{{"command", {}, ConfigNode::list(items)}};
  for (auto& [k, v] : more) entries.push_back({k, {}, v});
  return ConfigNode::map(std::move(entries));
}

std::vector<std::string> validation_errors(const ConfigNode& node) {
  return sdk::testing::validation_errors(factory, node, "alerts.notify.config");
}

sdk::Alert link_down() {
  sdk::Alert a;
  a.rule = "pbx_link_down";
  a.severity = sdk::Severity::critical;
  a.summary = "PBX link down: 3 heartbeats unanswered";
  a.dedup_key = "link:hicom-main";
  a.labels["driver"] = "hicom-main";
  a.labels["pbx host"] = "10.0.0.5";
  a.at = sdk::TimePoint(std::chrono::seconds(1'700'000'123));
  return a;
}

// Fires one alert and runs the context until the command has been waited for.
struct Fired {
  int calls = 0;
  sdk::Status status;
};

Fired fire_and_wait(sdk::testing::FakeContext& ctx, ExecAlert& alert, const sdk::Alert& a = link_down()) {
  Fired fired;
  alert.fire(a, [&fired](sdk::Status s) {
    ++fired.calls;
    fired.status = s;
  });
  ctx.run();
  return fired;
}

}  // namespace

TEST(ExecAlert, PassesTheConfigConformance) {
  sdk::testing::expect_config_conformance(factory, config({"/bin/true"}));
}

TEST(ExecAlert, PassesTheLifecycleConformance) {
  sdk::testing::expect_lifecycle_conformance(factory, config({"/bin/true"}, {{"timeout", "1s"}}));
}

TEST(ExecAlert, PassesTheAlertInEnvironmentVariables) {
  TempDir dir;
  auto out = dir.path() / "env.txt";
  auto program = dir.script("dump-env", "env > \"$OUT\"; readlink /proc/$$/fd/0 > \"$OUT.stdin\"");
  sdk::testing::FakeContext ctx("ops");
  ExecAlert alert(ctx, sdk::testing::settings_for(
                           factory, config({program}, {{"environment", ConfigNode::map({{"OUT", out.string()}})}})));
  alert.start([](sdk::Status) {});

  auto fired = fire_and_wait(ctx, alert);
  ASSERT_EQ(fired.calls, 1);
  ASSERT_TRUE(fired.status.ok()) << fired.status.error().message;

  std::map<std::string, std::string> env;
  std::istringstream lines(read_file(out));
  for (std::string line; std::getline(lines, line);) {
    auto eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  EXPECT_EQ(env["SWITCHBOARD_ALERT_RULE"], "pbx_link_down");
  EXPECT_EQ(env["SWITCHBOARD_ALERT_SEVERITY"], "critical");
  EXPECT_EQ(env["SWITCHBOARD_ALERT_SUMMARY"], "PBX link down: 3 heartbeats unanswered");
  EXPECT_EQ(env["SWITCHBOARD_ALERT_KEY"], "link:hicom-main");
  EXPECT_EQ(env["SWITCHBOARD_ALERT_RESOLVED"], "false");
  EXPECT_EQ(env["SWITCHBOARD_ALERT_TIME"], sdk::iso8601_local(link_down().at));
  EXPECT_EQ(env["SWITCHBOARD_ALERT_INSTANCE"], "ops");
  EXPECT_EQ(env["SWITCHBOARD_ALERT_LABEL_DRIVER"], "hicom-main");
  EXPECT_EQ(env["SWITCHBOARD_ALERT_LABEL_PBX_HOST"], "10.0.0.5");
  EXPECT_EQ(env["OUT"], out.string());
  EXPECT_TRUE(env.count("PATH")) << "the host's environment is inherited";
  EXPECT_EQ(read_file(out.string() + ".stdin"), "/dev/null\n");
  ASSERT_EQ(ctx.logger().lines.size(), 2u);  // debug "started", info "exited"
  EXPECT_EQ(ctx.logger().lines[1].level, sdk::LogLevel::info);
  EXPECT_EQ(ctx.logger().lines[1].text.rfind("command exited rule=pbx_link_down pid=", 0), 0u) << ctx.logger().lines[1].text;
  EXPECT_NE(ctx.logger().lines[1].text.find(" status=0 "), std::string::npos);
}

TEST(ExecAlert, AResolvedAlertSaysSo) {
  TempDir dir;
  auto program = dir.script("resolved", "test \"$SWITCHBOARD_ALERT_RESOLVED\" = true");
  sdk::testing::FakeContext ctx("ops");
  ExecAlert alert(ctx, sdk::testing::settings_for(factory, config({program})));
  alert.start([](sdk::Status) {});
  auto a = link_down();
  a.resolved = true;
  EXPECT_TRUE(fire_and_wait(ctx, alert, a).status.ok());
  EXPECT_FALSE(fire_and_wait(ctx, alert, link_down()).status.ok());
}

TEST(ExecAlert, ANonZeroExitIsAnErrorWithTheFirstLineOfOutput) {
  TempDir dir;
  auto program = dir.script("fails", "echo 'sms gateway unreachable'; echo 'second line' >&2; exit 3");
  sdk::testing::FakeContext ctx("ops");
  ExecAlert alert(ctx, sdk::testing::settings_for(factory, config({program, "--sms"})));
  alert.start([](sdk::Status) {});

  auto fired = fire_and_wait(ctx, alert);
  ASSERT_EQ(fired.calls, 1);
  ASSERT_FALSE(fired.status.ok());
  EXPECT_EQ(fired.status.error().code, sdk::ErrorCode::failed);
  EXPECT_EQ(fired.status.error().message, program + " exited with status 3: sms gateway unreachable");
  const auto& last = ctx.logger().lines.back();
  EXPECT_EQ(last.level, sdk::LogLevel::warn);
  EXPECT_NE(last.text.find("status=3 output=\"sms gateway unreachable\\nsecond line\\n\""), std::string::npos)
      << last.text;
}

TEST(ExecAlert, KeepsOnlyTheFirst4KiBOfOutputAndDrainsTheRest) {
  TempDir dir;
  // 100 KB is more than a pipe holds: the command would block forever if the rest were not read.
  auto program = dir.script("chatty", "head -c 100000 /dev/zero | tr '\\0' x; exit 1");
  sdk::testing::FakeContext ctx("ops");
  ExecAlert alert(ctx, sdk::testing::settings_for(factory, config({program}, {{"timeout", "5s"}})));
  alert.start([](sdk::Status) {});

  auto fired = fire_and_wait(ctx, alert);
  ASSERT_FALSE(fired.status.ok());
  EXPECT_EQ(fired.status.error().code, sdk::ErrorCode::failed) << fired.status.error().message;
  const auto& text = ctx.logger().lines.back().text;
  EXPECT_NE(text.find("output=\"" + std::string(4096, 'x') + "\""), std::string::npos);
}

TEST(ExecAlert, ATimeoutKillsTheCommandAndReportsTimeout) {
  TempDir dir;
  auto pid_file = dir.path() / "pid";
  auto program = dir.script("hangs", "echo $$ > " + pid_file.string() + "; sleep 30");
  sdk::testing::FakeContext ctx("ops");
  ExecAlert alert(ctx, sdk::testing::settings_for(factory, config({program}, {{"timeout", "200ms"}})));
  alert.start([](sdk::Status) {});

  auto began = std::chrono::steady_clock::now();
  auto fired = fire_and_wait(ctx, alert);
  auto took = std::chrono::steady_clock::now() - began;
  ASSERT_EQ(fired.calls, 1);
  ASSERT_FALSE(fired.status.ok());
  EXPECT_EQ(fired.status.error().code, sdk::ErrorCode::timeout);
  EXPECT_NE(fired.status.error().message.find("did not end within 200ms"), std::string::npos);
  EXPECT_LT(took, 200ms + switchboard::plugins::exec_kill_grace);
  pid_t pid = std::stoi(read_file(pid_file));
  EXPECT_FALSE(process_exists(pid));
  EXPECT_TRUE(ctx.logger().contains("command timed out rule=pbx_link_down"));
}

TEST(ExecAlert, ACommandThatIgnoresSigtermIsKilledAfterTheGracePeriod) {
  TempDir dir;
  auto program = dir.script("stubborn", "trap '' TERM; sleep 30");
  sdk::testing::FakeContext ctx("ops");
  ExecAlert alert(ctx, sdk::testing::settings_for(factory, config({program}, {{"timeout", "100ms"}})));
  alert.start([](sdk::Status) {});

  auto began = std::chrono::steady_clock::now();
  auto fired = fire_and_wait(ctx, alert);
  auto took = std::chrono::steady_clock::now() - began;
  ASSERT_FALSE(fired.status.ok());
  EXPECT_EQ(fired.status.error().code, sdk::ErrorCode::timeout);
  EXPECT_GE(took, 100ms + switchboard::plugins::exec_kill_grace);
  EXPECT_LT(took, 100ms + switchboard::plugins::exec_kill_grace + 500ms);  // 500ms: scheduling slack
}

TEST(ExecAlert, StopKillsARunningCommandAndAnswersOnce) {
  TempDir dir;
  auto pid_file = dir.path() / "pid";
  auto program = dir.script("waits", "echo $$ > " + pid_file.string() + ".tmp; mv " + pid_file.string() +
                                         ".tmp " + pid_file.string() + "; exec sleep 30");
  sdk::testing::FakeContext ctx("ops");
  ExecAlert alert(ctx, sdk::testing::settings_for(factory, config({program}, {{"timeout", "30s"}})));
  alert.start([](sdk::Status) {});

  Fired fired;
  alert.fire(link_down(), [&](sdk::Status s) {
    ++fired.calls;
    fired.status = s;
  });
  ASSERT_TRUE(wait_for_file(pid_file)) << "the command did not start";
  pid_t pid = std::stoi(read_file(pid_file));

  int stops = 0;
  alert.stop([&](sdk::Status s) {
    ++stops;
    EXPECT_TRUE(s.ok());
  });
  EXPECT_EQ(stops, 1);
  EXPECT_EQ(fired.calls, 1);
  ASSERT_FALSE(fired.status.ok());
  EXPECT_EQ(fired.status.error().code, sdk::ErrorCode::cancelled);

  auto began = std::chrono::steady_clock::now();
  ctx.run();  // reaps the killed child; its late result must not answer again
  EXPECT_LT(std::chrono::steady_clock::now() - began, 1s);
  EXPECT_EQ(fired.calls, 1);
  EXPECT_FALSE(process_exists(pid));

  alert.stop([&](sdk::Status) { ++stops; });
  EXPECT_EQ(stops, 2);
  EXPECT_EQ(fired.calls, 1);
}

TEST(ExecAlert, CommandsOfSeveralAlertsRunAtTheSameTime) {
  TempDir dir;
  // Each command marks itself started, then waits for the other's mark: both succeed only if they overlap.
  auto program = dir.script("meet", "touch \"$DIR/$SWITCHBOARD_ALERT_KEY\"\n"
                                    "for i in $(seq 100); do\n"
                                    "  [ -e \"$DIR/a\" ] && [ -e \"$DIR/b\" ] && exit 0\n"
                                    "  sleep 0.02\n"
                                    "done\n"
                                    "exit 1");
  sdk::testing::FakeContext ctx("ops");
  ExecAlert alert(ctx, sdk::testing::settings_for(
                           factory, config({program}, {{"environment", ConfigNode::map({{"DIR", dir.path().string()}})}})));
  alert.start([](sdk::Status) {});
  auto a = link_down(), b = link_down();
  a.dedup_key = "a";
  b.dedup_key = "b";
  std::vector<sdk::Status> results;
  alert.fire(a, [&](sdk::Status s) { results.push_back(s); });
  alert.fire(b, [&](sdk::Status s) { results.push_back(s); });
  ctx.run();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].ok()) << results[0].error().message;
  EXPECT_TRUE(results[1].ok()) << results[1].error().message;
}

TEST(ExecAlert, ACommandThatCannotStartIsAnError) {
  TempDir dir;
  auto program = dir.script("vanishes", "exit 0");
  sdk::testing::FakeContext ctx("ops");
  ExecAlert alert(ctx, sdk::testing::settings_for(factory, config({program})));
  alert.start([](sdk::Status) {});
  fs::remove(program);  // validated, then removed before the alert

  auto fired = fire_and_wait(ctx, alert);
  ASSERT_EQ(fired.calls, 1);
  ASSERT_FALSE(fired.status.ok());
  EXPECT_NE(fired.status.error().message.find("cannot start " + program), std::string::npos)
      << fired.status.error().message;
  EXPECT_TRUE(ctx.logger().contains("command not started rule=pbx_link_down"));
}

TEST(ExecAlert, RefusesToFireWhenNotStarted) {
  sdk::testing::FakeContext ctx("ops");
  ExecAlert alert(ctx, sdk::testing::settings_for(factory, config({"/bin/true"})));
  auto fired = fire_and_wait(ctx, alert);
  ASSERT_EQ(fired.calls, 1);
  ASSERT_FALSE(fired.status.ok());
  EXPECT_EQ(fired.status.error().code, sdk::ErrorCode::unavailable);
}

TEST(ExecAlert, ValidationReportsAMissingOrUnusableProgram) {
  TempDir dir;
  auto not_executable = dir.path() / "plain.txt";
  std::ofstream(not_executable) << "text\n";

  EXPECT_EQ(validation_errors(config({"/nonexistent/notify-admin"})),
            std::vector<std::string>{"alerts.notify.config.command: '/nonexistent/notify-admin' does not exist"});
  EXPECT_EQ(validation_errors(config({"switchboard-no-such-program"})).size(), 1u);
  EXPECT_NE(validation_errors(config({"switchboard-no-such-program"}))[0].find(
                "'switchboard-no-such-program' not found in PATH"),
            std::string::npos);
  EXPECT_EQ(validation_errors(config({not_executable.string()})),
            std::vector<std::string>{"alerts.notify.config.command: '" + not_executable.string() +
                                     "' is not executable (chmod +x?)"});
  EXPECT_EQ(validation_errors(config({dir.path().string()})),
            std::vector<std::string>{"alerts.notify.config.command: '" + dir.path().string() +
                                     "' is not a regular file"});
  EXPECT_NE(validation_errors(config({"bin/notify"}))[0].find("is a relative path"), std::string::npos);
  EXPECT_NE(validation_errors(config({}))[0].find("command is empty"), std::string::npos);
  EXPECT_NE(validation_errors(ConfigNode::map({}))[0].find("missing required key 'command'"), std::string::npos);
}

TEST(ExecAlert, ValidationAcceptsANameFoundInPath) {
  EXPECT_TRUE(validation_errors(config({"sh", "-c", "true"})).empty());
}

TEST(ExecAlert, ValidationRefusesToOverrideAlertVariables) {
  auto errors = validation_errors(
      config({"/bin/true"}, {{"environment", ConfigNode::map({{"SWITCHBOARD_ALERT_RULE", "fake"}})}}));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("'SWITCHBOARD_ALERT_RULE' is reserved"), std::string::npos);
}
