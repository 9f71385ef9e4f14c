#include "file_alert.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <string_view>
#include <system_error>
#include <utility>

#include <fmt/format.h>

namespace example {

namespace {

std::string error_text(int error) { return std::generic_category().message(error); }  // strerror, thread-safe

// JSON string escaping; also used for quoted values in the text format so a line never breaks.
std::string escaped(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        else out += c;
    }
  }
  return out;
}

std::string json_string(std::string_view s) { return '"' + escaped(s) + '"'; }

// Bare when the value is one plain word, quoted and escaped otherwise, so `key=value` pairs stay parseable.
std::string text_value(std::string_view s) {
  bool plain = !s.empty() && s.find_first_of(" \"\\=") == std::string_view::npos &&
               std::none_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; });
  return plain ? std::string(s) : json_string(s);
}

// ISO 8601 in UTC with milliseconds: sorts as text and needs no time zone to read.
std::string utc_timestamp(sdk::TimePoint at) {
  auto seconds = std::chrono::floor<std::chrono::seconds>(at);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(at - seconds).count();
  std::time_t t = std::chrono::system_clock::to_time_t(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}Z", date, millis);
}

// Runs on the blocking pool. Opened per alert: alerts are rare, and a rotated or deleted file is then
// recreated rather than written into the void. O_APPEND with one write() keeps lines whole.
sdk::Status append_line(const std::string& path, const std::string& line) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return sdk::make_error(sdk::ErrorCode::failed, "cannot open " + path + " for appending: " + error_text(errno));
  std::string data = line + '\n';
  std::string_view rest = data;
  while (!rest.empty()) {
    ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      ::close(fd);
      return sdk::make_error(sdk::ErrorCode::failed, "cannot write to " + path + ": " + error_text(error));
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  // close() can be the first to report a failed write (NFS, quota).
  if (::close(fd) != 0)
    return sdk::make_error(sdk::ErrorCode::failed, "cannot write to " + path + ": " + error_text(errno));
  return {};
}

}  // namespace

std::string format_line(const sdk::Alert& alert, LineFormat format) {
  if (format == LineFormat::json) {
    std::string labels;
    for (const auto& [k, v] : alert.labels) labels += (labels.empty() ? "" : ",") + json_string(k) + ":" + json_string(v);
    return "{\"at\":" + json_string(utc_timestamp(alert.at)) + ",\"rule\":" + json_string(alert.rule) +
           ",\"severity\":" + json_string(sdk::to_string(alert.severity)) +
           ",\"resolved\":" + (alert.resolved ? "true" : "false") + ",\"summary\":" + json_string(alert.summary) +
           ",\"dedup_key\":" + json_string(alert.dedup_key) + ",\"labels\":{" + labels + "}}";
  }
  std::string line = utc_timestamp(alert.at) + " " + sdk::to_string(alert.severity) + " " +
                     (alert.resolved ? "resolved" : "fired") + " rule=" + text_value(alert.rule) +
                     " key=" + text_value(alert.dedup_key) + " summary=" + json_string(alert.summary);
  for (const auto& [k, v] : alert.labels) line += " " + text_value(k) + "=" + text_value(v);
  return line;
}

// Touched only on the strand (the instance's calls and the write's completion).
struct FileAlert::State {
  struct Queued {
    std::string line;
    sdk::Completion done;
  };

  State(sdk::Context& c, std::string p) : context(c), path(std::move(p)) {}

  sdk::Context& context;
  std::string path;
  bool running = false;
  bool writing = false;       // one write at a time: the pool has several threads, the file keeps fire order
  sdk::Completion in_flight;  // empty once stop() has answered it
  std::deque<Queued> queue;
};

// Starts the next queued write unless one is running. Its completion holds the shared state, never `this`.
void FileAlert::write_next(const std::shared_ptr<State>& state) {
  if (state->writing || state->queue.empty()) return;
  auto next = std::move(state->queue.front());
  state->queue.pop_front();
  state->writing = true;
  state->in_flight = std::move(next.done);
  state->context.offload([path = state->path, line = std::move(next.line)] { return append_line(path, line); },
                         [state](sdk::Status status) {
                           state->writing = false;
                           auto done = std::exchange(state->in_flight, nullptr);
                           auto& log = state->context.logger();
                           if (status.ok()) log.debug("alert written path={}", state->path);
                           else if (!done) log.warn("alert write failed after stop error=\"{}\"", status.error().message);
                           if (done) done(std::move(status));
                           if (state->running) write_next(state);
                         });
}

sdk::ConfigSchema FileAlert::schema() {
  sdk::ConfigSchema s;
  s.add("path", sdk::ValueType::string).required()
      .doc("File each alert is appended to, one line per alert; created (mode 0644, less the umask) when missing. "
           "A relative path is taken from the host's working directory. The directory must exist.");
  s.add("format", sdk::TypeSpec::enum_of({"text", "json"})).default_value("text")
      .doc("`text`: `TIME SEVERITY fired rule=... key=... summary=\"...\" LABEL=VALUE...` (`resolved` instead of "
           "`fired` once the problem has ended); `json`: one JSON object per line (JSON Lines), for log shippers.");
  return s;
}

void FileAlert::validate(const sdk::Settings& settings, sdk::Diagnostics& diag) {
  if (settings.string("path").empty()) diag.error(settings, "path", "must name a file, got an empty string");
}

FileAlert::FileAlert(sdk::Context& context, const sdk::Settings& settings)
    : state_(std::make_shared<State>(context, settings.string("path"))),
      format_(settings.string("format") == "json" ? LineFormat::json : LineFormat::text) {}

// A write still on the pool finishes into the shared state; nothing is answered or written after this.
FileAlert::~FileAlert() {
  state_->running = false;
  state_->in_flight = nullptr;
  state_->queue.clear();
}

void FileAlert::start(sdk::Completion done) {
  state_->running = true;
  done({});
}

void FileAlert::stop(sdk::Completion done) {
  state_->running = false;
  // Taken out first: a completion may call back into the instance.
  auto in_flight = std::exchange(state_->in_flight, nullptr);
  auto queue = std::exchange(state_->queue, {});
  auto cancelled = sdk::make_error(sdk::ErrorCode::cancelled, "alert action is stopping");
  // A write already on the pool may still land; its caller is told `cancelled`, as the contract asks.
  if (in_flight) in_flight(cancelled);
  for (auto& q : queue) q.done(cancelled);
  done({});
}

void FileAlert::fire(const sdk::Alert& alert, sdk::Completion done) {
  if (!state_->running) {
    done(sdk::make_error(sdk::ErrorCode::unavailable, "alert action is not started"));
    return;
  }
  state_->queue.push_back({format_line(alert, format_), std::move(done)});
  write_next(state_);
}

void register_file_alert(sdk::Registrar& registrar) {
  registrar.add<FileAlert>("file", "Appends each alert as one line (text or JSON) to a file.");
}

}  // namespace example
