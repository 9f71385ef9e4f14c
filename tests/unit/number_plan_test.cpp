// The numbering plan: the table of the issue's examples, another region, extensions, errors, and the plan
// against a copy of its earlier algorithm for a large generated set of inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

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

TEST(NumberPlan, DigitsThatStartWithTheCountryCodeAreReadAsTheLibraryReadsThem) {
  auto plan = czech();
  EXPECT_EQ(*plan.normalise("420602123456"), "+420602123456");
  EXPECT_EQ(*plan.normalise("0420602123456"), "+420602123456");
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

// The differential test: the documented rule (docs/storage.md) with libphonenumber parsing every number, no
// shortcut. The plan's fast paths (plain national numbers, a number of the own country in international form)
// must give the library's answer for every input: the normalised form keys the customer index.
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;
namespace sdk = switchboard::sdk;

class ReferencePlan {
 public:
  explicit ReferencePlan(NumberPlan::Options options) : options_(std::move(options)) {}

  sdk::Result<std::string> normalise(std::string_view number) const {
    std::string compact;
    for (char c : number) {
      if (c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')' || c == '\t') continue;
      if (!std::isdigit(static_cast<unsigned char>(c)) && !(c == '+' && compact.empty()))
        return sdk::make_error(sdk::ErrorCode::invalid_argument, "'" + std::string(number) +
                                                                     "' is not a phone number (unexpected '" +
                                                                     std::string(1, c) + "')");
      compact += c;
    }
    if (compact.empty()) return std::string{};
    if (compact == "+")
      return sdk::make_error(sdk::ErrorCode::invalid_argument, "'" + std::string(number) + "' is not a phone number");
    if (compact.front() != '+' && static_cast<int>(compact.size()) <= options_.internal_max_digits) return compact;
    const auto& exit = options_.pbx_exit_code;
    if (compact.front() != '+' && !exit.empty() && compact.rfind(exit, 0) == 0 &&
        static_cast<int>(compact.size() - exit.size()) > options_.internal_max_digits) {
      auto stripped = to_e164(compact.substr(exit.size()), true);
      if (stripped && stripped->valid) return stripped->e164;
      auto raw = to_e164(compact, true);
      if (raw && raw->valid) return raw->e164;
      if (stripped) return stripped->e164;
      if (raw) return raw->e164;
    } else if (auto e164 = to_e164(compact, false)) {
      return e164->e164;
    }
    return sdk::make_error(sdk::ErrorCode::invalid_argument,
                           "'" + std::string(number) + "' is not a phone number of region " + options_.region +
                               " or in international form");
  }

  // normalise_caller, given normalise's answer (the test has it already: asking again doubles the time).
  static std::string normalise_caller(std::string_view number, const sdk::Result<std::string>& n) {
    if (n) return *n;
    std::string digits;
    for (char c : number)
      if (std::isdigit(static_cast<unsigned char>(c))) digits += c;
    return digits;
  }

 private:
  struct Parsed {
    std::string e164;
    bool valid = false;
  };

  std::optional<Parsed> to_e164(const std::string& text, bool want_validity) const {
    auto* util = PhoneNumberUtil::GetInstance();
    PhoneNumber number;
    if (util->Parse(text, options_.region, &number) != PhoneNumberUtil::NO_PARSING_ERROR ||
        !util->IsPossibleNumber(number))
      return std::nullopt;
    Parsed out;
    util->Format(number, PhoneNumberUtil::E164, &out.e164);
    out.valid = want_validity && util->IsValidNumber(number);
    return out;
  }

  NumberPlan::Options options_;
};

// National significant numbers of libphonenumber's examples (valid numbers of every type the region has).
std::vector<std::string> example_numbers(const std::string& region) {
  auto* util = PhoneNumberUtil::GetInstance();
  std::set<PhoneNumberUtil::PhoneNumberType> types;
  util->GetSupportedTypesForRegion(region, &types);
  std::vector<std::string> out;
  for (auto type : types) {
    PhoneNumber number;
    std::string nsn;
    if (!util->GetExampleNumberForType(region, type, &number)) continue;
    util->GetNationalSignificantNumber(number, &nsn);
    out.push_back(nsn);
  }
  return out;
}

// Inputs for one plan: every form the PBX and people write, near-valid numbers (validity decides between the
// two readings), every leading digit and length, separators, garbage. Deterministic.
std::vector<std::string> generated_inputs(const NumberPlan::Options& options, std::size_t count, std::uint64_t seed) {
  auto* util = PhoneNumberUtil::GetInstance();
  std::mt19937_64 rng(seed);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  auto digits = [&](std::size_t length) {
    std::string s;
    for (std::size_t i = 0; i < length; ++i) s += static_cast<char>('0' + pick(10));
    return s;
  };
  const std::string& exit = options.pbx_exit_code;
  std::string cc = std::to_string(util->GetCountryCodeForRegion(options.region));
  std::string ndd;
  util->GetNddPrefixForRegion(options.region, true, &ndd);
  auto own = example_numbers(options.region);
  if (own.empty()) own.push_back("602123456");
  std::vector<std::string> foreign;  // "<country code><national significant number>"
  for (const char* region :
       {"CZ", "DE", "IT", "GB", "US", "FR", "AT", "SK", "PL", "CH", "RU", "JP", "BR", "GG", "IM"}) {
    std::string code = std::to_string(util->GetCountryCodeForRegion(region));
    for (const auto& nsn : example_numbers(region)) foreign.push_back(code + nsn);
  }
  foreign.push_back("49301234567");
  foreign.push_back("441632960000");
  const std::vector<std::string> prefixes = {"",         exit,      exit + "0", exit + "00",  exit + exit, "0",
                                             "00",       "000",     "+",        "+" + cc,     "00" + cc,   "0" + cc,
                                             cc,         exit + cc, ndd,        exit + ndd,   "+0",        "9"};
  const std::string separators = " -/().\t";
  const std::vector<std::string> garbage = {"a", "x", "#", "*", "+", ",", ";", "\xC2\xA0", "\xEF\xBC\x91", "\x01", "e"};

  std::vector<std::string> out = {"", " ", "+", "++", "0", "00", "000", "+0", "+" + cc, exit, exit + "0",
                                  "0602123456", "0791000123", "602123456", "+420602123456", "00420602123456",
                                  "0049301234567", "+441632960000", "0 602 123 456", "(0602) 123-456",
                                  "0/602/123/456", "+420 (602) 123-456", "00 420 602 123 456"};
  // Every leading digit and length 1-17 behind every prefix.
  for (const auto& prefix : prefixes)
    for (char lead = '0'; lead <= '9'; ++lead)
      for (std::size_t length = 1; length <= 17; ++length) out.push_back(prefix + lead + digits(length - 1));
  // The rest at random. Numbers the library parses cost ~20 µs per call: they are a third, the cheap forms
  // (plain national numbers, extensions, text that is no number) the rest, to keep the test to seconds.
  auto example = [&] {  // an example of the region with some digits changed, sometimes shorter or longer
    std::string body = own[pick(own.size())];
    for (std::size_t n = pick(4); n > 0; --n) body[body.size() - 1 - pick(std::min<std::size_t>(body.size(), 4))] =
                                                  static_cast<char>('0' + pick(10));
    if (pick(4) == 0) body.resize(body.size() - 1);
    if (pick(4) == 0) body += digits(1 + pick(2));
    return body;
  };
  while (out.size() < count) {
    std::string text;
    auto kind = pick(100);
    if (kind < 12) {
      text = prefixes[pick(prefixes.size())] + example();
    } else if (kind < 16) {  // a foreign number, written internationally, as is or behind the exit code
      std::string body = foreign[pick(foreign.size())];
      if (pick(3) == 0) body[body.size() - 1 - pick(3)] = static_cast<char>('0' + pick(10));
      const std::string international[] = {"+", "00", exit + "00", exit + "000", exit + "+"};  // "0+..." is no number
      text = international[pick(5)] + body;
    } else if (kind < 22) {
      text = prefixes[pick(prefixes.size())] + digits(1 + pick(17));
    } else if (kind < 62) {  // a plain national number, or in international form of the own country
      std::string body = pick(2) == 0 ? example() : static_cast<char>('1' + pick(9)) + digits(pick(17));
      text = (pick(3) == 0 ? "+" + cc : "") + body;
    } else if (kind < 80) {  // an extension, maybe behind the exit code
      text = (pick(4) == 0 ? exit : "") + digits(1 + pick(static_cast<std::size_t>(options.internal_max_digits)));
    } else if (kind < 98) {  // text that is no number: a letter or symbol anywhere
      text = prefixes[pick(prefixes.size())] + digits(pick(17));
      text.insert(pick(text.size() + 1), garbage[pick(garbage.size())]);
    } else {  // nothing but separators
      for (std::size_t n = pick(4); n > 0; --n) text += separators[pick(separators.size())];
    }
    if (pick(3) == 0) {  // separators anywhere
      for (std::size_t n = 1 + pick(4); n > 0; --n)
        text.insert(pick(text.size() + 1), 1, separators[pick(separators.size())]);
    }
    out.push_back(std::move(text));
  }
  return out;
}

}  // namespace

TEST(NumberPlan, GivesLibphonenumbersAnswerForEveryGeneratedInput) {
  const std::vector<NumberPlan::Options> plans = {
      {"CZ", "0", 4}, {"CZ", "", 4}, {"CZ", "0", 1}, {"DE", "0", 3}, {"DE", "0", 4},  {"IT", "", 4},
      {"IT", "9", 4}, {"GB", "9", 4}, {"GB", "0", 4}, {"US", "9", 4}, {"AT", "00", 2}, {"ZZ", "0", 4}};
  std::size_t compared = 0;
  for (std::size_t i = 0; i < plans.size(); ++i) {
    const auto& options = plans[i];
    NumberPlan plan(options);
    ReferencePlan reference(options);
    std::string name = options.region + " exit '" + options.pbx_exit_code + "' max " +
                       std::to_string(options.internal_max_digits);
    for (const auto& input : generated_inputs(options, 17'000, 7919 + i)) {
      auto expected = reference.normalise(input);
      auto actual = plan.normalise(input);
      if (expected.ok() != actual.ok() || (expected.ok() ? *expected != *actual
                                                         : expected.error().message != actual.error().message))
        ADD_FAILURE() << name << ": normalise('" << input << "') gives "
                      << (actual.ok() ? *actual : actual.error().message) << ", libphonenumber alone "
                      << (expected.ok() ? *expected : expected.error().message);
      auto expected_caller = ReferencePlan::normalise_caller(input, expected);
      auto actual_caller = plan.normalise_caller(input);
      if (expected_caller != actual_caller)
        ADD_FAILURE() << name << ": normalise_caller('" << input << "') gives " << actual_caller
                      << ", libphonenumber alone " << expected_caller;
      ++compared;
    }
  }
  EXPECT_GE(compared, 200'000u);
}
