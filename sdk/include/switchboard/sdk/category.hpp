// The five extension points. A factory implements exactly one of them.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace switchboard::sdk {

enum class Category { driver, storage, routing, exporter, alert };

inline constexpr std::array<Category, 5> all_categories{Category::storage, Category::alert, Category::exporter,
                                                        Category::routing, Category::driver};

// The category's name as it appears in `plugins list` and logger names ("driver.hicom-main").
constexpr std::string_view to_string(Category c) noexcept {
  switch (c) {
    case Category::driver: return "driver";
    case Category::storage: return "storage";
    case Category::routing: return "routing";
    case Category::exporter: return "exporter";
    case Category::alert: return "alert";
  }
  return "unknown";
}

// The top-level configuration section that holds instances of the category.
constexpr std::string_view section_of(Category c) noexcept {
  switch (c) {
    case Category::driver: return "drivers";
    case Category::storage: return "storage";
    case Category::routing: return "routing";
    case Category::exporter: return "exporters";
    case Category::alert: return "alerts";
  }
  return "unknown";
}

inline std::optional<Category> category_from_section(std::string_view section) noexcept {
  for (auto c : all_categories)
    if (section_of(c) == section) return c;
  return std::nullopt;
}

}  // namespace switchboard::sdk
