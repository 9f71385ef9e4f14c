// The PBX model's clock on an io_context: steady timers in real time, wall time on events.
#pragma once

#include <memory>

#include "switchboard/sdk/asio.hpp"
#include "pbx_model.hpp"

namespace switchboard::pbxsim {

class AsioScheduler final : public sim::Scheduler {
 public:
  explicit AsioScheduler(sdk::asio::io_context& io) : io_(io) {}
  std::unique_ptr<sim::ScheduledTask> schedule(sim::Duration delay, std::function<void()> task) override;
  sdk::TimePoint now() const override;

 private:
  sdk::asio::io_context& io_;
};

}  // namespace switchboard::pbxsim
