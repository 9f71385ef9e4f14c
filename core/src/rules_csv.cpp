#include "switchboard/core/rules_csv.hpp"

#include <iconv.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <thread>
#include <tuple>
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

Converted convert(std::string_view input, const char* from, const char* to) {
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

// Checks that text is UTF-8 (as iconv reads it), a block of lines at a time, so that checking and splitting
// go through the file together: converts UTF-8 to UTF-8 into a small buffer and keeps only the verdict
// (the result equals the input), not a second copy of the file.
class Utf8Check {
 public:
  explicit Utf8Check(std::string_view text) : text_(text), cd_(iconv_open("UTF-8", "UTF-8")) {
    if (cd_ == reinterpret_cast<iconv_t>(-1)) bad_ = 0;
  }
  ~Utf8Check() {
    if (cd_ != reinterpret_cast<iconv_t>(-1)) iconv_close(cd_);
  }
  Utf8Check(const Utf8Check&) = delete;
  Utf8Check& operator=(const Utf8Check&) = delete;

  // Whether the text up to `end` is UTF-8 (checked on to a line end at least a block further).
  bool through(std::size_t end) {
    while (checked_ < end && bad_ == std::string_view::npos) {
      std::size_t stop = std::min(text_.size(), std::max(end, checked_ + block));
      if (stop < text_.size()) {
        auto line_end = text_.find('\n', stop);
        stop = line_end == std::string_view::npos ? text_.size() : line_end + 1;
      }
      char buffer[1 << 16];
      char* in = const_cast<char*>(text_.data() + checked_);
      std::size_t in_left = stop - checked_;
      while (in_left > 0) {
        char* dst = buffer;
        std::size_t dst_left = sizeof buffer;
        if (iconv(cd_, &in, &in_left, &dst, &dst_left) == static_cast<std::size_t>(-1) && errno != E2BIG) {
          bad_ = stop - in_left;
          break;
        }
      }
      checked_ = stop;
    }
    return bad_ == std::string_view::npos;
  }
  // Where the text stops being UTF-8, once through() said so.
  std::size_t bad_offset() const { return bad_; }

 private:
  static constexpr std::size_t block = 1 << 20;
  std::string_view text_;
  iconv_t cd_;
  std::size_t checked_ = 0;
  std::size_t bad_ = std::string_view::npos;
};

int line_of_offset(std::string_view text, std::size_t offset) {
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(std::min(offset, text.size())), '\n'));
}

std::string_view trimmed(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

bool blank(std::span<const std::string_view> cells) {
  return std::all_of(cells.begin(), cells.end(), [](std::string_view c) { return trimmed(c).empty(); });
}

// Splits decoded text with libcsv, fed one physical line at a time so that every row knows the line it
// starts on. Each row's cells are views into a buffer reused for the next row.
class RowSplitter {
 public:
  using OnRow = std::function<void(int line, std::span<const std::string_view> cells)>;
  explicit RowSplitter(OnRow on_row) : on_row_(std::move(on_row)) {}

  enum class Outcome {
    read,          // every row was handed over
    broken,        // libcsv refused a line (the problem is added): nothing after it was read
    unterminated,  // the text ends inside a quoted cell (the problem is added)
    not_utf8,      // `utf8` found bytes that are not UTF-8 (no problem is added)
  };

  // With `utf8`, each line is checked before it is split, and the rest of the text when libcsv refuses a
  // line: bytes that are not UTF-8 anywhere make the text not_utf8, whatever else is wrong with it.
  Outcome split(std::string_view text, Utf8Check* utf8, std::vector<FileProblem>& problems, const Progress& progress) {
    csv_parser parser;
    csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
    csv_set_delim(&parser, ';');
    std::size_t pos = 0, next_report = 0;
    Outcome outcome = Outcome::read;
    while (pos < text.size() && outcome == Outcome::read) {
      std::size_t end = text.find('\n', pos);
      end = end == std::string_view::npos ? text.size() : end + 1;
      if (utf8 && !utf8->through(end)) {
        outcome = Outcome::not_utf8;
        break;
      }
      if (csv_parse(&parser, text.data() + pos, end - pos, on_cell, on_row, this) != end - pos) {
        problems.push_back({row_start_ ? row_start_ : line_, "", csv_strerror(csv_error(&parser))});
        outcome = Outcome::broken;
      }
      pos = end;
      ++line_;
      if (progress && pos >= next_report) {
        progress(pos, text.size());
        next_report = pos + text.size() / 100 + 1;
      }
    }
    if (outcome == Outcome::read && csv_fini(&parser, on_cell, on_row, this) != 0) {
      problems.push_back({row_start_ ? row_start_ : line_ - 1, "",
                          "the file ends inside a quoted cell (a '\"' is missing)"});
      outcome = Outcome::unterminated;
    }
    csv_free(&parser);
    if (outcome == Outcome::broken && utf8 && !utf8->through(text.size())) {
      problems.pop_back();
      outcome = Outcome::not_utf8;
    }
    return outcome;
  }

 private:
  static void on_cell(void* data, std::size_t len, void* self_ptr) {
    auto* self = static_cast<RowSplitter*>(self_ptr);
    if (self->row_start_ == 0) self->row_start_ = self->line_;
    if (data) self->text_.append(static_cast<const char*>(data), len);
    self->ends_.push_back(self->text_.size());
  }
  static void on_row(int, void* self_ptr) {
    auto* self = static_cast<RowSplitter*>(self_ptr);
    if (self->row_start_ == 0) self->row_start_ = self->line_;
    self->cells_.clear();
    std::size_t begin = 0;
    for (auto end : self->ends_) {
      self->cells_.emplace_back(self->text_.data() + begin, end - begin);
      begin = end;
    }
    self->on_row_(self->row_start_, self->cells_);
    self->text_.clear();
    self->ends_.clear();
    self->row_start_ = 0;
  }

  OnRow on_row_;
  std::string text_;               // the cells of the row being read, one after another
  std::vector<std::size_t> ends_;  // where each cell ends in text_
  std::vector<std::string_view> cells_;
  int line_ = 1;
  int row_start_ = 0;  // 0: no row in progress
};

enum class Read {
  good,       // every row was handed over
  problems,   // so were the rows read, but the text has problems (it ends inside a quoted cell, it has no header)
  rows_void,  // the text is not UTF-8 or not CSV: only that is reported, as if no row had been read
};

// A file's text as UTF-8: its bytes (less a BOM), checked as they are split, or converted from CP1250.
class Decoded {
 public:
  Decoded() = default;
  // False, after adding the problem, when the bytes are not CP1250.
  bool open(std::string_view bytes, TextEncoding encoding, std::vector<FileProblem>& problems) {
    if (encoding == TextEncoding::cp1250) {
      auto c = convert(bytes, "CP1250", "UTF-8");
      if (c.bad_offset != std::string::npos) {
        problems.push_back({line_of_offset(bytes, c.bad_offset), "", "cannot be read as CP1250"});
        return false;
      }
      converted_ = std::move(c.text);
      text_ = converted_;
    } else {
      text_ = bytes.substr(bytes.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0);
      utf8_.emplace(text_);
    }
    return true;
  }
  Decoded(const Decoded&) = delete;
  Decoded& operator=(const Decoded&) = delete;

  std::string_view text() const { return text_; }

  // The non-blank rows, the first one as the header (less a last, empty column name: a header ending in
  // ';'). Every problem of the text is added.
  Read for_each_row(std::vector<FileProblem>& problems, const Progress& progress,
                    const std::function<void(int line, std::span<const std::string_view> header)>& on_header,
                    const RowSplitter::OnRow& on_row) {
    bool header_seen = false;
    RowSplitter splitter([&](int line, std::span<const std::string_view> cells) {
      if (blank(cells)) return;
      if (header_seen) return on_row(line, cells);
      header_seen = true;
      while (!cells.empty() && trimmed(cells.back()).empty()) cells = cells.first(cells.size() - 1);
      on_header(line, cells);
    });
    auto outcome = splitter.split(text_, utf8_ ? &*utf8_ : nullptr, problems, progress);
    if (outcome == RowSplitter::Outcome::not_utf8) {
      problems.push_back({line_of_offset(text_, utf8_->bad_offset()), "",
                          "bytes that are not UTF-8; a file from a legacy Windows tool needs --encoding cp1250"});
      return Read::rows_void;
    }
    if (outcome == RowSplitter::Outcome::broken) return Read::rows_void;
    if (!header_seen) problems.push_back({1, "", "the file is empty: it needs a header row"});
    return outcome == RowSplitter::Outcome::read && header_seen ? Read::good : Read::problems;
  }

 private:
  std::string converted_;
  std::string_view text_;
  std::optional<Utf8Check> utf8_;
};

std::int64_t to_integer(std::string_view digits) {
  std::int64_t value = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), value);
  return value;
}

// The operators cell: "114,115", "114;115;" (the seed's form, quoted in the file) or "114 115".
std::vector<std::string> split_operators(std::string_view cell) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= cell.size(); ++i) {
    if (i < cell.size() && cell[i] != ',' && cell[i] != ';' && cell[i] != ' ' && cell[i] != '\t') continue;
    if (i > start) out.emplace_back(cell.substr(start, i - start));
    start = i + 1;
  }
  return out;
}

struct Columns {
  std::vector<int> index;  // per known column (in the order of the known list): its position in the row, or -1
  std::size_t width = 0;   // the header's cells
  int header_line = 1;
  bool ok = true;
};

Columns map_columns(int header_line, std::span<const std::string_view> header, const std::vector<std::string>& known,
                    std::vector<FileProblem>& problems) {
  Columns c;
  c.index.assign(known.size(), -1);
  c.width = header.size();
  c.header_line = header_line;
  for (std::size_t i = 0; i < header.size(); ++i) {
    std::string name = lower(trim(header[i]));
    auto it = std::find(known.begin(), known.end(), name);
    if (it == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ";") + k;
      problems.push_back({header_line, std::string(header[i]),
                          "unknown column" + sdk::did_you_mean(name, known) + "; the columns are " + list});
      c.ok = false;
      continue;
    }
    auto& position = c.index[static_cast<std::size_t>(it - known.begin())];
    if (position >= 0) {
      problems.push_back({header_line, name, "column given twice"});
      c.ok = false;
      continue;
    }
    position = static_cast<int>(i);
  }
  return c;
}

// The trimmed cell of known column `column` (its position in the known list); empty when the file has no
// such column or the row is short.
std::string_view cell_at(std::span<const std::string_view> cells, const Columns& columns, std::size_t column) {
  int i = columns.index[column];
  if (i < 0 || static_cast<std::size_t>(i) >= cells.size()) return {};
  return trimmed(cells[static_cast<std::size_t>(i)]);
}

bool check_width(int line, std::span<const std::string_view> cells, const Columns& columns,
                 std::vector<FileProblem>& problems) {
  if (cells.size() <= columns.width) return true;
  // A trailing empty cell (a line ending in ';') is tolerated: legacy tools write one.
  if (blank(cells.subspan(columns.width))) return true;
  problems.push_back({line, "", fmt::format("the row has {} cells; the header has {}", cells.size(), columns.width)});
  return false;
}

// Positions in rule_columns().
enum RuleColumn : std::size_t { c_id, c_project, c_company_id, c_company, c_caller1, c_caller2, c_caller3, c_operators,
                                c_street, c_city, c_postcode, c_note };

// Checks one row of a rules file into `rule`. `on_id(id)` is called with a well-formed id before the other
// cells are checked; it returns false (after adding its own problem) to refuse the row.
template <class OnId>
bool check_rule_row(int line, std::span<const std::string_view> cells, const Columns& columns, const NumberPlan& plan,
                    const std::optional<std::string>& project, sdk::Rule& rule, std::vector<FileProblem>& problems,
                    OnId on_id) {
  static const std::string caller_columns[3] = {"caller1", "caller2", "caller3"};
  bool ok = true;
  auto problem = [&](const std::string& column, std::string message) {
    problems.push_back({line, column, std::move(message)});
    ok = false;
  };
  auto cell = [&](RuleColumn column) { return cell_at(cells, columns, column); };
  std::string_view id = cell(c_id);
  if (!id.empty()) {
    if (!all_digits(id) || id.size() > 18 || to_integer(id) == 0) {
      problem("id", "'" + std::string(id) + "' is not a rule id (a whole number from 1)");
    } else {
      rule.id = to_integer(id);
      if (!on_id(rule.id)) ok = false;
    }
  }
  rule.project = cell(c_project);
  if (project) {
    if (rule.project.empty()) rule.project = *project;
    else if (rule.project != *project)
      problem("project", "the row belongs to project " + rule.project + "; this import is limited to --project " + *project);
  }
  if (!rule.project.empty() && !all_digits(rule.project))
    problem("project", "'" + rule.project + "' is not a project number (digits only)");
  rule.company_id = cell(c_company_id);
  rule.company = cell(c_company);
  for (std::size_t i = 0; i < 3; ++i) {
    rule.callers[i] = cell(static_cast<RuleColumn>(c_caller1 + i));
    auto normalised = plan.normalise(rule.callers[i]);
    if (!normalised) problem(caller_columns[i], normalised.error().message);
    else rule.callers_normalised[i] = std::move(*normalised);
  }
  rule.operators = split_operators(cell(c_operators));
  for (const auto& op : rule.operators)
    if (!all_digits(op)) problem("operators", "'" + op + "' is not an extension (digits only)");
  if (!rule.operators.empty() && rule.project.empty())
    problem("operators", "operators need a project number: a rule without a project only identifies the caller "
                         "(the SA group routes the call)");
  rule.street = cell(c_street);
  rule.city = cell(c_city);
  rule.postcode = cell(c_postcode);
  rule.note = cell(c_note);
  return ok;
}

std::vector<std::string_view> views_of(const std::vector<std::string>& cells) {
  return {cells.begin(), cells.end()};
}

// Rows travel from the reading thread to the checking one in batches: the cells of many rows in one buffer.
struct RowBatch {
  static constexpr std::size_t rows = 4096;
  std::string text;                     // every cell of every row, one after another
  std::vector<std::size_t> cell_ends;   // where each cell ends in text
  std::vector<std::size_t> row_ends;    // where each row's cells end in cell_ends
  std::vector<int> lines;

  void add(int line, std::span<const std::string_view> cells) {
    for (auto c : cells) {
      text.append(c);
      cell_ends.push_back(text.size());
    }
    row_ends.push_back(cell_ends.size());
    lines.push_back(line);
  }
  bool full() const { return lines.size() >= rows; }
  template <class F>
  void for_each(std::vector<std::string_view>& cells, F f) const {
    std::size_t cell = 0, begin = 0;
    for (std::size_t r = 0; r < lines.size(); ++r) {
      cells.clear();
      for (; cell < row_ends[r]; ++cell) {
        cells.emplace_back(text.data() + begin, cell_ends[cell] - begin);
        begin = cell_ends[cell];
      }
      f(lines[r], std::span<const std::string_view>(cells));
    }
  }
  void clear() {
    text.clear();
    cell_ends.clear();
    row_ends.clear();
    lines.clear();
  }
};

// A one-producer, one-consumer hand-over of batches, with a few spare ones kept to be filled again.
class BatchQueue {
 public:
  std::unique_ptr<RowBatch> spare() {
    std::lock_guard lock(mutex_);
    if (spares_.empty()) return std::make_unique<RowBatch>();
    auto batch = std::move(spares_.back());
    spares_.pop_back();
    return batch;
  }
  void push(std::unique_ptr<RowBatch> batch) {
    std::unique_lock lock(mutex_);
    room_.wait(lock, [&] { return full_.size() < 8; });
    full_.push_back(std::move(batch));
    ready_.notify_one();
  }
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    ready_.notify_one();
  }
  // Nothing once closed and drained.
  std::unique_ptr<RowBatch> pop() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return closed_ || !full_.empty(); });
    if (full_.empty()) return nullptr;
    auto batch = std::move(full_.front());
    full_.pop_front();
    room_.notify_one();
    return batch;
  }
  void give_back(std::unique_ptr<RowBatch> batch) {
    batch->clear();
    std::lock_guard lock(mutex_);
    spares_.push_back(std::move(batch));
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_, room_;
  std::deque<std::unique_ptr<RowBatch>> full_;
  std::vector<std::unique_ptr<RowBatch>> spares_;
  bool closed_ = false;
};

// Ambiguous-route keys: a normalised number as one integer (E.164 and extensions in separate ranges, the
// length of an extension included so that "0115" differs from "115"); nothing for any other text, which
// is then compared as text. Never equal for two different texts.
std::optional<std::uint64_t> number_key(std::string_view n) {
  bool external = !n.empty() && n.front() == '+';
  if (external) n.remove_prefix(1);
  if (n.empty() || n.size() > (external ? 18u : 15u) || !all_digits(n) || (external && n.front() == '0'))
    return std::nullopt;
  std::uint64_t value = 0;
  for (char c : n) value = value * 10 + static_cast<std::uint64_t>(c - '0');
  if (external) return (std::uint64_t{1} << 63) | value;
  return (std::uint64_t{1} << 62) | (static_cast<std::uint64_t>(n.size()) << 56) | value;
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

CsvTable read_csv(std::string_view bytes, TextEncoding encoding, std::vector<FileProblem>& problems,
                  const Progress& progress) {
  CsvTable table;
  Decoded decoded;
  if (!decoded.open(bytes, encoding, problems)) return table;
  auto read = decoded.for_each_row(
      problems, progress,
      [&](int line, std::span<const std::string_view> header) {
        table.header_line = line;
        table.header.assign(header.begin(), header.end());
      },
      [&](int line, std::span<const std::string_view> cells) {
        table.rows.push_back({line, std::vector<std::string>(cells.begin(), cells.end())});
      });
  if (read == Read::rows_void) table = CsvTable{};
  return table;
}

RulesFile parse_rules(const CsvTable& table, const NumberPlan& plan, const std::optional<std::string>& project,
                      std::vector<FileProblem>& problems) {
  RulesFile out;
  Columns columns = map_columns(table.header_line, views_of(table.header), rule_columns(), problems);
  if (!columns.ok) return out;
  std::unordered_map<std::int64_t, int> ids;
  for (const auto& row : table.rows) {
    auto cells = views_of(row.cells);
    if (!check_width(row.line, cells, columns, problems)) continue;
    sdk::Rule rule;
    bool ok = check_rule_row(row.line, cells, columns, plan, project, rule, problems, [&](std::int64_t id) {
      auto [it, added] = ids.emplace(id, row.line);
      if (!added) problems.push_back({row.line, "id", fmt::format("rule {} is also on line {}", id, it->second)});
      return added;
    });
    if (!ok) continue;
    out.rules.push_back(std::move(rule));
    out.lines.push_back(row.line);
  }
  return out;
}

RulesFile read_rules(std::string_view bytes, TextEncoding encoding, const NumberPlan& plan,
                     const std::optional<std::string>& project, std::vector<FileProblem>& problems,
                     const Progress& progress) {
  RulesFile out;
  Decoded decoded;
  if (!decoded.open(bytes, encoding, problems)) return out;
  // A row per line at most: reserved up front, a million rules are not moved again and again as they grow.
  auto text = decoded.text();
  auto lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  out.rules.reserve(lines);
  out.lines.reserve(lines);

  // This thread splits the text into rows; a second one checks them (numbers, operators, the project),
  // batch by batch. Its problems are kept apart until the whole text proved to be CSV: a file that is not
  // gets only that one problem, as from read_csv. Repeated ids are looked for at the end, in file order.
  std::vector<FileProblem> row_problems;
  std::vector<std::pair<std::int64_t, int>> ids;  // every well-formed id, with its line, in file order
  ids.reserve(lines);
  Columns columns;
  BatchQueue queue;
  std::exception_ptr failure;  // of the checking thread, rethrown here
  auto check = [&](int line, std::span<const std::string_view> row) {
    if (!check_width(line, row, columns, row_problems)) return;
    sdk::Rule rule;
    bool ok = check_rule_row(line, row, columns, plan, project, rule, row_problems, [&](std::int64_t id) {
      ids.emplace_back(id, line);
      return true;
    });
    if (!ok) return;
    out.rules.push_back(std::move(rule));
    out.lines.push_back(line);
  };
  auto check_batches = [&] {
    std::vector<std::string_view> cells;
    while (auto full = queue.pop()) {
      try {
        if (!failure) full->for_each(cells, check);
      } catch (...) {
        failure = std::current_exception();  // the batches still coming are taken and dropped
      }
      queue.give_back(std::move(full));
    }
  };
  std::thread checker;
  std::unique_ptr<RowBatch> batch;
  struct Joined {  // the checking thread ends before this function does, however it ends
    BatchQueue& queue;
    std::thread& thread;
    ~Joined() {
      queue.close();
      if (thread.joinable()) thread.join();
    }
  } joined{queue, checker};
  auto read = decoded.for_each_row(
      problems, progress,
      [&](int line, std::span<const std::string_view> header) {
        columns = map_columns(line, header, rule_columns(), row_problems);
        if (!columns.ok) return;
        batch = queue.spare();
        checker = std::thread(check_batches);
      },
      [&](int line, std::span<const std::string_view> cells) {
        if (!batch) return;  // the header is refused: only its problems are reported
        batch->add(line, cells);
        if (!batch->full()) return;
        queue.push(std::move(batch));
        batch = queue.spare();
      });
  if (batch && !batch->lines.empty()) queue.push(std::move(batch));
  queue.close();
  if (checker.joinable()) checker.join();
  if (failure) std::rethrow_exception(failure);
  if (read != Read::good) return {};

  // One id twice: the row that has it first is named at every later one, before that row's other problems.
  std::vector<std::pair<std::int64_t, std::size_t>> by_id;  // id, position in `ids`
  by_id.reserve(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) by_id.emplace_back(ids[i].first, i);
  std::sort(by_id.begin(), by_id.end());
  std::vector<std::pair<std::size_t, int>> later;  // position of a repeat, line of the first row with the id
  for (std::size_t k = 1, first = 0; k < by_id.size(); ++k) {
    if (by_id[k].first != by_id[first].first) first = k;
    else later.emplace_back(by_id[k].second, ids[by_id[first].second].second);
  }
  std::sort(later.begin(), later.end());
  std::vector<FileProblem> repeated;
  for (auto [at, first_line] : later)
    repeated.push_back({ids[at].second, "id", fmt::format("rule {} is also on line {}", ids[at].first, first_line)});
  std::size_t before = problems.size();
  std::merge(repeated.begin(), repeated.end(), row_problems.begin(), row_problems.end(), std::back_inserter(problems),
             [](const FileProblem& a, const FileProblem& b) { return a.line < b.line; });
  if (problems.size() != before) return {};  // nothing is imported: the rules read are of no use
  return out;
}

HistoryFile parse_history(const CsvTable& table, std::vector<FileProblem>& problems) {
  HistoryFile out;
  Columns columns = map_columns(table.header_line, views_of(table.header), history_columns(), problems);
  if (!columns.ok) return out;
  enum HistoryColumn : std::size_t { h_rule_id, h_saved_at, h_call_at, h_operator, h_agent, h_text };
  for (auto required : {h_rule_id, h_saved_at, h_text})
    if (columns.index[required] < 0) {
      problems.push_back({table.header_line, history_columns()[required], "required column is missing"});
      return out;
    }
  for (const auto& row : table.rows) {
    auto cells = views_of(row.cells);
    if (!check_width(row.line, cells, columns, problems)) continue;
    bool ok = true;
    auto problem = [&](const std::string& column, std::string message) {
      problems.push_back({row.line, column, std::move(message)});
      ok = false;
    };
    auto cell = [&](HistoryColumn column) { return std::string(cell_at(cells, columns, column)); };
    sdk::Note note;
    std::string rule_id = cell(h_rule_id);
    if (!all_digits(rule_id) || rule_id.size() > 18 || to_integer(rule_id) == 0) problem("rule_id", "'" + rule_id + "' is not a rule id");
    else note.rule_id = to_integer(rule_id);
    auto saved = parse_local_time(cell(h_saved_at));
    if (!saved) problem("saved_at", "'" + cell(h_saved_at) + "' is not a time (YYYY-MM-DD HH:MM:SS or D.M.YYYY HH:MM:SS)");
    else note.saved_at = *saved;
    std::string call_at = cell(h_call_at);
    if (!call_at.empty()) {
      auto t = parse_local_time(call_at);
      if (!t) problem("call_at", "'" + call_at + "' is not a time (YYYY-MM-DD HH:MM:SS or D.M.YYYY HH:MM:SS)");
      else note.call_at = *t;
    }
    note.operator_extension = cell(h_operator);
    if (!note.operator_extension.empty() && !all_digits(note.operator_extension))
      problem("operator", "'" + note.operator_extension + "' is not an extension (digits only)");
    note.agent = cell(h_agent);
    auto text_col = static_cast<std::size_t>(columns.index[h_text]);
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
  std::vector<std::int64_t> file_ids;
  file_ids.reserve(rules.rules.size());
  for (const auto& r : rules.rules)
    if (r.id) file_ids.push_back(r.id);
  std::sort(file_ids.begin(), file_ids.end());
  auto in_file = [&](std::int64_t id) { return std::binary_search(file_ids.begin(), file_ids.end(), id); };
  auto where = [](const std::string& p) {
    return p.empty() ? std::string("the rules without a project") : "project " + p;
  };
  auto caller_column = [](int k) { return "caller" + std::to_string(k + 1); };

  // Every (project, number) of the file, sorted: a million rules give three million, and sorting them
  // beats a map. Numbers are compared as integers (number_key); the rare other text by itself.
  std::unordered_map<std::string_view, std::uint32_t> project_ids;
  struct Held {
    std::uint32_t project;
    std::uint64_t number;
    std::uint32_t rule;  // position in the file's rules
    int caller;
    bool operator<(const Held& o) const {
      return std::tie(project, number, rule, caller) < std::tie(o.project, o.number, o.rule, o.caller);
    }
  };
  std::vector<Held> held;
  held.reserve(rules.rules.size() * 2);
  struct Holder {
    int line;
    int caller;
  };
  std::unordered_map<std::string, Holder> held_as_text;  // keyed "project\x1fnumber"
  auto text_key = [](const std::string& p, const std::string& n) { return p + '\x1f' + n; };
  std::vector<std::pair<std::uint64_t, FileProblem>> in_file_problems;  // keyed by file position
  for (std::size_t i = 0; i < rules.rules.size(); ++i) {
    const auto& r = rules.rules[i];
    auto project_id = project_ids.try_emplace(r.project, static_cast<std::uint32_t>(project_ids.size())).first->second;
    for (int k = 0; k < 3; ++k) {
      const auto& n = r.callers_normalised[k];
      if (n.empty()) continue;
      bool repeated_in_rule = false;
      for (int j = 0; j < k; ++j) repeated_in_rule |= r.callers_normalised[j] == n;
      if (repeated_in_rule) continue;
      if (auto key = number_key(n)) {
        held.push_back({project_id, *key, static_cast<std::uint32_t>(i), k});
        continue;
      }
      auto [it, added] = held_as_text.emplace(text_key(r.project, n), Holder{rules.lines[i], k + 1});
      if (!added)
        in_file_problems.push_back({i * 3 + static_cast<std::uint64_t>(k),
                                    {rules.lines[i], caller_column(k),
                                     fmt::format("ambiguous route: {} is also a caller on line {} in {}", n,
                                                 it->second.line, where(r.project))}});
    }
  }
  std::sort(held.begin(), held.end());
  for (std::size_t k = 1, first = 0; k < held.size(); ++k) {
    if (held[k].project != held[first].project || held[k].number != held[first].number) {
      first = k;
      continue;
    }
    const auto& r = rules.rules[held[k].rule];
    const auto& n = r.callers_normalised[held[k].caller];
    in_file_problems.push_back({held[k].rule * std::uint64_t{3} + static_cast<std::uint64_t>(held[k].caller),
                                {rules.lines[held[k].rule], caller_column(held[k].caller),
                                 fmt::format("ambiguous route: {} is also a caller on line {} in {}", n,
                                             rules.lines[held[first].rule], where(r.project))}});
  }
  std::sort(in_file_problems.begin(), in_file_problems.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& p : in_file_problems) problems.push_back(std::move(p.second));

  // Then the stored rules the write keeps (neither named by the file nor removed by the mode).
  auto holder_of = [&](const std::string& p, const std::string& n) -> std::optional<Holder> {
    auto project_id = project_ids.find(p);
    if (project_id == project_ids.end()) return std::nullopt;
    if (auto key = number_key(n)) {
      auto it = std::lower_bound(held.begin(), held.end(), Held{project_id->second, *key, 0, 0});
      if (it == held.end() || it->project != project_id->second || it->number != *key) return std::nullopt;
      return Holder{rules.lines[it->rule], it->caller + 1};
    }
    auto it = held_as_text.find(text_key(p, n));
    if (it == held_as_text.end()) return std::nullopt;
    return it->second;
  };
  std::vector<std::int64_t> kept_ids;
  for (const auto& s : stored) {
    bool replaced = in_file(s.id);
    bool removed = mode == sdk::RuleWriteMode::replace_all ||
                   (mode == sdk::RuleWriteMode::replace_project && s.project == project);
    if (!removed || replaced) kept_ids.push_back(s.id);
    if (replaced || removed) continue;
    for (const auto& n : s.callers_normalised) {
      if (n.empty()) continue;
      auto holder = holder_of(s.project, n);
      if (!holder) continue;
      problems.push_back({holder->line, "caller" + std::to_string(holder->caller),
                          fmt::format("ambiguous route: {} is also a caller of stored rule {} in {}", n, s.id,
                                      where(s.project))});
    }
  }
  if (!history) return;
  std::sort(kept_ids.begin(), kept_ids.end());
  for (std::size_t i = 0; i < history->notes.size(); ++i) {
    auto id = history->notes[i].rule_id;
    if (!in_file(id) && !std::binary_search(kept_ids.begin(), kept_ids.end(), id))
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
