// One storage instance of a configuration, started on its own for a command-line tool (rules import,
// call log export) and called synchronously from the tool's thread.
#pragma once

#include <future>
#include <memory>
#include <string>

#include "switchboard/core/host_config.hpp"
#include "switchboard/core/logging.hpp"
#include "switchboard/core/runtime.hpp"
#include "switchboard/sdk/storage.hpp"

namespace switchboard::core {

class StorageSession {
 public:
  // Starts the storage instance `name`, or the only one when `name` is empty.
  static sdk::Result<std::unique_ptr<StorageSession>> open(const HostConfig& config, LogSetup& logs,
                                                           const std::string& name);
  ~StorageSession();

  // Runs `operation` on the instance's strand and waits for its callback.
  template <class T, class Operation>
  sdk::Result<T> call(Operation operation) {
    std::promise<sdk::Result<T>> promise;
    auto future = promise.get_future();
    sdk::asio::post(strand(), [&] {
      operation(storage(), [&promise](sdk::Result<T> r) { promise.set_value(std::move(r)); });
    });
    return future.get();
  }
  template <class Operation>
  sdk::Status call_status(Operation operation) {
    std::promise<sdk::Status> promise;
    auto future = promise.get_future();
    sdk::asio::post(strand(), [&] { operation(storage(), [&promise](sdk::Status s) { promise.set_value(std::move(s)); }); });
    return future.get();
  }
  const std::string& name() const noexcept { return name_; }

 private:
  StorageSession() = default;
  sdk::Storage& storage();
  sdk::Strand& strand();

  HostConfig config_;
  std::string name_;
  std::unique_ptr<Runtime> runtime_;
};

// What a command-line tool working on one storage holds: the plugins, the config, quiet logs, the storage.
struct ToolStorage : LoadedConfig {
  LogSetup logs;
  std::unique_ptr<StorageSession> session;
};

// Loads the config and starts its storage `name` (the only one when empty). Problems are printed; then
// nothing is returned and `exit_code` says why (2: configuration, 1: the storage failed).
std::unique_ptr<ToolStorage> open_tool_storage(const std::string& config_file, const std::vector<std::string>& plugin_dirs,
                                               const std::string& name, int& exit_code);

// Writes `bytes` beside `path` and renames it over, so a failed write never leaves half a file under the
// real name. False (after printing why) when it fails.
bool write_file_replacing(const std::string& path, const std::string& bytes);

}  // namespace switchboard::core
