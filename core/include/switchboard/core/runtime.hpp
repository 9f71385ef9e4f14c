// The host's runtime: one io_context, a strand per instance, a blocking pool, the event bus, and the
// ordered start and stop of every configured instance with a deadline each.
#pragma once

#include <atomic>
#include <condition_variable>
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

class EventHub;
class InstanceContext;

struct RunningInstance {
  const InstanceConfig* config = nullptr;
  std::unique_ptr<sdk::Context> context;  // the instance's InstanceContext
  std::unique_ptr<sdk::Instance> instance;
  bool started = false;
};

class Runtime {
 public:
  Runtime(const HostConfig& config, LogSetup& logs);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Creates every instance and starts them in dependency order (storage, alerts, exporters, routing,
  // drivers). On failure, stops what had started and returns the error.
  sdk::Status start();
  // Stops in reverse order (drivers, drain the event bus, routing/exporters/alerts, storage), each with the
  // runtime.stop_timeout deadline; an instance that misses it is named and skipped. Idempotent.
  void stop();
  // start(), then wait for SIGINT/SIGTERM (or request_stop()), then stop(). Returns the process exit code.
  int serve();
  void request_stop();

  sdk::asio::io_context& io_context() noexcept { return io_; }
  EventHub& events() noexcept { return *events_; }
  sdk::Instance* find(sdk::Category category, const std::string& name) const;
  sdk::InstanceRef find_ref(sdk::Category category, const std::string& name) const;
  const std::vector<RunningInstance>& instances() const noexcept { return instances_; }

 private:
  // Runs start or stop on each instance of `stage` at once and waits for all, at most `deadline`.
  sdk::Status run_stage(const std::vector<RunningInstance*>& stage, bool starting, std::chrono::milliseconds deadline);

  const HostConfig& config_;
  LogSetup& logs_;
  std::shared_ptr<spdlog::logger> log_;
  sdk::asio::io_context io_;
  sdk::asio::executor_work_guard<sdk::asio::io_context::executor_type> work_;
  sdk::asio::thread_pool blocking_;
  std::unique_ptr<EventHub> events_;
  std::vector<std::thread> threads_;
  std::vector<RunningInstance> instances_;
  std::atomic<bool> stop_requested_{false};
  bool stopped_ = false;
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
};

}  // namespace switchboard::core
