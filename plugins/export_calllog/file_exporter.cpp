#include "file_exporter.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>

namespace switchboard::plugins::export_calllog {

namespace {

std::string error_text(int error) { return std::generic_category().message(error); }  // strerror, thread-safe

sdk::Error io_error(std::string message) { return sdk::make_error(sdk::ErrorCode::failed, std::move(message)); }

// The highest sequence written so far, per record type (they are numbered apart).
struct Watermarks {
  std::uint64_t call = 0;
  std::uint64_t audit = 0;
};

std::uint64_t sequence_of(const sdk::BusinessRecord& r) {
  return std::visit([](const auto& record) { return record.sequence; }, r);
}

std::uint64_t& mark_for(Watermarks& w, const sdk::BusinessRecord& r) {
  return std::holds_alternative<sdk::CallRecord>(r) ? w.call : w.audit;
}

struct Job {
  std::string path;
  std::string header;
  bool fsync = true;
  Encoder encode;
  std::vector<sdk::BusinessRecord> batch;
  Watermarks written;  // as of when the job was handed out
};

struct Outcome {
  sdk::Status status;
  Watermarks written;      // after the job: advanced only when it succeeded
  std::size_t records = 0;  // records written
};

// Closes the descriptor on every path out of append().
struct Descriptor {
  int fd = -1;
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
  int release() { return std::exchange(fd, -1); }
};

// Opens `path` for appending; creates it (and its parent directory) when missing. Sets `created` when this
// call made the file, so its directory entry is synced too.
sdk::Status open_for_append(const std::string& path, Descriptor& file, bool& created) {
  file.fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (file.fd >= 0) return {};
  if (errno != ENOENT) return io_error("cannot open " + path + " for appending: " + error_text(errno));
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return io_error("cannot create directory " + parent.string() + " for " + path + ": " + ec.message());
  }
  file.fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | O_CREAT | O_EXCL, 0640);
  if (file.fd >= 0) {
    created = true;
    return {};
  }
  if (errno == EEXIST) file.fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);  // someone was quicker
  if (file.fd < 0) return io_error("cannot open " + path + " for appending: " + error_text(errno));
  return {};
}

// fsync() of the directory that holds `path`, so a new file survives a crash.
sdk::Status sync_directory(const std::string& path) {
  auto parent = std::filesystem::path(path).parent_path();
  std::string dir = parent.empty() ? "." : parent.string();
  Descriptor d;
  d.fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d.fd < 0 || ::fsync(d.fd) != 0)
    return io_error("cannot sync directory " + dir + " of " + path + ": " + error_text(errno));
  return {};
}

// Cuts what this batch appended off again, when nobody has appended behind it. Returns a note for the message.
std::string take_back(int fd, off_t before, std::size_t written) {
  if (written == 0) return {};
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size == before + static_cast<off_t>(written) && ::ftruncate(fd, before) == 0)
    return {};
  return " (" + std::to_string(written) + " bytes of the batch stay in the file)";
}

// Runs on the blocking pool.
Outcome append(Job& job) {
  Outcome out;
  out.written = job.written;
  Watermarks after = job.written;
  std::vector<sdk::BusinessRecord> fresh;
  fresh.reserve(job.batch.size());
  for (auto& record : job.batch) {
    auto sequence = sequence_of(record);
    auto& mark = mark_for(after, record);
    if (sequence != 0 && sequence <= mark_for(job.written, record)) continue;  // already in the file
    if (sequence > mark) mark = sequence;
    fresh.push_back(std::move(record));
  }
  auto encoded = job.encode(fresh);
  if (!encoded) {
    out.status = encoded.error();
    return out;
  }
  std::string data = std::move(*encoded);
  if (data.empty()) {  // nothing of this exporter's kind in the batch
    out.written = after;
    return out;
  }

  Descriptor file;
  bool created = false;
  if (auto opened = open_for_append(job.path, file, created); !opened) {
    out.status = opened;
    return out;
  }
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) {
    out.status = io_error("cannot stat " + job.path + ": " + error_text(errno));
    return out;
  }
  const off_t before = st.st_size;
  if (before == 0 && !job.header.empty()) data.insert(0, job.header);

  std::string_view rest = data;
  std::size_t written = 0;
  while (!rest.empty()) {
    ssize_t n = ::write(file.fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      out.status = io_error("cannot write to " + job.path + ": " + error_text(error) + take_back(file.fd, before, written));
      return out;
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
    written += static_cast<std::size_t>(n);
  }
  if (job.fsync) {
    if (::fdatasync(file.fd) != 0) {
      int error = errno;
      out.status = io_error("cannot sync " + job.path + ": " + error_text(error) + take_back(file.fd, before, written));
      return out;
    }
    if (created) {
      if (auto synced = sync_directory(job.path); !synced) {
        out.status = sdk::make_error(synced.error().code, synced.error().message + take_back(file.fd, before, written));
        return out;
      }
    }
  }
  // close() can be the first to report a failed write (NFS, quota); the batch can no longer be taken back.
  if (::close(file.release()) != 0) {
    out.status = io_error("cannot write to " + job.path + ": " + error_text(errno));
    return out;
  }
  out.written = after;
  out.records = fresh.size();
  return out;
}

}  // namespace

void add_path_key(sdk::ConfigSchema& schema, const std::string& what) {
  schema.add("path", sdk::ValueType::string).required()
      .doc("File to append " + what + " to. A relative path is taken from the host's working directory; a "
           "missing file is created (mode 0640, less the umask) and so is its directory. It is opened for each "
           "batch, so a rotated or deleted file is simply created again.");
}

void add_fsync_key(sdk::ConfigSchema& schema) {
  schema.add("fsync", sdk::ValueType::boolean).default_value(true)
      .doc("Flush each batch to disk (fdatasync) before reporting it written, so an exported record survives a "
           "crash or power loss. `false` leaves it to the kernel: faster, but the last seconds may be lost.");
}

void validate_path(const sdk::Settings& settings, sdk::Diagnostics& diag) {
  if (settings.string("path").empty()) diag.error(settings, "path", "must name a file, got an empty string");
}

// Touched only on the strand (the instance's calls and the write's completion).
struct FileExporter::State {
  struct Queued {
    std::vector<sdk::BusinessRecord> batch;
    sdk::Completion done;
  };

  State(sdk::Context& c, std::string p, std::string h, bool f, Encoder e)
      : context(c), path(std::move(p)), header(std::move(h)), fsync(f), encode(std::move(e)) {}

  sdk::Context& context;
  const std::string path;
  const std::string header;
  const bool fsync;
  const Encoder encode;
  bool running = false;
  bool writing = false;       // one write at a time: the pool has several threads, the file keeps batch order
  sdk::Completion in_flight;  // empty once stop() has answered it
  std::deque<Queued> queue;
  Watermarks written;
};

FileExporter::FileExporter(sdk::Context& context, const sdk::Settings& settings, std::string header, Encoder encode)
    : state_(std::make_shared<State>(context, settings.string("path"), std::move(header), settings.boolean("fsync"),
                                     std::move(encode))) {}

// A write still on the pool finishes into the shared state; nothing is answered or written after this.
FileExporter::~FileExporter() {
  state_->running = false;
  state_->in_flight = nullptr;
  state_->queue.clear();
}

void FileExporter::write_next(const std::shared_ptr<State>& state) {
  if (state->writing || state->queue.empty()) return;
  auto next = std::move(state->queue.front());
  state->queue.pop_front();
  state->writing = true;
  state->in_flight = std::move(next.done);
  auto job = std::make_shared<Job>(Job{state->path, state->header, state->fsync, state->encode, std::move(next.batch),
                                       state->written});
  state->context.offload([job] { return append(*job); },
                         [state](Outcome outcome) {
                           state->writing = false;
                           // A write that landed after stop() still counts: its records are not written again.
                           state->written = outcome.written;
                           auto done = std::exchange(state->in_flight, nullptr);
                           auto& log = state->context.logger();
                           if (outcome.status.ok())
                             log.debug("batch exported path={} records={}", state->path, outcome.records);
                           else if (!done)
                             log.warn("export failed after stop path={} error=\"{}\"", state->path,
                                      outcome.status.error().message);
                           if (done) done(std::move(outcome.status));
                           if (state->running) write_next(state);
                         });
}

void FileExporter::start(sdk::Completion done) {
  if (!state_->running) {
    if (auto checked = check_start(); !checked) return done(std::move(checked));
    state_->running = true;
  }
  done({});
}

void FileExporter::stop(sdk::Completion done) {
  state_->running = false;
  // Taken out first: a completion may call back into the instance.
  auto in_flight = std::exchange(state_->in_flight, nullptr);
  auto queue = std::exchange(state_->queue, {});
  auto cancelled = sdk::make_error(sdk::ErrorCode::cancelled, "exporter is stopping");
  // A write already on the pool may still land; its caller is told `cancelled`, as the contract asks.
  if (in_flight) in_flight(cancelled);
  for (auto& q : queue) q.done(cancelled);
  done({});
}

void FileExporter::write(std::vector<sdk::BusinessRecord> batch, sdk::Completion done) {
  if (!state_->running) return done(sdk::make_error(sdk::ErrorCode::unavailable, "exporter is not started"));
  state_->queue.push_back({std::move(batch), std::move(done)});
  write_next(state_);
}

}  // namespace switchboard::plugins::export_calllog
