#include "asio_scheduler.hpp"

#include <chrono>
#include <utility>

namespace switchboard::pbxsim {
namespace {

// The timer and the task live in shared state the wait handler also holds: a cancelled wait still calls
// its handler (with operation_aborted), possibly after the handle is gone.
struct TimerState {
  TimerState(sdk::asio::io_context& io, std::function<void()> work) : timer(io), task(std::move(work)) {}
  sdk::asio::steady_timer timer;
  std::function<void()> task;
  bool cancelled = false;
};

class TimerTask final : public sim::ScheduledTask {
 public:
  explicit TimerTask(std::shared_ptr<TimerState> state) : state_(std::move(state)) {}
  ~TimerTask() override { cancel(); }
  void cancel() override {
    if (state_->cancelled) return;
    state_->cancelled = true;
    state_->timer.cancel();
  }

 private:
  std::shared_ptr<TimerState> state_;
};

}  // namespace

std::unique_ptr<sim::ScheduledTask> AsioScheduler::schedule(sim::Duration delay, std::function<void()> task) {
  auto state = std::make_shared<TimerState>(io_, std::move(task));
  state->timer.expires_after(delay);
  state->timer.async_wait([state](const boost::system::error_code& error) {
    if (error || state->cancelled) return;
    state->cancelled = true;  // ran: a later cancel() has nothing to do
    auto task = std::move(state->task);
    task();
  });
  return std::make_unique<TimerTask>(state);
}

sdk::TimePoint AsioScheduler::now() const { return std::chrono::system_clock::now(); }

}  // namespace switchboard::pbxsim
