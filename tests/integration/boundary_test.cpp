// The host/plugin boundary with real loaded libraries: Asio (timer, loopback sockets, strand chain, host
// timer, event bus, blocking pool) on the host's io_context, and plugin log lines on the host's sinks at the
// host's levels.
#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <sstream>

#include <unistd.h>

#include <spdlog/sinks/ostream_sink.h>

#include "switchboard/core/host_config.hpp"
#include "switchboard/core/logging.hpp"
#include "switchboard/core/runtime.hpp"
#include "switchboard/core/yaml_source.hpp"

namespace sdk = switchboard::sdk;
namespace core = switchboard::core;

namespace {

struct Host {
  core::PluginRegistry registry;
  std::optional<core::HostConfig> config;
  std::string errors;

  explicit Host(const std::string& yaml) {
    registry.load_directory(SWITCHBOARD_TEST_PLUGIN_DIRECTORY);
    sdk::Diagnostics diag;
    auto root = core::parse_yaml(yaml, "test.yaml", diag);
    config = core::validate_config(root, "test.yaml", registry, diag);
    std::ostringstream out;
    core::print_diagnostics(diag, out);
    errors = out.str();
  }
};

}  // namespace

TEST(Boundary, AsioRunsInsideALoadedPluginOnTheHostsStrands) {
  Host host(R"(
runtime: {io_threads: 2}
alerts:
  probe-a: {type: asio_probe, config: {chain_length: 2000}}
  probe-b: {type: asio_probe}
)");
  ASSERT_TRUE(host.config) << host.errors;
  core::LogSetup logs;
  core::Runtime runtime(*host.config, logs);
  auto status = runtime.start();
  ASSERT_TRUE(status.ok()) << status.error().message;
  runtime.stop();
}

TEST(Boundary, HostTimersRunInOrderAndACancelledOneNever) {
  Host host(R"(
runtime: {io_threads: 2}
alerts:
  timers: {type: timer_probe}
)");
  ASSERT_TRUE(host.config) << host.errors;
  core::LogSetup logs;
  core::Runtime runtime(*host.config, logs);
  auto status = runtime.start();
  EXPECT_TRUE(status.ok()) << status.error().message;
  runtime.stop();
}

TEST(Boundary, PluginLogLinesReachTheHostSinksAtTheHostLevels) {
  Host host(R"(
logging:
  level: info
  levels:
    alert.quiet: error
    alert.chatty: debug
alerts:
  normal: {type: log_probe}
  quiet: {type: log_probe}
  chatty: {type: log_probe}
)");
  ASSERT_TRUE(host.config) << host.errors;
  core::LogSetup logs;
  std::ostringstream captured;
  logs.add_sink(std::make_shared<spdlog::sinks::ostream_sink_mt>(captured));
  logs.configure(host.config->host.object("logging"));
  {
    core::Runtime runtime(*host.config, logs);
    ASSERT_TRUE(runtime.start().ok());
    runtime.stop();
  }
  logs.flush();
  std::string text = captured.str();
  auto has = [&](const std::string& logger, const std::string& level) {
    return text.find(logger + ": probe line level=" + level) != std::string::npos;
  };
  EXPECT_FALSE(has("alert.normal", "debug"));
  EXPECT_TRUE(has("alert.normal", "info"));
  EXPECT_TRUE(has("alert.normal", "warn"));
  EXPECT_TRUE(has("alert.normal", "error"));
  EXPECT_FALSE(has("alert.quiet", "info"));
  EXPECT_FALSE(has("alert.quiet", "warn"));
  EXPECT_TRUE(has("alert.quiet", "error"));
  EXPECT_FALSE(has("alert.chatty", "trace"));
  EXPECT_TRUE(has("alert.chatty", "debug"));
  EXPECT_TRUE(has("alert.chatty", "info"));
}

TEST(Boundary, EnvironmentLevelsOverrideTheConfig) {
  Host host(R"(
logging: {level: warn}
alerts:
  probe: {type: log_probe}
)");
  ASSERT_TRUE(host.config) << host.errors;
  ::setenv("SWITCHBOARD_LOG", "alert.*=trace", 1);
  core::LogSetup logs;
  std::ostringstream captured;
  logs.add_sink(std::make_shared<spdlog::sinks::ostream_sink_mt>(captured));
  logs.configure(host.config->host.object("logging"));
  ::unsetenv("SWITCHBOARD_LOG");
  {
    core::Runtime runtime(*host.config, logs);
    ASSERT_TRUE(runtime.start().ok());
    runtime.stop();
  }
  logs.flush();
  EXPECT_NE(captured.str().find("alert.probe: probe line level=trace"), std::string::npos) << captured.str();
  EXPECT_EQ(captured.str().find("host: instance started"), std::string::npos) << "host stays at warn";
}

TEST(Boundary, LevelRulesParse) {
  std::vector<core::LevelRule> rules;
  std::optional<spdlog::level::level_enum> fallback;
  std::string error;
  ASSERT_TRUE(core::parse_level_rules("driver.*=trace,routing.sales=debug,warn", rules, fallback, error));
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].pattern, "driver.*");
  EXPECT_EQ(rules[0].level, spdlog::level::trace);
  EXPECT_EQ(fallback, spdlog::level::warn);
  EXPECT_FALSE(core::parse_level_rules("driver.*=loud", rules, fallback, error));
  EXPECT_NE(error.find("driver.*=loud"), std::string::npos);
}

// runtime.low_latency_idle: while `serve` runs, the machine-wide PM QoS wake-up latency reads 0; once it
// stops, the request is gone. Without write access the host says why and serves anyway.
TEST(Boundary, LowLatencyIdleHoldsTheWakeUpLatencyAtZeroWhileServing) {
  Host host(R"(
runtime: {low_latency_idle: true}
control: {socket: ""}
command_log: ""
alerts:
  probe: {type: log_probe}
)");
  ASSERT_TRUE(host.config) << host.errors;
  const char* path = "/dev/cpu_dma_latency";
  auto read_latency = [&]() -> std::optional<std::int32_t> {
    std::ifstream in(path, std::ios::binary);
    std::int32_t value = -1;
    if (!in.read(reinterpret_cast<char*>(&value), sizeof value)) return std::nullopt;
    return value;
  };
  core::LogSetup logs;
  std::ostringstream captured;
  logs.add_sink(std::make_shared<spdlog::sinks::ostream_sink_mt>(captured));
  logs.configure(host.config->host.object("logging"));
  const auto before = read_latency();
  std::optional<std::int32_t> during;
  int code = -1;
  {
    core::Runtime runtime(*host.config, logs);
    code = runtime.serve([&](core::Runtime& running) {
      during = read_latency();
      running.request_stop();
    });
  }
  logs.flush();
  EXPECT_EQ(code, 0) << captured.str();
  if (::access(path, W_OK) == 0) {
    ASSERT_TRUE(during.has_value());
    EXPECT_EQ(*during, 0);
    EXPECT_NE(captured.str().find("low-latency idle: CPUs poll instead of sleeping"), std::string::npos)
        << captured.str();
    auto after = read_latency();
    ASSERT_TRUE(before.has_value() && after.has_value());
    EXPECT_EQ(*after, *before) << "the request outlived serve";
  } else {
    EXPECT_NE(captured.str().find("runtime.low_latency_idle: cannot request 0 µs wake-up latency"), std::string::npos)
        << captured.str();
  }
}
