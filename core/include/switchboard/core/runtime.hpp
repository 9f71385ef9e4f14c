// The host's runtime: one io_context, a strand per instance, a blocking pool, the event bus, and the
// ordered start and stop of every configured instance with a deadline each.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "switchboard/core/host_config.hpp"
#include "switchboard/core/logging.hpp"
#include "switchboard/sdk/asio.hpp"
#include "switchboard/sdk/context.hpp"
#include "switchboard/sdk/instance.hpp"

namespace switchboard::core {

class AlertRules;
class CallEngine;
class ConsoleApi;
class HttpServer;
class EventHub;
class InstanceContext;
class VirtualClock;

// Real time for serving; virtual time (timers fire in order as soon as nothing else is left to do) for
// what-if runs and tests: no threads, deterministic, as fast as the CPU allows.
enum class ClockMode { real, virtual_time };

struct RunningInstance {
  const InstanceConfig* config = nullptr;
  std::unique_ptr<sdk::Context> context;  // the instance's InstanceContext
  std::unique_ptr<sdk::Instance> instance;
  bool started = false;
};

class Runtime {
 public:
  // `virtual_start`: the wall time a virtual clock starts at.
  Runtime(const HostConfig& config, LogSetup& logs, ClockMode mode = ClockMode::real,
          sdk::TimePoint virtual_start = {});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Creates every instance and starts them in dependency order (storage, alerts, exporters, routing, the
  // call engine when there are routing strategies, drivers). On failure, stops what had started and
  // returns the error.
  sdk::Status start();
  // Stops in reverse order (drivers, drain the event bus, the call engine flushes the call log,
  // routing/exporters/alerts, storage), each with the runtime.stop_timeout deadline; an instance that
  // misses it is named and skipped. Idempotent.
  void stop();
  // Virtual time: runs until nothing is left to do (no handler, no blocking work, no timer).
  void run_until_idle();
  // Virtual time: runs what is ready now, without moving the clock.
  void run_ready();
  // Virtual time: CPU time the thread running the virtual clock has spent on blocking work, which it runs
  // itself (see run_blocking). Benchmarks subtract it: in real time that work runs on the blocking pool.
  std::chrono::nanoseconds blocking_cpu() const noexcept { return blocking_cpu_; }
  // Virtual time: moves the clock forward by `by`, firing the timers due on the way.
  void advance(std::chrono::nanoseconds by);
  // start(), then wait for SIGINT/SIGTERM (or request_stop()), then stop(). Returns the process exit code.
  // `on_ready` runs once everything started (the demo prints calls from there).
  int serve(const std::function<void(Runtime&)>& on_ready = {});
  void request_stop();

  sdk::asio::io_context& io_context() noexcept { return io_; }
  // For tools that only need the storage (StorageSession): start() serves no console even with api.enabled.
  void without_console() noexcept { without_console_ = true; }
  // The port the web console and API listen on (api.listen; 0 when they are off).
  std::uint16_t api_port() const noexcept;
  EventHub& events() noexcept { return *events_; }
  sdk::Instance* find(sdk::Category category, const std::string& name) const;
  sdk::InstanceRef find_ref(sdk::Category category, const std::string& name) const;
  const std::vector<RunningInstance>& instances() const noexcept { return instances_; }
  // The call engine, once started (nullptr without routing strategies).
  CallEngine* engine() noexcept { return engine_.get(); }
  sdk::Strand& engine_strand() noexcept { return engine_strand_; }
  // Runs `fn` on the engine's strand and waits for it (tools: route explain, simulate).
  void on_engine(std::function<void()> fn);
  ClockMode clock_mode() const noexcept { return mode_; }
  // Work that may block (SQL, fsync, files): on the blocking pool in real time. In virtual time the thread
  // driving the clock runs it itself, in order, whenever no handler is ready (time stands still meanwhile):
  // no thread hand-off per piece of work, and the same order on every run.
  void run_blocking(std::function<void()> work);
  // A line from the control socket (`groups status|login EXT|logout EXT`, `ping`); `respond` gets the reply.
  void control_command(std::string command, std::function<void(std::string)> respond);
  // The virtual clock in virtual time, nullptr in real time.
  sdk::Clock* virtual_clock() noexcept;
  VirtualClock* virtual_scheduler() noexcept { return virtual_clock_.get(); }

 private:
  // Runs start or stop on each instance of `stage` at once and waits for all, at most `deadline`.
  sdk::Status run_stage(const std::vector<RunningInstance*>& stage, bool starting, std::chrono::milliseconds deadline);
  // Waits for `ready` while the io_context runs: on the io threads in real time, on this thread in
  // virtual time. False when the wall-clock deadline passed first.
  bool wait_for(const std::function<bool()>& ready, std::chrono::milliseconds deadline);
  // Virtual time: runs the oldest queued blocking work on this thread; false when none is queued.
  bool run_next_blocking();
  sdk::Status start_engine(std::chrono::milliseconds deadline);
  void start_alert_rules();
  // Where calls, missed calls, the audit and the console's data go: the storage the routing strategies route
  // from; with a single storage, that one; else "" (none chosen).
  std::string record_storage() const;
  sdk::Status start_api(std::chrono::milliseconds deadline);
  void stop_api();
  void stop_engine(std::chrono::milliseconds deadline);

  const HostConfig& config_;
  LogSetup& logs_;
  ClockMode mode_;
  std::shared_ptr<spdlog::logger> log_;
  sdk::asio::io_context io_;
  sdk::asio::executor_work_guard<sdk::asio::io_context::executor_type> work_;
  sdk::asio::thread_pool blocking_;
  std::unique_ptr<EventHub> events_;
  std::vector<std::thread> threads_;
  std::unique_ptr<VirtualClock> virtual_clock_;
  std::deque<std::function<void()>> virtual_blocking_;  // virtual time: blocking work not run yet
  std::chrono::nanoseconds blocking_cpu_{0};
  sdk::Strand engine_strand_;
  InstanceConfig engine_config_;
  std::unique_ptr<sdk::Context> engine_context_;
  std::unique_ptr<CallEngine> engine_;
  InstanceConfig alerting_config_;
  std::unique_ptr<sdk::Context> alerting_context_;
  std::unique_ptr<AlertRules> alert_rules_;
  bool without_console_ = false;
  std::shared_ptr<ConsoleApi> console_api_;
  std::unique_ptr<HttpServer> http_server_;
  std::vector<RunningInstance> instances_;
  std::atomic<bool> stop_requested_{false};
  bool stopped_ = false;
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
};

}  // namespace switchboard::core
