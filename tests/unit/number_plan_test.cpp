// The numbering plan: the table of the examples, another region, extensions, errors.
#include <gtest/gtest.h>

#include <phonenumbers/phonenumberutil.h>

#include "switchboard/core/number_plan.hpp"

using switchboard::core::NumberPlan;

namespace {
NumberPlan czech() { return NumberPlan({"CZ", "0", 4}); }
}  // namespace

struct Case {
  const char* input;
  const char* expected;
};

class CzechNumbers : public ::testing::TestWithParam<Case> {};

TEST_P(CzechNumbers, NormaliseToOneForm) {
  auto result = czech().normalise(GetParam().input);
  ASSERT_TRUE(result.ok()) << GetParam().input << ": " << result.error().message;
  EXPECT_EQ(*result, GetParam().expected) << GetParam().input;
}

INSTANTIATE_TEST_SUITE_P(
    Table, CzechNumbers,
    ::testing::Values(Case{"+420 602 123 456", "+420602123456"}, Case{"00420602123456", "+420602123456"},
                      Case{"602123456", "+420602123456"}, Case{"0602123456", "+420602123456"},
                      Case{"602 123 456", "+420602123456"}, Case{"602-123-456", "+420602123456"},
                      Case{"(602) 123 456", "+420602123456"}, Case{"+420602123456", "+420602123456"},
                      Case{"0 602 123 456", "+420602123456"}, Case{"115", "115"}, Case{"0115", "0115"},
                      Case{"1234", "1234"}, Case{"", ""}, Case{"  ", ""},
                      // a foreign number as the PBX gives it: exit code + international prefix
                      Case{"0004930123456", "+4930123456"}, Case{"004930123456", "+4930123456"},
                      Case{"+49 30 123456", "+4930123456"}, Case{"+44 20 7946 0958", "+442079460958"}));

TEST(NumberPlan, GermanPlanWithItsTrunkPrefix) {
  NumberPlan plan({"DE", "0", 3});
  EXPECT_EQ(*plan.normalise("030 1234567"), "+49301234567");
  EXPECT_EQ(*plan.normalise("0030 1234567"), "+49301234567") << "exit code + trunk prefix + national number";
  EXPECT_EQ(*plan.normalise("0049301234567"), "+49301234567");
  EXPECT_EQ(*plan.normalise("+49 30 1234567"), "+49301234567");
  EXPECT_EQ(*plan.normalise("301234567"), "+49301234567");
  EXPECT_EQ(*plan.normalise("115"), "115");
}

TEST(NumberPlan, WithoutExitCode) {
  NumberPlan plan({"CZ", "", 4});
  EXPECT_EQ(*plan.normalise("602123456"), "+420602123456");
  EXPECT_EQ(*plan.normalise("00420602123456"), "+420602123456");
}

TEST(NumberPlan, RejectsWhatIsNoNumber) {
  auto plan = czech();
  auto letters = plan.normalise("602 12a 456");
  ASSERT_FALSE(letters.ok());
  EXPECT_EQ(letters.error().message, "'602 12a 456' is not a phone number (unexpected 'a')");
  auto short_external = plan.normalise("12345");
  ASSERT_FALSE(short_external.ok());
  EXPECT_EQ(short_external.error().message, "'12345' is not a phone number of region CZ or in international form");
  EXPECT_FALSE(plan.normalise("+").ok());
  EXPECT_FALSE(plan.normalise("+420").ok());
  EXPECT_FALSE(plan.normalise("6021234567890123456").ok());
}

// Plain national numbers skip the parser, and whether they are possible is looked up by length: the same
// verdict as libphonenumber's for every length and leading digit, in regions with fixed and varied lengths.
TEST(NumberPlan, PlainNationalNumbersAreJudgedAsTheLibraryJudgesThem) {
  auto* util = i18n::phonenumbers::PhoneNumberUtil::GetInstance();
  for (const char* region : {"CZ", "DE", "GB", "US", "AT", "IT", "SK"}) {
    NumberPlan plan({region, "", 1});
    int country_code = util->GetCountryCodeForRegion(region);
    for (std::size_t length = 2; length <= 17; ++length) {
      for (char lead = '1'; lead <= '9'; ++lead) {
        std::string digits(1, lead);
        for (std::size_t i = 1; i < length; ++i) digits += static_cast<char>('0' + (i * 3 + lead) % 10);
        i18n::phonenumbers::PhoneNumber parsed;
        ASSERT_EQ(util->Parse(digits, region, &parsed), i18n::phonenumbers::PhoneNumberUtil::NO_PARSING_ERROR);
        bool possible = util->IsPossibleNumber(parsed);
        auto result = plan.normalise(digits);
        EXPECT_EQ(result.ok(), possible) << region << " " << digits;
        if (result.ok() && possible) {
          std::string e164;
          util->Format(parsed, i18n::phonenumbers::PhoneNumberUtil::E164, &e164);
          EXPECT_EQ(*result, e164) << region << " " << digits << " (country code " << country_code << ")";
        }
      }
    }
  }
}

TEST(NumberPlan, CallersThatCannotBeParsedStayComparable) {
  auto plan = czech();
  EXPECT_EQ(plan.normalise_caller("0602 123 456"), "+420602123456");
  EXPECT_EQ(plan.normalise_caller("12345"), "12345");
  EXPECT_EQ(plan.normalise_caller(""), "");
}

TEST(NumberPlan, EncodesNumbersIntoSeparateRanges) {
  auto e164 = NumberPlan::encode("+420602123456");
  auto ext = NumberPlan::encode("115");
  auto ext0 = NumberPlan::encode("0115");
  ASSERT_TRUE(e164 && ext && ext0);
  EXPECT_NE(*ext, *ext0) << "leading zeros of extensions count";
  EXPECT_NE(*NumberPlan::encode("+115"), *ext);
  EXPECT_FALSE(NumberPlan::encode(""));
  EXPECT_FALSE(NumberPlan::encode("+1234567890123456"));
  EXPECT_FALSE(NumberPlan::encode("12a"));
}
