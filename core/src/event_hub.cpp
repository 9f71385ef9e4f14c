#include "switchboard/core/event_hub.hpp"

#include <algorithm>

namespace switchboard::core {

class EventHub::Handle final : public sdk::Subscription {
 public:
  Handle(EventHub& hub, std::shared_ptr<Subscriber> sub) : hub_(hub), sub_(std::move(sub)) {}
  ~Handle() override {
    sub_->active = false;
    std::lock_guard lock(hub_.mutex_);
    auto remaining = std::make_shared<Subscribers>(*hub_.subscribers_);
    remaining->erase(std::remove(remaining->begin(), remaining->end(), sub_), remaining->end());
    hub_.subscribers_ = std::move(remaining);
  }

 private:
  EventHub& hub_;
  std::shared_ptr<Subscriber> sub_;
};

std::unique_ptr<sdk::Subscription> EventHub::subscribe(sdk::Strand strand, std::function<void(const sdk::Event&)> handler,
                                                       Filter filter) {
  auto sub = std::make_shared<Subscriber>(std::move(strand), std::move(handler), filter);
  std::lock_guard lock(mutex_);
  auto more = std::make_shared<Subscribers>(*subscribers_);
  more->push_back(sub);
  subscribers_ = std::move(more);
  return std::make_unique<Handle>(*this, sub);
}

void EventHub::publish(sdk::Event&& event) {
  if (closed_) return;
  std::shared_ptr<const Subscribers> targets;
  {
    std::lock_guard lock(mutex_);
    targets = subscribers_;
  }
  if (targets->empty()) return;
  const bool link = std::holds_alternative<sdk::LinkEvent>(event);
  auto shared = std::make_shared<const sdk::Event>(std::move(event));
  for (const auto& sub : *targets) {
    if (sub->filter == Filter::links && !link) continue;
    ++in_flight_;
    // dispatch: when the subscriber's strand is idle the handler runs at once on this thread, saving a trip
    // through the scheduler's queue (and its epoll_wait) per event; otherwise it queues in order as a post.
    sdk::asio::dispatch(sub->strand, [this, sub, shared] {
      if (sub->active) sub->handler(*shared);
      --in_flight_;
    });
  }
}

bool EventHub::idle() { return in_flight_ == 0; }

void EventHub::close() {
  closed_ = true;
  std::lock_guard lock(mutex_);
  for (auto& s : *subscribers_) s->active = false;
}

}  // namespace switchboard::core
