#include "switchboard/core/rules_generator.hpp"

#include <random>

#include <fmt/format.h>

namespace switchboard::core {
namespace {

// Common Czech names and places, so a demo looks like the call centre it stands for.
const char* const male_first[] = {"Jan", "Jiří", "Petr", "Josef", "Pavel", "Martin", "Tomáš", "Jaroslav", "Miroslav",
                                  "Zdeněk", "Václav", "Michal", "František", "Jakub", "Milan", "Karel", "Lukáš",
                                  "David", "Vladimír", "Ondřej"};
const char* const female_first[] = {"Jana", "Marie", "Eva", "Hana", "Anna", "Lenka", "Kateřina", "Lucie", "Věra",
                                    "Alena", "Petra", "Veronika", "Jaroslava", "Martina", "Tereza", "Michaela",
                                    "Jitka", "Helena", "Ludmila", "Zdeňka"};
const char* const male_last[] = {"Novák", "Svoboda", "Novotný", "Dvořák", "Černý", "Procházka", "Kučera", "Veselý",
                                 "Horák", "Němec", "Marek", "Pospíšil", "Pokorný", "Hájek", "Král", "Jelínek",
                                 "Růžička", "Beneš", "Fiala", "Sedláček"};
const char* const female_last[] = {"Nováková", "Svobodová", "Novotná", "Dvořáková", "Černá", "Procházková",
                                   "Kučerová", "Veselá", "Horáková", "Němcová", "Marková", "Pospíšilová",
                                   "Pokorná", "Hájková", "Králová", "Jelínková", "Růžičková", "Benešová",
                                   "Fialová", "Sedláčková"};
const char* const company_words[] = {"Agro", "Stav", "Elektro", "Auto", "Kovo", "Dřevo", "Tech", "Servis", "Trans",
                                     "Inter", "Bio", "Eko", "Medi", "Data", "Sklo", "Textil", "Plast", "Energo"};
const char* const company_forms[] = {"s.r.o.", "a.s.", "spol. s r.o.", "v.o.s."};
const char* const streets[] = {"Hlavní", "Nádražní", "Školní", "Zahradní", "Husova", "Palackého", "Komenského",
                               "Masarykova", "Smetanova", "Nerudova", "Jiráskova", "Tyršova", "Havlíčkova",
                               "Žižkova", "Revoluční", "Lipová", "Polní", "Krátká", "Dlouhá", "Sokolská"};
struct City {
  const char* name;
  const char* postcode;
  int area;  // landline prefix
};
const City cities[] = {{"Praha", "110 00", 2},   {"Brno", "602 00", 5},         {"Ostrava", "702 00", 59},
                       {"Plzeň", "301 00", 37},  {"Liberec", "460 01", 48},     {"Olomouc", "779 00", 58},
                       {"Ústí nad Labem", "400 01", 47}, {"Hradec Králové", "500 02", 49}, {"České Budějovice", "370 01", 38},
                       {"Pardubice", "530 02", 46}, {"Zlín", "760 01", 57},     {"Havířov", "736 01", 59},
                       {"Kladno", "272 01", 31},  {"Most", "434 01", 47},        {"Opava", "746 01", 55},
                       {"Jihlava", "586 01", 56}, {"Karlovy Vary", "360 01", 35}, {"Teplice", "415 01", 41}};
const int mobile_prefixes[] = {601, 602, 603, 604, 605, 606, 607, 608, 702, 720, 721, 722, 724, 725, 730, 731, 732,
                               733, 734, 736, 737, 739, 770, 773, 774, 775, 776, 777, 790};

template <class T, std::size_t N>
const T& pick(std::mt19937_64& random, const T (&items)[N]) {
  return items[random() % N];
}

// As people write numbers: "+420 602 123 456", "602123456", "602 123 456".
std::string written(std::mt19937_64& random, const std::string& nine_digits) {
  switch (random() % 3) {
    case 0: return "+420 " + nine_digits.substr(0, 3) + " " + nine_digits.substr(3, 3) + " " + nine_digits.substr(6);
    case 1: return nine_digits;
    default: return nine_digits.substr(0, 3) + " " + nine_digits.substr(3, 3) + " " + nine_digits.substr(6);
  }
}

}  // namespace

std::vector<sdk::Rule> generate_rules(const RuleGeneratorOptions& o) {
  std::mt19937_64 random(o.seed);
  std::vector<sdk::Rule> rules;
  rules.reserve(o.customers);
  std::vector<std::vector<std::string>> project_operators(o.projects.size());
  for (std::size_t i = 0; i < o.operators.size(); ++i)
    if (!o.projects.empty()) project_operators[i % o.projects.size()].push_back(o.operators[i]);
  // Numbers are unique: an ambiguous route would be refused by the import.
  std::uint64_t sequence = random() % 1000;
  for (std::size_t n = 0; n < o.customers; ++n) {
    sdk::Rule r;
    r.id = static_cast<std::int64_t>(n + 1);
    bool lookup_only = o.projects.empty() || random() % 100 < o.lookup_only_percent;
    std::size_t project = o.projects.empty() ? 0 : random() % o.projects.size();
    if (!lookup_only) r.project = o.projects[project];
    const auto& city = pick(random, cities);
    bool company = random() % 3 == 0;
    bool female = random() % 2 == 0;
    std::string person = female ? fmt::format("{} {}", pick(random, female_first), pick(random, female_last))
                                : fmt::format("{} {}", pick(random, male_first), pick(random, male_last));
    if (company) {
      r.company = fmt::format("{}{} {}", pick(random, company_words), pick(random, company_words), pick(random, company_forms));
      r.company_id = fmt::format("{:08}", 10'000'000 + random() % 89'999'999);
      r.note = "Contact: " + person;
    } else {
      r.company = person;
    }
    int numbers = 1 + static_cast<int>(random() % o.max_numbers);
    for (int k = 0; k < numbers; ++k) {
      ++sequence;
      // A bijection of the sequence over 29 prefixes x 1,000,000: unique for 29 million numbers, and spread.
      std::uint64_t spread = (sequence * 7'919) % (std::size(mobile_prefixes) * 1'000'000);
      std::uint64_t tail = spread % 1'000'000;
      std::string digits = k == 0 || random() % 2 == 0
                               ? fmt::format("{}{:06}", mobile_prefixes[spread / 1'000'000], tail)
                               : city.area < 10 ? fmt::format("{}{:02}{:06}", city.area, sequence / 1'000'000 % 100, tail)
                                                : fmt::format("{}{:01}{:06}", city.area, sequence / 1'000'000 % 10, tail);
      r.callers[k] = written(random, digits);
    }
    if (!lookup_only && !project_operators[project].empty()) {
      const auto& pool = project_operators[project];
      std::size_t count = 1 + random() % std::min<std::size_t>(3, pool.size());
      std::size_t first = random() % pool.size();
      for (std::size_t k = 0; k < count; ++k) r.operators.push_back(pool[(first + k) % pool.size()]);
    }
    r.street = fmt::format("{} {}", pick(random, streets), 1 + random() % 120);
    r.city = city.name;
    r.postcode = city.postcode;
    rules.push_back(std::move(r));
  }
  return rules;
}

}  // namespace switchboard::core
