// The rules and history files of the seed's Import/Export: `;`-delimited CSV (RFC 4180 quoting, a header
// row), UTF-8 (BOM accepted) or CP1250. Reading checks every row and reports every problem as
// FILE:LINE: column: message; nothing is written unless the whole file is good.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchboard/core/number_plan.hpp"
#include "switchboard/sdk/storage.hpp"

namespace switchboard::core {

enum class TextEncoding { utf8, cp1250 };
std::optional<TextEncoding> encoding_from_name(const std::string& name);
// The same for a command-line option: an unknown name is reported on stderr.
std::optional<TextEncoding> encoding_option(const std::string& name);

struct CsvRow {
  int line = 0;  // physical line where the row starts (quoted cells may span lines)
  std::vector<std::string> cells;
};

struct CsvTable {
  int header_line = 1;
  std::vector<std::string> header;
  std::vector<CsvRow> rows;
};

struct FileProblem {
  int line = 0;
  std::string column;  // empty when the problem is the row's
  std::string message;
};

// Called with bytes done and bytes in all, for a progress bar.
using Progress = std::function<void(std::size_t done, std::size_t total)>;

// Decodes and splits; problems of the text itself (bad quoting, bytes that are not UTF-8) go to `problems`.
CsvTable read_csv(std::string_view bytes, TextEncoding encoding, std::vector<FileProblem>& problems,
                  const Progress& progress = {});

// Rules file columns, in export order.
const std::vector<std::string>& rule_columns();
// History file columns, in export order.
const std::vector<std::string>& history_columns();

struct RulesFile {
  std::vector<sdk::Rule> rules;  // callers normalised; id 0 where the file gave none
  std::vector<int> lines;        // the line of each rule
};

// Checks every row of a rules file. With `project`, rows must belong to it (an empty cell takes it).
RulesFile parse_rules(const CsvTable& table, const NumberPlan& plan, const std::optional<std::string>& project,
                      std::vector<FileProblem>& problems);

// read_csv, then parse_rules when the text was good: the same problems, in the same order, but without
// holding the table (rows are checked as they are read, on a second thread). The rules are returned only
// when there was no problem at all.
RulesFile read_rules(std::string_view bytes, TextEncoding encoding, const NumberPlan& plan,
                     const std::optional<std::string>& project, std::vector<FileProblem>& problems,
                     const Progress& progress = {});

struct HistoryFile {
  std::vector<sdk::Note> notes;
  std::vector<int> lines;
};

HistoryFile parse_history(const CsvTable& table, std::vector<FileProblem>& problems);

// Routes that would become ambiguous: one caller number twice in one project, within the file or against
// the stored rules that the write keeps. Also history notes whose rule exists neither in the file nor stored.
void check_against_stored(const RulesFile& rules, const HistoryFile* history, const std::vector<sdk::RuleKeys>& stored,
                          sdk::RuleWriteMode mode, const std::string& project, std::vector<FileProblem>& problems);

std::string write_rules_csv(const std::vector<sdk::Rule>& rules);
std::string write_history_csv(const std::vector<sdk::Note>& notes);
// UTF-8 to the file's encoding; an error names the first character CP1250 cannot hold.
sdk::Result<std::string> encode_text(const std::string& utf8, TextEncoding encoding);

// Local time as "YYYY-MM-DD HH:MM:SS" (".mmm" when there are milliseconds); read also as the seed's
// "D.M.YYYY HH:MM:SS".
std::string format_local_time(sdk::TimePoint t);
std::optional<sdk::TimePoint> parse_local_time(const std::string& text);

}  // namespace switchboard::core
