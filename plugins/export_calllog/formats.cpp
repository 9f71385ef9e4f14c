#include "formats.hpp"

#include <nlohmann/json.hpp>

#include "switchboard/sdk/call_log_format.hpp"

namespace switchboard::plugins::export_calllog {

sdk::Result<std::string> calllog_lines(const std::vector<sdk::BusinessRecord>& batch, Encoding encoding,
                                       std::string_view line_end) {
  std::string text;
  for (const auto& record : batch) {
    if (const auto* call = std::get_if<sdk::CallRecord>(&record)) {
      text += sdk::seed_log_line(*call);
      text += line_end;
    }
  }
  if (encoding == Encoding::utf8 || text.empty()) return text;
  auto converted = sdk::utf8_to_cp1250(text);
  if (!converted)
    return sdk::make_error(sdk::ErrorCode::failed, "cannot convert the call log to CP1250: the C library's iconv has "
                                                   "no CP1250 converter (are glibc's gconv modules installed?)");
  return std::move(*converted);
}

std::string csv_field(std::string_view value, char delimiter) {
  bool quote = value.find_first_of(std::string{delimiter, '"', '\r', '\n'}) != std::string_view::npos;
  if (!quote) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string csv_header(char delimiter) {
  std::string line;
  for (const char* column :
       {"sequence", "at", "call_id", "project", "caller", "operator", "outcome", "customer_id", "strategy", "reasons"}) {
    if (!line.empty()) line += delimiter;
    line += column;
  }
  return line + "\r\n";
}

std::string csv_row(const sdk::CallRecord& r, char delimiter) {
  std::string reasons;
  for (const auto& reason : r.reasons) {
    if (!reasons.empty()) reasons += " | ";
    reasons += reason;
  }
  std::string line;
  auto add = [&](std::string_view value) {
    if (!line.empty()) line += delimiter;
    line += csv_field(value, delimiter);
  };
  add(std::to_string(r.sequence));
  add(sdk::iso8601_local(r.at));
  add(r.call_id);
  add(r.project);
  add(r.caller);
  add(r.operator_extension);
  add(std::to_string(r.outcome));
  add(r.customer_id ? std::to_string(*r.customer_id) : std::string{});
  add(r.strategy);
  add(reasons);
  return line + "\r\n";
}

std::string csv_rows(const std::vector<sdk::BusinessRecord>& batch, char delimiter) {
  std::string text;
  for (const auto& record : batch)
    if (const auto* call = std::get_if<sdk::CallRecord>(&record)) text += csv_row(*call, delimiter);
  return text;
}

std::string json_line(const sdk::BusinessRecord& record) {
  nlohmann::ordered_json j;
  if (const auto* r = std::get_if<sdk::CallRecord>(&record)) {
    j["type"] = "call";
    j["sequence"] = r->sequence;
    j["at"] = sdk::iso8601_local(r->at);
    j["call_id"] = r->call_id;
    j["project"] = r->project;
    j["caller"] = r->caller;
    j["operator_extension"] = r->operator_extension;
    j["outcome"] = r->outcome;
    j["customer_id"] = r->customer_id ? nlohmann::ordered_json(*r->customer_id) : nlohmann::ordered_json(nullptr);
    j["strategy"] = r->strategy;
    j["reasons"] = r->reasons;
  } else {
    const auto& a = std::get<sdk::AuditRecord>(record);
    j["type"] = "audit";
    j["sequence"] = a.sequence;
    j["at"] = sdk::iso8601_local(a.at);
    j["instance"] = a.instance;
    j["actor"] = a.actor;
    j["command"] = a.command;
    j["result"] = a.result;
    j["ok"] = a.ok;
  }
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string json_lines(const std::vector<sdk::BusinessRecord>& batch) {
  std::string text;
  for (const auto& record : batch) {
    text += json_line(record);
    text += '\n';
  }
  return text;
}

}  // namespace switchboard::plugins::export_calllog
