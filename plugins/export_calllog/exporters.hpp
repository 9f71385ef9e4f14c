// Exporters `calllog_file`, `csv` and `jsonl`: the call log appended to a file in the seed's format, as CSV
// or as JSON Lines.
#pragma once

#include "file_exporter.hpp"
#include "formats.hpp"
#include "switchboard/sdk/registrar.hpp"

namespace switchboard::plugins::export_calllog {

// The original system's "Save and delete log" format, `D.M.YYYY HH:MM:SS;project;caller;operator;type;customer_id;`.
class CallLogFileExporter final : public FileExporter {
 public:
  static sdk::ConfigSchema schema();
  static void validate(const sdk::Settings& settings, sdk::Diagnostics& diag);
  CallLogFileExporter(sdk::Context& context, const sdk::Settings& settings);

 protected:
  sdk::Status check_start() const override;

 private:
  Encoding encoding_;
};

class CsvExporter final : public FileExporter {
 public:
  static sdk::ConfigSchema schema();
  static void validate(const sdk::Settings& settings, sdk::Diagnostics& diag);
  CsvExporter(sdk::Context& context, const sdk::Settings& settings);
};

class JsonlExporter final : public FileExporter {
 public:
  static sdk::ConfigSchema schema();
  static void validate(const sdk::Settings& settings, sdk::Diagnostics& diag);
  JsonlExporter(sdk::Context& context, const sdk::Settings& settings);
};

void register_export_calllog(sdk::Registrar& registrar);

}  // namespace switchboard::plugins::export_calllog
