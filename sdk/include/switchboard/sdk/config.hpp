// Configuration: how a factory declares its keys, and the validated settings an instance receives.
//
// A factory declares a ConfigSchema (every key with its type, default or required, range, doc, secret).
// The host turns the YAML file into ConfigNode trees (plugins never see YAML), checks each instance's
// node against the factory's schema with apply_schema(), fills in defaults and hands the instance a
// Settings object whose typed accessors cannot fail for declared keys.
#pragma once

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "switchboard/sdk/category.hpp"

namespace switchboard::sdk {

// ---------------------------------------------------------------------------------------------------
// Source positions and diagnostics

struct SourcePosition {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based
};

struct Diagnostic {
  SourcePosition position;
  std::string path;  // yaml path, e.g. drivers.hicom-main.config.port
  std::string message;
};

// A reference from one instance's settings to another instance, checked by the host for dangling names.
struct ReferenceUse {
  Category category;
  std::string name;
  std::string path;
  SourcePosition position;
};

class Settings;

// Collects every error before anything is reported: a config is judged as a whole.
class Diagnostics {
 public:
  void error(SourcePosition position, std::string path, std::string message) {
    errors_.push_back({std::move(position), std::move(path), std::move(message)});
  }
  // An error about `key` of `settings` (a factory's semantic check); positioned at the key's value.
  void error(const Settings& settings, std::string_view key, std::string message);

  bool empty() const noexcept { return errors_.empty(); }
  std::size_t size() const noexcept { return errors_.size(); }
  const std::vector<Diagnostic>& errors() const noexcept { return errors_; }
  std::vector<ReferenceUse>& references() noexcept { return references_; }
  const std::vector<ReferenceUse>& references() const noexcept { return references_; }

 private:
  std::vector<Diagnostic> errors_;
  std::vector<ReferenceUse> references_;
};

// Edit distance, for "did you mean" suggestions.
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The closest candidate within a distance that still reads as a typo, or nothing.
inline std::optional<std::string> closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    std::size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

inline std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  auto m = closest_match(word, candidates);
  return m ? " (did you mean '" + *m + "'?)" : std::string{};
}

// ---------------------------------------------------------------------------------------------------
// The configuration tree the host builds from YAML (or a test builds by hand)

class ConfigNode {
 public:
  enum class Kind { null, scalar, list, map };
  struct Entry;

  ConfigNode() = default;
  static ConfigNode scalar(std::string text, SourcePosition pos = {}) {
    ConfigNode n;
    n.kind_ = Kind::scalar;
    n.text_ = std::move(text);
    n.position_ = std::move(pos);
    return n;
  }
  static ConfigNode list(std::vector<ConfigNode> items = {}, SourcePosition pos = {}) {
    ConfigNode n;
    n.kind_ = Kind::list;
    n.items_ = std::move(items);
    n.position_ = std::move(pos);
    return n;
  }
  static ConfigNode map(std::vector<Entry> entries = {}, SourcePosition pos = {});
  // Shorthand for tests: map({{"level", "warn"}, {"port", "1040"}}).
  static ConfigNode map(std::initializer_list<std::pair<std::string, ConfigNode>> entries);
  ConfigNode(const char* text) : ConfigNode(scalar(text)) {}  // NOLINT: convenient literals in tests
  ConfigNode(std::string text) : ConfigNode(scalar(std::move(text))) {}  // NOLINT

  Kind kind() const noexcept { return kind_; }
  bool is_null() const noexcept { return kind_ == Kind::null; }
  bool is_scalar() const noexcept { return kind_ == Kind::scalar; }
  bool is_list() const noexcept { return kind_ == Kind::list; }
  bool is_map() const noexcept { return kind_ == Kind::map; }
  const std::string& text() const noexcept { return text_; }
  const std::vector<ConfigNode>& items() const noexcept { return items_; }
  const std::vector<Entry>& entries() const noexcept { return entries_; }
  std::vector<Entry>& entries() noexcept { return entries_; }
  const SourcePosition& position() const noexcept { return position_; }
  void set_position(SourcePosition pos) { position_ = std::move(pos); }
  // Set when building the value already failed (a missing ${VAR}): checking it again would only repeat that.
  bool already_reported() const noexcept { return already_reported_; }
  void set_already_reported() { already_reported_ = true; }
  const ConfigNode* find(std::string_view key) const;

 private:
  Kind kind_ = Kind::null;
  std::string text_;
  std::vector<ConfigNode> items_;
  std::vector<Entry> entries_;
  SourcePosition position_;
  bool already_reported_ = false;
};

struct ConfigNode::Entry {
  std::string key;
  SourcePosition key_position;
  ConfigNode value;
};

inline ConfigNode ConfigNode::map(std::vector<Entry> entries, SourcePosition pos) {
  ConfigNode n;
  n.kind_ = Kind::map;
  n.entries_ = std::move(entries);
  n.position_ = std::move(pos);
  return n;
}

inline ConfigNode ConfigNode::map(std::initializer_list<std::pair<std::string, ConfigNode>> entries) {
  std::vector<Entry> e;
  for (const auto& [k, v] : entries) e.push_back({k, {}, v});
  return map(std::move(e));
}

inline const ConfigNode* ConfigNode::find(std::string_view key) const {
  for (const auto& e : entries_)
    if (e.key == key) return &e.value;
  return nullptr;
}

// ---------------------------------------------------------------------------------------------------
// Schema: what a factory declares

enum class ValueType { boolean, integer, number, string, duration, size, enumeration, endpoint, reference, list, map, object };

class ConfigSchema;

// The type of one value: a scalar type, or a list/map of an element type, or a nested object.
struct TypeSpec {
  ValueType type = ValueType::string;
  std::vector<std::string> enum_values;              // enumeration
  std::optional<double> min, max;                    // integer, number (value); duration (ms); size (bytes); list (length)
  Category reference_category = Category::storage;   // reference
  std::shared_ptr<const TypeSpec> element;           // list, map
  std::shared_ptr<const ConfigSchema> object;        // object
  bool semicolon_string = false;  // list of scalars may also be written "114;115;" (the legacy form)

  static TypeSpec of(ValueType t) { TypeSpec s; s.type = t; return s; }
  static TypeSpec list_of(TypeSpec element) {
    TypeSpec s;
    s.type = ValueType::list;
    s.element = std::make_shared<const TypeSpec>(std::move(element));
    return s;
  }
  static TypeSpec map_of(TypeSpec element) {
    TypeSpec s;
    s.type = ValueType::map;
    s.element = std::make_shared<const TypeSpec>(std::move(element));
    return s;
  }
  static TypeSpec object_of(ConfigSchema schema);
  static TypeSpec enum_of(std::vector<std::string> values) {
    TypeSpec s;
    s.type = ValueType::enumeration;
    s.enum_values = std::move(values);
    return s;
  }
  static TypeSpec reference_to(Category c) {
    TypeSpec s;
    s.type = ValueType::reference;
    s.reference_category = c;
    return s;
  }
  // A human name of the type, used in messages and the generated reference.
  std::string describe() const;
};

struct KeySpec {
  std::string name;
  TypeSpec type;
  bool required = false;
  std::optional<std::string> default_text;  // written as it would be in YAML; checked like user input
  std::string doc;                          // mandatory: the reference is generated from it
  bool secret = false;                      // never printed or logged
};

// The keys of one map. Declared with a fluent builder:
//   schema.add("port", ValueType::integer).range(1, 65535).default_value(1040).doc("TCP port of the PBX.");
class ConfigSchema {
 public:
  class KeyBuilder {
   public:
    KeyBuilder(ConfigSchema& schema, std::size_t index) : schema_(&schema), index_(index) {}
    KeyBuilder& required() { spec().required = true; return *this; }
    KeyBuilder& default_value(std::string text) { spec().default_text = std::move(text); return *this; }
    KeyBuilder& default_value(const char* text) { return default_value(std::string(text)); }
    KeyBuilder& default_value(std::int64_t v) { return default_value(std::to_string(v)); }
    KeyBuilder& default_value(int v) { return default_value(std::to_string(v)); }
    KeyBuilder& default_value(bool v) { return default_value(std::string(v ? "true" : "false")); }
    KeyBuilder& range(double min, double max) { spec().type.min = min; spec().type.max = max; return *this; }
    KeyBuilder& min(double v) { spec().type.min = v; return *this; }
    KeyBuilder& max(double v) { spec().type.max = v; return *this; }
    KeyBuilder& doc(std::string text) { spec().doc = std::move(text); return *this; }
    KeyBuilder& secret() { spec().secret = true; return *this; }
    KeyBuilder& semicolon_string() { spec().type.semicolon_string = true; return *this; }

   private:
    KeySpec& spec() { return schema_->keys_[index_]; }
    ConfigSchema* schema_;
    std::size_t index_;
  };

  KeyBuilder add(std::string name, TypeSpec type) {
    keys_.push_back(KeySpec{std::move(name), std::move(type), false, std::nullopt, {}, false});
    return KeyBuilder(*this, keys_.size() - 1);
  }
  KeyBuilder add(std::string name, ValueType type) { return add(std::move(name), TypeSpec::of(type)); }

  const std::vector<KeySpec>& keys() const noexcept { return keys_; }
  const KeySpec* find(std::string_view name) const {
    for (const auto& k : keys_)
      if (k.name == name) return &k;
    return nullptr;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> n;
    for (const auto& k : keys_) n.push_back(k.name);
    return n;
  }
  bool has_required_keys() const {
    return std::any_of(keys_.begin(), keys_.end(), [](const KeySpec& k) { return k.required; });
  }

 private:
  std::vector<KeySpec> keys_;
};

inline TypeSpec TypeSpec::object_of(ConfigSchema schema) {
  TypeSpec s;
  s.type = ValueType::object;
  s.object = std::make_shared<const ConfigSchema>(std::move(schema));
  return s;
}

inline std::string TypeSpec::describe() const {
  switch (type) {
    case ValueType::boolean: return "bool";
    case ValueType::integer: return "integer";
    case ValueType::number: return "number";
    case ValueType::string: return "string";
    case ValueType::duration: return "duration";
    case ValueType::size: return "size";
    case ValueType::endpoint: return "endpoint";
    case ValueType::enumeration: {
      std::string s = "enum (";
      for (std::size_t i = 0; i < enum_values.size(); ++i) s += (i ? " | " : "") + enum_values[i];
      return s + ")";
    }
    case ValueType::reference: return "reference to " + std::string(to_string(reference_category));
    case ValueType::list: return "list of " + element->describe();
    case ValueType::map: return "map of " + element->describe();
    case ValueType::object: return "object";
  }
  return "unknown";
}

// ---------------------------------------------------------------------------------------------------
// Settings: the validated, typed values an instance receives

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  std::string to_string() const {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }
};

class Settings;

// One validated value. Which member is set follows the declared type.
struct SettingValue {
  ValueType type = ValueType::string;
  bool boolean = false;
  std::int64_t integer = 0;
  double number = 0;
  std::string text;  // string, enumeration, reference; the source text of every scalar
  std::chrono::milliseconds duration{0};
  std::uint64_t size = 0;
  Endpoint endpoint;
  std::vector<SettingValue> items;                           // list
  std::vector<std::pair<std::string, SettingValue>> entries;  // map
  std::shared_ptr<const Settings> object;                    // object
  bool secret = false;
  SourcePosition position;
  std::string path;
};

class Settings {
 public:
  Settings() = default;
  Settings(std::string path, SourcePosition position) : path_(std::move(path)), position_(std::move(position)) {}

  bool has(std::string_view key) const { return values_.count(std::string(key)) != 0; }
  const SettingValue& value(std::string_view key) const {
    auto it = values_.find(std::string(key));
    if (it == values_.end()) throw std::out_of_range("setting '" + std::string(key) + "' is not set at " + path_);
    return it->second;
  }
  bool boolean(std::string_view key) const { return value(key).boolean; }
  std::int64_t integer(std::string_view key) const { return value(key).integer; }
  double number(std::string_view key) const { return value(key).number; }
  // string, enumeration and reference values
  const std::string& string(std::string_view key) const { return value(key).text; }
  std::string string_or(std::string_view key, std::string fallback) const {
    return has(key) ? value(key).text : std::move(fallback);
  }
  std::chrono::milliseconds duration(std::string_view key) const { return value(key).duration; }
  std::uint64_t size(std::string_view key) const { return value(key).size; }
  const Endpoint& endpoint(std::string_view key) const { return value(key).endpoint; }
  const Settings& object(std::string_view key) const { return *value(key).object; }
  // A list of scalars as text; empty when an optional list is absent.
  std::vector<std::string> strings(std::string_view key) const {
    std::vector<std::string> out;
    if (has(key))
      for (const auto& v : value(key).items) out.push_back(v.text);
    return out;
  }
  // A list of objects; empty when an optional list is absent.
  std::vector<const Settings*> objects(std::string_view key) const {
    std::vector<const Settings*> out;
    if (has(key))
      for (const auto& v : value(key).items) out.push_back(v.object.get());
    return out;
  }
  // A map's entries, in file order; empty when an optional map is absent.
  const std::vector<std::pair<std::string, SettingValue>>& entries(std::string_view key) const {
    static const std::vector<std::pair<std::string, SettingValue>> none;
    return has(key) ? value(key).entries : none;
  }

  const std::string& path() const noexcept { return path_; }
  const SourcePosition& position() const noexcept { return position_; }
  // Keys in declaration order, for printing.
  const std::vector<std::string>& keys() const noexcept { return order_; }

  void set(std::string key, SettingValue v) {
    if (!has(key)) order_.push_back(key);
    values_[std::move(key)] = std::move(v);
  }

 private:
  std::string path_;
  SourcePosition position_;
  std::map<std::string, SettingValue> values_;
  std::vector<std::string> order_;
};

inline void Diagnostics::error(const Settings& settings, std::string_view key, std::string message) {
  std::string path = settings.path().empty() ? std::string(key) : settings.path() + "." + std::string(key);
  SourcePosition pos = settings.has(key) ? settings.value(key).position : settings.position();
  error(std::move(pos), std::move(path), std::move(message));
}

// ---------------------------------------------------------------------------------------------------
// Scalar parsing shared by validation and defaults

namespace detail {

inline std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

inline std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

inline bool parse_integer(std::string_view s, std::int64_t& out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size() && !s.empty();
}

inline bool parse_number(std::string_view s, double& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size() && !s.empty();
}

// "250ms", "5s", "2m", "1h", "1m30s", "1.5s"
inline std::optional<std::chrono::milliseconds> parse_duration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double total_ms = 0;
  while (!s.empty()) {
    std::size_t i = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (i == 0) return std::nullopt;
    double amount = 0;
    if (!parse_number(s.substr(0, i), amount)) return std::nullopt;
    s.remove_prefix(i);
    std::size_t u = 0;
    while (u < s.size() && std::isalpha(static_cast<unsigned char>(s[u]))) ++u;
    std::string unit = lower(s.substr(0, u));
    s.remove_prefix(u);
    double factor = 0;
    if (unit == "ms") factor = 1;
    else if (unit == "s") factor = 1000;
    else if (unit == "m" || unit == "min") factor = 60'000;
    else if (unit == "h") factor = 3'600'000;
    else if (unit == "d") factor = 86'400'000;
    else return std::nullopt;
    total_ms += amount * factor;
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(total_ms + 0.5));
}

// "512", "64KiB", "1MiB", "10MB"
inline std::optional<std::uint64_t> parse_size(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i == 0) return std::nullopt;
  std::int64_t amount = 0;
  if (!parse_integer(s.substr(0, i), amount)) return std::nullopt;
  std::string unit = lower(trim(s.substr(i)));
  std::uint64_t factor = 0;
  if (unit.empty() || unit == "b") factor = 1;
  else if (unit == "kib") factor = 1024;
  else if (unit == "mib") factor = 1024ull * 1024;
  else if (unit == "gib") factor = 1024ull * 1024 * 1024;
  else if (unit == "kb") factor = 1000;
  else if (unit == "mb") factor = 1000ull * 1000;
  else if (unit == "gb") factor = 1000ull * 1000 * 1000;
  else return std::nullopt;
  return static_cast<std::uint64_t>(amount) * factor;
}

// "host:port", "[::1]:port"
inline std::optional<Endpoint> parse_endpoint(std::string_view s) {
  std::string host;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') return std::nullopt;
    host = std::string(s.substr(1, close - 1));
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    host = std::string(s.substr(0, colon));
    port = s.substr(colon + 1);
  }
  std::int64_t p = 0;
  if (host.empty() || !parse_integer(port, p) || p < 1 || p > 65535) return std::nullopt;
  return Endpoint{host, static_cast<std::uint16_t>(p)};
}

inline std::optional<bool> parse_boolean(std::string_view s) {
  std::string l = lower(s);
  if (l == "true" || l == "yes" || l == "on") return true;
  if (l == "false" || l == "no" || l == "off") return false;
  return std::nullopt;
}

inline std::string format_limit(const TypeSpec& t, double v) {
  switch (t.type) {
    case ValueType::duration: return std::to_string(static_cast<std::int64_t>(v)) + "ms";
    case ValueType::size: return std::to_string(static_cast<std::uint64_t>(v)) + " bytes";
    default: {
      std::string s = std::to_string(v);
      if (s.find('.') != std::string::npos) {
        s.erase(s.find_last_not_of('0') + 1);
        if (s.back() == '.') s.pop_back();
      }
      return s;
    }
  }
}

inline std::string join_path(const std::string& base, std::string_view key) {
  return base.empty() ? std::string(key) : base + "." + std::string(key);
}

inline std::string node_kind_name(const ConfigNode& n) {
  switch (n.kind()) {
    case ConfigNode::Kind::null: return "nothing";
    case ConfigNode::Kind::scalar: return "'" + n.text() + "'";
    case ConfigNode::Kind::list: return "a list";
    case ConfigNode::Kind::map: return "a map";
  }
  return "?";
}

std::optional<Settings> apply_object(const ConfigSchema& schema, const ConfigNode& node, const std::string& path,
                                     Diagnostics& diag);

inline bool check_range(const TypeSpec& t, double v, const std::string& shown, const ConfigNode& node,
                        const std::string& path, Diagnostics& diag) {
  if ((t.min && v < *t.min) || (t.max && v > *t.max)) {
    std::string range;
    if (t.min && t.max) range = "between " + format_limit(t, *t.min) + " and " + format_limit(t, *t.max);
    else if (t.min) range = "at least " + format_limit(t, *t.min);
    else range = "at most " + format_limit(t, *t.max);
    diag.error(node.position(), path, "value " + shown + " is out of range: must be " + range);
    return false;
  }
  return true;
}

inline std::optional<SettingValue> apply_value(const TypeSpec& t, const ConfigNode& node, const std::string& path,
                                               bool secret, Diagnostics& diag) {
  if (node.already_reported()) return std::nullopt;
  SettingValue v;
  v.type = t.type;
  v.position = node.position();
  v.path = path;
  v.secret = secret;
  // A secret's value never appears in a message.
  const std::string shown = secret ? std::string("<redacted>") : node.text();
  auto expect_scalar = [&](const std::string& what) {
    if (node.is_scalar()) return true;
    diag.error(node.position(), path, std::string("expected ") + what + ", got " + (secret ? shown : node_kind_name(node)));
    return false;
  };
  switch (t.type) {
    case ValueType::boolean: {
      if (!expect_scalar("a bool")) return std::nullopt;
      auto b = parse_boolean(node.text());
      if (!b) {
        diag.error(node.position(), path, "expected a bool (true or false), got '" + shown + "'");
        return std::nullopt;
      }
      v.boolean = *b;
      v.text = *b ? "true" : "false";
      return v;
    }
    case ValueType::integer: {
      if (!expect_scalar("an integer")) return std::nullopt;
      if (!parse_integer(node.text(), v.integer)) {
        diag.error(node.position(), path, "expected an integer, got '" + shown + "'");
        return std::nullopt;
      }
      if (!check_range(t, static_cast<double>(v.integer), shown, node, path, diag)) return std::nullopt;
      v.text = node.text();
      return v;
    }
    case ValueType::number: {
      if (!expect_scalar("a number")) return std::nullopt;
      if (!parse_number(node.text(), v.number)) {
        diag.error(node.position(), path, "expected a number, got '" + shown + "'");
        return std::nullopt;
      }
      if (!check_range(t, v.number, shown, node, path, diag)) return std::nullopt;
      v.text = node.text();
      return v;
    }
    case ValueType::string:
    case ValueType::reference: {
      if (!expect_scalar("a string")) return std::nullopt;
      v.text = node.text();
      if (t.type == ValueType::reference) {
        if (v.text.empty()) {
          diag.error(node.position(), path, "expected the name of a " + std::string(to_string(t.reference_category)) +
                                                " instance, got an empty string");
          return std::nullopt;
        }
        diag.references().push_back({t.reference_category, v.text, path, node.position()});
      }
      return v;
    }
    case ValueType::enumeration: {
      if (!expect_scalar("one of " + t.describe() + "")) return std::nullopt;
      if (std::find(t.enum_values.begin(), t.enum_values.end(), node.text()) == t.enum_values.end()) {
        std::string allowed;
        for (std::size_t i = 0; i < t.enum_values.size(); ++i) allowed += (i ? ", " : "") + t.enum_values[i];
        diag.error(node.position(), path,
                   "'" + shown + "' is not one of " + allowed +
                       (secret ? std::string{} : did_you_mean(node.text(), t.enum_values)));
        return std::nullopt;
      }
      v.text = node.text();
      return v;
    }
    case ValueType::duration: {
      if (!expect_scalar("a duration")) return std::nullopt;
      auto d = parse_duration(node.text());
      if (!d) {
        diag.error(node.position(), path, "expected a duration such as 250ms, 5s, 2m or 1h, got '" + shown + "'");
        return std::nullopt;
      }
      v.duration = *d;
      if (!check_range(t, static_cast<double>(d->count()), shown, node, path, diag)) return std::nullopt;
      v.text = node.text();
      return v;
    }
    case ValueType::size: {
      if (!expect_scalar("a size")) return std::nullopt;
      auto s = parse_size(node.text());
      if (!s) {
        diag.error(node.position(), path, "expected a size such as 512, 64KiB or 10MiB, got '" + shown + "'");
        return std::nullopt;
      }
      v.size = *s;
      if (!check_range(t, static_cast<double>(*s), shown, node, path, diag)) return std::nullopt;
      v.text = node.text();
      return v;
    }
    case ValueType::endpoint: {
      if (!expect_scalar("an endpoint")) return std::nullopt;
      auto e = parse_endpoint(node.text());
      if (!e) {
        diag.error(node.position(), path, "expected an endpoint host:port (port 1-65535), got '" + shown + "'");
        return std::nullopt;
      }
      v.endpoint = *e;
      v.text = node.text();
      return v;
    }
    case ValueType::list: {
      std::vector<ConfigNode> items;
      if (node.is_list()) {
        items = node.items();
      } else if (node.is_scalar() && t.semicolon_string) {
        // The legacy form "114;115;": semicolons between items and after the last one.
        std::string_view rest = node.text();
        while (!rest.empty()) {
          auto semi = rest.find(';');
          std::string item = trim(rest.substr(0, semi));
          if (!item.empty()) items.push_back(ConfigNode::scalar(item, node.position()));
          if (semi == std::string_view::npos) break;
          rest.remove_prefix(semi + 1);
        }
      } else if (node.is_null()) {
        // an empty list written as "key:" with nothing after it
      } else {
        diag.error(node.position(), path,
                   std::string("expected a list") + (t.semicolon_string ? " (or \"a;b;\")" : "") + ", got " +
                       node_kind_name(node));
        return std::nullopt;
      }
      if ((t.min && static_cast<double>(items.size()) < *t.min) || (t.max && static_cast<double>(items.size()) > *t.max)) {
        diag.error(node.position(), path,
                   "list has " + std::to_string(items.size()) + " items; allowed " +
                       (t.min ? "at least " + format_limit(TypeSpec{}, *t.min) : std::string{}) +
                       (t.min && t.max ? " and " : "") + (t.max ? "at most " + format_limit(TypeSpec{}, *t.max) : std::string{}));
        return std::nullopt;
      }
      bool ok = true;
      for (std::size_t i = 0; i < items.size(); ++i) {
        auto item = apply_value(*t.element, items[i], path + "[" + std::to_string(i) + "]", secret, diag);
        if (item) v.items.push_back(std::move(*item));
        else ok = false;
      }
      if (!ok) return std::nullopt;
      return v;
    }
    case ValueType::map: {
      if (node.is_null()) return v;
      if (!node.is_map()) {
        diag.error(node.position(), path, "expected a map, got " + node_kind_name(node));
        return std::nullopt;
      }
      bool ok = true;
      for (const auto& e : node.entries()) {
        auto item = apply_value(*t.element, e.value, join_path(path, e.key), secret, diag);
        if (item) v.entries.emplace_back(e.key, std::move(*item));
        else ok = false;
      }
      if (!ok) return std::nullopt;
      return v;
    }
    case ValueType::object: {
      auto s = apply_object(*t.object, node, path, diag);
      if (!s) return std::nullopt;
      v.object = std::make_shared<const Settings>(std::move(*s));
      return v;
    }
  }
  return std::nullopt;
}

inline std::optional<Settings> apply_object(const ConfigSchema& schema, const ConfigNode& node, const std::string& path,
                                            Diagnostics& diag) {
  if (!node.is_map() && !node.is_null()) {
    diag.error(node.position(), path.empty() ? "(top level)" : path, "expected a map, got " + node_kind_name(node));
    return std::nullopt;
  }
  bool ok = true;
  Settings settings(path, node.position());
  for (const auto& e : node.entries()) {
    if (!schema.find(e.key)) {
      diag.error(e.key_position, join_path(path, e.key), "unknown key" + did_you_mean(e.key, schema.names()));
      ok = false;
    }
  }
  for (const auto& key : schema.keys()) {
    std::string key_path = join_path(path, key.name);
    const ConfigNode* given = node.find(key.name);
    if (given) {
      auto v = apply_value(key.type, *given, key_path, key.secret, diag);
      if (v) settings.set(key.name, std::move(*v));
      else ok = false;
    } else if (key.required) {
      diag.error(node.position(), key_path, "missing required key '" + key.name + "'");
      ok = false;
    } else if (key.default_text) {
      auto v = apply_value(key.type, ConfigNode::scalar(*key.default_text, node.position()), key_path, key.secret, diag);
      if (v) settings.set(key.name, std::move(*v));
      else ok = false;  // a factory's own default is wrong: reported like user input so it gets fixed
    } else if (key.type.type == ValueType::object && !key.type.object->has_required_keys()) {
      // An absent optional object still carries its defaults, so instances never test for it.
      auto v = apply_value(key.type, ConfigNode::map({}, node.position()), key_path, key.secret, diag);
      if (v) settings.set(key.name, std::move(*v));
    }
  }
  if (!ok) return std::nullopt;
  return settings;
}

}  // namespace detail

// Checks `node` against `schema`: every problem goes to `diag` (with its position and path), defaults are
// filled in, and references to other instances are recorded in diag.references() for the host to resolve.
// Returns the settings when the node is valid.
inline std::optional<Settings> apply_schema(const ConfigSchema& schema, const ConfigNode& node, const std::string& path,
                                            Diagnostics& diag) {
  return detail::apply_object(schema, node, path, diag);
}

}  // namespace switchboard::sdk
