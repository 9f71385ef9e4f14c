#include "switchboard/core/event_hub.hpp"

#include <algorithm>

namespace switchboard::core {

class EventHub::Handle final : public sdk::Subscription {
 public:
  Handle(EventHub& hub, std::shared_ptr<Subscriber> sub) : hub_(hub), sub_(std::move(sub)) {}
  ~Handle() override {
    sub_->active = false;
    std::lock_guard lock(hub_.mutex_);
    auto& subs = hub_.subscribers_;
    subs.erase(std::remove(subs.begin(), subs.end(), sub_), subs.end());
  }

 private:
  EventHub& hub_;
  std::shared_ptr<Subscriber> sub_;
};

std::unique_ptr<sdk::Subscription> EventHub::subscribe(sdk::Strand strand, std::function<void(const sdk::Event&)> handler) {
  auto sub = std::make_shared<Subscriber>(std::move(strand), std::move(handler));
  std::lock_guard lock(mutex_);
  subscribers_.push_back(sub);
  return std::make_unique<Handle>(*this, sub);
}

void EventHub::publish(const sdk::Event& event) {
  std::vector<std::shared_ptr<Subscriber>> targets;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    targets = subscribers_;
    in_flight_ += targets.size();
  }
  for (auto& sub : targets) {
    sdk::asio::post(sub->strand, [this, sub, event] {
      if (sub->active) sub->handler(event);
      finished_one();
    });
  }
}

void EventHub::finished_one() {
  std::lock_guard lock(mutex_);
  --in_flight_;
}

bool EventHub::idle() {
  std::lock_guard lock(mutex_);
  return in_flight_ == 0;
}

void EventHub::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  for (auto& s : subscribers_) s->active = false;
}

}  // namespace switchboard::core
