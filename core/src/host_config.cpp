#include "switchboard/core/host_config.hpp"

#include "switchboard/core/alert_rules.hpp"
#include "console_api.hpp"
#include "switchboard/core/number_plan.hpp"

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <tuple>

namespace switchboard::core {
namespace fs = std::filesystem;
using sdk::ConfigNode;
using sdk::ConfigSchema;
using sdk::TypeSpec;
using sdk::ValueType;

namespace {

const std::vector<std::string> log_levels{"trace", "debug", "info", "warn", "error", "critical", "off"};

ConfigSchema make_host_schema() {
  ConfigSchema plugins;
  plugins.add("paths", TypeSpec::list_of(TypeSpec::of(ValueType::string)))
      .doc("Directories searched for plugin libraries (*.so), after the plugins installed beside the host. "
           "Relative paths are relative to this file's folder.");

  ConfigSchema runtime;
  runtime.add("io_threads", ValueType::integer).range(1, 64).default_value(1)
      .doc("Threads running the event loop. Instances are serialised on their strands whatever the number.");
  runtime.add("blocking_threads", ValueType::integer).range(1, 256).default_value(4)
      .doc("Threads of the blocking pool (database, fsync, password hashing).");
  runtime.add("start_timeout", ValueType::duration).range(1, 3'600'000).default_value("30s")
      .doc("How long an instance may take to start before the host gives up and stops.");
  runtime.add("stop_timeout", ValueType::duration).range(1, 3'600'000).default_value("5s")
      .doc("How long an instance may take to stop; after it the host names the instance and goes on.");
  runtime.add("low_latency_idle", ValueType::boolean).default_value(false)
      .doc("While `serve` runs, idle CPUs poll instead of sleeping (Linux PM QoS: the host holds "
           "/dev/cpu_dma_latency at 0, as tuned's latency-performance profile does), so the next PBX event is "
           "handled without waiting for a sleeping CPU to wake up. Halves the median Delivered-to-Deflect time on a "
           "virtual machine (bench/RESULTS.md); costs idle CPUs their power saving, machine-wide, while the host "
           "runs. Needs write access to /dev/cpu_dma_latency (root); without it the host says so and goes on.");

  ConfigSchema logging;
  logging.add("level", TypeSpec::enum_of(log_levels)).default_value("info")
      .doc("Level of every logger without a more specific entry in `levels`.");
  logging.add("levels", TypeSpec::map_of(TypeSpec::enum_of(log_levels)))
      .doc("Per-logger levels; keys are logger names or globs (`driver.*`, `routing.sales`). The last matching "
           "entry wins. SWITCHBOARD_LOG (`driver.*=trace,info`) overrides this section.");
  logging.add("file", ValueType::string)
      .doc("Also write the log to this file (appended). Relative paths are relative to the working directory.");
  logging.add("color", TypeSpec::enum_of({"auto", "always", "never"})).default_value("auto")
      .doc("Colour the level on the terminal.");

  ConfigSchema root;
  root.add("version", ValueType::integer).range(1, 1).default_value(1).doc("Version of this file's format.");
  root.add("plugins", TypeSpec::object_of(plugins)).doc("Where plugins are found.");
  root.add("runtime", TypeSpec::object_of(runtime)).doc("Threads and lifecycle deadlines.");
  root.add("logging", TypeSpec::object_of(logging)).doc("Process log (spdlog): levels and destinations.");
  root.add("alerting", TypeSpec::object_of(AlertRules::schema()))
      .doc("The alert rules: a PBX link lost raises pbx_link_down, its return pbx_link_up, through every alert "
           "action (see docs/alerts.md).");
  root.add("command_log", ValueType::string)
      .default_value("var/log/LOG_SA.TXT")
      .doc("The PBX command log (the original's LOG_SA.TXT): every administration command sent to the PBX (SA-group "
           "membership) as one line `D.M.YYYY HH:MM:SS;driver;who asked;command;result;`, only ever appended to; also "
           "kept in the storage's audit table. A relative path is taken from the host's working directory, like the other "
           "files; a missing folder is created. Empty: no file.");
  ConfigSchema control;
  control.add("socket", ValueType::string)
      .default_value("var/run/switchboard.sock")
      .doc("Unix socket on which `serve` takes commands from the same machine (`switchboard groups ...`), mode 0660. "
           "A relative path is taken from the working directory (of `serve` and of the command alike); empty: no "
           "control socket.");
  root.add("control", TypeSpec::object_of(control)).doc("The local control socket of a running host.");
  root.add("api", TypeSpec::object_of(ConsoleApi::schema()))
      .doc("The web console and the HTTP API of `serve` (docs/api.md, docs/console.md).");
  root.add("numbers", TypeSpec::object_of(NumberPlan::schema()))
      .doc("The numbering plan: how caller numbers and the numbers in rules are normalised so they compare "
           "(see docs/storage.md).");
  for (auto c : sdk::all_categories) {
    root.add(std::string(sdk::section_of(c)), TypeSpec::map_of(TypeSpec::of(ValueType::string)))
        .doc("Instances of " + std::string(sdk::to_string(c)) + " plugins: NAME: {type: TYPE, config: {...}}.");
  }
  return root;
}

bool is_instance_section(const std::string& key) { return sdk::category_from_section(key).has_value(); }

std::string resolve_relative(const std::string& path, const std::string& config_file) {
  fs::path p(path);
  if (p.is_absolute()) return path;
  return (fs::path(config_file).parent_path() / p).lexically_normal().string();
}

}  // namespace

const ConfigSchema& host_schema() {
  static const ConfigSchema schema = make_host_schema();
  return schema;
}

std::vector<std::string> plugin_paths(const ConfigNode& root, const std::string& config_file) {
  std::vector<std::string> out;
  const ConfigNode* plugins = root.is_map() ? root.find("plugins") : nullptr;
  const ConfigNode* paths = plugins && plugins->is_map() ? plugins->find("paths") : nullptr;
  if (paths && paths->is_list())
    for (const auto& p : paths->items())
      if (p.is_scalar() && !p.text().empty()) out.push_back(resolve_relative(p.text(), config_file));
  return out;
}

std::optional<HostConfig> validate_config(const ConfigNode& root, const std::string& file,
                                          const PluginRegistry& registry, sdk::Diagnostics& diag) {
  const std::size_t errors_before = diag.size();
  HostConfig config;
  config.file = file;

  // Host sections: checked by the host schema with the instance sections left out (they are checked below,
  // each instance against its own factory).
  std::vector<ConfigNode::Entry> host_entries;
  if (root.is_map()) {
    for (const auto& e : root.entries())
      if (!is_instance_section(e.key)) host_entries.push_back(e);
  } else if (!root.is_null()) {
    diag.error(root.position(), "(top level)", "expected a map of sections (version, plugins, runtime, logging, "
                                               "storage, drivers, routing, exporters, alerts)");
    return std::nullopt;
  }
  ConfigNode host_node = ConfigNode::map(host_entries, root.position());
  if (auto s = sdk::apply_schema(host_schema(), host_node, "", diag)) config.host = std::move(*s);

  // Instances.
  sdk::Diagnostics instance_diag;
  for (auto category : sdk::all_categories) {
    std::string section(sdk::section_of(category));
    const ConfigNode* node = root.is_map() ? root.find(section) : nullptr;
    if (!node || node->is_null()) continue;
    if (!node->is_map()) {
      diag.error(node->position(), section, "expected a map of instances: NAME: {type: TYPE, config: {...}}");
      continue;
    }
    for (const auto& inst : node->entries()) {
      std::string path = section + "." + inst.key;
      const ConfigNode& body = inst.value;
      if (!body.is_map()) {
        diag.error(body.is_null() ? inst.key_position : body.position(), path,
                   "expected a map with 'type' and 'config'");
        continue;
      }
      for (const auto& e : body.entries())
        if (e.key != "type" && e.key != "config")
          diag.error(e.key_position, path + "." + e.key, "unknown key" + sdk::did_you_mean(e.key, {"type", "config"}) +
                                                             "; an instance has only 'type' and 'config'");
      const ConfigNode* type = body.find("type");
      if (!type) {
        diag.error(body.position(), path + ".type", "missing required key 'type'");
        continue;
      }
      if (!type->is_scalar() || type->text().empty()) {
        diag.error(type->position(), path + ".type", "expected a type name");
        continue;
      }
      const RegisteredFactory* factory = registry.find(category, type->text());
      if (!factory) {
        auto known = registry.types(category);
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        diag.error(type->position(), path + ".type",
                   "unknown " + std::string(sdk::to_string(category)) + " type '" + type->text() + "'" +
                       sdk::did_you_mean(type->text(), known) + "; known: " + (list.empty() ? "none" : list) +
                       " (see `switchboard plugins list`)");
        continue;
      }
      const ConfigNode* cfg = body.find("config");
      ConfigNode empty = ConfigNode::map({}, body.position());
      auto settings = sdk::apply_schema(factory->factory->schema(), cfg ? *cfg : empty, path + ".config", instance_diag);
      if (!settings) continue;
      config.instances.push_back({category, inst.key, type->text(), factory, std::move(*settings), inst.key_position});
    }
  }

  // References between instances.
  for (const auto& ref : instance_diag.references()) {
    bool found = std::any_of(config.instances.begin(), config.instances.end(), [&](const InstanceConfig& i) {
      return i.category == ref.category && i.name == ref.name;
    });
    if (found) continue;
    std::vector<std::string> names;
    const ConfigNode* section = root.is_map() ? root.find(std::string(sdk::section_of(ref.category))) : nullptr;
    if (section && section->is_map())
      for (const auto& e : section->entries()) names.push_back(e.key);
    instance_diag.error(ref.position, ref.path,
                        "no " + std::string(sdk::to_string(ref.category)) + " instance named '" + ref.name + "'" +
                            sdk::did_you_mean(ref.name, names) + " in section '" +
                            std::string(sdk::section_of(ref.category)) + "'");
  }

  // The API's storage and TLS files.
  if (config.host.has("api")) {
    const auto& api = config.host.object("api");
    auto position = [&](const sdk::Settings& s, std::string_view key) {
      return s.has(key) ? s.value(key).position : root.position();
    };
    if (api.boolean("enabled")) {
      std::vector<std::string> storages;
      for (const auto& i : config.instances)
        if (i.category == sdk::Category::storage) storages.push_back(i.name);
      const auto& wanted = api.string("storage");
      if (!wanted.empty() && std::find(storages.begin(), storages.end(), wanted) == storages.end())
        diag.error(position(api, "storage"), "api.storage",
                   "no storage instance named '" + wanted + "'" + sdk::did_you_mean(wanted, storages));
      else if (wanted.empty() && storages.empty())
        diag.error(position(api, "enabled"), "api.enabled",
                   "the console needs a storage for its agents and customers; add one under 'storage'");
    }
    if (!ConsoleApi::listen_endpoint(api.string("listen")))
      diag.error(position(api, "listen"), "api.listen",
                 "expected host:port such as 127.0.0.1:8080 (port 0: any free port), got '" + api.string("listen") + "'");
    if (api.has("tls")) {
      const auto& tls = api.object("tls");
      if (tls.string_or("certificate", "").empty() != tls.string_or("key", "").empty())
        diag.error(position(api, "tls"), "api.tls", "give both 'certificate' and 'key', or neither");
    }
  }

  // The factories' own checks, on instances whose settings are well formed.
  for (const auto& inst : config.instances) inst.factory->factory->validate(inst.settings, instance_diag);

  for (const auto& e : instance_diag.errors()) diag.error(e.position, e.path, e.message);
  if (diag.size() != errors_before) return std::nullopt;
  return config;
}

std::optional<HostConfig> load_config_file(const std::string& file, PluginRegistry& registry,
                                           const std::vector<std::string>& extra_dirs, std::ostream& errors,
                                           bool print_refusals) {
  sdk::Diagnostics diag;
  sdk::ConfigNode root = load_yaml_file(file, diag);
  auto report = [&] {
    print_diagnostics(diag, errors);
    errors << diag.size() << (diag.size() == 1 ? " error" : " errors") << " in " << file << '\n';
  };
  bool unreadable = std::any_of(diag.errors().begin(), diag.errors().end(),
                                [](const sdk::Diagnostic& d) { return d.path == "syntax" || d.path == "file"; });
  if (unreadable) {
    report();
    return std::nullopt;
  }
  auto dirs = plugin_paths(root, file);
  dirs.insert(dirs.end(), extra_dirs.begin(), extra_dirs.end());
  registry.load_search_path(dirs);
  auto config = validate_config(root, file, registry, diag);
  if (print_refusals)
    for (const auto& r : registry.refused()) errors << "warning: plugin refused: " << r.file << ": " << r.reason << '\n';
  if (!diag.empty()) {
    report();
    return std::nullopt;
  }
  return config;
}

void print_diagnostics(const sdk::Diagnostics& diag, std::ostream& out) {
  std::vector<sdk::Diagnostic> sorted = diag.errors();
  std::stable_sort(sorted.begin(), sorted.end(), [](const sdk::Diagnostic& a, const sdk::Diagnostic& b) {
    return std::tie(a.position.file, a.position.line, a.position.column) <
           std::tie(b.position.file, b.position.line, b.position.column);
  });
  for (const auto& d : sorted) {
    out << d.position.file;
    if (d.position.line > 0) out << ':' << d.position.line << ':' << d.position.column;
    out << ": error: " << d.path << ": " << d.message << '\n';
  }
}

namespace {

std::string quote_scalar(const std::string& s) {
  bool plain = !s.empty() && s.find_first_of(":#{}[],&*!|>'\"%@`;") == std::string::npos && s.front() != ' ' &&
               s.back() != ' ' && s.front() != '-';
  if (plain) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

void print_value(const sdk::SettingValue& v, int indent, std::ostream& out);

void print_settings(const sdk::Settings& s, int indent, std::ostream& out) {
  if (s.keys().empty()) {
    out << " {}\n";
    return;
  }
  out << '\n';
  for (const auto& key : s.keys()) {
    out << std::string(indent, ' ') << key << ':';
    print_value(s.value(key), indent + 2, out);
  }
}

void print_value(const sdk::SettingValue& v, int indent, std::ostream& out) {
  if (v.secret && v.type != ValueType::object) {
    out << " \"<redacted>\"\n";
    return;
  }
  switch (v.type) {
    case ValueType::list:
      if (v.items.empty()) {
        out << " []\n";
        return;
      }
      out << '\n';
      for (const auto& item : v.items) {
        out << std::string(indent, ' ') << "-";
        if (item.type == ValueType::object) {
          // an object inside a list: first key on the dash line
          std::ostringstream nested;
          print_settings(*item.object, indent + 2, nested);
          std::string text = nested.str();
          auto first = text.find_first_not_of(" \n");
          out << ' ' << (first == std::string::npos ? std::string("{}\n") : text.substr(first));
        } else {
          print_value(item, indent + 2, out);
        }
      }
      return;
    case ValueType::map:
      if (v.entries.empty()) {
        out << " {}\n";
        return;
      }
      out << '\n';
      for (const auto& [k, item] : v.entries) {
        out << std::string(indent, ' ') << quote_scalar(k) << ':';
        print_value(item, indent + 2, out);
      }
      return;
    case ValueType::object:
      print_settings(*v.object, indent, out);
      return;
    default:
      out << ' ' << quote_scalar(v.text) << '\n';
  }
}

}  // namespace

void print_effective_config(const HostConfig& config, std::ostream& out) {
  out << "# effective configuration of " << config.file << " (defaults filled in, secrets redacted)\n";
  for (const auto& key : config.host.keys()) {
    if (is_instance_section(key)) continue;
    out << key << ':';
    print_value(config.host.value(key), 2, out);
  }
  for (auto category : sdk::all_categories) {
    bool header = false;
    for (const auto& inst : config.instances) {
      if (inst.category != category) continue;
      if (!header) out << sdk::section_of(category) << ":\n";
      header = true;
      out << "  " << quote_scalar(inst.name) << ":\n    type: " << quote_scalar(inst.type) << "\n    config:";
      print_settings(inst.settings, 6, out);
    }
  }
}

}  // namespace switchboard::core
