// The lifecycle every instance shares, whatever its extension point.
#pragma once

#include "switchboard/sdk/result.hpp"

namespace switchboard::sdk {

// Constructed by its factory with validated settings; started and stopped by the host on its strand.
// start() and stop() are asynchronous and idempotent: a second call completes at once with the first's
// result. stop() completes every pending callback of the instance exactly once (with ErrorCode::cancelled)
// before it calls `done`. The host gives stop() a deadline, after which it names the instance and goes on.
class Instance {
 public:
  virtual ~Instance() = default;
  virtual void start(Completion done) = 0;
  virtual void stop(Completion done) = 0;
};

}  // namespace switchboard::sdk
