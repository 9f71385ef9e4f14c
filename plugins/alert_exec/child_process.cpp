#include "child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>

namespace switchboard::plugins {

namespace {

// How often wait() looks at the deadline, a cancel and the child's state while the child is silent.
constexpr std::chrono::milliseconds poll_interval{20};

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// Reads what the pipe holds now; false at end of file (every writer closed it).
bool read_available(int fd, std::string& kept) {
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      std::size_t room = kept_output_bytes - std::min(kept.size(), kept_output_bytes);
      kept.append(buffer, std::min(room, static_cast<std::size_t>(n)));
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

}  // namespace

sdk::Result<std::shared_ptr<ChildProcess>> ChildProcess::spawn(const std::vector<std::string>& argv,
                                                               const std::vector<std::string>& environment) {
  if (argv.empty() || argv[0].empty()) return sdk::make_error(sdk::ErrorCode::invalid_argument, "empty command");
  int pipe_fds[2];
  // Close-on-exec, so other commands started at the same time do not inherit this one's pipe and hold it open.
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    return sdk::make_error(sdk::ErrorCode::failed, std::string("cannot create a pipe: ") + std::strerror(errno));

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);

  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // Own process group, so a timeout kills the command's own children too.
  posix_spawnattr_setpgroup(&attributes, 0);
  sigset_t no_signals;
  sigemptyset(&no_signals);
  posix_spawnattr_setsigmask(&attributes, &no_signals);
  // Ignored signals survive exec: a host that ignores SIGPIPE must not hand that to the command.
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD}) sigaddset(&defaults, s);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  auto args = c_strings(argv);
  auto env = c_strings(environment);
  pid_t pid = 0;
  // posix_spawnp searches PATH only for a bare name; an absolute path is used as it is.
  int rc = ::posix_spawnp(&pid, argv[0].c_str(), &actions, &attributes, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    return sdk::make_error(sdk::ErrorCode::failed, "cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  ::fcntl(pipe_fds[0], F_SETFL, ::fcntl(pipe_fds[0], F_GETFL) | O_NONBLOCK);
  return std::make_shared<ChildProcess>(pid, pipe_fds[0]);
}

ChildProcess::~ChildProcess() { ::close(output_fd_); }

void ChildProcess::signal_group(int signal) {
  std::lock_guard lock(mutex_);
  if (!reaped_) ::kill(-pid_, signal);
}

void ChildProcess::cancel() {
  cancelled_ = true;
  signal_group(SIGTERM);
}

ProcessOutcome ChildProcess::wait(std::chrono::milliseconds timeout, std::chrono::milliseconds kill_grace) {
  using clock = std::chrono::steady_clock;
  ProcessOutcome outcome;
  const auto deadline = clock::now() + timeout;
  std::optional<clock::time_point> terminated_at;
  bool killed = false, timed_out = false, pipe_open = true, lost = false;

  for (;;) {
    auto now = clock::now();
    if (!terminated_at && (cancelled_ || now >= deadline)) {
      timed_out = !cancelled_;
      if (timed_out) signal_group(SIGTERM);  // cancel() has sent it already
      terminated_at = now;
    }
    if (terminated_at && !killed && now >= *terminated_at + kill_grace) {
      signal_group(SIGKILL);
      killed = true;
    }
    if (pipe_open) {
      pollfd p{output_fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(poll_interval.count())) > 0) pipe_open = read_available(output_fd_, outcome.output);
    } else {
      // The command closed its output but has not ended yet (or a grandchild closed it): just watch the clock.
      std::this_thread::sleep_for(poll_interval);
    }
    // WNOWAIT leaves the child a zombie, so its pid stays ours until reaped_ is set under the lock.
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0) {
      if (info.si_pid == pid_) break;
    } else if (errno != EINTR) {
      lost = true;
      break;
    }
  }

  int status = 0;
  {
    std::lock_guard lock(mutex_);
    reaped_ = true;
  }
  if (!lost) ::waitpid(pid_, &status, 0);
  if (pipe_open) read_available(output_fd_, outcome.output);  // what it wrote just before it ended

  if (timed_out) {
    outcome.end = ProcessOutcome::End::timed_out;
  } else if (cancelled_) {
    outcome.end = ProcessOutcome::End::cancelled;
  } else if (lost) {
    outcome.end = ProcessOutcome::End::lost;
  } else if (WIFEXITED(status)) {
    outcome.end = ProcessOutcome::End::exited;
    outcome.status = WEXITSTATUS(status);
  } else {
    outcome.end = ProcessOutcome::End::signalled;
    outcome.status = WTERMSIG(status);
  }
  return outcome;
}

}  // namespace switchboard::plugins
