#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "exporters.hpp"
#include "switchboard/sdk/testing/conformance.hpp"
#include "test_support.hpp"

namespace sdk = switchboard::sdk;
namespace fs = std::filesystem;
using namespace switchboard::plugins::export_calllog;
using namespace export_calllog_test;
using sdk::ConfigNode;

namespace {

sdk::FactoryFor<CallLogFileExporter> calllog_factory("calllog_file", "test");
sdk::FactoryFor<CsvExporter> csv_factory("csv", "test");
sdk::FactoryFor<JsonlExporter> jsonl_factory("jsonl", "test");

using Batch = std::vector<sdk::BusinessRecord>;

std::string answer(const sdk::Status& s) { return s.ok() ? "ok" : sdk::to_string(s.error().code); }

// Each test gets its own directory, removed afterwards, and Prague's local time.
class ExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    use_prague_time();
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("export_calllog_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add);
    fs::remove_all(dir_);
  }

  std::string file(const std::string& name = "calls.log") const { return (dir_ / name).string(); }
  static std::string contents(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  static std::vector<std::string> lines(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) {
      if (!l.empty() && l.back() == '\r') l.pop_back();  // CRLF or LF: the line's text
      out.push_back(l);
    }
    return out;
  }

  // Creates and starts an instance of `factory` on `ctx`.
  static std::unique_ptr<sdk::LogExporter> started(const sdk::Factory& factory, sdk::testing::FakeContext& ctx,
                                                   const ConfigNode& config) {
    auto instance = factory.create(ctx, sdk::testing::settings_for(factory, config));
    auto* exporter = dynamic_cast<sdk::LogExporter*>(instance.get());
    EXPECT_NE(exporter, nullptr);
    instance.release();
    std::unique_ptr<sdk::LogExporter> out(exporter);
    sdk::Status status = sdk::make_error(sdk::ErrorCode::failed, "not called");
    out->start([&](sdk::Status s) { status = s; });
    ctx.run();
    EXPECT_TRUE(status.ok()) << status.error().message;
    return out;
  }
  // Writes `batch`, runs the context and returns the one answer.
  static sdk::Status write(sdk::LogExporter& exporter, sdk::testing::FakeContext& ctx, Batch batch) {
    int calls = 0;
    sdk::Status status = sdk::make_error(sdk::ErrorCode::failed, "not called");
    exporter.write(std::move(batch), [&](sdk::Status s) {
      ++calls;
      status = s;
    });
    ctx.run();
    EXPECT_EQ(calls, 1) << "write() must complete exactly once";
    return status;
  }
  static void stop(sdk::LogExporter& exporter, sdk::testing::FakeContext& ctx) {
    bool stopped = false;
    exporter.stop([&](sdk::Status s) { stopped = s.ok(); });
    ctx.run();
    EXPECT_TRUE(stopped);
  }

  fs::path dir_;
};

sdk::CallRecord all_busy(std::uint64_t sequence) {
  auto r = manual_example(sequence);
  r.at = utc(2007, 3, 5, 8, 5, 7);
  r.caller.clear();
  r.operator_extension.clear();
  r.outcome = 9;
  r.customer_id.reset();
  r.reasons = {"caller withheld", "200 busy", "201 busy"};
  return r;
}

}  // namespace

// ----- configuration and lifecycle -------------------------------------------------------------------

TEST_F(ExportTest, PassesTheConfigConformance) {
  sdk::testing::expect_config_conformance(calllog_factory, ConfigNode::map({{"path", file()}, {"encoding", "cp1250"}}));
  sdk::testing::expect_config_conformance(csv_factory, ConfigNode::map({{"path", file()}, {"delimiter", ";"}}));
  sdk::testing::expect_config_conformance(jsonl_factory, ConfigNode::map({{"path", file()}, {"fsync", "false"}}));
}

TEST_F(ExportTest, PassesTheLifecycleConformance) {
  sdk::testing::expect_lifecycle_conformance(calllog_factory, ConfigNode::map({{"path", file()}}));
  sdk::testing::expect_lifecycle_conformance(calllog_factory, ConfigNode::map({{"path", file()}, {"encoding", "cp1250"}}));
  sdk::testing::expect_lifecycle_conformance(csv_factory, ConfigNode::map({{"path", file()}}));
  sdk::testing::expect_lifecycle_conformance(jsonl_factory, ConfigNode::map({{"path", file()}}));
}

TEST_F(ExportTest, RequiresANonEmptyPath) {
  for (const sdk::Factory* factory : {static_cast<const sdk::Factory*>(&calllog_factory),
                                      static_cast<const sdk::Factory*>(&csv_factory),
                                      static_cast<const sdk::Factory*>(&jsonl_factory)}) {
    sdk::Diagnostics missing;
    EXPECT_FALSE(sdk::apply_schema(factory->schema(), ConfigNode::map({}), "exporters.x.config", missing));
    ASSERT_EQ(missing.size(), 1u);
    EXPECT_EQ(missing.errors()[0].path, "exporters.x.config.path");
    EXPECT_NE(missing.errors()[0].message.find("missing required key 'path'"), std::string::npos);

    sdk::Diagnostics empty;
    auto settings = sdk::apply_schema(factory->schema(), ConfigNode::map({{"path", ""}}), "exporters.x.config", empty);
    ASSERT_TRUE(settings);
    factory->validate(*settings, empty);
    ASSERT_EQ(empty.size(), 1u);
    EXPECT_EQ(empty.errors()[0].path, "exporters.x.config.path");
  }
}

TEST_F(ExportTest, DefaultsToUtf8CrlfAndFsync) {
  auto settings = sdk::testing::settings_for(calllog_factory, ConfigNode::map({{"path", file()}}));
  EXPECT_EQ(settings.string("encoding"), "utf-8");
  EXPECT_EQ(settings.string("line_end"), "crlf");
  EXPECT_TRUE(settings.boolean("fsync"));
  EXPECT_EQ(sdk::testing::settings_for(csv_factory, ConfigNode::map({{"path", file()}})).string("delimiter"), ",");
}

TEST_F(ExportTest, RejectsAnUnknownEncodingWithASuggestion) {
  sdk::Diagnostics diag;
  EXPECT_FALSE(sdk::apply_schema(calllog_factory.schema(), ConfigNode::map({{"path", "a.log"}, {"encoding", "cp1251"}}),
                                 "exporters.x.config", diag));
  ASSERT_EQ(diag.size(), 1u);
  EXPECT_NE(diag.errors()[0].message.find("did you mean 'cp1250'"), std::string::npos) << diag.errors()[0].message;
}

TEST_F(ExportTest, RefusesADelimiterThatIsNotOneCharacter) {
  for (const char* bad : {"", ";;", "\"", "\n", "\xC2\xA7"}) {
    sdk::Diagnostics diag;
    auto settings = sdk::apply_schema(csv_factory.schema(), ConfigNode::map({{"path", "a.csv"}, {"delimiter", bad}}),
                                      "exporters.x.config", diag);
    ASSERT_TRUE(settings);
    csv_factory.validate(*settings, diag);
    ASSERT_EQ(diag.size(), 1u) << "delimiter '" << bad << "' accepted";
    EXPECT_EQ(diag.errors()[0].path, "exporters.x.config.delimiter");
  }
}

TEST_F(ExportTest, RefusesToWriteWhenNotStarted) {
  sdk::testing::FakeContext ctx("calllog", sdk::Category::exporter);
  CallLogFileExporter exporter(ctx, sdk::testing::settings_for(calllog_factory, ConfigNode::map({{"path", file()}})));
  sdk::Status result;
  exporter.write({manual_example()}, [&](sdk::Status s) { result = s; });
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, sdk::ErrorCode::unavailable);
  ctx.run();
  EXPECT_FALSE(fs::exists(file()));
}

// ----- calllog_file ----------------------------------------------------------------------------------

TEST_F(ExportTest, CallLogFileWritesTheSeedLinesOffTheStrand) {
  sdk::testing::FakeContext ctx("calllog", sdk::Category::exporter);
  auto exporter = started(calllog_factory, ctx, ConfigNode::map({{"path", file()}}));
  int calls = 0;
  sdk::Status result = sdk::make_error(sdk::ErrorCode::failed, "not called");
  exporter->write({manual_example(1), audit_example(1), all_busy(2)}, [&](sdk::Status s) {
    ++calls;
    result = s;
  });
  // write() only queued the batch: nothing is written or answered until the blocking pool runs.
  EXPECT_EQ(calls, 0);
  EXPECT_FALSE(fs::exists(file()));
  ctx.run();
  ASSERT_EQ(calls, 1);
  ASSERT_TRUE(result.ok()) << result.error().message;
  // The audit record is not part of the call log.
  // CRLF, as the original wrote it and as `switchboard calllog export` writes it.
  EXPECT_EQ(contents(file()), "22.2.2006 15:27:56;100;115;114;1;12;\r\n5.3.2007 09:05:07;100;;;9;;\r\n");
}

TEST_F(ExportTest, CallLogFileAppendsAcrossBatchesAndRestarts) {
  std::ofstream(file()) << "1.1.2006 08:00:00;100;115;114;1;12;\n";  // left by an earlier run
  auto config = ConfigNode::map({{"path", file()}});
  {
    sdk::testing::FakeContext ctx("calllog", sdk::Category::exporter);
    auto exporter = started(calllog_factory, ctx, config);
    ASSERT_TRUE(write(*exporter, ctx, {manual_example(1)}).ok());
    ASSERT_TRUE(write(*exporter, ctx, {all_busy(2)}).ok());
    stop(*exporter, ctx);
    sdk::Status again = sdk::make_error(sdk::ErrorCode::failed, "not called");
    exporter->start([&](sdk::Status s) { again = s; });
    ctx.run();
    ASSERT_TRUE(again.ok());
    auto third = manual_example(3);
    third.at = utc(2006, 2, 22, 14, 30, 0);
    ASSERT_TRUE(write(*exporter, ctx, {third}).ok());
    stop(*exporter, ctx);
  }
  {  // a new process: a new instance appends to the same file
    sdk::testing::FakeContext ctx("calllog", sdk::Category::exporter);
    auto exporter = started(calllog_factory, ctx, config);
    auto fourth = all_busy(4);
    fourth.at = utc(2007, 3, 5, 9, 0, 0);
    ASSERT_TRUE(write(*exporter, ctx, {fourth}).ok());
  }
  EXPECT_EQ(lines(file()), (std::vector<std::string>{"1.1.2006 08:00:00;100;115;114;1;12;",
                                                     "22.2.2006 15:27:56;100;115;114;1;12;",
                                                     "5.3.2007 09:05:07;100;;;9;;",
                                                     "22.2.2006 15:30:00;100;115;114;1;12;",
                                                     "5.3.2007 10:00:00;100;;;9;;"}));
}

TEST_F(ExportTest, CallLogFileKeepsTheOrderOfQueuedBatches) {
  sdk::testing::FakeContext ctx("calllog", sdk::Category::exporter);
  auto exporter = started(calllog_factory, ctx, ConfigNode::map({{"path", file()}, {"fsync", "false"}}));
  std::vector<std::string> answers;
  for (std::uint64_t seq = 1; seq <= 5; ++seq) {
    auto r = manual_example(seq);
    r.caller = std::to_string(600 + seq);
    exporter->write({r}, [&answers, seq](sdk::Status s) { answers.push_back(std::to_string(seq) + answer(s)); });
  }
  ctx.run();
  EXPECT_EQ(answers, (std::vector<std::string>{"1ok", "2ok", "3ok", "4ok", "5ok"}));
  auto l = lines(file());
  ASSERT_EQ(l.size(), 5u);
  for (std::size_t i = 0; i < l.size(); ++i) EXPECT_NE(l[i].find(";60" + std::to_string(i + 1) + ";"), std::string::npos) << l[i];
}

TEST_F(ExportTest, CallLogFileWritesCp1250ForLegacyTools) {
  sdk::testing::FakeContext ctx("calllog", sdk::Category::exporter);
  auto exporter = started(calllog_factory, ctx,
                          ConfigNode::map({{"path", file()}, {"encoding", "cp1250"}, {"line_end", "lf"}}));
  auto r = manual_example();
  r.project = "Přípojka";  // numbers in practice; text shows the encoding
  r.caller = "Š日";          // a character CP1250 cannot hold becomes '?'
  ASSERT_TRUE(write(*exporter, ctx, {r}).ok());
  EXPECT_EQ(contents(file()), "22.2.2006 15:27:56;P\xf8\xedpojka;\x8a?;114;1;12;\n");
}

TEST_F(ExportTest, CreatesAMissingDirectory) {
  std::string nested = (dir_ / "exports" / "2006" / "calls.log").string();
  sdk::testing::FakeContext ctx("calllog", sdk::Category::exporter);
  auto exporter = started(calllog_factory, ctx, ConfigNode::map({{"path", nested}}));
  auto result = write(*exporter, ctx, {manual_example()});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(lines(nested), std::vector<std::string>{"22.2.2006 15:27:56;100;115;114;1;12;"});
  // A new file holds callers' numbers: not readable by others (whatever the umask adds or removes).
  EXPECT_EQ(fs::status(nested).permissions() & fs::perms::others_all, fs::perms::none);
}

TEST_F(ExportTest, TakesARelativePathFromTheWorkingDirectory) {
  auto previous = fs::current_path();
  fs::current_path(dir_);
  sdk::testing::FakeContext ctx("calllog", sdk::Category::exporter);
  auto exporter = started(calllog_factory, ctx, ConfigNode::map({{"path", "logs/calls.log"}}));
  auto result = write(*exporter, ctx, {manual_example()});
  fs::current_path(previous);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(lines(file("logs/calls.log")), std::vector<std::string>{"22.2.2006 15:27:56;100;115;114;1;12;"});
}

TEST_F(ExportTest, ReportsAPathThatIsADirectoryWithPathAndReason) {
  fs::create_directories(dir_ / "calls.log");
  sdk::testing::FakeContext ctx("calllog", sdk::Category::exporter);
  auto exporter = started(calllog_factory, ctx, ConfigNode::map({{"path", file()}}));
  auto result = write(*exporter, ctx, {manual_example()});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, sdk::ErrorCode::failed);
  EXPECT_EQ(result.error().message, "cannot open " + file() + " for appending: Is a directory");
}

TEST_F(ExportTest, ReportsADirectoryThatCannotBeCreatedWithPathAndReason) {
  std::ofstream(file("blocker")) << "a file, not a directory\n";
  std::string path = (dir_ / "blocker" / "calls.log").string();
  sdk::testing::FakeContext ctx("calllog", sdk::Category::exporter);
  auto exporter = started(calllog_factory, ctx, ConfigNode::map({{"path", path}}));
  auto result = write(*exporter, ctx, {manual_example()});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, "cannot open " + path + " for appending: Not a directory");
}

TEST_F(ExportTest, ReportsAMissingDirectoryItCannotCreateWithPathAndReason) {
  fs::create_directory_symlink(dir_ / "gone", dir_ / "dangling");  // the link's target does not exist
  std::string parent = (dir_ / "dangling").string();
  std::string path = parent + "/calls.log";
  sdk::testing::FakeContext ctx("calllog", sdk::Category::exporter);
  auto exporter = started(calllog_factory, ctx, ConfigNode::map({{"path", path}}));
  auto result = write(*exporter, ctx, {manual_example()});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, "cannot create directory " + parent + " for " + path + ": File exists");
}

// A batch that cannot be written whole is cut off again, so the core's retry does not duplicate lines.
TEST_F(ExportTest, TakesBackAPartlyWrittenBatchAndWritesItWholeOnRetry) {
  std::ofstream(file()) << "earlier\n";
  sdk::testing::FakeContext ctx("calllog", sdk::Category::exporter);
  auto exporter = started(calllog_factory, ctx, ConfigNode::map({{"path", file()}}));
  Batch batch{manual_example(1), all_busy(2)};

  ::signal(SIGXFSZ, SIG_IGN);  // write() then fails with EFBIG instead of killing the test
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  rlimit small = saved;
  small.rlim_cur = 8 + 20;  // room for 20 bytes of the batch
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  auto failed = write(*exporter, ctx, batch);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);

  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().message, "cannot write to " + file() + ": File too large");
  EXPECT_EQ(contents(file()), "earlier\n");
  ASSERT_TRUE(write(*exporter, ctx, batch).ok());
  EXPECT_EQ(contents(file()), "earlier\n22.2.2006 15:27:56;100;115;114;1;12;\r\n5.3.2007 09:05:07;100;;;9;;\r\n");
}

// ----- stop with a write in flight -------------------------------------------------------------------

TEST_F(ExportTest, StopAnswersPendingWritesOnceWithCancelled) {
  sdk::testing::FakeContext ctx("calllog", sdk::Category::exporter);
  auto exporter = started(calllog_factory, ctx, ConfigNode::map({{"path", file()}}));
  std::vector<std::string> answers;
  auto record = [&](sdk::Status s) { answers.push_back(answer(s)); };
  exporter->write({manual_example(1)}, record);  // handed to the pool
  exporter->write({all_busy(2)}, record);        // queued behind it
  bool stopped = false;
  exporter->stop([&](sdk::Status s) { stopped = s.ok(); });
  EXPECT_TRUE(stopped);
  EXPECT_EQ(answers, (std::vector<std::string>{"cancelled", "cancelled"}));
  ctx.run();  // the write already on the pool lands; nobody is answered twice
  EXPECT_EQ(answers.size(), 2u);
  EXPECT_EQ(lines(file()), std::vector<std::string>{"22.2.2006 15:27:56;100;115;114;1;12;"});

  // The core sends both batches again after a restart: the record that landed is not written twice.
  sdk::Status restarted = sdk::make_error(sdk::ErrorCode::failed, "not called");
  exporter->start([&](sdk::Status s) { restarted = s; });
  ctx.run();
  ASSERT_TRUE(restarted.ok());
  EXPECT_TRUE(write(*exporter, ctx, {manual_example(1)}).ok());
  EXPECT_TRUE(write(*exporter, ctx, {all_busy(2)}).ok());
  EXPECT_EQ(lines(file()),
            (std::vector<std::string>{"22.2.2006 15:27:56;100;115;114;1;12;", "5.3.2007 09:05:07;100;;;9;;"}));
}

TEST_F(ExportTest, AWriteAfterAStopWaitsForTheOneStillOnThePool) {
  sdk::testing::FakeContext ctx("calllog", sdk::Category::exporter);
  auto exporter = started(calllog_factory, ctx, ConfigNode::map({{"path", file()}}));
  std::vector<std::string> answers;
  exporter->write({manual_example(1)}, [&](sdk::Status s) { answers.push_back("1" + answer(s)); });
  exporter->stop([](sdk::Status) {});
  exporter->start([](sdk::Status) {});
  exporter->write({all_busy(2)}, [&](sdk::Status s) { answers.push_back("2" + answer(s)); });
  ctx.run();
  EXPECT_EQ(answers, (std::vector<std::string>{"1cancelled", "2ok"}));
  EXPECT_EQ(lines(file()),
            (std::vector<std::string>{"22.2.2006 15:27:56;100;115;114;1;12;", "5.3.2007 09:05:07;100;;;9;;"}));
}

TEST_F(ExportTest, WritesRecordsWithoutASequenceEveryTime) {
  sdk::testing::FakeContext ctx("calllog", sdk::Category::exporter);
  auto exporter = started(calllog_factory, ctx, ConfigNode::map({{"path", file()}}));
  ASSERT_TRUE(write(*exporter, ctx, {manual_example(0)}).ok());
  ASSERT_TRUE(write(*exporter, ctx, {manual_example(0)}).ok());
  EXPECT_EQ(lines(file()).size(), 2u);
}

// ----- csv -------------------------------------------------------------------------------------------

TEST_F(ExportTest, CsvWritesTheHeaderOnceAcrossBatchesAndRestarts) {
  std::string path = file("calls.csv");
  std::ofstream(path).close();  // an empty file counts as new
  auto config = ConfigNode::map({{"path", path}});
  {
    sdk::testing::FakeContext ctx("csv", sdk::Category::exporter);
    auto exporter = started(csv_factory, ctx, config);
    ASSERT_TRUE(write(*exporter, ctx, {manual_example(1), audit_example(1)}).ok());
    ASSERT_TRUE(write(*exporter, ctx, {all_busy(2)}).ok());
  }
  {
    sdk::testing::FakeContext ctx("csv", sdk::Category::exporter);
    auto exporter = started(csv_factory, ctx, config);
    ASSERT_TRUE(write(*exporter, ctx, {manual_example(3)}).ok());
  }
  EXPECT_EQ(contents(path),
            "sequence,at,call_id,project,caller,operator,outcome,customer_id,strategy,reasons\r\n"
            "1,2006-02-22T15:27:56.000+01:00,c-0001,100,115,114,1,12,rules,rule 12 matched caller | 114 answered\r\n"
            "2,2007-03-05T09:05:07.000+01:00,c-0001,100,,,9,,rules,caller withheld | 200 busy | 201 busy\r\n"
            "3,2006-02-22T15:27:56.000+01:00,c-0001,100,115,114,1,12,rules,rule 12 matched caller | 114 answered\r\n");
}

TEST_F(ExportTest, CsvQuotesFieldsWithTheDelimiterAQuoteOrALineBreak) {
  std::string path = file("calls.csv");
  sdk::testing::FakeContext ctx("csv", sdk::Category::exporter);
  auto exporter = started(csv_factory, ctx, ConfigNode::map({{"path", path}}));
  auto r = manual_example(7);
  r.strategy = "rules\nv2";
  r.reasons = {"rule 12 matched caller \"ACME, s.r.o.\"", "114 answered"};
  ASSERT_TRUE(write(*exporter, ctx, {r}).ok());
  auto text = contents(path);
  EXPECT_NE(text.find(",\"rules\nv2\",\"rule 12 matched caller \"\"ACME, s.r.o.\"\" | 114 answered\"\r\n"),
            std::string::npos)
      << text;
}

TEST_F(ExportTest, CsvUsesTheConfiguredDelimiter) {
  EXPECT_EQ(csv_header(';'), "sequence;at;call_id;project;caller;operator;outcome;customer_id;strategy;reasons\r\n");
  auto r = manual_example(7);
  r.reasons = {"a;b", "c,d"};
  EXPECT_EQ(csv_row(r, ';'), "7;2006-02-22T15:27:56.000+01:00;c-0001;100;115;114;1;12;rules;\"a;b | c,d\"\r\n");
  EXPECT_EQ(csv_field("plain", ','), "plain");
  EXPECT_EQ(csv_field("", ','), "");
  EXPECT_EQ(csv_field("say \"hi\"", ','), "\"say \"\"hi\"\"\"");
}

// ----- jsonl -----------------------------------------------------------------------------------------

TEST_F(ExportTest, JsonlLinesParseBackWithEveryField) {
  std::string path = file("calls.jsonl");
  sdk::testing::FakeContext ctx("jsonl", sdk::Category::exporter);
  auto exporter = started(jsonl_factory, ctx, ConfigNode::map({{"path", path}}));
  auto call = manual_example(41);
  call.at = utc(2006, 2, 22, 14, 27, 56, 250);
  call.reasons = {"rule 12 matched caller \"ACME\"", "114 answered\nafter 2 rings"};
  ASSERT_TRUE(write(*exporter, ctx, {call, all_busy(42), audit_example(7)}).ok());

  auto l = lines(path);
  ASSERT_EQ(l.size(), 3u);
  auto first = nlohmann::json::parse(l[0]);
  EXPECT_EQ(first, nlohmann::json::parse(R"({"type":"call","sequence":41,"at":"2006-02-22T15:27:56.250+01:00",
      "call_id":"c-0001","project":"100","caller":"115","operator_extension":"114","outcome":1,"customer_id":12,
      "strategy":"rules","reasons":["rule 12 matched caller \"ACME\"","114 answered\nafter 2 rings"]})"));
  EXPECT_EQ(first.size(), 11u);  // type + every CallRecord field

  auto second = nlohmann::json::parse(l[1]);
  EXPECT_EQ(second["caller"], "");
  EXPECT_EQ(second["operator_extension"], "");
  EXPECT_EQ(second["outcome"], 9);
  EXPECT_TRUE(second["customer_id"].is_null());
  EXPECT_EQ(second["reasons"].size(), 3u);

  EXPECT_EQ(nlohmann::json::parse(l[2]), nlohmann::json::parse(R"({"type":"audit","sequence":7,
      "at":"2006-02-22T15:30:00.000+01:00","instance":"hicom-main","actor":"agent:novak",
      "command":"EINRICHTEN-WABE:401,,,SAESPR,NEIN,,,,,,,,;","result":"AUSGEFUEHRT","ok":true})"));
}

TEST_F(ExportTest, JsonlReplacesBytesThatAreNotUtf8) {
  auto r = manual_example();
  r.strategy = "bad \xFF byte";
  auto j = nlohmann::json::parse(json_line(r));
  EXPECT_EQ(j["strategy"], "bad \xEF\xBF\xBD byte");
}

TEST_F(ExportTest, JsonlAppendsAcrossBatchesWithoutFsync) {
  std::string path = file("calls.jsonl");
  sdk::testing::FakeContext ctx("jsonl", sdk::Category::exporter);
  auto exporter = started(jsonl_factory, ctx, ConfigNode::map({{"path", path}, {"fsync", "false"}}));
  ASSERT_TRUE(write(*exporter, ctx, {manual_example(1)}).ok());
  ASSERT_TRUE(write(*exporter, ctx, {all_busy(2)}).ok());
  auto l = lines(path);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(l[0])["sequence"], 1);
  EXPECT_EQ(nlohmann::json::parse(l[1])["sequence"], 2);
}
