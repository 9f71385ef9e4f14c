// The three export formats, as pure functions from records to bytes: the seed's call log, CSV, JSON Lines.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "switchboard/sdk/result.hpp"
#include "switchboard/sdk/types.hpp"

namespace switchboard::plugins::export_calllog {

namespace sdk = switchboard::sdk;

enum class Encoding { utf8, cp1250 };

// ----- calllog_file: the seed's format ----------------------------------------------------------------

// One seed_log_line() per CallRecord, each ended by `line_end`, in `encoding`; AuditRecords are skipped.
// Fails only when CP1250 is asked for and the C library cannot convert to it.
sdk::Result<std::string> calllog_lines(const std::vector<sdk::BusinessRecord>& batch, Encoding encoding,
                                       std::string_view line_end);

// ----- csv -------------------------------------------------------------------------------------------

// RFC 4180: the field as is, or in double quotes (inner quotes doubled) when it holds the delimiter, a quote,
// CR or LF.
std::string csv_field(std::string_view value, char delimiter);
// "sequence,at,call_id,project,caller,operator,outcome,customer_id,strategy,reasons" and CRLF.
std::string csv_header(char delimiter);
// One row, CRLF-ended: `at` in ISO 8601 local time with offset, reasons joined with " | ".
std::string csv_row(const sdk::CallRecord& record, char delimiter);
// One row per CallRecord; AuditRecords are skipped.
std::string csv_rows(const std::vector<sdk::BusinessRecord>& batch, char delimiter);

// ----- jsonl -----------------------------------------------------------------------------------------

// One JSON object without the line end. A CallRecord: {"type":"call","sequence":..,"at":"ISO 8601 local",
// "call_id","project","caller","operator_extension","outcome","customer_id" (number or null),"strategy",
// "reasons" (array)}; an AuditRecord: {"type":"audit","sequence","at","instance","actor","command","result","ok"}.
// Text that is not valid UTF-8 is written with U+FFFD in place of the bad bytes.
std::string json_line(const sdk::BusinessRecord& record);
// One json_line() per record, each ended by LF.
std::string json_lines(const std::vector<sdk::BusinessRecord>& batch);

}  // namespace switchboard::plugins::export_calllog
