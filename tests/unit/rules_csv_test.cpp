// Rules and history files: encodings, quoting, every kind of bad row, checks against stored rules, round trips.
#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <ctime>

#include "switchboard/core/rules_csv.hpp"

namespace sdk = switchboard::sdk;
using namespace switchboard::core;

namespace {

const NumberPlan plan({"CZ", "0", 4});

std::string problems_text(const std::vector<FileProblem>& problems) {
  std::string out;
  for (const auto& p : problems) out += std::to_string(p.line) + ": " + (p.column.empty() ? "" : p.column + ": ") + p.message + "\n";
  return out;
}

RulesFile parse(const std::string& text, std::vector<FileProblem>& problems,
                std::optional<std::string> project = std::nullopt, TextEncoding enc = TextEncoding::utf8) {
  auto table = read_csv(text, enc, problems);
  if (!problems.empty()) return {};
  return parse_rules(table, plan, project, problems);
}

const std::string header = "id;project;company_id;company;caller1;caller2;caller3;operators;street;city;postcode;note\n";

class PragueTime : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("TZ", "Europe/Prague", 1);
    ::tzset();
  }
};

}  // namespace

TEST(RulesCsv, ReadsAGoodFileWithBomQuotingAndTheSeedsOperatorForm) {
  std::string text = "\xEF\xBB\xBF" + header +
                     "12;100;ACME-1;\"ACME; a.s.\";+420 602 123 456;0602 123 457;;\"114;115;\";Dlouhá 5;Praha;110 00;"
                     "\"says \"\"hello\"\"\nand more\"\n"
                     ";;;Lookup only;115;;;;;;;\n";
  std::vector<FileProblem> problems;
  auto rules = parse(text, problems);
  ASSERT_TRUE(problems.empty()) << problems_text(problems);
  ASSERT_EQ(rules.rules.size(), 2u);
  const auto& r = rules.rules[0];
  EXPECT_EQ(r.id, 12);
  EXPECT_EQ(r.project, "100");
  EXPECT_EQ(r.company, "ACME; a.s.");
  EXPECT_EQ(r.callers[0], "+420 602 123 456");
  EXPECT_EQ(r.callers_normalised[0], "+420602123456");
  EXPECT_EQ(r.callers_normalised[1], "+420602123457");
  EXPECT_EQ(r.callers_normalised[2], "");
  EXPECT_EQ(r.operators, (std::vector<std::string>{"114", "115"}));
  EXPECT_EQ(r.street, "Dlouhá 5");
  EXPECT_EQ(r.note, "says \"hello\"\nand more");
  EXPECT_EQ(rules.lines[0], 2);
  EXPECT_EQ(rules.lines[1], 4) << "the second row starts after the two-line note";
  EXPECT_EQ(rules.rules[1].id, 0);
  EXPECT_EQ(rules.rules[1].callers_normalised[0], "115");
}

TEST(RulesCsv, ReadsCp1250) {
  std::string text = header + "1;100;;\x8Elu\x9Dou\xE8k\xFD k\xF9\xF2;602123456;;;114;;;;\n";  // Žluťoučký kůň
  std::vector<FileProblem> problems;
  auto rules = parse(text, problems, std::nullopt, TextEncoding::cp1250);
  ASSERT_TRUE(problems.empty()) << problems_text(problems);
  EXPECT_EQ(rules.rules[0].company, "Žluťoučký kůň");
}

TEST(RulesCsv, Cp1250ReadAsUtf8IsAClearError) {
  std::string text = header + "1;100;;\x8Elu\x9Dou\xE8k\xFD;602123456;;;114;;;;\n";
  std::vector<FileProblem> problems;
  parse(text, problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems_text(problems), "2: bytes that are not UTF-8; a file from a legacy Windows tool needs --encoding cp1250\n");
}

TEST(RulesCsv, ReportsEveryBadRow) {
  std::string text = header +
                     "x1;100;;A;602123456;;;114;;;;\n"       // 2: bad id
                     "2;1a0;;B;602123457;;;114;;;;\n"         // 3: bad project
                     "3;100;;C;60212345a;;;114;;;;\n"         // 4: bad number
                     "4;;;D;602123458;;;114;;;;\n"            // 5: operators without project
                     "5;100;;E;602123459;;;11x;;;;\n"         // 6: bad operator
                     "6;100;;F;602123460;;;114;;;;;;extra\n"  // 7: too many cells
                     "6;100;;G;602123461;;;114;;;;\n"         // 8: fine
                     "6;100;;H;602123462;;;114;;;;\n";        // 9: duplicate id
  std::vector<FileProblem> problems;
  auto rules = parse(text, problems);
  EXPECT_EQ(problems_text(problems),
            "2: id: 'x1' is not a rule id (a whole number from 1)\n"
            "3: project: '1a0' is not a project number (digits only)\n"
            "4: caller1: '60212345a' is not a phone number (unexpected 'a')\n"
            "5: operators: operators need a project number: a rule without a project only identifies the caller (the "
            "SA group routes the call)\n"
            "6: operators: '11x' is not an extension (digits only)\n"
            "7: the row has 14 cells; the header has 12\n"
            "9: id: rule 6 is also on line 8\n");
  EXPECT_EQ(rules.rules.size(), 1u);
}

TEST(RulesCsv, UnknownColumnsAndBrokenQuotes) {
  std::vector<FileProblem> problems;
  parse("id;project;compnay;caller1\n1;100;x;602123456\n", problems);
  EXPECT_EQ(problems_text(problems),
            "1: compnay: unknown column (did you mean 'company'?); the columns are "
            "id;project;company_id;company;caller1;caller2;caller3;operators;street;city;postcode;note\n");
  problems.clear();
  parse(header + "1;100;;\"unclosed;602123456;;;114;;;;\n", problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].line, 2);
  problems.clear();
  parse("", problems);
  EXPECT_EQ(problems_text(problems), "1: the file is empty: it needs a header row\n");
}

TEST(RulesCsv, ProjectOptionScopesTheRows) {
  std::vector<FileProblem> problems;
  auto rules = parse(header + "1;;;A;602123456;;;114;;;;\n2;200;;B;602123457;;;114;;;;\n", problems, "100");
  EXPECT_EQ(problems_text(problems),
            "3: project: the row belongs to project 200; this import is limited to --project 100\n");
  ASSERT_EQ(rules.rules.size(), 1u);
  EXPECT_EQ(rules.rules[0].project, "100");
}

TEST(RulesCsv, FindsAmbiguousRoutesInTheFileAndAgainstStoredRules) {
  std::vector<FileProblem> problems;
  auto rules = parse(header +
                         "1;100;;A;602123456;;;114;;;;\n"
                         "2;100;;B;+420602123456;;;115;;;;\n"  // same number, same project
                         "3;200;;C;602123456;;;115;;;;\n"      // other project: fine
                         "4;100;;D;602999999;;;115;;;;\n",     // clashes with stored rule 40
                     problems);
  ASSERT_TRUE(problems.empty()) << problems_text(problems);
  sdk::RuleKeys stored_clash{40, "100", {"+420602999999", "", ""}, {"114"}};
  sdk::RuleKeys stored_replaced{1, "100", {"+420602123456", "", ""}, {"114"}};
  check_against_stored(rules, nullptr, {stored_clash, stored_replaced}, sdk::RuleWriteMode::upsert, "", problems);
  EXPECT_EQ(problems_text(problems),
            "3: caller1: ambiguous route: +420602123456 is also a caller on line 2 in project 100\n"
            "5: caller1: ambiguous route: +420602999999 is also a caller of stored rule 40 in project 100\n");
  problems.clear();
  std::vector<FileProblem> none;
  auto fine = parse(header + "4;100;;D;602999999;;;115;;;;\n", none);
  check_against_stored(fine, nullptr, {stored_clash}, sdk::RuleWriteMode::replace_project, "100", problems);
  EXPECT_TRUE(problems.empty()) << "replacing the project removes the stored clash: " << problems_text(problems);
}

// read_rules (rows checked as they are read, on a second thread) against read_csv then parse_rules: the same
// problems in the same order, and the same rules when there is none.
RulesFile read_then_parse(const std::string& text, std::vector<FileProblem>& problems,
                          std::optional<std::string> project = std::nullopt, TextEncoding enc = TextEncoding::utf8) {
  auto table = read_csv(text, enc, problems);
  if (!problems.empty()) return {};
  return parse_rules(table, plan, project, problems);
}

void expect_read_rules_as_read_then_parse(const std::string& text, std::optional<std::string> project = std::nullopt,
                                          TextEncoding enc = TextEncoding::utf8) {
  std::vector<FileProblem> expected_problems, problems;
  auto expected = read_then_parse(text, expected_problems, project, enc);
  auto got = read_rules(text, enc, plan, project, problems);
  EXPECT_EQ(problems_text(problems), problems_text(expected_problems));
  if (!expected_problems.empty()) {
    EXPECT_TRUE(got.rules.empty()) << "rules of a file with problems are not returned";
    return;
  }
  ASSERT_EQ(got.rules.size(), expected.rules.size());
  EXPECT_EQ(got.lines, expected.lines);
  for (std::size_t i = 0; i < got.rules.size(); ++i) {
    const auto& a = got.rules[i];
    const auto& b = expected.rules[i];
    EXPECT_TRUE(a.id == b.id && a.project == b.project && a.company_id == b.company_id && a.company == b.company &&
                a.callers == b.callers && a.callers_normalised == b.callers_normalised && a.operators == b.operators &&
                a.street == b.street && a.city == b.city && a.postcode == b.postcode && a.note == b.note)
        << "rule " << i;
  }
}

// Enough rows for several batches of the checking thread, with the same id in different batches.
std::string many_rows(int count, int repeat_every = 0) {
  std::string text = header;
  for (int i = 1; i <= count; ++i) {
    int id = repeat_every && i % repeat_every == 0 ? i / 2 : i;
    text += std::to_string(id) + ";" + std::to_string(100 + i % 3) + ";;Firma " + std::to_string(i) + ";602" +
            std::to_string(100000 + i) + ";;;114;;;;\n";
    if (i % 1000 == 0) text += ";;;;;;;;;;;\n";  // a blank row
  }
  return text;
}

TEST(RulesCsv, ReadRulesReportsAsReadingThenParsing) {
  expect_read_rules_as_read_then_parse(many_rows(10'000));
  expect_read_rules_as_read_then_parse(many_rows(10'000), "101");
  expect_read_rules_as_read_then_parse(many_rows(10'000, 997));
  expect_read_rules_as_read_then_parse(header +
                                       "x1;100;;A;602123456;;;114;;;;\n"
                                       "2;1a0;;B;602123457;;;114;;;;\n"
                                       "3;100;;C;60212345a;;;114;;;;\n"
                                       "4;;;D;602123458;;;114;;;;\n"
                                       "5;100;;E;602123459;;;11x;;;;\n"
                                       "6;100;;F;602123460;;;114;;;;;;extra\n"
                                       "6;100;;G;602123461;;;114;;;;\n"
                                       "6;1x0;;H;6021234x2;;;114;;;;\n"
                                       "7;100;;I;602123463;;;114;;;;;\n");
  expect_read_rules_as_read_then_parse("\xEF\xBB\xBF" + header + "12;100;;\"ACME; a.s.\";602123456;;;\"114;115;\";;;;\"two\nlines\"\n"
                                       ";;;;;;;;;;;\n13;;;B;115;;;;;;;\n");
  expect_read_rules_as_read_then_parse(header + "1;100;;\x8Elu\x9Dou\xE8k\xFD k\xF9\xF2;602123456;;;114;;;;\n", std::nullopt,
                                       TextEncoding::cp1250);
  // Problems of the text itself outweigh those of the rows, wherever they are.
  std::string bad_rows = header + "x;100;;A;60212345a;;;114;;;;\n";
  expect_read_rules_as_read_then_parse(bad_rows + many_rows(5'000).substr(header.size()) + "1;100;;\xC3;602;;;;;;;\n");
  expect_read_rules_as_read_then_parse(bad_rows + many_rows(5'000).substr(header.size()) + "1;100;;\"un\"closed;;;;;;;;\n");
  expect_read_rules_as_read_then_parse(bad_rows + "1;100;;\"un\"closed;;;;;;;;\n" + many_rows(5'000).substr(header.size()) +
                                       "1;100;;\xC3;602;;;;;;;\n");
  expect_read_rules_as_read_then_parse(bad_rows + many_rows(5'000).substr(header.size()) + "1;100;;\"unterminated;;;;\n");
  expect_read_rules_as_read_then_parse("id;project;compnay;caller1\n1;100;x;602123456\nx;;;\n");
  expect_read_rules_as_read_then_parse("id;project;compnay;caller1\n1;100;\"x;602123456\n");
  expect_read_rules_as_read_then_parse("");
  expect_read_rules_as_read_then_parse("\n;;\n  \n");
  expect_read_rules_as_read_then_parse("\"");
  expect_read_rules_as_read_then_parse(header);
}

TEST(RulesCsv, AmbiguousRoutesComparedAsNumbersAndAsText) {
  // Numbers as the plan never writes them are compared as text: never equal to a number written otherwise.
  RulesFile rules;
  auto add = [&](int line, std::string project, std::array<std::string, 3> numbers) {
    sdk::Rule r;
    r.id = line;
    r.project = std::move(project);
    r.callers_normalised = std::move(numbers);
    rules.rules.push_back(r);
    rules.lines.push_back(line);
  };
  add(2, "100", {"+420602123456", "115", "x1"});
  add(3, "100", {"+0420602123456", "0115", "x1"});  // other numbers than line 2's; x1 again
  add(4, "100", {"115", "115", ""});                 // 115 again (once: twice in one rule is one route)
  add(5, "", {"115", "+420602123456", "x1"});        // another project: no clash
  add(6, "", {"+420602123456", "", ""});
  std::vector<FileProblem> problems;
  sdk::RuleKeys stored_text{40, "100", {"", "x1", "+0420602123456"}, {}};
  sdk::RuleKeys stored_number{41, "", {"115", "", ""}, {}};
  sdk::RuleKeys stored_elsewhere{42, "200", {"115", "x1", "+420602123456"}, {}};
  check_against_stored(rules, nullptr, {stored_text, stored_number, stored_elsewhere}, sdk::RuleWriteMode::upsert, "",
                       problems);
  EXPECT_EQ(problems_text(problems),
            "3: caller3: ambiguous route: x1 is also a caller on line 2 in project 100\n"
            "4: caller1: ambiguous route: 115 is also a caller on line 2 in project 100\n"
            "6: caller1: ambiguous route: +420602123456 is also a caller on line 5 in the rules without a project\n"
            "2: caller3: ambiguous route: x1 is also a caller of stored rule 40 in project 100\n"
            "3: caller1: ambiguous route: +0420602123456 is also a caller of stored rule 40 in project 100\n"
            "5: caller1: ambiguous route: 115 is also a caller of stored rule 41 in the rules without a project\n");
}

TEST_F(PragueTime, HistoryRowsAndTheirProblems) {
  std::vector<FileProblem> problems;
  auto table = read_csv("rule_id;saved_at;call_at;operator;agent;text\n"
                        "12;2006-02-22 15:30:00;22.2.2006 15:27:56;114;novak;Wants a call back\n"
                        "12;yesterday;;114;novak;x\n"
                        "99;2006-02-22 15:31:00;;114;novak;  \n",
                        TextEncoding::utf8, problems);
  auto history = parse_history(table, problems);
  EXPECT_EQ(problems_text(problems),
            "3: saved_at: 'yesterday' is not a time (YYYY-MM-DD HH:MM:SS or D.M.YYYY HH:MM:SS)\n"
            "4: text: a note needs its text\n");
  ASSERT_EQ(history.notes.size(), 1u);
  const auto& n = history.notes[0];
  EXPECT_EQ(n.rule_id, 12);
  EXPECT_EQ(format_local_time(n.saved_at), "2006-02-22 15:30:00");
  ASSERT_TRUE(n.call_at);
  EXPECT_EQ(format_local_time(*n.call_at), "2006-02-22 15:27:56");
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(n.call_at->time_since_epoch()).count(), 1140618476)
      << "15:27:56 in Prague (CET) is 14:27:56 UTC";
  problems.clear();
  RulesFile rules;
  check_against_stored(rules, &history, {}, sdk::RuleWriteMode::upsert, "", problems);
  EXPECT_EQ(problems_text(problems), "2: rule_id: rule 12 is neither in the rules file nor in the database\n");
}

TEST_F(PragueTime, WritingAndReadingBackGivesTheSameRulesAndNotes) {
  std::vector<FileProblem> problems;
  auto original = parse(header + "12;100;ACME-1;\"ACME; a.s.\";+420 602 123 456;;;114,115;Dlouhá 5;Praha;110 00;"
                                 "\"two\nlines \"\"quoted\"\"\"\n",
                        problems);
  ASSERT_TRUE(problems.empty()) << problems_text(problems);
  auto again = parse(write_rules_csv(original.rules), problems);
  ASSERT_TRUE(problems.empty()) << problems_text(problems);
  ASSERT_EQ(again.rules.size(), 1u);
  const auto& a = original.rules[0];
  const auto& b = again.rules[0];
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.company, b.company);
  EXPECT_EQ(a.callers, b.callers);
  EXPECT_EQ(a.callers_normalised, b.callers_normalised);
  EXPECT_EQ(a.operators, b.operators);
  EXPECT_EQ(a.note, b.note);

  sdk::Note note;
  note.rule_id = 12;
  note.saved_at = sdk::TimePoint(std::chrono::milliseconds(1140618600123));
  note.operator_extension = "114";
  note.agent = "novak";
  note.text = "call back; \"urgent\"";
  auto table = read_csv(write_history_csv({note}), TextEncoding::utf8, problems);
  auto history = parse_history(table, problems);
  ASSERT_TRUE(problems.empty()) << problems_text(problems);
  ASSERT_EQ(history.notes.size(), 1u);
  EXPECT_EQ(history.notes[0].saved_at, note.saved_at) << "milliseconds survive";
  EXPECT_FALSE(history.notes[0].call_at);
  EXPECT_EQ(history.notes[0].text, note.text);
}

TEST(RulesCsv, EncodesCp1250AndNamesWhatItCannotHold) {
  auto ok = encode_text("Žluťoučký kůň", TextEncoding::cp1250);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, "\x8Elu\x9Dou\xE8k\xFD k\xF9\xF2");
  auto bad = encode_text("ok\nsnow ☃ man", TextEncoding::cp1250);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "line 2: '☃' has no CP1250 form; export with --encoding utf-8");
}
