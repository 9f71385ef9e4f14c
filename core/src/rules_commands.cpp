#include "switchboard/core/rules_commands.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "switchboard/core/host_config.hpp"
#include "switchboard/core/logging.hpp"
#include "switchboard/core/number_plan.hpp"
#include "switchboard/core/rules_csv.hpp"
#include "switchboard/core/storage_session.hpp"

namespace switchboard::core {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_bad_input = 2;

// The whole file, read into one buffer of its size (a rules file can be hundreds of megabytes).
std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return std::nullopt;
  auto size = in.tellg();
  if (size < 0) return std::nullopt;
  std::string bytes(static_cast<std::size_t>(size), '\0');
  in.seekg(0);
  if (!in.read(bytes.data(), size)) return std::nullopt;
  return bytes;
}

// A progress line on a terminal only; pipes and CI logs get the summary alone.
class ProgressLine {
 public:
  ProgressLine(std::string what, std::size_t size) : what_(std::move(what)), enabled_(::isatty(2) && size > (1u << 20)) {}
  ~ProgressLine() { done(); }
  Progress callback() {
    if (!enabled_) return {};
    return [this](std::size_t done, std::size_t total) {
      int percent = total ? static_cast<int>(done * 100 / total) : 100;
      int filled = percent / 5;
      std::cerr << '\r' << what_ << " [" << std::string(static_cast<std::size_t>(filled), '#')
                << std::string(static_cast<std::size_t>(20 - filled), ' ') << "] " << percent << "%" << std::flush;
      shown_ = true;
    };
  }
  void done() {
    if (shown_) std::cerr << '\n';
    shown_ = false;
  }

 private:
  std::string what_;
  bool enabled_;
  bool shown_ = false;
};

void print_problems(const std::string& file, std::vector<FileProblem> problems, std::ostream& out) {
  std::stable_sort(problems.begin(), problems.end(), [](const FileProblem& a, const FileProblem& b) { return a.line < b.line; });
  for (const auto& p : problems)
    out << file << ':' << p.line << ": " << (p.column.empty() ? "" : p.column + ": ") << p.message << '\n';
}

}  // namespace

int rules_import(const RulesImportOptions& o) {
  auto encoding = encoding_option(o.encoding);
  if (!encoding) return exit_bad_input;
  LoadedConfig loaded;
  loaded.config = load_config_file(o.config_file, loaded.registry, o.plugin_dirs, std::cerr, false);
  if (!loaded.config) return exit_bad_input;
  NumberPlan plan = NumberPlan::from_settings(loaded.config->host.object("numbers"));

  // 1. The files alone: every problem is reported before the database is even opened.
  auto rules_bytes = read_file(o.rules_file);
  if (!rules_bytes) {
    std::cerr << "error: cannot read " << o.rules_file << ": " << std::strerror(errno) << '\n';
    return exit_bad_input;
  }
  std::vector<FileProblem> rule_problems, history_problems;
  RulesFile rules;
  {
    ProgressLine progress("reading " + o.rules_file, rules_bytes->size());
    rules = read_rules(*rules_bytes, *encoding, plan, o.project, rule_problems, progress.callback());
    rules_bytes.reset();
  }
  std::optional<HistoryFile> history;
  if (!o.history_file.empty()) {
    auto bytes = read_file(o.history_file);
    if (!bytes) {
      std::cerr << "error: cannot read " << o.history_file << ": " << std::strerror(errno) << '\n';
      return exit_bad_input;
    }
    ProgressLine progress("reading " + o.history_file, bytes->size());
    CsvTable table = read_csv(*bytes, *encoding, history_problems, progress.callback());
    if (history_problems.empty()) history = parse_history(table, history_problems);
  }
  auto report = [&] {
    print_problems(o.rules_file, rule_problems, std::cerr);
    print_problems(o.history_file, history_problems, std::cerr);
    auto n = rule_problems.size() + history_problems.size();
    std::cerr << n << (n == 1 ? " problem" : " problems") << "; nothing was imported\n";
    return exit_bad_input;
  };
  if (!rule_problems.empty() || !history_problems.empty()) return report();

  // 2. Against what is stored: ambiguous routes and notes for unknown rules.
  LogSetup logs;
  logs.configure(loaded.config->host.object("logging"), true);
  auto session = StorageSession::open(*loaded.config, logs, o.storage);
  if (!session) {
    std::cerr << "error: " << session.error().message << '\n';
    return session.error().code == sdk::ErrorCode::not_found || session.error().code == sdk::ErrorCode::invalid_argument
               ? exit_bad_input
               : exit_failure;
  }
  auto& storage = **session;  // opened only now: a bad file never touches the database
  auto stored = storage.call<std::vector<sdk::RuleKeys>>([](sdk::Storage& s, auto done) { s.load_rule_keys(done); });
  if (!stored) {
    std::cerr << "error: cannot read the stored rules: " << stored.error().message << '\n';
    return exit_failure;
  }
  sdk::RuleWriteMode mode = !o.replace ? sdk::RuleWriteMode::upsert
                            : o.project ? sdk::RuleWriteMode::replace_project
                                        : sdk::RuleWriteMode::replace_all;
  std::vector<FileProblem> cross;
  check_against_stored(rules, history ? &*history : nullptr, *stored, mode, o.project.value_or(""), cross);
  for (auto& p : cross) (p.column == "rule_id" ? history_problems : rule_problems).push_back(std::move(p));
  if (!rule_problems.empty() || !history_problems.empty()) return report();

  std::size_t note_count = history ? history->notes.size() : 0;
  if (o.dry_run) {
    std::cout << fmt::format("{}: {} rules{} are valid (dry run: nothing written)\n", o.rules_file, rules.rules.size(),
                             history ? fmt::format(" and {} notes", note_count) : "");
    return exit_ok;
  }

  // 3. One transaction: all or nothing.
  sdk::RuleWrite write;
  write.rules = std::move(rules.rules);
  if (history) write.notes = std::move(history->notes);
  write.mode = mode;
  write.project = o.project.value_or("");
  if (::isatty(2) && write.rules.size() > 10'000)
    std::cerr << "writing " << write.rules.size() << " rules in one transaction...\n";
  auto summary = storage.call<sdk::RuleWriteSummary>(
      [&write](sdk::Storage& s, auto done) { s.write_rules(std::move(write), done); });
  if (!summary) {
    std::cerr << "error: the import was rolled back, nothing was changed: " << summary.error().message << '\n';
    return exit_failure;
  }
  std::cout << fmt::format("imported {}: {} added, {} updated, {} unchanged, {} removed", o.rules_file, summary->added,
                           summary->updated, summary->unchanged, summary->removed);
  if (history)
    std::cout << fmt::format("; notes from {}: {} added, {} already present", o.history_file, summary->notes_added,
                             summary->notes_unchanged);
  std::cout << '\n';
  return exit_ok;
}

int rules_export(const RulesExportOptions& o) {
  auto encoding = encoding_option(o.encoding);
  if (!encoding) return exit_bad_input;
  int code = exit_ok;
  auto tool = open_tool_storage(o.config_file, o.plugin_dirs, o.storage, code);
  if (!tool) return code;
  auto& storage = *tool->session;
  auto rules = storage.call<std::vector<sdk::Rule>>([&](sdk::Storage& s, auto done) { s.list_rules(o.project, done); });
  if (!rules) {
    std::cerr << "error: cannot read the rules: " << rules.error().message << '\n';
    return exit_failure;
  }
  auto write_out = [&](const std::string& path, const std::string& utf8) -> bool {
    auto bytes = encode_text(utf8, *encoding);
    if (!bytes) {
      std::cerr << "error: " << (path.empty() || path == "-" ? "<stdout>" : path) << ": " << bytes.error().message << '\n';
      return false;
    }
    if (path.empty() || path == "-") {
      std::cout << *bytes;
      return static_cast<bool>(std::cout);
    }
    return write_file_replacing(path, *bytes);
  };
  if (!write_out(o.output, write_rules_csv(*rules))) return exit_failure;
  std::size_t notes_written = 0;
  if (!o.history_file.empty()) {
    auto notes = storage.call<std::vector<sdk::Note>>([&](sdk::Storage& s, auto done) { s.list_notes(o.project, done); });
    if (!notes) {
      std::cerr << "error: cannot read the notes: " << notes.error().message << '\n';
      return exit_failure;
    }
    if (!write_out(o.history_file, write_history_csv(*notes))) return exit_failure;
    notes_written = notes->size();
  }
  std::cerr << fmt::format("exported {} rules{}{}{}\n", rules->size(), o.project ? " of project " + *o.project : "",
                           o.output.empty() || o.output == "-" ? "" : " to " + o.output,
                           o.history_file.empty() ? "" : fmt::format(" and {} notes to {}", notes_written, o.history_file));
  return exit_ok;
}

}  // namespace switchboard::core
