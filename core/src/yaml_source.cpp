#include "switchboard/core/yaml_source.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace switchboard::core {
namespace {

using sdk::ConfigNode;
using sdk::Diagnostics;
using sdk::SourcePosition;

SourcePosition position_of(const YAML::Mark& mark, const std::string& file) {
  if (mark.line < 0) return {file, 0, 0};
  return {file, mark.line + 1, mark.column + 1};
}

// "${NAME}" and "${NAME:-fallback}"; "$${" writes a literal "${".
std::string substitute(const std::string& text, const SourcePosition& pos, const std::string& path, Diagnostics& diag,
                       const EnvironmentLookup& env, bool& failed) {
  if (text.find('$') == std::string::npos) return text;
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    if (text.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out += text[i++];
      continue;
    }
    auto close = text.find('}', i + 2);
    if (close == std::string::npos) {
      diag.error(pos, path, "unterminated '${' (write $${ for a literal ${)");
      failed = true;
      return text;
    }
    std::string inner = text.substr(i + 2, close - i - 2);
    std::optional<std::string> fallback;
    if (auto dash = inner.find(":-"); dash != std::string::npos) {
      fallback = inner.substr(dash + 2);
      inner.resize(dash);
    }
    auto value = env(inner);
    if (!value || (value->empty() && fallback)) value = fallback;
    if (!value) {
      diag.error(pos, path, "environment variable '" + inner + "' is not set (set it, or write ${" + inner +
                                ":-default} for a fallback)");
      failed = true;
    } else {
      out += *value;
    }
    i = close + 1;
  }
  return out;
}

ConfigNode convert(const YAML::Node& node, const std::string& file, const std::string& path, Diagnostics& diag,
                   const EnvironmentLookup& env, const SourcePosition& fallback) {
  SourcePosition pos = position_of(node.Mark(), file);
  if (pos.line == 0) pos = fallback;
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
    {
      ConfigNode n;
      n.set_position(pos);
      return n;
    }
    case YAML::NodeType::Scalar: {
      bool failed = false;
      auto n = ConfigNode::scalar(substitute(node.Scalar(), pos, path, diag, env, failed), pos);
      if (failed) n.set_already_reported();
      return n;
    }
    case YAML::NodeType::Sequence: {
      std::vector<ConfigNode> items;
      std::size_t index = 0;
      for (const auto& item : node) {
        items.push_back(convert(item, file, path + "[" + std::to_string(index) + "]", diag, env, pos));
        ++index;
      }
      return ConfigNode::list(std::move(items), pos);
    }
    case YAML::NodeType::Map: {
      std::vector<ConfigNode::Entry> entries;
      std::map<std::string, SourcePosition> seen;
      for (const auto& kv : node) {
        SourcePosition key_pos = position_of(kv.first.Mark(), file);
        if (!kv.first.IsScalar()) {
          diag.error(key_pos, path, "map keys must be plain strings");
          continue;
        }
        std::string key = kv.first.Scalar();
        std::string key_path = path.empty() ? key : path + "." + key;
        if (auto it = seen.find(key); it != seen.end()) {
          diag.error(key_pos, key_path,
                     "duplicate key (first given at line " + std::to_string(it->second.line) + ")");
          continue;
        }
        seen.emplace(key, key_pos);
        entries.push_back({key, key_pos, convert(kv.second, file, key_path, diag, env, key_pos)});
      }
      return ConfigNode::map(std::move(entries), pos);
    }
  }
  return {};
}

}  // namespace

EnvironmentLookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

ConfigNode parse_yaml(const std::string& text, const std::string& file, Diagnostics& diag,
                      const EnvironmentLookup& env) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    diag.error(position_of(e.mark, file), "syntax", e.msg);
    return {};
  }
  return convert(root, file, "", diag, env, SourcePosition{file, 1, 1});
}

ConfigNode load_yaml_file(const std::string& path, Diagnostics& diag, const EnvironmentLookup& env) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diag.error(SourcePosition{path, 0, 0}, "file", "cannot read the configuration file: " + std::string(std::strerror(errno)));
    return {};
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_yaml(buffer.str(), path, diag, env);
}

}  // namespace switchboard::core
