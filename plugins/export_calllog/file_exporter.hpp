// What the three exporters share: appending each batch to one file, off the strand, one batch at a time.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "switchboard/sdk/config.hpp"
#include "switchboard/sdk/context.hpp"
#include "switchboard/sdk/exporter.hpp"

namespace switchboard::plugins::export_calllog {

namespace sdk = switchboard::sdk;

// The bytes for the records of a batch that are to be written. Runs on the blocking pool: no state.
using Encoder = std::function<sdk::Result<std::string>(const std::vector<sdk::BusinessRecord>&)>;

// Declares the keys every file exporter has: `path` (first) and `fsync` (last, after the format's own keys).
void add_path_key(sdk::ConfigSchema& schema, const std::string& what);
void add_fsync_key(sdk::ConfigSchema& schema);
// An empty `path` is refused.
void validate_path(const sdk::Settings& settings, sdk::Diagnostics& diag);

// Appends each batch to `path` with one write() (O_APPEND), then fdatasync()s it when `fsync` is set.
//  - The file is opened per batch, so a rotated or deleted file is recreated; a missing parent directory is
//    created. A new file gets mode 0640 (less the umask): it holds callers' numbers.
//  - `header` is written first when the file is new or empty (the CSV column names).
//  - A batch is all or nothing: when writing or syncing fails, what was appended is cut off again, so the
//    core's retry of the same batch does not duplicate lines.
//  - A record whose sequence (non-zero) is not above the last one this instance wrote, per record type, is
//    skipped: a batch answered `cancelled` by stop() whose write had already landed is not written twice
//    when the core sends it again.
class FileExporter : public sdk::LogExporter {
 public:
  ~FileExporter() override;

  void start(sdk::Completion done) override;
  void stop(sdk::Completion done) override;
  void write(std::vector<sdk::BusinessRecord> batch, sdk::Completion done) override;

 protected:
  FileExporter(sdk::Context& context, const sdk::Settings& settings, std::string header, Encoder encode);
  // Checked by start(); a failure is start()'s answer.
  virtual sdk::Status check_start() const { return {}; }

 private:
  struct State;
  static void write_next(const std::shared_ptr<State>& state);

  // Shared with the write on the blocking pool, which may finish after stop() or after the instance is gone.
  std::shared_ptr<State> state_;
};

}  // namespace switchboard::plugins::export_calllog
