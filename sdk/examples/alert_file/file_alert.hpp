// Alert action `file`: appends each alert as one line (text or JSON) to a file.
#pragma once

#include <deque>
#include <memory>
#include <string>

#include "switchboard/sdk/alert.hpp"
#include "switchboard/sdk/config.hpp"
#include "switchboard/sdk/context.hpp"
#include "switchboard/sdk/registrar.hpp"

namespace example {

namespace sdk = switchboard::sdk;

enum class LineFormat { text, json };

// The line written for `alert`, without the trailing newline. Public so tests can check it directly.
std::string format_line(const sdk::Alert& alert, LineFormat format);

class FileAlert final : public sdk::AlertAction {
 public:
  static sdk::ConfigSchema schema();
  static void validate(const sdk::Settings& settings, sdk::Diagnostics& diag);
  FileAlert(sdk::Context& context, const sdk::Settings& settings);
  ~FileAlert() override;

  void start(sdk::Completion done) override;
  void stop(sdk::Completion done) override;
  void fire(const sdk::Alert& alert, sdk::Completion done) override;

 private:
  struct State;
  static void write_next(const std::shared_ptr<State>& state);

  // Shared with the write running on the blocking pool, which may finish after the instance is gone.
  std::shared_ptr<State> state_;
  LineFormat format_;
};

void register_file_alert(sdk::Registrar& registrar);

}  // namespace example
