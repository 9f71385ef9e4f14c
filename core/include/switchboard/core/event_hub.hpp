// The event bus behind sdk::EventBus: delivers each published event to every subscriber on the
// subscriber's strand, in publish order per publisher.
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
  std::unique_ptr<sdk::Subscription> subscribe(sdk::Strand strand, std::function<void(const sdk::Event&)> handler);
  void publish(const sdk::Event& event);
  // No delivery in flight (the runtime waits for it before stopping what handles events).
  bool idle();
  // Stops delivering: events published from now on are dropped (shutdown).
  void close();

 private:
  struct Subscriber {
    sdk::Strand strand;
    std::function<void(const sdk::Event&)> handler;
    std::atomic<bool> active{true};
    Subscriber(sdk::Strand s, std::function<void(const sdk::Event&)> h) : strand(std::move(s)), handler(std::move(h)) {}
  };
  class Handle;
  void finished_one();

  std::mutex mutex_;
  std::vector<std::shared_ptr<Subscriber>> subscribers_;
  std::size_t in_flight_ = 0;
  bool closed_ = false;
};

}  // namespace switchboard::core
