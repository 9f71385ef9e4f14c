// The numbering plan: how numbers as the PBX and people write them become one comparable form.
//
// Internal numbers (digits only, at most internal_max_digits long) stay as they are: "115".
// External numbers lose the PBX's exit code and become E.164 through libphonenumber:
// with region CZ and exit code "0", "+420 602 123 456", "00420602123456", "602123456", "0602123456"
// and "602 123 456" are all "+420602123456". See docs/storage.md for the rules and their order.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "switchboard/sdk/config.hpp"
#include "switchboard/sdk/result.hpp"

namespace switchboard::core {

class NumberPlan {
 public:
  struct Options {
    std::string region = "CZ";      // ISO 3166 region for numbers written without a country code
    std::string pbx_exit_code = "0";  // what the PBX puts before external numbers; empty for none
    int internal_max_digits = 4;    // extensions are at most this long
  };

  explicit NumberPlan(Options options);
  // From the `numbers:` section.
  static NumberPlan from_settings(const sdk::Settings& numbers);
  // The `numbers:` section's keys, declared like a factory's.
  static sdk::ConfigSchema schema();

  // The normalised form, or an error that says why the text is no phone number. Empty text gives "".
  sdk::Result<std::string> normalise(std::string_view number) const;
  // The same for a caller from the PBX: what cannot be parsed stays as its digits, so it still compares.
  std::string normalise_caller(std::string_view number) const;
  const Options& options() const noexcept { return options_; }

  // A normalised number as one integer, for compact indexes: E.164 and extensions in separate ranges.
  // Nothing for text that is no normalised number.
  static std::optional<std::uint64_t> encode(std::string_view normalised);

 private:
  struct Parsed {
    std::string e164;
    bool valid = false;  // in an assigned range (checked only when asked: it costs more than parsing)
  };
  // A number whose length is possible for its country, or nothing. Possible rather than valid: validity by
  // range ties routing to the age of the library's metadata, and a newly allocated range must not turn a
  // customer into a stranger. Validity only decides between two readings of one number.
  std::optional<Parsed> to_e164(std::string_view digits, bool want_validity) const;
  std::string_view national_of_own_country(std::string_view compact) const;
  bool starts_with_country_code(std::string_view digits) const;

  Options options_;
  int country_code_ = 0;
  std::string country_prefix_;  // "+420": built once, not per number
  // Leading digits (1-9) for which libphonenumber's parse of a plain national number is known to be the
  // identity: such numbers skip the parser (the hot part of a million-row import). Probed at construction.
  std::array<bool, 10> plain_national_ = {};
  // For those numbers: whether a national number of each length (1-17 digits) is possible. Looked up
  // instead of asking libphonenumber every time (it depends on nothing else); computed at construction.
  std::array<bool, 18> plain_possible_ = {};
};

}  // namespace switchboard::core
