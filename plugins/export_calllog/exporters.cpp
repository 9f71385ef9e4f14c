#include "exporters.hpp"

#include "switchboard/sdk/call_log_format.hpp"

namespace switchboard::plugins::export_calllog {

namespace {

Encoding encoding_of(const sdk::Settings& settings) {
  return settings.string("encoding") == "cp1250" ? Encoding::cp1250 : Encoding::utf8;
}

std::string line_end_of(const sdk::Settings& settings) {
  return settings.string("line_end") == "lf" ? "\n" : std::string(sdk::seed_log_line_end);
}

char delimiter_of(const sdk::Settings& settings) {
  const auto& d = settings.string("delimiter");
  return d.size() == 1 ? d[0] : ',';  // validate() refuses anything else
}

}  // namespace

// ----- calllog_file ----------------------------------------------------------------------------------------

sdk::ConfigSchema CallLogFileExporter::schema() {
  sdk::ConfigSchema s;
  add_path_key(s, "call log lines");
  s.add("encoding", sdk::TypeSpec::enum_of({"utf-8", "cp1250"})).default_value("utf-8")
      .doc("Character encoding of the file. `cp1250` (Windows-1250) for the legacy tools that read the original "
           "system's log; a character CP1250 cannot hold is written as `?`.");
  s.add("line_end", sdk::TypeSpec::enum_of({"crlf", "lf"})).default_value("crlf")
      .doc("End of each line: `crlf` as the original (a Windows program) wrote it and as `switchboard calllog "
           "export` writes it, or `lf`.");
  add_fsync_key(s);
  return s;
}

void CallLogFileExporter::validate(const sdk::Settings& settings, sdk::Diagnostics& diag) { validate_path(settings, diag); }

CallLogFileExporter::CallLogFileExporter(sdk::Context& context, const sdk::Settings& settings)
    : FileExporter(context, settings, {},
                   [encoding = encoding_of(settings), line_end = line_end_of(settings)](
                       const std::vector<sdk::BusinessRecord>& batch) { return calllog_lines(batch, encoding, line_end); }),
      encoding_(encoding_of(settings)) {}

sdk::Status CallLogFileExporter::check_start() const {
  if (encoding_ == Encoding::cp1250 && !sdk::utf8_to_cp1250("?"))
    return sdk::make_error(sdk::ErrorCode::not_supported,
                           "encoding cp1250: the C library's iconv has no CP1250 converter (are glibc's gconv modules "
                           "installed?)");
  return {};
}

// ----- csv ---------------------------------------------------------------------------------------------

sdk::ConfigSchema CsvExporter::schema() {
  sdk::ConfigSchema s;
  add_path_key(s, "CSV rows");
  s.add("delimiter", sdk::ValueType::string).default_value(",")
      .doc("Field separator: one character, e.g. `;` for spreadsheets set to a Czech locale. Fields holding it, a "
           "quote or a line break are quoted (RFC 4180).");
  add_fsync_key(s);
  return s;
}

void CsvExporter::validate(const sdk::Settings& settings, sdk::Diagnostics& diag) {
  validate_path(settings, diag);
  const auto& d = settings.string("delimiter");
  if (d.size() != 1 || d[0] == '"' || d[0] == '\r' || d[0] == '\n' || static_cast<unsigned char>(d[0]) >= 0x80)
    diag.error(settings, "delimiter",
               "must be one ASCII character other than a quote or a line break, got '" + d + "'");
}

CsvExporter::CsvExporter(sdk::Context& context, const sdk::Settings& settings)
    : FileExporter(context, settings, csv_header(delimiter_of(settings)),
                   [delimiter = delimiter_of(settings)](const std::vector<sdk::BusinessRecord>& batch) {
                     return sdk::Result<std::string>(csv_rows(batch, delimiter));
                   }) {}

// ----- jsonl -------------------------------------------------------------------------------------------

sdk::ConfigSchema JsonlExporter::schema() {
  sdk::ConfigSchema s;
  add_path_key(s, "the JSON lines (one object per record)");
  add_fsync_key(s);
  return s;
}

void JsonlExporter::validate(const sdk::Settings& settings, sdk::Diagnostics& diag) { validate_path(settings, diag); }

JsonlExporter::JsonlExporter(sdk::Context& context, const sdk::Settings& settings)
    : FileExporter(context, settings, {}, [](const std::vector<sdk::BusinessRecord>& batch) {
        return sdk::Result<std::string>(json_lines(batch));
      }) {}

// ----- the plugin --------------------------------------------------------------------------------------

void register_export_calllog(sdk::Registrar& registrar) {
  registrar.add<CallLogFileExporter>(
      "calllog_file", "Appends the call log to a file in the original system's format (D.M.YYYY HH:MM:SS;project;...).");
  registrar.add<CsvExporter>("csv", "Appends the call log to a CSV file with a header row (RFC 4180).");
  registrar.add<JsonlExporter>("jsonl", "Appends call and audit records to a file as JSON Lines.");
}

}  // namespace switchboard::plugins::export_calllog
