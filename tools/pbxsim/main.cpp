// switchboard-pbxsim: a CSTA XML switch on the simulated PBX model, for testing CSTA clients over TCP.
#include <csignal>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include "switchboard/sdk/asio.hpp"  // first: it includes <utility> before Asio

#include <boost/asio/signal_set.hpp>
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "scenario.hpp"
#include "server.hpp"

namespace {

using switchboard::pbxsim::ListenAddress;
using switchboard::pbxsim::parse_listen_address;

constexpr int kExitUsage = 2;  // bad command line or scenario, as `switchboard check`

std::string check_address(const std::string& text) {
  return parse_listen_address(text) ? std::string()
                                    : "expected HOST:PORT with an IP address and a port 0-65535 (0: any free port)";
}

std::shared_ptr<spdlog::logger> make_logger(const std::string& level) {
  auto log = std::make_shared<spdlog::logger>("pbxsim", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  log->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  log->set_level(spdlog::level::from_str(level));
  log->flush_on(spdlog::level::warn);
  return log;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "switchboard-pbxsim: the switch side of CSTA XML (ECMA-323 over TCP, ECMA-354 sessions) on the simulated\n"
      "PBX model of the `sim` driver, for testing CSTA clients over a real socket. Prints\n"
      "  listening csta=HOST:PORT control=HOST:PORT\n"
      "on stdout once bound, then runs until SIGINT/SIGTERM, the control command `quit`, or the end of --load.\n"
      "Control port: one command a line: drop | silent on|off | garbage | call PROJECT [CALLER] | dial FROM NUMBER |\n"
      "status | quit.\n"
      "Exit status: 0 done, 1 runtime failure (port in use, load client never set up), 2 bad arguments or scenario.",
      "switchboard-pbxsim"};
  std::string listen;
  std::string scenario_file;
  std::string control;
  std::uint64_t load_calls = 0;
  double load_rate = 0;
  std::string report_json;
  std::optional<std::uint64_t> seed;
  std::string log_level = "info";

  app.add_option("--listen", listen, "CSTA address HOST:PORT; PORT 0 picks a free port")
      ->required()
      ->check(check_address);
  app.add_option("--scenario", scenario_file, "Scenario YAML: projects, extensions, callers, session, calls")
      ->required();
  app.add_option("--control", control, "Control port HOST:PORT for fault injection (line-based text)")
      ->check(check_address);
  auto* load_option = app.add_option("--load", load_calls,
                                     "Load mode: offer N calls once a client has set up, then report and exit")
                          ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100'000'000}));
  auto* rate_option = app.add_option("--rate", load_rate, "Load mode: calls offered per second")
                          ->check(CLI::PositiveNumber);
  auto* report_option = app.add_option("--report-json", report_json, "Load mode: write the report as JSON to FILE");
  load_option->needs(rate_option);
  rate_option->needs(load_option);
  report_option->needs(load_option);
  app.add_option("--seed", seed, "Seed of the model; overrides calls.seed of the scenario");
  app.add_option("--log-level", log_level, "Log level on stderr")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    return code == 0 ? 0 : kExitUsage;
  }

  switchboard::sdk::Diagnostics diagnostics;
  auto scenario = switchboard::pbxsim::load_scenario(scenario_file, diagnostics);
  if (!scenario) {
    switchboard::pbxsim::print_diagnostics(diagnostics, scenario_file, std::cerr);
    return kExitUsage;
  }
  if (seed) scenario->calls.seed = *seed;

  auto log = make_logger(log_level);
  switchboard::sdk::asio::io_context io;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);

  switchboard::pbxsim::ServerOptions options;
  options.csta = *parse_listen_address(listen);
  if (!control.empty()) options.control = parse_listen_address(control);
  if (load_calls > 0) {
    switchboard::pbxsim::LoadOptions load;
    load.calls = load_calls;
    load.rate = load_rate;
    load.report_json = report_json;
    options.load = load;
  }
  options.on_stopped = [&signals] { signals.cancel(); };

  switchboard::pbxsim::PbxSimServer server(io, std::move(*scenario), options, log);
  try {
    server.start();
  } catch (const boost::system::system_error& error) {
    log->error("cannot listen error=\"{}\"", error.what());
    return 1;
  }
  std::cout << server.listening_line() << std::endl;  // flushed: scripts wait for this line

  signals.async_wait([&](const boost::system::error_code& error, int signal) {
    if (error) return;
    log->info("signal {}: stopping", signal);
    server.stop();
  });
  if (load_calls > 0) {
    // A load generator measures the system under test, not its own wake-ups: in load mode the event loop
    // spins on its core instead of sleeping, so an answer is read the moment it arrives.
    while (!io.stopped()) io.poll();
  } else {
    io.run();
  }

  int status = server.exit_code();
  if (const auto& report = server.load_report()) {
    std::cout << report->summary() << std::flush;
    if (!report_json.empty()) {
      std::ofstream out(report_json, std::ios::trunc);
      out << report->to_json();
      if (!out.flush()) {
        log->error("cannot write the report file={}", report_json);
        status = 1;
      }
    }
  }
  return status;
}
