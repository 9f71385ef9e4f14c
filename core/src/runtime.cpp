#include "switchboard/core/runtime.hpp"

#include <algorithm>
#include <csignal>
#include <future>
#include <map>

#include <boost/asio/signal_set.hpp>

#include "switchboard/core/event_hub.hpp"

namespace switchboard::core {
namespace asio = sdk::asio;
using namespace std::chrono_literals;

namespace {

class SystemClock final : public sdk::Clock {
 public:
  sdk::TimePoint now() const override { return std::chrono::system_clock::now(); }
  std::chrono::steady_clock::time_point steady_now() const override { return std::chrono::steady_clock::now(); }
};

SystemClock system_clock;

// Cancelling an Asio timer does not recall a handler already queued on the strand: the flag does.
class AsioTimer final : public sdk::TimerHandle {
 public:
  AsioTimer(std::shared_ptr<asio::steady_timer> timer, std::shared_ptr<bool> cancelled)
      : timer_(std::move(timer)), cancelled_(std::move(cancelled)) {}
  ~AsioTimer() override { cancel(); }
  void cancel() override {
    *cancelled_ = true;  // handle and handler live on the same strand
    timer_->cancel();
  }

 private:
  std::shared_ptr<asio::steady_timer> timer_;
  std::shared_ptr<bool> cancelled_;
};

}  // namespace

class InstanceContext final : public sdk::Context {
 public:
  InstanceContext(Runtime& runtime, const InstanceConfig& config, sdk::Logger& logger, asio::thread_pool& pool)
      : runtime_(runtime), config_(config), strand_(asio::make_strand(runtime.io_context())), logger_(logger),
        pool_(pool), bus_(*this) {}

  const std::string& instance_name() const override { return config_.name; }
  sdk::Category category() const override { return config_.category; }
  sdk::Strand& strand() override { return strand_; }
  asio::io_context& io_context() override { return runtime_.io_context(); }
  void run_blocking(std::function<void()> work) override { asio::post(pool_, std::move(work)); }
  sdk::Logger& logger() override { return logger_; }
  sdk::EventBus& events() override { return bus_; }
  sdk::Clock& clock() override { return system_clock; }
  sdk::Timer call_after(std::chrono::nanoseconds delay, std::function<void()> callback) override {
    auto timer = std::make_shared<asio::steady_timer>(strand_, delay);
    auto cancelled = std::make_shared<bool>(false);
    timer->async_wait([timer, cancelled, callback = std::move(callback)](const boost::system::error_code& ec) {
      if (!ec && !*cancelled) callback();
    });
    return std::make_unique<AsioTimer>(timer, cancelled);
  }
  sdk::InstanceRef instance(sdk::Category category, const std::string& name) override {
    return runtime_.find_ref(category, name);
  }
  std::vector<std::string> instance_names(sdk::Category category) const override {
    std::vector<std::string> names;
    for (const auto& r : runtime_.instances())
      if (r.config->category == category) names.push_back(r.config->name);
    return names;
  }

 private:
  // The bus as one instance sees it: its subscriptions deliver on its strand.
  class Bus final : public sdk::EventBus {
   public:
    explicit Bus(InstanceContext& ctx) : ctx_(ctx) {}
    void publish(sdk::Event event) override { ctx_.runtime_.events().publish(event); }
    std::unique_ptr<sdk::Subscription> subscribe(std::function<void(const sdk::Event&)> handler) override {
      return ctx_.runtime_.events().subscribe(ctx_.strand_, std::move(handler));
    }

   private:
    InstanceContext& ctx_;
  };

  Runtime& runtime_;
  const InstanceConfig& config_;
  sdk::Strand strand_;
  sdk::Logger& logger_;
  asio::thread_pool& pool_;
  Bus bus_;
};

Runtime::Runtime(const HostConfig& config, LogSetup& logs)
    : config_(config),
      logs_(logs),
      log_(logs.get("host")),
      work_(asio::make_work_guard(io_)),
      blocking_(static_cast<std::size_t>(config.host.object("runtime").integer("blocking_threads"))),
      events_(std::make_unique<EventHub>()) {
  auto io_threads = config.host.object("runtime").integer("io_threads");
  for (std::int64_t i = 0; i < io_threads; ++i) threads_.emplace_back([this] { io_.run(); });
}

Runtime::~Runtime() {
  stop();
  work_.reset();
  io_.stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  blocking_.join();
  // Instances go before the io_context whose handlers may still point into them (never run now).
  instances_.clear();
}

sdk::Instance* Runtime::find(sdk::Category category, const std::string& name) const {
  return find_ref(category, name).instance;
}

sdk::InstanceRef Runtime::find_ref(sdk::Category category, const std::string& name) const {
  for (const auto& r : instances_)
    if (r.config->category == category && r.config->name == name) return {r.instance.get(), &r.context->strand()};
  return {};
}

sdk::Status Runtime::run_stage(const std::vector<RunningInstance*>& stage, bool starting,
                               std::chrono::milliseconds deadline) {
  struct Pending {
    RunningInstance* instance;
    std::shared_ptr<std::promise<sdk::Status>> promise;
    std::future<sdk::Status> future;
  };
  std::vector<Pending> pending;
  for (auto* r : stage) {
    auto promise = std::make_shared<std::promise<sdk::Status>>();
    auto future = promise->get_future();
    auto once = std::make_shared<std::atomic<bool>>(false);
    auto name = r->config->name;
    auto log = log_;
    sdk::Completion done = [promise, once, name, log](sdk::Status status) {
      if (once->exchange(true)) {
        log->warn("instance completed {} twice; the second result is ignored instance={}", "a lifecycle call", name);
        return;
      }
      promise->set_value(std::move(status));
    };
    auto* inst = r->instance.get();
    // Whatever start() answers (or if it never does), stop() is owed: it completes what start left pending.
    if (starting) r->started = true;
    asio::post(r->context->strand(), [inst, starting, done = std::move(done)]() mutable {
      try {
        if (starting) inst->start(done);
        else inst->stop(done);
      } catch (const std::exception& e) {
        done(sdk::make_error(sdk::ErrorCode::failed, std::string("threw: ") + e.what()));
      }
    });
    pending.push_back({r, std::move(promise), std::move(future)});
  }
  sdk::Status result;
  auto until = std::chrono::steady_clock::now() + deadline;
  for (auto& p : pending) {
    const auto& cfg = *p.instance->config;
    std::string who = std::string(sdk::to_string(cfg.category)) + "." + cfg.name;
    if (p.future.wait_until(until) != std::future_status::ready) {
      log_->error("instance did not {} within {}ms instance={}", starting ? "start" : "stop", deadline.count(), who);
      if (result.ok())
        result = sdk::make_error(sdk::ErrorCode::timeout, who + " did not " + (starting ? "start" : "stop") +
                                                              " within " + std::to_string(deadline.count()) + "ms");
      continue;
    }
    auto status = p.future.get();
    if (!status.ok()) {
      log_->error("instance failed to {} instance={} error=\"{}\"", starting ? "start" : "stop", who, status.error().message);
      if (result.ok()) result = sdk::make_error(status.error().code, who + ": " + status.error().message);
      continue;
    }
    if (!starting) p.instance->started = false;
    log_->info("instance {} instance={} type={}", starting ? "started" : "stopped", who, cfg.type);
  }
  return result;
}

namespace {
// Start order; stop runs it backwards with the event bus drained after the drivers.
const std::vector<sdk::Category> start_order{sdk::Category::storage, sdk::Category::alert, sdk::Category::exporter,
                                             sdk::Category::routing, sdk::Category::driver};
}  // namespace

sdk::Status Runtime::start() {
  for (const auto& inst : config_.instances) {
    RunningInstance r;
    r.config = &inst;
    std::string logger_name = std::string(sdk::to_string(inst.category)) + "." + inst.name;
    r.context = std::make_unique<InstanceContext>(*this, inst, logs_.sdk_logger(logger_name), blocking_);
    try {
      r.instance = inst.factory->factory->create(*r.context, inst.settings);
    } catch (const std::exception& e) {
      return sdk::make_error(sdk::ErrorCode::failed, logger_name + ": could not be created: " + e.what());
    }
    if (!r.instance)
      return sdk::make_error(sdk::ErrorCode::failed, logger_name + ": its factory returned no instance");
    instances_.push_back(std::move(r));
  }
  auto deadline = config_.host.object("runtime").duration("start_timeout");
  for (auto category : start_order) {
    std::vector<RunningInstance*> stage;
    for (auto& r : instances_)
      if (r.config->category == category) stage.push_back(&r);
    if (stage.empty()) continue;
    auto status = run_stage(stage, true, deadline);
    if (!status.ok()) {
      stop();
      return status;
    }
  }
  return {};
}

void Runtime::stop() {
  if (stopped_) return;
  stopped_ = true;
  auto deadline = config_.host.object("runtime").duration("stop_timeout");
  auto stage_of = [&](std::initializer_list<sdk::Category> categories) {
    std::vector<RunningInstance*> stage;
    for (auto it = instances_.rbegin(); it != instances_.rend(); ++it)
      if (it->started && std::find(categories.begin(), categories.end(), it->config->category) != categories.end())
        stage.push_back(&*it);
    return stage;
  };
  if (auto drivers = stage_of({sdk::Category::driver}); !drivers.empty()) run_stage(drivers, false, deadline);
  if (!events_->drain(deadline)) log_->warn("event bus not drained within {}ms; going on", deadline.count());
  if (auto middle = stage_of({sdk::Category::routing, sdk::Category::exporter, sdk::Category::alert}); !middle.empty())
    run_stage(middle, false, deadline);
  if (auto storage = stage_of({sdk::Category::storage}); !storage.empty()) run_stage(storage, false, deadline);
  events_->close();
}

void Runtime::request_stop() {
  std::lock_guard lock(stop_mutex_);
  stop_requested_ = true;
  stop_cv_.notify_all();
}

int Runtime::serve() {
  asio::signal_set signals(io_, SIGINT, SIGTERM);
  std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec,
                                                                             int signal) {
    if (ec) return;
    if (stop_requested_) {
      log_->warn("second signal {}: exiting now", signal == SIGINT ? "SIGINT" : "SIGTERM");
      logs_.flush();
      std::_Exit(130);
    }
    log_->info("signal {} received: stopping", signal == SIGINT ? "SIGINT" : "SIGTERM");
    request_stop();
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);
  // The signal set lives on this stack: cancel it on the io thread and wait, so no handler outlives it.
  auto cancel_signals = [&] {
    std::promise<void> cancelled;
    asio::post(io_, [&] {
      boost::system::error_code ignored;
      signals.cancel(ignored);
      cancelled.set_value();
    });
    cancelled.get_future().wait();
  };

  auto status = start();
  if (!status.ok()) {
    log_->error("start failed: {}", status.error().message);
    cancel_signals();
    return 1;
  }
  log_->info("ready instances={} (Ctrl-C stops)", instances_.size());
  {
    std::unique_lock lock(stop_mutex_);
    stop_cv_.wait(lock, [this] { return stop_requested_.load(); });
  }
  stop();
  cancel_signals();
  log_->info("stopped");
  logs_.flush();
  return 0;
}

}  // namespace switchboard::core
