#include "switchboard/core/rules_csv.hpp"

#include <iconv.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>
#include <unordered_map>

#include <csv.h>
#include <fmt/format.h>

namespace switchboard::core {
namespace {

std::string trim(std::string_view s) { return sdk::detail::trim(s); }

std::string lower(std::string_view s) { return sdk::detail::lower(s); }

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// iconv from one encoding to another; fails on bytes the source encoding does not allow.
struct Converted {
  std::string text;
  std::size_t bad_offset = std::string::npos;  // where conversion stopped
};

Converted convert(const std::string& input, const char* from, const char* to) {
  Converted out;
  iconv_t cd = iconv_open(to, from);
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    out.bad_offset = 0;
    return out;
  }
  out.text.resize(input.size() * 4 + 16);
  char* in = const_cast<char*>(input.data());
  std::size_t in_left = input.size();
  char* dst = out.text.data();
  std::size_t dst_left = out.text.size();
  while (in_left > 0) {
    if (iconv(cd, &in, &in_left, &dst, &dst_left) == static_cast<std::size_t>(-1)) {
      out.bad_offset = input.size() - in_left;
      break;
    }
  }
  out.text.resize(out.text.size() - dst_left);
  iconv_close(cd);
  return out;
}

int line_of_offset(const std::string& text, std::size_t offset) {
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(std::min(offset, text.size())), '\n'));
}

struct ParseState {
  std::vector<std::vector<std::string>>* rows;
  std::vector<int>* lines;
  std::vector<std::string> current;
  int line = 1;
  int row_start = 0;  // 0: no row in progress
};

void on_cell(void* data, std::size_t len, void* state_ptr) {
  auto* st = static_cast<ParseState*>(state_ptr);
  if (st->row_start == 0) st->row_start = st->line;
  st->current.emplace_back(data ? static_cast<const char*>(data) : "", data ? len : 0);
}

void on_row(int, void* state_ptr) {
  auto* st = static_cast<ParseState*>(state_ptr);
  if (st->row_start == 0) st->row_start = st->line;
  st->rows->push_back(std::move(st->current));
  st->lines->push_back(st->row_start);
  st->current.clear();
  st->row_start = 0;
}

// The operators cell: "114,115", "114;115;" (the seed's form, quoted in the file) or "114 115".
std::vector<std::string> split_operators(const std::string& cell) {
  std::vector<std::string> out;
  std::string item;
  for (char c : cell + ",") {
    if (c == ',' || c == ';' || c == ' ' || c == '\t') {
      if (!item.empty()) out.push_back(item);
      item.clear();
    } else {
      item += c;
    }
  }
  return out;
}

struct Columns {
  std::map<std::string, std::size_t> index;  // known column -> position in the row
  bool ok = true;
};

Columns map_columns(const CsvTable& table, const std::vector<std::string>& known, std::vector<FileProblem>& problems) {
  Columns c;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < table.header.size(); ++i) {
    std::string name = lower(trim(table.header[i]));
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ";") + k;
      problems.push_back({table.header_line, table.header[i],
                          "unknown column" + sdk::did_you_mean(name, known) + "; the columns are " + list});
      c.ok = false;
      continue;
    }
    if (!seen.insert(name).second) {
      problems.push_back({table.header_line, name, "column given twice"});
      c.ok = false;
      continue;
    }
    c.index[name] = i;
  }
  return c;
}

std::string cell_of(const CsvRow& row, const Columns& columns, const std::string& name) {
  auto it = columns.index.find(name);
  if (it == columns.index.end() || it->second >= row.cells.size()) return {};
  return trim(row.cells[it->second]);
}

bool check_width(const CsvRow& row, const CsvTable& table, std::vector<FileProblem>& problems) {
  if (row.cells.size() <= table.header.size()) return true;
  // A trailing empty cell (a line ending in ';') is tolerated: legacy tools write one.
  bool only_empty_extra = std::all_of(row.cells.begin() + static_cast<std::ptrdiff_t>(table.header.size()),
                                      row.cells.end(), [](const std::string& c) { return trim(c).empty(); });
  if (only_empty_extra) return true;
  problems.push_back({row.line, "", fmt::format("the row has {} cells; the header has {}", row.cells.size(),
                                                table.header.size())});
  return false;
}

std::string quote_cell(const std::string& cell) {
  if (cell.find_first_of(";\"\r\n") == std::string::npos && (cell.empty() || (cell.front() != ' ' && cell.back() != ' ')))
    return cell;
  std::string out = "\"";
  for (char c : cell) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string join_row(const std::vector<std::string>& cells) {
  std::string line;
  for (std::size_t i = 0; i < cells.size(); ++i) line += (i ? ";" : "") + quote_cell(cells[i]);
  return line + "\r\n";
}

}  // namespace

std::optional<TextEncoding> encoding_from_name(const std::string& name) {
  std::string n = lower(name);
  if (n == "utf-8" || n == "utf8") return TextEncoding::utf8;
  if (n == "cp1250" || n == "windows-1250") return TextEncoding::cp1250;
  return std::nullopt;
}

std::optional<TextEncoding> encoding_option(const std::string& name) {
  auto e = encoding_from_name(name);
  if (!e) std::fprintf(stderr, "error: unknown encoding '%s' (use utf-8 or cp1250)\n", name.c_str());
  return e;
}

const std::vector<std::string>& rule_columns() {
  static const std::vector<std::string> c{"id",     "project",   "company_id", "company", "caller1", "caller2",
                                          "caller3", "operators", "street",     "city",    "postcode", "note"};
  return c;
}

const std::vector<std::string>& history_columns() {
  static const std::vector<std::string> c{"rule_id", "saved_at", "call_at", "operator", "agent", "text"};
  return c;
}

CsvTable read_csv(const std::string& bytes, TextEncoding encoding, std::vector<FileProblem>& problems,
                  const Progress& progress) {
  CsvTable table;
  std::string text;
  if (encoding == TextEncoding::cp1250) {
    auto c = convert(bytes, "CP1250", "UTF-8");
    if (c.bad_offset != std::string::npos) {
      problems.push_back({line_of_offset(bytes, c.bad_offset), "", "cannot be read as CP1250"});
      return table;
    }
    text = std::move(c.text);
  } else {
    std::size_t start = bytes.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
    text = bytes.substr(start);
    auto c = convert(text, "UTF-8", "UTF-8");
    if (c.bad_offset != std::string::npos) {
      problems.push_back({line_of_offset(text, c.bad_offset), "",
                          "bytes that are not UTF-8; a file from a legacy Windows tool needs --encoding cp1250"});
      return table;
    }
  }

  std::vector<std::vector<std::string>> rows;
  std::vector<int> lines;
  ParseState st{&rows, &lines, {}, 1, 0};
  csv_parser parser;
  csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
  csv_set_delim(&parser, ';');
  // Fed one physical line at a time, so every row knows the line it starts on.
  std::size_t pos = 0, next_report = 0;
  bool failed = false;
  while (pos < text.size() && !failed) {
    std::size_t end = text.find('\n', pos);
    end = end == std::string::npos ? text.size() : end + 1;
    if (csv_parse(&parser, text.data() + pos, end - pos, on_cell, on_row, &st) != end - pos) {
      problems.push_back({st.row_start ? st.row_start : st.line, "", csv_strerror(csv_error(&parser))});
      failed = true;
    }
    pos = end;
    ++st.line;
    if (progress && pos >= next_report) {
      progress(pos, text.size());
      next_report = pos + text.size() / 100 + 1;
    }
  }
  if (!failed && csv_fini(&parser, on_cell, on_row, &st) != 0)
    problems.push_back({st.row_start ? st.row_start : st.line - 1, "",
                        "the file ends inside a quoted cell (a '\"' is missing)"});
  csv_free(&parser);
  if (failed) return table;

  for (std::size_t i = 0; i < rows.size(); ++i) {
    bool blank = std::all_of(rows[i].begin(), rows[i].end(), [](const std::string& c) { return trim(c).empty(); });
    if (blank) continue;
    if (table.header.empty()) {
      table.header = rows[i];
      table.header_line = lines[i];
      // A header ending in ';' gives a last, empty column name: not a column.
      while (!table.header.empty() && trim(table.header.back()).empty()) table.header.pop_back();
      continue;
    }
    table.rows.push_back({lines[i], std::move(rows[i])});
  }
  if (table.header.empty()) problems.push_back({1, "", "the file is empty: it needs a header row"});
  return table;
}

RulesFile parse_rules(const CsvTable& table, const NumberPlan& plan, const std::optional<std::string>& project,
                      std::vector<FileProblem>& problems) {
  RulesFile out;
  Columns columns = map_columns(table, rule_columns(), problems);
  if (!columns.ok) return out;
  std::map<std::int64_t, int> ids;
  for (const auto& row : table.rows) {
    if (!check_width(row, table, problems)) continue;
    bool ok = true;
    auto problem = [&](const std::string& column, std::string message) {
      problems.push_back({row.line, column, std::move(message)});
      ok = false;
    };
    sdk::Rule rule;
    std::string id = cell_of(row, columns, "id");
    if (!id.empty()) {
      if (!all_digits(id) || id.size() > 18 || std::stoll(id) == 0) {
        problem("id", "'" + id + "' is not a rule id (a whole number from 1)");
      } else {
        rule.id = std::stoll(id);
        auto [it, added] = ids.emplace(rule.id, row.line);
        if (!added) problem("id", fmt::format("rule {} is also on line {}", rule.id, it->second));
      }
    }
    rule.project = cell_of(row, columns, "project");
    if (project) {
      if (rule.project.empty()) rule.project = *project;
      else if (rule.project != *project)
        problem("project", "the row belongs to project " + rule.project + "; this import is limited to --project " + *project);
    }
    if (!rule.project.empty() && !all_digits(rule.project))
      problem("project", "'" + rule.project + "' is not a project number (digits only)");
    rule.company_id = cell_of(row, columns, "company_id");
    rule.company = cell_of(row, columns, "company");
    for (int i = 0; i < 3; ++i) {
      std::string column = "caller" + std::to_string(i + 1);
      rule.callers[i] = cell_of(row, columns, column);
      auto normalised = plan.normalise(rule.callers[i]);
      if (!normalised) problem(column, normalised.error().message);
      else rule.callers_normalised[i] = *normalised;
    }
    rule.operators = split_operators(cell_of(row, columns, "operators"));
    for (const auto& op : rule.operators)
      if (!all_digits(op)) problem("operators", "'" + op + "' is not an extension (digits only)");
    if (!rule.operators.empty() && rule.project.empty())
      problem("operators", "operators need a project number: a rule without a project only identifies the caller "
                           "(the SA group routes the call)");
    rule.street = cell_of(row, columns, "street");
    rule.city = cell_of(row, columns, "city");
    rule.postcode = cell_of(row, columns, "postcode");
    rule.note = cell_of(row, columns, "note");
    if (!ok) continue;
    out.rules.push_back(std::move(rule));
    out.lines.push_back(row.line);
  }
  return out;
}

HistoryFile parse_history(const CsvTable& table, std::vector<FileProblem>& problems) {
  HistoryFile out;
  Columns columns = map_columns(table, history_columns(), problems);
  if (!columns.ok) return out;
  for (const char* required : {"rule_id", "saved_at", "text"})
    if (!columns.index.count(required)) {
      problems.push_back({table.header_line, required, "required column is missing"});
      return out;
    }
  for (const auto& row : table.rows) {
    if (!check_width(row, table, problems)) continue;
    bool ok = true;
    auto problem = [&](const std::string& column, std::string message) {
      problems.push_back({row.line, column, std::move(message)});
      ok = false;
    };
    sdk::Note note;
    std::string rule_id = cell_of(row, columns, "rule_id");
    if (!all_digits(rule_id) || rule_id.size() > 18 || std::stoll(rule_id) == 0) problem("rule_id", "'" + rule_id + "' is not a rule id");
    else note.rule_id = std::stoll(rule_id);
    auto saved = parse_local_time(cell_of(row, columns, "saved_at"));
    if (!saved) problem("saved_at", "'" + cell_of(row, columns, "saved_at") + "' is not a time (YYYY-MM-DD HH:MM:SS or D.M.YYYY HH:MM:SS)");
    else note.saved_at = *saved;
    std::string call_at = cell_of(row, columns, "call_at");
    if (!call_at.empty()) {
      auto t = parse_local_time(call_at);
      if (!t) problem("call_at", "'" + call_at + "' is not a time (YYYY-MM-DD HH:MM:SS or D.M.YYYY HH:MM:SS)");
      else note.call_at = *t;
    }
    note.operator_extension = cell_of(row, columns, "operator");
    if (!note.operator_extension.empty() && !all_digits(note.operator_extension))
      problem("operator", "'" + note.operator_extension + "' is not an extension (digits only)");
    note.agent = cell_of(row, columns, "agent");
    auto text_col = columns.index.at("text");
    note.text = text_col < row.cells.size() ? row.cells[text_col] : std::string{};  // kept as written
    if (trim(note.text).empty()) problem("text", "a note needs its text");
    if (!ok) continue;
    out.notes.push_back(std::move(note));
    out.lines.push_back(row.line);
  }
  return out;
}

void check_against_stored(const RulesFile& rules, const HistoryFile* history, const std::vector<sdk::RuleKeys>& stored,
                          sdk::RuleWriteMode mode, const std::string& project, std::vector<FileProblem>& problems) {
  std::set<std::int64_t> file_ids;
  for (const auto& r : rules.rules)
    if (r.id) file_ids.insert(r.id);
  // Who holds each (project, number) in the file: its line and caller column.
  struct Holder {
    int line;
    int caller;
  };
  // Keyed "project\x1fnumber": a million rules give three million keys, so hashing beats a tree of pairs.
  std::unordered_map<std::string, Holder> holders;
  holders.reserve(rules.rules.size() * 3);
  auto key_of = [](const std::string& project, const std::string& number) { return project + '\x1f' + number; };
  auto where = [](const std::string& p) {
    return p.empty() ? std::string("the rules without a project") : "project " + p;
  };
  for (std::size_t i = 0; i < rules.rules.size(); ++i) {
    const auto& r = rules.rules[i];
    for (int k = 0; k < 3; ++k) {
      const auto& n = r.callers_normalised[k];
      if (n.empty()) continue;
      bool repeated_in_rule = false;
      for (int j = 0; j < k; ++j) repeated_in_rule |= r.callers_normalised[j] == n;
      if (repeated_in_rule) continue;
      auto [it, added] = holders.emplace(key_of(r.project, n), Holder{rules.lines[i], k + 1});
      if (!added)
        problems.push_back({rules.lines[i], "caller" + std::to_string(k + 1),
                            fmt::format("ambiguous route: {} is also a caller on line {} in {}", n, it->second.line,
                                        where(r.project))});
    }
  }
  // Then the stored rules the write keeps (neither named by the file nor removed by the mode).
  std::set<std::int64_t> kept_ids;
  for (const auto& s : stored) {
    bool replaced = file_ids.count(s.id) != 0;
    bool removed = mode == sdk::RuleWriteMode::replace_all ||
                   (mode == sdk::RuleWriteMode::replace_project && s.project == project);
    if (!removed || replaced) kept_ids.insert(s.id);
    if (replaced || removed) continue;
    for (const auto& n : s.callers_normalised) {
      auto it = n.empty() ? holders.end() : holders.find(key_of(s.project, n));
      if (it == holders.end()) continue;
      problems.push_back({it->second.line, "caller" + std::to_string(it->second.caller),
                          fmt::format("ambiguous route: {} is also a caller of stored rule {} in {}", n, s.id,
                                      where(s.project))});
    }
  }
  if (!history) return;
  for (std::size_t i = 0; i < history->notes.size(); ++i) {
    auto id = history->notes[i].rule_id;
    if (!file_ids.count(id) && !kept_ids.count(id))
      problems.push_back({history->lines[i], "rule_id",
                          fmt::format("rule {} is neither in the rules file nor in the database", id)});
  }
}

std::string write_rules_csv(const std::vector<sdk::Rule>& rules) {
  std::string out = join_row(rule_columns());
  for (const auto& r : rules) {
    std::string operators;
    for (const auto& o : r.operators) operators += (operators.empty() ? "" : ",") + o;
    out += join_row({std::to_string(r.id), r.project, r.company_id, r.company, r.callers[0], r.callers[1], r.callers[2],
                     operators, r.street, r.city, r.postcode, r.note});
  }
  return out;
}

std::string write_history_csv(const std::vector<sdk::Note>& notes) {
  std::string out = join_row(history_columns());
  for (const auto& n : notes)
    out += join_row({std::to_string(n.rule_id), format_local_time(n.saved_at),
                     n.call_at ? format_local_time(*n.call_at) : std::string{}, n.operator_extension, n.agent, n.text});
  return out;
}

sdk::Result<std::string> encode_text(const std::string& utf8, TextEncoding encoding) {
  if (encoding == TextEncoding::utf8) return utf8;
  auto c = convert(utf8, "UTF-8", "CP1250");
  if (c.bad_offset != std::string::npos) {
    std::size_t end = c.bad_offset;
    while (end < utf8.size() && end - c.bad_offset < 4 && (end == c.bad_offset || (utf8[end] & 0xC0) == 0x80)) ++end;
    return sdk::make_error(sdk::ErrorCode::invalid_argument,
                           fmt::format("line {}: '{}' has no CP1250 form; export with --encoding utf-8",
                                       line_of_offset(utf8, c.bad_offset), utf8.substr(c.bad_offset, end - c.bad_offset)));
  }
  return c.text;
}

std::string format_local_time(sdk::TimePoint t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  int millis = static_cast<int>(ms - static_cast<std::int64_t>(secs) * 1000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  std::string s = fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                              tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (millis) s += fmt::format(".{:03}", millis);
  return s;
}

std::optional<sdk::TimePoint> parse_local_time(const std::string& text) {
  std::tm tm{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, consumed = 0;
  int millis = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d %2d:%2d:%2d%n", &year, &month, &day, &hour, &minute, &second, &consumed) == 6 ||
      std::sscanf(text.c_str(), "%2d.%2d.%4d %2d:%2d:%2d%n", &day, &month, &year, &hour, &minute, &second, &consumed) == 6) {
    std::string rest = text.substr(static_cast<std::size_t>(consumed));
    if (!rest.empty()) {
      if (rest.size() != 4 || rest[0] != '.' || !all_digits(rest.substr(1))) return std::nullopt;
      millis = std::stoi(rest.substr(1));
    }
  } else {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  tm.tm_isdst = -1;
  std::time_t secs = std::mktime(&tm);
  if (secs == static_cast<std::time_t>(-1)) return std::nullopt;
  return sdk::TimePoint(std::chrono::seconds(secs)) + std::chrono::milliseconds(millis);
}

}  // namespace switchboard::core
