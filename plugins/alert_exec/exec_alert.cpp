#include "exec_alert.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <optional>

#include "switchboard/sdk/call_log_format.hpp"

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace switchboard::plugins {

namespace {

constexpr std::string_view variable_prefix = "SWITCHBOARD_ALERT_";

// A label name as a variable name suffix: upper case, anything but letters and digits becomes '_'.
std::string variable_suffix(std::string_view name) {
  std::string out(name);
  for (auto& c : out) {
    auto u = static_cast<unsigned char>(c);
    c = std::isalnum(u) && u < 0x80 ? static_cast<char>(std::toupper(u)) : '_';
  }
  return out;
}

// Output as one log value: quotes and line ends escaped, so a multi-line output stays one log line.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '"' || c == '\\') (out += '\\') += c;
    else out += c;
  }
  return out + '"';
}

std::string first_line(std::string_view output) {
  auto start = output.find_first_not_of("\r\n");
  if (start == std::string_view::npos) return {};
  output.remove_prefix(start);
  return std::string(output.substr(0, output.find_first_of("\r\n")));
}

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// Why `program` cannot be started, or nothing when it can (as posix_spawnp would find it now).
std::optional<std::string> program_problem(const std::string& program) {
  if (program.empty()) return "the program name (the first item) is empty";
  if (program.front() == '/') {
    struct stat st {};
    if (::stat(program.c_str(), &st) != 0) return "'" + program + "' does not exist";
    if (!S_ISREG(st.st_mode)) return "'" + program + "' is not a regular file";
    if (::access(program.c_str(), X_OK) != 0) return "'" + program + "' is not executable (chmod +x?)";
    return std::nullopt;
  }
  if (program.find('/') != std::string::npos)
    return "'" + program + "' is a relative path; give an absolute path or a bare name looked up in PATH";
  const char* path_variable = std::getenv("PATH");
  std::string search = path_variable ? path_variable : "/bin:/usr/bin";  // glibc's default without PATH
  std::string_view rest = search;
  while (true) {
    auto colon = rest.find(':');
    std::string dir(rest.substr(0, colon));
    if (!dir.empty() && is_executable_file(dir + "/" + program)) return std::nullopt;
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return "'" + program + "' not found in PATH (" + search + ")";
}

}  // namespace

sdk::ConfigSchema ExecAlert::schema() {
  sdk::ConfigSchema s;
  s.add("command", sdk::TypeSpec::list_of(sdk::TypeSpec::of(sdk::ValueType::string)))
      .required()
      .doc("The program and its arguments, e.g. [/usr/local/bin/notify-admin, --sms]. No shell: the first item is "
           "an absolute path or a name looked up in PATH. The alert arrives in environment variables "
           "SWITCHBOARD_ALERT_RULE, _SEVERITY, _SUMMARY, _KEY, _RESOLVED (true/false), _TIME (ISO 8601 local), "
           "_INSTANCE and _LABEL_<NAME> per label.");
  s.add("timeout", sdk::ValueType::duration)
      .default_value("10s")
      .min(1)
      .doc("How long the command may run; then its process group gets SIGTERM, and SIGKILL 2s later.");
  s.add("environment", sdk::TypeSpec::map_of(sdk::TypeSpec::of(sdk::ValueType::string)))
      .secret()
      .doc("Extra environment variables for the command, added to the host's (which may hold credentials, hence "
           "secret). Names starting with SWITCHBOARD_ALERT_ are reserved for the alert.");
  return s;
}

void ExecAlert::validate(const sdk::Settings& settings, sdk::Diagnostics& diag) {
  auto command = settings.strings("command");
  if (command.empty()) {
    diag.error(settings, "command", "command is empty; give the program and its arguments, e.g. [/usr/local/bin/notify]");
  } else if (auto problem = program_problem(command.front())) {
    diag.error(settings, "command", *problem);
  }
  for (const auto& [name, value] : settings.entries("environment")) {
    if (name.empty() || name.find('=') != std::string::npos)
      diag.error(settings, "environment", "'" + name + "' is not a valid variable name");
    else if (name.rfind(variable_prefix, 0) == 0)
      diag.error(settings, "environment", "'" + name + "' is reserved: SWITCHBOARD_ALERT_* variables carry the alert");
  }
}

ExecAlert::ExecAlert(sdk::Context& context, const sdk::Settings& settings)
    : context_(context), command_(settings.strings("command")), timeout_(settings.duration("timeout")) {
  for (const auto& [name, value] : settings.entries("environment")) extra_environment_.emplace_back(name, value.text);
}

ExecAlert::~ExecAlert() {
  // Destroyed without stop(): still do not leave commands running unsupervised past their owner.
  for (auto& [id, run] : runs_) run.child->cancel();
}

void ExecAlert::start(sdk::Completion done) {
  running_ = true;
  done({});
}

void ExecAlert::stop(sdk::Completion done) {
  running_ = false;
  auto runs = std::move(runs_);
  runs_.clear();
  if (!runs.empty()) context_.logger().info("stop killing commands count={}", runs.size());
  for (auto& [id, run] : runs) {
    run.child->cancel();
    run.done(sdk::make_error(sdk::ErrorCode::cancelled, "alert action stopped; command killed"));
  }
  done({});
}

std::vector<std::pair<std::string, std::string>> ExecAlert::alert_variables(const sdk::Alert& alert,
                                                                            const std::string& instance) {
  std::string p(variable_prefix);
  std::vector<std::pair<std::string, std::string>> vars = {
      {p + "RULE", alert.rule},
      {p + "SEVERITY", sdk::to_string(alert.severity)},
      {p + "SUMMARY", alert.summary},
      {p + "KEY", alert.dedup_key},
      {p + "RESOLVED", alert.resolved ? "true" : "false"},
      {p + "TIME", sdk::iso8601_local(alert.at)},
      {p + "INSTANCE", instance},
  };
  for (const auto& [name, value] : alert.labels) vars.emplace_back(p + "LABEL_" + variable_suffix(name), value);
  return vars;
}

std::vector<std::string> ExecAlert::environment_for(const sdk::Alert& alert) const {
  // The host's environment (PATH, HOME, locale) with configured and alert variables laid over it; stale
  // SWITCHBOARD_ALERT_* values the host itself may have inherited are dropped.
  std::map<std::string, std::string> vars;
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string_view text(*entry);
    auto eq = text.find('=');
    if (eq == std::string_view::npos || text.substr(0, eq).rfind(variable_prefix, 0) == 0) continue;
    vars.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
  }
  for (const auto& [name, value] : extra_environment_) vars[name] = value;
  for (auto& [name, value] : alert_variables(alert, context_.instance_name())) vars[name] = std::move(value);
  std::vector<std::string> out;
  out.reserve(vars.size());
  for (const auto& [name, value] : vars) out.push_back(name + "=" + value);
  return out;
}

void ExecAlert::fire(const sdk::Alert& alert, sdk::Completion done) {
  if (!running_) {
    done(sdk::make_error(sdk::ErrorCode::unavailable, "alert action is not started"));
    return;
  }
  // Spawning is quick (vfork); only the wait goes to the blocking pool, so stop() can kill at once.
  auto child = ChildProcess::spawn(command_, environment_for(alert));
  if (!child) {
    context_.logger().warn("command not started rule={} error={}", alert.rule, quoted(child.error().message));
    done(sdk::make_error(sdk::ErrorCode::failed, child.error().message));
    return;
  }
  auto run_id = next_run_id_++;
  context_.logger().debug("command started rule={} pid={}", alert.rule, (*child)->pid());
  runs_.emplace(run_id, Run{*child, std::move(done), alert.rule});
  context_.offload([child = *child, timeout = timeout_] { return child->wait(timeout, exec_kill_grace); },
                   [this, alive = std::weak_ptr<int>(alive_), run_id](ProcessOutcome outcome) {
                     if (!alive.expired()) finish(run_id, outcome);
                   });
}

void ExecAlert::finish(std::uint64_t run_id, const ProcessOutcome& outcome) {
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return;  // stop() has answered it already
  Run run = std::move(it->second);
  runs_.erase(it);
  auto& log = context_.logger();
  const std::string& program = command_.front();
  auto line = first_line(outcome.output);
  auto output = quoted(outcome.output);
  auto pid = run.child->pid();
  switch (outcome.end) {
    case ProcessOutcome::End::exited:
      if (outcome.status == 0) {
        log.info("command exited rule={} pid={} status=0 output={}", run.rule, pid, output);
        run.done({});
        return;
      }
      log.warn("command failed rule={} pid={} status={} output={}", run.rule, pid, outcome.status, output);
      run.done(sdk::make_error(sdk::ErrorCode::failed, program + " exited with status " + std::to_string(outcome.status) +
                                                           (line.empty() ? "" : ": " + line)));
      return;
    case ProcessOutcome::End::signalled:
      log.warn("command killed rule={} pid={} signal={} output={}", run.rule, pid, outcome.status, output);
      run.done(sdk::make_error(sdk::ErrorCode::failed, program + " was killed by signal " +
                                                           std::to_string(outcome.status) +
                                                           (line.empty() ? "" : ": " + line)));
      return;
    case ProcessOutcome::End::timed_out:
      log.warn("command timed out rule={} pid={} timeout={}ms output={}", run.rule, pid, timeout_.count(), output);
      run.done(sdk::make_error(sdk::ErrorCode::timeout, program + " did not end within " +
                                                            std::to_string(timeout_.count()) + "ms and was killed"));
      return;
    case ProcessOutcome::End::cancelled:  // only stop() cancels, and it answers first; kept for completeness
      run.done(sdk::make_error(sdk::ErrorCode::cancelled, "alert action stopped; command killed"));
      return;
    case ProcessOutcome::End::lost:
      log.warn("command status lost rule={} pid={} reason=\"reaped elsewhere (SIGCHLD ignored?)\"", run.rule, pid);
      run.done(sdk::make_error(sdk::ErrorCode::failed, program + " ended but its exit status was lost"));
      return;
  }
}

void register_exec_alert(sdk::Registrar& registrar) {
  registrar.add<ExecAlert>("exec", "Runs a command for each alert, the alert in SWITCHBOARD_ALERT_* variables.");
}

}  // namespace switchboard::plugins
