// A command started without a shell in its own process group, and waited for on a blocking-pool thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "switchboard/sdk/result.hpp"

namespace switchboard::plugins {

// How much of the command's stdout+stderr is kept; the rest is read and dropped so the child never blocks.
inline constexpr std::size_t kept_output_bytes = 4096;

struct ProcessOutcome {
  enum class End {
    exited,     // `status` is the exit status
    signalled,  // `status` is the signal that ended it (not sent by us)
    timed_out,  // we killed it at the deadline
    cancelled,  // we killed it because cancel() was called
    lost,       // someone else reaped it (the host ignores SIGCHLD): the status is unknown
  };
  End end = End::exited;
  int status = 0;
  std::string output;  // the first kept_output_bytes of stdout and stderr, interleaved as written
};

// Shared by the strand (which may cancel) and the blocking-pool thread that waits.
class ChildProcess {
 public:
  // Starts `argv` (argv[0] an absolute path or a name looked up in PATH) with exactly `environment`
  // ("NAME=value" entries), stdin from /dev/null, stdout and stderr into one pipe, in a new process group.
  static sdk::Result<std::shared_ptr<ChildProcess>> spawn(const std::vector<std::string>& argv,
                                                          const std::vector<std::string>& environment);
  ChildProcess(pid_t pid, int output_fd) : pid_(pid), output_fd_(output_fd) {}
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const noexcept { return pid_; }

  // Any thread: sends SIGTERM to the process group now; wait() escalates to SIGKILL after the grace period.
  void cancel();

  // Blocks until the child has ended and is reaped, collecting its output. At `timeout` the group gets
  // SIGTERM, `kill_grace` later SIGKILL. Call once.
  ProcessOutcome wait(std::chrono::milliseconds timeout, std::chrono::milliseconds kill_grace);

 private:
  void signal_group(int signal);

  const pid_t pid_;
  const int output_fd_;
  std::atomic<bool> cancelled_{false};
  // Guards `reaped_`: a pid is only signalled while the child is unreaped, so a reused pid is never hit.
  std::mutex mutex_;
  bool reaped_ = false;
};

}  // namespace switchboard::plugins
