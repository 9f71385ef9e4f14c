// The event bus behind sdk::EventBus: delivers each published event to every subscriber on the
// subscriber's strand, in publish order per publisher. One immutable copy of the event is shared by all
// subscribers, and publishing reads the subscriber list without copying it: the bus is on every call's path.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "switchboard/sdk/asio.hpp"
#include "switchboard/sdk/context.hpp"

namespace switchboard::core {

class EventHub {
 public:
  // Which events a subscriber receives: the core's own listeners that need only link events say so, and
  // are not woken for the several call and device events of every call.
  enum class Filter { all, links };
  std::unique_ptr<sdk::Subscription> subscribe(sdk::Strand strand, std::function<void(const sdk::Event&)> handler,
                                               Filter filter = Filter::all);
  void publish(sdk::Event&& event);
  // No delivery in flight (the runtime waits for it before stopping what handles events).
  bool idle();
  // Stops delivering: events published from now on are dropped (shutdown).
  void close();

 private:
  struct Subscriber {
    sdk::Strand strand;
    std::function<void(const sdk::Event&)> handler;
    Filter filter;
    std::atomic<bool> active{true};
    Subscriber(sdk::Strand s, std::function<void(const sdk::Event&)> h, Filter f)
        : strand(std::move(s)), handler(std::move(h)), filter(f) {}
  };
  using Subscribers = std::vector<std::shared_ptr<Subscriber>>;
  class Handle;

  std::mutex mutex_;  // guards replacing subscribers_; publishing only copies the pointer under it
  std::shared_ptr<const Subscribers> subscribers_ = std::make_shared<const Subscribers>();
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<bool> closed_{false};
};

}  // namespace switchboard::core
