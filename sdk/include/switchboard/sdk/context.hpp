// What the host gives every instance: its strand, the blocking pool, its logger, the event bus, the clock.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "switchboard/sdk/asio.hpp"
#include "switchboard/sdk/category.hpp"
#include "switchboard/sdk/logger.hpp"
#include "switchboard/sdk/types.hpp"

namespace switchboard::sdk {

class Instance;

// Another instance and the strand it runs on: call it only from that strand, e.g.
//   asio::post(*ref.strand, [=] { storage->notes_for(id, ctx.on_strand(on_notes)); });
// where Context::on_strand brings the answer back to the caller's strand.
struct InstanceRef {
  Instance* instance = nullptr;
  Strand* strand = nullptr;
  explicit operator bool() const noexcept { return instance != nullptr; }
};

// A scheduled callback; destroying or cancelling the handle guarantees the callback will not run.
class TimerHandle {
 public:
  virtual ~TimerHandle() = default;
  virtual void cancel() = 0;
};
using Timer = std::unique_ptr<TimerHandle>;

// Time as the instance must see it: the host's real clock, or a test's manual clock.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;                                   // wall time, for records
  virtual std::chrono::steady_clock::time_point steady_now() const = 0;  // for durations
};

// Ends a subscription when destroyed.
class Subscription {
 public:
  virtual ~Subscription() = default;
};

// Publish/subscribe of call, device and link events between instances and the core.
class EventBus {
 public:
  virtual ~EventBus() = default;
  // Delivers `event` to every subscriber, each on its own strand, in publish order per publisher.
  virtual void publish(Event event) = 0;
  // `handler` runs on the subscribing instance's strand until the subscription is destroyed.
  virtual std::unique_ptr<Subscription> subscribe(std::function<void(const Event&)> handler) = 0;
};

class Context {
 public:
  virtual ~Context() = default;

  // The instance's name: its key in the YAML file ("hicom-main").
  virtual const std::string& instance_name() const = 0;
  virtual Category category() const = 0;

  // Every call the host makes into the instance runs on this strand; post here from your own handlers.
  virtual Strand& strand() = 0;
  // The host's single io_context, for sockets and timers of your own (bind them to strand()).
  virtual asio::io_context& io_context() = 0;
  // Runs `work` on the host's blocking pool (SQL, fsync, hashing). Never block the strand instead. The work
  // runs later, never inside this call; in virtual time (simulations) the host runs it on the thread that
  // drives the clock, one piece at a time in order, so it must not wait for handlers or other blocking work.
  virtual void run_blocking(std::function<void()> work) = 0;

  virtual Logger& logger() = 0;
  virtual EventBus& events() = 0;
  virtual Clock& clock() = 0;
  // Runs `callback` on the strand after `delay` of the context's clock (manual in tests).
  virtual Timer call_after(std::chrono::nanoseconds delay, std::function<void()> callback) = 0;

  // Another configured instance, named by a `reference` key; valid from start() to stop().
  // Empty for an unknown name.
  virtual InstanceRef instance(Category category, const std::string& name) = 0;
  // The names of every configured instance of a category, in file order (a driver that derives its devices
  // from the routing strategies, a tool that uses the only storage).
  virtual std::vector<std::string> instance_names(Category category) const = 0;

  // Wraps `callback` so that calling it, from any thread, runs it on this instance's strand. (asio's
  // bind_executor does not do that for a plain call: it only tags the handler.)
  template <class Callback>
  auto on_strand(Callback callback) {
    return [strand = strand(), callback = std::move(callback)](auto&&... args) mutable {
      asio::post(strand, [callback, ... args = std::forward<decltype(args)>(args)]() mutable {
        callback(std::move(args)...);
      });
    };
  }

  // Runs `work` on the blocking pool and hands its result to `done` on the strand.
  template <class Work, class Done>
  void offload(Work work, Done done) {
    run_blocking([this, work = std::move(work), done = std::move(done)]() mutable {
      auto result = work();
      asio::post(strand(), [done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); });
    });
  }
};

}  // namespace switchboard::sdk
