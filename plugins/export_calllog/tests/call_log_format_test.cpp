// The SDK's call_log_format.hpp: the seed's log line, local time, CP1250.
#include "switchboard/sdk/call_log_format.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace sdk = switchboard::sdk;
using namespace export_calllog_test;

namespace {

class SeedLogLine : public ::testing::Test {
 protected:
  void SetUp() override { use_prague_time(); }
};

}  // namespace

TEST_F(SeedLogLine, IsTheManualsExampleExactly) {
  EXPECT_EQ(sdk::seed_log_line(manual_example()), "22.2.2006 15:27:56;100;115;114;1;12;");
}

TEST_F(SeedLogLine, WritesDayAndMonthWithoutLeadingZerosAndTheTimeWithThem) {
  auto r = manual_example();
  r.at = utc(2007, 3, 5, 8, 5, 7);  // 5.3.2007 09:05:07 CET
  EXPECT_EQ(sdk::seed_log_line(r), "5.3.2007 09:05:07;100;115;114;1;12;");
  r.at = utc(2007, 12, 31, 23, 0, 0);  // midnight CET: the next day, two-digit day and month
  EXPECT_EQ(sdk::seed_log_line(r), "1.1.2008 00:00:00;100;115;114;1;12;");
  r.at = utc(2007, 10, 9, 22, 59, 59);
  EXPECT_EQ(sdk::seed_log_line(r), "10.10.2007 00:59:59;100;115;114;1;12;");
}

TEST_F(SeedLogLine, UsesSummerTimeInSummer) {
  auto r = manual_example();
  r.at = utc(2007, 7, 1, 10, 0, 0);  // CEST, UTC+2
  EXPECT_EQ(sdk::seed_log_line(r), "1.7.2007 12:00:00;100;115;114;1;12;");
}

TEST_F(SeedLogLine, DropsFractionsOfASecond) {
  auto r = manual_example();
  r.at = utc(2006, 2, 22, 14, 27, 56, 999);
  EXPECT_EQ(sdk::seed_log_line(r), "22.2.2006 15:27:56;100;115;114;1;12;");
}

TEST_F(SeedLogLine, LeavesTheOperatorEmptyForOutcome9) {
  auto r = manual_example();
  r.outcome = 9;
  r.operator_extension = "114";  // even if the engine named the last one tried
  r.customer_id.reset();
  EXPECT_EQ(sdk::seed_log_line(r), "22.2.2006 15:27:56;100;115;;9;;");
  r.operator_extension.clear();
  EXPECT_EQ(sdk::seed_log_line(r), "22.2.2006 15:27:56;100;115;;9;;");
}

TEST_F(SeedLogLine, LeavesTheCustomerIdEmptyWhenNoCustomerMatched) {
  auto r = manual_example();
  r.outcome = 3;
  r.operator_extension = "200";
  r.customer_id.reset();
  EXPECT_EQ(sdk::seed_log_line(r), "22.2.2006 15:27:56;100;115;200;3;;");
}

TEST_F(SeedLogLine, LeavesAWithheldCallerEmpty) {
  auto r = manual_example();
  r.caller.clear();
  r.outcome = 8;
  r.operator_extension = "200";
  r.customer_id.reset();
  EXPECT_EQ(sdk::seed_log_line(r), "22.2.2006 15:27:56;100;;200;8;;");
}

TEST_F(SeedLogLine, KeepsEveryRecordOnOneLineOfSixFields) {
  auto r = manual_example();
  r.caller = "+420;123\n456";
  r.project = "1\r00";
  EXPECT_EQ(sdk::seed_log_line(r), "22.2.2006 15:27:56;1?00;+420?123?456;114;1;12;");
}

TEST_F(SeedLogLine, Iso8601LocalTimeCarriesMillisecondsAndTheOffsetOfTheDay) {
  EXPECT_EQ(sdk::iso8601_local(utc(2006, 2, 22, 14, 27, 56, 42)), "2006-02-22T15:27:56.042+01:00");
  EXPECT_EQ(sdk::iso8601_local(utc(2007, 7, 1, 10, 0, 0)), "2007-07-01T12:00:00.000+02:00");
  ::setenv("TZ", "America/St_Johns", 1);  // a negative offset with minutes
  ::tzset();
  EXPECT_EQ(sdk::iso8601_local(utc(2007, 1, 15, 12, 0, 0)), "2007-01-15T08:30:00.000-03:30");
}

TEST(Cp1250, ConvertsCzechLettersToTheirCodePage) {
  auto converted = sdk::utf8_to_cp1250("Příliš žluťoučký kůň úpěl ďábelské ódy €");
  ASSERT_TRUE(converted);
  EXPECT_EQ(*converted, "P\xf8\xed\x6c\x69\x9a \x9elu\x9do\x75\xe8k\xfd k\xf9\xf2 \xfap\xecl \xef\xe1\x62\x65lsk\xe9 \xf3\x64y \x80");
}

TEST(Cp1250, WritesAQuestionMarkForWhatItCannotHold) {
  EXPECT_EQ(sdk::utf8_to_cp1250("a日本b"), "a??b");
  EXPECT_EQ(sdk::utf8_to_cp1250("ok \xF0\x9F\x93\x9E!"), "ok ?!");  // an emoji, four bytes
  EXPECT_EQ(sdk::utf8_to_cp1250("bad \xC3" "A \xFF end \xE2\x82"), "bad ?A ? end ?");  // invalid UTF-8
  EXPECT_EQ(sdk::utf8_to_cp1250(""), "");
}
