// FakeContext: a Context for plugin tests. Single-threaded and deterministic: nothing runs until the test
// calls run() or advance(); time moves only through the ManualClock.
//
//   sdk::testing::FakeContext ctx("main", sdk::Category::alert);
//   LogAlert alert(ctx, settings);
//   alert.start([](sdk::Status s) { ASSERT_TRUE(s.ok()); });
//   ctx.run();
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "switchboard/sdk/context.hpp"

namespace switchboard::sdk::testing {

// A clock that moves only when told.
class ManualClock final : public Clock {
 public:
  TimePoint now() const override { return wall_; }
  std::chrono::steady_clock::time_point steady_now() const override { return steady_; }
  void set_wall_time(TimePoint t) { wall_ = t; }
  void advance_to(std::chrono::steady_clock::time_point t) {
    if (t <= steady_) return;
    wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(t - steady_);
    steady_ = t;
  }

 private:
  TimePoint wall_ = TimePoint(std::chrono::seconds(1'700'000'000));
  std::chrono::steady_clock::time_point steady_ = std::chrono::steady_clock::time_point(std::chrono::hours(1));
};

struct CapturedLine {
  LogLevel level;
  std::string text;
};

// Keeps every line at or above `threshold`.
class CapturingLogger final : public Logger {
 public:
  explicit CapturingLogger(std::string name) : name_(std::move(name)) {}
  bool enabled(LogLevel level) const noexcept override { return level >= threshold; }
  void write(LogLevel level, std::string_view message) override { lines.push_back({level, std::string(message)}); }
  std::string_view name() const noexcept override { return name_; }
  bool contains(std::string_view text) const {
    return std::any_of(lines.begin(), lines.end(), [&](const CapturedLine& l) { return l.text.find(text) != std::string::npos; });
  }

  LogLevel threshold = LogLevel::trace;
  std::vector<CapturedLine> lines;

 private:
  std::string name_;
};

class FakeContext final : public Context {
 public:
  explicit FakeContext(std::string name = "test", Category category = Category::alert)
      : name_(std::move(name)), category_(category), strand_(asio::make_strand(io_)),
        logger_(std::string(to_string(category)) + "." + name_), bus_(*this) {}

  // Runs every ready handler (strand and blocking work) until nothing is left; returns how many ran.
  std::size_t run() {
    std::size_t total = 0;
    for (;;) {
      std::size_t n = 0;
      while (!blocking_.empty()) {
        auto work = std::move(blocking_.front());
        blocking_.erase(blocking_.begin());
        work();
        ++n;
      }
      io_.restart();
      n += io_.poll();
      total += n;
      if (n == 0) return total;
    }
  }
  // Moves the manual clock forward, firing due timers in time order (each followed by run()).
  void advance(std::chrono::nanoseconds delta) {
    auto until = clock_.steady_now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(delta);
    for (;;) {
      auto next = std::min_element(timers_.begin(), timers_.end(), [](const auto& a, const auto& b) {
        return std::make_pair(a->due, a->order) < std::make_pair(b->due, b->order);
      });
      if (next == timers_.end() || (*next)->due > until) break;
      auto timer = *next;
      timers_.erase(next);
      clock_.advance_to(timer->due);
      if (!timer->cancelled) asio::post(strand_, std::move(timer->callback));
      run();
    }
    clock_.advance_to(until);
    run();
  }
  std::size_t pending_timers() const {
    return static_cast<std::size_t>(std::count_if(timers_.begin(), timers_.end(), [](auto& t) { return !t->cancelled; }));
  }

  // Context
  const std::string& instance_name() const override { return name_; }
  Category category() const override { return category_; }
  Strand& strand() override { return strand_; }
  asio::io_context& io_context() override { return io_; }
  void run_blocking(std::function<void()> work) override { blocking_.push_back(std::move(work)); }
  CapturingLogger& logger() override { return logger_; }
  EventBus& events() override { return bus_; }
  ManualClock& clock() override { return clock_; }
  Timer call_after(std::chrono::nanoseconds delay, std::function<void()> callback) override {
    auto t = std::make_shared<PendingTimer>();
    t->due = clock_.steady_now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(delay);
    t->order = next_order_++;
    t->callback = std::move(callback);
    timers_.push_back(t);
    return std::make_unique<Handle>(t);
  }
  InstanceRef instance(Category category, const std::string& name) override {
    auto it = instances_.find({category, name});
    return it == instances_.end() ? InstanceRef{} : it->second;
  }

  std::vector<std::string> instance_names(Category category) const override {
    std::vector<std::string> names;
    for (const auto& [key, ref] : instances_)
      if (key.first == category) names.push_back(key.second);
    return names;
  }

  // Test set-up: what instance() returns for a referenced name; by default it shares this context's strand.
  void add_instance(Category category, const std::string& name, Instance* instance, Strand* strand = nullptr) {
    instances_[{category, name}] = InstanceRef{instance, strand ? strand : &strand_};
  }
  // Every event the instance published, in order.
  const std::vector<Event>& published() const { return bus_.published; }
  // Delivers an event to the instance's subscriptions (as another instance or the core would).
  void deliver(const Event& event) {
    for (auto& s : bus_.subscribers)
      if (s->active) asio::post(strand_, [s, event] { if (s->active) s->handler(event); });
  }

 private:
  struct PendingTimer {
    std::chrono::steady_clock::time_point due;
    std::uint64_t order = 0;
    std::function<void()> callback;
    bool cancelled = false;
  };
  class Handle final : public TimerHandle {
   public:
    explicit Handle(std::shared_ptr<PendingTimer> t) : timer_(std::move(t)) {}
    ~Handle() override { cancel(); }
    void cancel() override { timer_->cancelled = true; }

   private:
    std::shared_ptr<PendingTimer> timer_;
  };
  struct Subscriber {
    std::function<void(const Event&)> handler;
    bool active = true;
  };
  class Sub final : public Subscription {
   public:
    explicit Sub(std::shared_ptr<Subscriber> s) : s_(std::move(s)) {}
    ~Sub() override { s_->active = false; }

   private:
    std::shared_ptr<Subscriber> s_;
  };
  class Bus final : public EventBus {
   public:
    explicit Bus(FakeContext& ctx) : ctx_(ctx) {}
    void publish(Event event) override { published.push_back(std::move(event)); }
    std::unique_ptr<Subscription> subscribe(std::function<void(const Event&)> handler) override {
      auto s = std::make_shared<Subscriber>(Subscriber{std::move(handler)});
      subscribers.push_back(s);
      return std::make_unique<Sub>(s);
    }
    std::vector<Event> published;
    std::vector<std::shared_ptr<Subscriber>> subscribers;

   private:
    FakeContext& ctx_;
  };

  std::string name_;
  Category category_;
  asio::io_context io_;
  Strand strand_;
  CapturingLogger logger_;
  ManualClock clock_;
  Bus bus_;
  std::vector<std::function<void()>> blocking_;
  std::vector<std::shared_ptr<PendingTimer>> timers_;
  std::uint64_t next_order_ = 0;
  std::map<std::pair<Category, std::string>, InstanceRef> instances_;
};

}  // namespace switchboard::sdk::testing
