#include "switchboard/core/runtime.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <future>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>

#include <fcntl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <boost/asio/signal_set.hpp>
#include <boost/dll/runtime_symbol_info.hpp>

#include "console_api.hpp"
#include "control_server.hpp"
#include "http_server.hpp"
#include "switchboard/core/alert_rules.hpp"
#include "switchboard/core/call_engine.hpp"
#include "switchboard/core/event_hub.hpp"

namespace switchboard::core {
namespace asio = sdk::asio;

namespace {
// Blocking-pool threads (SQL, fsync) run at a slightly lower priority (nice 2) than the event loop: when both
// want the same core, a call waiting to be routed goes first (p99 at 1,000 calls/s: 3.4 ms → 0.3 ms). Lower
// still (nice 5) starved the durable call log under full load and cut the sustained rate.
void lower_this_threads_priority() {
  thread_local bool lowered = false;
  if (lowered) return;
  lowered = true;
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 2);  // best effort: a refusal changes nothing else
}

// runtime.low_latency_idle: a Linux PM QoS request of 0 µs wake-up latency, held as long as the file stays
// open (the kernel drops it on close, so a crash cannot leave the machine polling). A sleeping CPU of a
// virtual machine takes some 50 µs to wake up for the next frame; a polling one does not.
class LowLatencyIdle {
 public:
  explicit LowLatencyIdle(spdlog::logger& log) {
    static constexpr const char* path = "/dev/cpu_dma_latency";
    fd_ = ::open(path, O_WRONLY | O_CLOEXEC);
    std::int32_t zero = 0;
    if (fd_ >= 0 && ::write(fd_, &zero, sizeof zero) == static_cast<ssize_t>(sizeof zero)) {
      log.info("low-latency idle: CPUs poll instead of sleeping while the host runs ({} held at 0 µs)", path);
      return;
    }
    log.warn("runtime.low_latency_idle: cannot request 0 µs wake-up latency through {}: {}; CPUs sleep when idle",
             path, std::strerror(errno));
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  ~LowLatencyIdle() {
    if (fd_ >= 0) ::close(fd_);
  }
  LowLatencyIdle(const LowLatencyIdle&) = delete;
  LowLatencyIdle& operator=(const LowLatencyIdle&) = delete;

 private:
  int fd_ = -1;
};
}  // namespace
using namespace std::chrono_literals;

namespace {

class SystemClock final : public sdk::Clock {
 public:
  sdk::TimePoint now() const override { return std::chrono::system_clock::now(); }
  std::chrono::steady_clock::time_point steady_now() const override { return std::chrono::steady_clock::now(); }
};

SystemClock system_clock;

// The timers of one instance: one Asio timer armed for the earliest deadline, the deadlines and callbacks in
// a map ordered by (deadline, scheduling order). Timers due at the same moment run in the order they were
// scheduled, as in virtual time (an Asio timer each gave no such order with two io threads: a test caught
// it), and cancelling erases the entry, so nothing runs and no aborted handler passes through the strand.
// The map is locked (call_after may come from any thread); the Asio timer is touched on the strand only.
class TimerQueue final : public std::enable_shared_from_this<TimerQueue> {
 public:
  using Clock = std::chrono::steady_clock;
  using Key = std::pair<Clock::time_point, std::uint64_t>;

  explicit TimerQueue(const sdk::Strand& strand) : strand_(strand), timer_(strand) {}

  sdk::Timer add(std::chrono::nanoseconds delay, std::function<void()> callback);

  void cancel(const Key& key) {
    std::lock_guard lock(mutex_);
    due_.erase(key);
  }

 private:
  // On the strand: points the Asio timer at the earliest deadline unless it already fires no later.
  void arm() {
    Clock::time_point earliest;
    {
      std::lock_guard lock(mutex_);
      if (due_.empty()) return;
      earliest = due_.begin()->first.first;
      if (armed_ && *armed_ <= earliest) return;
      armed_ = earliest;
    }
    timer_.expires_at(earliest);  // a wait still pending ends with operation_aborted and does nothing
    timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->fire();
    });
  }

  // On the strand: runs what is due, one entry at a time, so a callback that cancels another due entry
  // stops it from running.
  void fire() {
    {
      std::lock_guard lock(mutex_);
      armed_.reset();
    }
    for (;;) {
      std::function<void()> callback;
      {
        std::lock_guard lock(mutex_);
        if (due_.empty() || due_.begin()->first.first > Clock::now()) break;
        callback = std::move(due_.extract(due_.begin()).mapped());
      }
      callback();
    }
    arm();
  }

  sdk::Strand strand_;
  asio::steady_timer timer_;
  std::mutex mutex_;
  std::map<Key, std::function<void()>> due_;
  std::optional<Clock::time_point> armed_;  // where the Asio timer points; empty when it waits for nothing
  std::uint64_t next_ = 0;
};

class QueuedTimer final : public sdk::TimerHandle {
 public:
  QueuedTimer(std::weak_ptr<TimerQueue> queue, TimerQueue::Key key) : queue_(std::move(queue)), key_(key) {}
  ~QueuedTimer() override { cancel(); }
  void cancel() override {
    if (auto queue = queue_.lock()) queue->cancel(key_);
  }

 private:
  std::weak_ptr<TimerQueue> queue_;
  TimerQueue::Key key_;
};

sdk::Timer TimerQueue::add(std::chrono::nanoseconds delay, std::function<void()> callback) {
  Key key;
  bool earlier;
  {
    std::lock_guard lock(mutex_);
    key = {Clock::now() + std::max(delay, std::chrono::nanoseconds(0)), next_++};
    due_.emplace(key, std::move(callback));
    earlier = !armed_ || key.first < *armed_;
  }
  // Usually on the strand already (dispatch then arms at once); from another thread the arming goes there.
  if (earlier) asio::dispatch(strand_, [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->arm();
    });
  return std::make_unique<QueuedTimer>(weak_from_this(), key);
}

}  // namespace

// Time that moves only when nothing else is left to do: each step jumps to the earliest timer.
class VirtualClock final : public sdk::Clock {
 public:
  explicit VirtualClock(sdk::TimePoint start) : start_(start) {}
  // Read on every event: an atomic, not the timer queue's mutex.
  sdk::TimePoint now() const override {
    return start_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(elapsed());
  }
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::time_point(std::chrono::hours(1)) +
           std::chrono::duration_cast<std::chrono::steady_clock::duration>(elapsed());
  }

  sdk::Timer schedule(sdk::Strand strand, std::chrono::nanoseconds delay, std::function<void()> callback) {
    auto pending = std::make_shared<Pending>(std::move(strand), std::move(callback));
    std::lock_guard lock(mutex_);
    timers_.push_back({elapsed() + std::max(delay, std::chrono::nanoseconds(0)), next_++, pending});
    std::push_heap(timers_.begin(), timers_.end(), Due::later);
    return std::make_unique<Handle>(std::move(pending));
  }
  // Jumps to the earliest live timer (due no later than `limit`) and posts its callback to its strand;
  // false when there is none.
  bool fire_next(std::optional<std::chrono::nanoseconds> limit = std::nullopt) {
    std::unique_lock lock(mutex_);
    while (!timers_.empty()) {
      if (limit && timers_.front().at > *limit) return false;
      std::pop_heap(timers_.begin(), timers_.end(), Due::later);
      Due due = std::move(timers_.back());
      timers_.pop_back();
      if (due.pending->cancelled) continue;
      move_to(due.at);
      lock.unlock();
      auto& strand = due.pending->strand;
      asio::post(strand, [pending = std::move(due.pending)] {
        if (!pending->cancelled) pending->callback();
      });
      return true;
    }
    return false;
  }
  std::chrono::nanoseconds elapsed() const { return std::chrono::nanoseconds(elapsed_.load(std::memory_order_acquire)); }
  void move_to(std::chrono::nanoseconds t) {
    auto current = elapsed_.load(std::memory_order_relaxed);
    while (t.count() > current && !elapsed_.compare_exchange_weak(current, t.count(), std::memory_order_acq_rel)) {
    }
  }

 private:
  struct Pending {
    Pending(sdk::Strand s, std::function<void()> c) : strand(std::move(s)), callback(std::move(c)) {}
    sdk::Strand strand;
    std::function<void()> callback;
    std::atomic<bool> cancelled{false};
  };
  // The timers form a binary heap (earliest first; same time: scheduled first): one allocation a timer
  // fewer than a tree, and the earliest is at the front.
  struct Due {
    std::chrono::nanoseconds at;
    std::uint64_t order;
    std::shared_ptr<Pending> pending;
    static bool later(const Due& a, const Due& b) { return a.at != b.at ? a.at > b.at : a.order > b.order; }
  };
  class Handle final : public sdk::TimerHandle {
   public:
    explicit Handle(std::shared_ptr<Pending> pending) : pending_(std::move(pending)) {}
    ~Handle() override { cancel(); }
    void cancel() override { pending_->cancelled = true; }

   private:
    std::shared_ptr<Pending> pending_;
  };

  mutable std::mutex mutex_;  // guards timers_ and next_
  sdk::TimePoint start_;
  std::atomic<std::int64_t> elapsed_{0};  // nanoseconds since start_; only ever grows
  std::uint64_t next_ = 0;
  std::vector<Due> timers_;
};

class InstanceContext final : public sdk::Context {
 public:
  InstanceContext(Runtime& runtime, const InstanceConfig& config, sdk::Logger& logger, sdk::Strand strand)
      : runtime_(runtime), config_(config), strand_(std::move(strand)), logger_(logger), bus_(*this) {
    // In virtual time no Asio timer may exist: the first one starts the io_context's reactor, and every poll
    // of the virtual-time loop would then ask the kernel (epoll_wait) for I/O that never comes.
    if (!runtime_.virtual_scheduler()) timers_ = std::make_shared<TimerQueue>(strand_);
  }

  const std::string& instance_name() const override { return config_.name; }
  sdk::Category category() const override { return config_.category; }
  sdk::Strand& strand() override { return strand_; }
  asio::io_context& io_context() override { return runtime_.io_context(); }
  void run_blocking(std::function<void()> work) override { runtime_.run_blocking(std::move(work)); }
  sdk::Logger& logger() override { return logger_; }
  sdk::EventBus& events() override { return bus_; }
  sdk::Clock& clock() override {
    if (auto* v = runtime_.virtual_clock()) return *v;
    return system_clock;
  }
  sdk::Timer call_after(std::chrono::nanoseconds delay, std::function<void()> callback) override {
    if (auto* v = runtime_.virtual_scheduler()) return v->schedule(strand_, delay, std::move(callback));
    return timers_->add(delay, std::move(callback));
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
    void publish(sdk::Event event) override { ctx_.runtime_.events().publish(std::move(event)); }
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
  Bus bus_;
  std::shared_ptr<TimerQueue> timers_;  // real time only
};

Runtime::Runtime(const HostConfig& config, LogSetup& logs, ClockMode mode, sdk::TimePoint virtual_start)
    : config_(config),
      logs_(logs),
      mode_(mode),
      log_(logs.get("host")),
      // Virtual time has one thread: the one driving the clock runs the handlers and the blocking work, so
      // the io_context takes no locks and there is no pool.
      io_(mode == ClockMode::virtual_time ? BOOST_ASIO_CONCURRENCY_HINT_UNSAFE : BOOST_ASIO_CONCURRENCY_HINT_DEFAULT),
      work_(asio::make_work_guard(io_)),
      blocking_(mode == ClockMode::virtual_time
                    ? 0
                    : static_cast<std::size_t>(config.host.object("runtime").integer("blocking_threads"))),
      events_(std::make_unique<EventHub>()),
      engine_strand_(asio::make_strand(io_)) {
  alerting_config_.category = sdk::Category::alert;
  alerting_config_.name = "rules";
  alerting_config_.type = "rules";
  engine_config_.category = sdk::Category::routing;
  engine_config_.name = "engine";
  engine_config_.type = "engine";
  if (mode == ClockMode::virtual_time) {
    virtual_clock_ = std::make_unique<VirtualClock>(virtual_start);
    return;  // this thread drives the io_context
  }
  auto io_threads = config.host.object("runtime").integer("io_threads");
  for (std::int64_t i = 0; i < io_threads; ++i) threads_.emplace_back([this] { io_.run(); });
}

sdk::Clock* Runtime::virtual_clock() noexcept { return virtual_clock_.get(); }

void Runtime::run_blocking(std::function<void()> work) {
  if (mode_ == ClockMode::virtual_time) {
    // Run by run_ready: handing each piece to a pool thread and waiting for it cost the thread driving the
    // clock a wake-up system call and a sleep per call-log append, more than the routing of the call.
    virtual_blocking_.push_back(std::move(work));
    return;
  }
  asio::post(blocking_, [work = std::move(work)] {
    lower_this_threads_priority();
    work();
  });
}

// Never inlined: bench/callgrind.sh leaves it out of the engine's count by its name (--toggle-collect).
[[gnu::noinline]] bool Runtime::run_next_blocking() {
  if (virtual_blocking_.empty()) return false;
  auto work = std::move(virtual_blocking_.front());
  virtual_blocking_.pop_front();
  timespec before{}, after{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &before);
  work();  // its completion is posted to a strand: run_ready polls it next
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &after);
  blocking_cpu_ += std::chrono::seconds(after.tv_sec - before.tv_sec) +
                   std::chrono::nanoseconds(after.tv_nsec - before.tv_nsec);
  return true;
}

bool Runtime::wait_for(const std::function<bool()>& ready, std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  if (mode_ == ClockMode::real) {
    while (!ready()) {
      if (std::chrono::steady_clock::now() >= until) return false;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return true;
  }
  // Virtual time: what is ready now (handlers and blocking work), and only then the next timer.
  for (;;) {
    run_ready();
    if (ready()) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    if (!virtual_clock_->fire_next()) return ready();
  }
}

void Runtime::run_until_idle() {
  if (mode_ != ClockMode::virtual_time) return;
  do run_ready();
  while (virtual_clock_->fire_next());
}

void Runtime::run_ready() {
  if (mode_ != ClockMode::virtual_time) return;
  // Handlers first, then one piece of blocking work (time stands still for it), and again.
  for (;;) {
    io_.restart();
    if (io_.poll() > 0) continue;
    if (run_next_blocking()) continue;
    return;
  }
}

void Runtime::advance(std::chrono::nanoseconds by) {
  if (mode_ != ClockMode::virtual_time) return;
  auto until = virtual_clock_->elapsed() + by;
  run_ready();
  while (virtual_clock_->fire_next(until)) run_ready();
  virtual_clock_->move_to(until);
}

void Runtime::on_engine(std::function<void()> fn) {
  std::atomic<bool> done{false};
  asio::post(engine_strand_, [&] {
    fn();
    done = true;
  });
  wait_for([&] { return done.load(); }, std::chrono::hours(24));
}

Runtime::~Runtime() {
  stop();
  engine_.reset();
  alert_rules_.reset();
  work_.reset();
  io_.stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  // Virtual time: blocking work still queued (a storage closing its database) runs here, as the pool would
  // have run it.
  while (run_next_blocking()) {
  }
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
  wait_for(
      [&] {
        return std::all_of(pending.begin(), pending.end(), [](Pending& p) {
          return p.future.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
        });
      },
      deadline);
  for (auto& p : pending) {
    const auto& cfg = *p.instance->config;
    std::string who = std::string(sdk::to_string(cfg.category)) + "." + cfg.name;
    if (p.future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
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
    // Routing strategies share the engine's strand: decide() is a plain call from the engine.
    auto strand = inst.category == sdk::Category::routing ? engine_strand_ : asio::make_strand(io_);
    r.context = std::make_unique<InstanceContext>(*this, inst, logs_.sdk_logger(logger_name), strand);
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
    // The console is up before the drivers, so it sees their first link events and every call.
    if (category == sdk::Category::driver)
      if (auto status = start_api(deadline); !status.ok()) {
        stop();
        return status;
      }
    if (stage.empty()) continue;
    auto status = run_stage(stage, true, deadline);
    if (status.ok() && category == sdk::Category::routing) status = start_engine(deadline);
    if (status.ok() && category == sdk::Category::alert) start_alert_rules();
    if (!status.ok()) {
      stop();
      return status;
    }
  }
  if (engine_) asio::post(engine_strand_, [this] { engine_->monitor_devices(); });
  return {};
}

std::string Runtime::record_storage() const {
  std::vector<std::string> storages;
  for (const auto& r : instances_) {
    if (r.config->category == sdk::Category::routing)
      if (auto name = r.config->settings.string_or("storage", ""); !name.empty()) return name;
    if (r.config->category == sdk::Category::storage) storages.push_back(r.config->name);
  }
  return storages.size() == 1 ? storages.front() : "";
}

sdk::Status Runtime::start_engine(std::chrono::milliseconds deadline) {
  EngineWiring wiring;
  for (auto& r : instances_) {
    const auto& c = *r.config;
    switch (c.category) {
      case sdk::Category::driver:
        wiring.drivers.push_back({c.name, static_cast<sdk::PbxDriver*>(r.instance.get()), &r.context->strand()});
        break;
      case sdk::Category::routing:
        wiring.strategies.push_back(
            {c.name, static_cast<sdk::RoutingStrategy*>(r.instance.get()), c.settings.string_or("storage", "")});
        break;
      case sdk::Category::storage:
        wiring.storages.push_back({c.name, static_cast<sdk::Storage*>(r.instance.get()), &r.context->strand()});
        break;
      case sdk::Category::exporter:
        wiring.exporters.push_back({c.name, static_cast<sdk::LogExporter*>(r.instance.get()), &r.context->strand()});
        break;
      case sdk::Category::alert:
        break;
    }
  }
  if (wiring.strategies.empty()) return {};
  wiring.call_log_storage = record_storage();
  wiring.command_log = config_.host.string("command_log");
  engine_context_ = std::make_unique<InstanceContext>(*this, engine_config_, logs_.sdk_logger("engine"), engine_strand_);
  engine_ = std::make_unique<CallEngine>(*engine_context_, NumberPlan::from_settings(config_.host.object("numbers")),
                                         std::move(wiring));
  auto result = std::make_shared<std::optional<sdk::Status>>();
  asio::post(engine_strand_, [this, result] { engine_->start([result](sdk::Status s) { *result = std::move(s); }); });
  if (!wait_for([&] { return result->has_value(); }, deadline))
    return sdk::make_error(sdk::ErrorCode::timeout, "the call engine did not start in time (loading the customer index)");
  if (!(*result)->ok()) return **result;
  log_->info("call engine started");
  return {};
}

void Runtime::start_alert_rules() {
  std::vector<AlertTarget> targets;
  for (auto& r : instances_)
    if (r.config->category == sdk::Category::alert)
      targets.push_back({r.config->name, static_cast<sdk::AlertAction*>(r.instance.get()), &r.context->strand()});
  if (targets.empty()) return;
  alerting_context_ =
      std::make_unique<InstanceContext>(*this, alerting_config_, logs_.sdk_logger("alerting"), asio::make_strand(io_));
  alert_rules_ = std::make_unique<AlertRules>(*alerting_context_, std::move(targets),
                                              config_.host.object("alerting").duration("min_interval"));
  std::atomic<bool> done{false};
  asio::post(alerting_context_->strand(), [this, &done] {
    alert_rules_->start(*events_);
    done = true;
  });
  wait_for([&] { return done.load(); }, std::chrono::seconds(10));
}

namespace {
// The console's files as installed beside the host: <prefix>/share/switchboard/web (the build tree mirrors it).
std::string default_web_root() {
  std::error_code ec;
  auto exe = boost::dll::program_location(ec);
  if (ec) return "web";
  return (std::filesystem::path(exe.string()).parent_path().parent_path() / "share" / "switchboard" / "web")
      .lexically_normal()
      .string();
}
}  // namespace

sdk::Status Runtime::start_api(std::chrono::milliseconds deadline) {
  const auto& api = config_.host.object("api");
  if (!api.boolean("enabled") || mode_ != ClockMode::real || without_console_) return {};
  ConsoleApiWiring wiring;
  wiring.runtime = this;
  wiring.plan = NumberPlan::from_settings(config_.host.object("numbers"));
  wiring.log = logs_.get("api");
  std::string storage = api.string("storage");
  if (storage.empty()) storage = record_storage();
  for (auto& r : instances_) {
    if (r.config->category == sdk::Category::driver) wiring.drivers.push_back(r.config->name);
    if (r.config->category == sdk::Category::storage && r.config->name == storage) {
      wiring.storage = static_cast<sdk::Storage*>(r.instance.get());
      wiring.storage_strand = &r.context->strand();
      wiring.storage_name = r.config->name;
    }
  }
  if (!wiring.storage)
    return sdk::make_error(sdk::ErrorCode::invalid_argument,
                           "api: several storage instances and no routing strategy names one: choose with api.storage");
  console_api_ = std::make_shared<ConsoleApi>(api, std::move(wiring));
  auto result = std::make_shared<std::promise<sdk::Status>>();
  auto started = result->get_future();
  console_api_->start([result](sdk::Status s) { result->set_value(std::move(s)); });
  if (started.wait_for(deadline) != std::future_status::ready)
    return sdk::make_error(sdk::ErrorCode::timeout, "api: the agents were not read in time");
  if (auto s = started.get(); !s.ok()) return sdk::make_error(s.error().code, "api: cannot read the agents: " + s.error().message);
  HttpServerOptions options;
  const auto listen = ConsoleApi::listen_endpoint(api.string("listen")).value_or(sdk::Endpoint{});
  options.host = listen.host;
  options.port = listen.port;
  options.web_root = api.string("web_root");
  if (options.web_root.empty()) options.web_root = default_web_root();
  if (api.has("tls")) {
    options.certificate = api.object("tls").string_or("certificate", "");
    options.key = api.object("tls").string_or("key", "");
  }
  auto server = HttpServer::open(io_, options, console_api_, logs_.get("api"));
  if (!server) {
    console_api_->stop();
    console_api_.reset();
    return server.error();
  }
  http_server_ = std::move(server.value());
  log_->info("web console on {}://{}:{}/ (static files from {})", options.certificate.empty() ? "http" : "https",
             options.host, http_server_->port(), options.web_root);
  return {};
}

void Runtime::stop_api() {
  http_server_.reset();
  if (console_api_) console_api_->stop();
  console_api_.reset();
}

std::uint16_t Runtime::api_port() const noexcept { return http_server_ ? http_server_->port() : 0; }

void Runtime::stop_engine(std::chrono::milliseconds deadline) {
  if (!engine_) return;
  auto done = std::make_shared<std::atomic<bool>>(false);
  asio::post(engine_strand_, [this, done] { engine_->stop([done](sdk::Status) { *done = true; }); });
  if (!wait_for([&] { return done->load(); }, deadline))
    log_->error("call engine did not flush the call log within {}ms", deadline.count());
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
  stop_api();
  if (engine_) on_engine([this] { engine_->prepare_stop(); });
  if (alert_rules_) {
    std::atomic<bool> done{false};
    asio::post(alerting_context_->strand(), [this, &done] {
      alert_rules_->prepare_stop();
      done = true;
    });
    wait_for([&] { return done.load(); }, deadline);
  }
  if (auto drivers = stage_of({sdk::Category::driver}); !drivers.empty()) run_stage(drivers, false, deadline);
  if (!wait_for([this] { return events_->idle(); }, deadline))
    log_->warn("event bus not drained within {}ms; going on", deadline.count());
  stop_engine(deadline);
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

namespace {

std::string describe_groups(const std::vector<sdk::GroupStatus>& groups) {
  if (groups.empty()) return "ok\nno SA groups: no routing strategy of type sa_group is configured\n";
  std::string out = "ok\n";
  for (const auto& g : groups) {
    std::size_t joined = 0;
    for (const auto& m : g.members) joined += m.joined ? 1 : 0;
    out += fmt::format("group {}{} ({}, capacity {}): {} of {} members joined, {} waiting\n", g.number,
                       g.name.empty() ? "" : " \"" + g.name + "\"", g.distribution, g.capacity, joined,
                       g.members.size(), g.waiting.size());
    for (const auto& m : g.members) out += fmt::format("  {} {}\n", m.extension, m.joined ? "joined" : "left");
    for (const auto& id : g.waiting) out += fmt::format("  waiting call {}\n", id);
  }
  return out;
}

}  // namespace

void Runtime::control_command(std::string command, std::function<void(std::string)> respond) {
  std::istringstream in(command);
  const std::vector<std::string> words{std::istream_iterator<std::string>(in), std::istream_iterator<std::string>()};
  if (words.size() == 1 && words[0] == "ping") return respond("ok\n");
  const bool status = words.size() == 2 && words[0] == "groups" && words[1] == "status";
  const bool change = words.size() == 3 && words[0] == "groups" && (words[1] == "login" || words[1] == "logout");
  if (!status && !change)
    return respond("error: unknown command \"" + command + "\"; known: groups status, groups login EXT, groups logout EXT\n");
  asio::post(engine_strand_, [this, words = std::move(words), status, respond = std::move(respond)] {
    if (!engine_) return respond("error: the host is stopping\n");
    if (status) return respond(describe_groups(engine_->group_status()));
    auto result = engine_->set_membership(words[2], words[1] == "login", "cli");
    respond(result.ok() ? fmt::format("ok\n{} {} its SA groups\n", words[2], words[1] == "login" ? "joined" : "left")
                        : "error: " + result.error().message + "\n");
  });
}

int Runtime::serve(const std::function<void(Runtime&)>& on_ready) {
  asio::signal_set signals(io_, SIGINT, SIGTERM, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec,
                                                                             int signal) {
    if (ec) return;
    if (signal == SIGHUP) {
      // Rules changed by another process (`switchboard rules import`): reload the customer indexes.
      if (engine_)
        asio::post(engine_strand_, [this] {
          engine_->reload_indexes([this](sdk::Status s) {
            if (!s.ok()) log_->error("customer index reload failed: {}", s.error().message);
          });
        });
      signals.async_wait(on_signal);
      return;
    }
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
  std::unique_ptr<ControlServer> control;
  if (const auto& path = config_.host.object("control").string("socket"); !path.empty()) {
    auto opened = ControlServer::open(io_, path, [this](std::string command, ControlServer::Respond respond) {
      control_command(std::move(command), std::move(respond));
    }, logs_.get("control"));
    if (opened) {
      control = std::move(opened.value());
    } else if (opened.error().code == sdk::ErrorCode::conflict) {
      // Two hosts on one configuration would route the same calls twice.
      log_->error("start failed: {}", opened.error().message);
      stop();
      cancel_signals();
      return 1;
    } else {
      log_->error("{}; `switchboard groups` cannot reach this host", opened.error().message);
    }
  }
  std::optional<LowLatencyIdle> low_latency_idle;
  if (config_.host.object("runtime").boolean("low_latency_idle")) low_latency_idle.emplace(*log_);
  if (on_ready) on_ready(*this);
  log_->info("ready instances={} (Ctrl-C stops)", instances_.size());
  {
    std::unique_lock lock(stop_mutex_);
    stop_cv_.wait(lock, [this] { return stop_requested_.load(); });
  }
  control.reset();
  stop();
  cancel_signals();
  log_->info("stopped");
  logs_.flush();
  return 0;
}

}  // namespace switchboard::core
