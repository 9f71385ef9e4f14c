// The `switchboard` command line. Exit codes: 0 success, 1 runtime failure, 2 configuration or usage error.
#include "switchboard/core/cli.hpp"

#include <algorithm>
#include <fstream>
#include <future>
#include <map>
#include <iostream>
#include <cstring>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include "switchboard/core/agent_commands.hpp"
#include "switchboard/core/allocator.hpp"
#include "switchboard/core/call_commands.hpp"
#include "switchboard/core/group_commands.hpp"
#include "switchboard/core/call_engine.hpp"
#include "switchboard/core/csta_commands.hpp"
#include "switchboard/core/host_config.hpp"
#include "switchboard/core/logging.hpp"
#include "switchboard/core/plugin_registry.hpp"
#include "switchboard/core/reference.hpp"
#include "switchboard/core/rules_commands.hpp"
#include "switchboard/core/rules_csv.hpp"
#include "switchboard/core/rules_generator.hpp"
#include "switchboard/core/runtime.hpp"
#include "switchboard/sdk/alert.hpp"
#include "switchboard/sdk/version.hpp"

namespace switchboard::core {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_config = 2;

std::optional<HostConfig> load_config(const std::string& file, PluginRegistry& registry,
                                      const std::vector<std::string>& extra_dirs, bool quiet_refusals) {
  return load_config_file(file, registry, extra_dirs, std::cerr, !quiet_refusals);
}

std::string join_columns(const std::vector<std::string>& columns) {
  std::string out;
  for (const auto& c : columns) out += (out.empty() ? "" : ";") + c;
  return out;
}

// "101-117" or "101,102,110": extensions.
std::vector<std::string> expand_extensions(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto dash = item.find('-');
    if (dash == std::string::npos) {
      if (!item.empty()) out.push_back(item);
      continue;
    }
    long from = std::stol(item.substr(0, dash)), to = std::stol(item.substr(dash + 1));
    for (long e = from; e <= to; ++e) out.push_back(std::to_string(e));
  }
  return out;
}

int cmd_rules_generate(RuleGeneratorOptions options, const std::string& output) {
  std::string csv = write_rules_csv(generate_rules(options));
  if (output.empty() || output == "-") {
    std::cout << csv;
    return exit_ok;
  }
  std::ofstream out(output, std::ios::binary | std::ios::trunc);
  if (!(out << csv)) {
    std::cerr << "error: cannot write " << output << ": " << std::strerror(errno) << '\n';
    return exit_failure;
  }
  std::cerr << "generated " << options.customers << " customers into " << output << '\n';
  return exit_ok;
}

int cmd_check(const std::string& file, bool print, const std::vector<std::string>& dirs) {
  PluginRegistry registry;
  auto config = load_config(file, registry, dirs, false);
  if (!config) return exit_config;
  std::map<std::string, int> counts;
  for (const auto& i : config->instances) counts[std::string(sdk::section_of(i.category))]++;
  std::cout << file << ": ok (" << config->instances.size() << (config->instances.size() == 1 ? " instance" : " instances");
  for (const auto& [section, n] : counts) std::cout << ", " << section << " " << n;
  std::cout << ")\n";
  if (print) print_effective_config(*config, std::cout);
  return exit_ok;
}

int cmd_serve(const std::string& file, const std::vector<std::string>& dirs, bool show_calls) {
  LogSetup logs;
  PluginRegistry registry;
  auto config = load_config(file, registry, dirs, true);
  if (!config) return exit_config;
  logs.configure(config->host.object("logging"));
  auto log = logs.get("host");
  auto loader = logs.get("loader");
  log->info("switchboard {} starting config={} abi={}.{} allocator=\"{}\"", sdk::version, file, sdk::abi_major,
            sdk::abi_minor, allocator::name());
  for (const auto& p : registry.plugins())
    loader->info("plugin loaded id={} version={} vendor=\"{}\" file={}", p->id, p->version, p->vendor, p->file);
  for (const auto& r : registry.refused()) loader->warn("plugin refused file={} reason=\"{}\"", r.file, r.reason);
  for (const auto& i : config->instances)
    log->info("instance configured instance={}.{} type={} plugin={}", sdk::to_string(i.category), i.name, i.type,
              i.factory->plugin->id);
  Runtime runtime(*config, logs);
  std::vector<std::string> call_logs;
  for (const auto& i : config->instances)
    if (i.category == sdk::Category::exporter && i.settings.has("path"))
      call_logs.push_back(i.name + " (" + i.settings.string("path") + ")");
  int code = runtime.serve([&](Runtime& r) {
    if (!show_calls || !r.engine()) return;
    std::cout << "time      project  caller            customer  operator  outcome\n" << std::flush;
    r.on_engine([&r] {
      r.engine()->on_record([](const sdk::CallRecord& c) {
        std::cout << fmt::format("{:%H:%M:%S}  {:<7}  {:<16}  {:<8}  {:<8}  {}\n",
                                 fmt::localtime(std::chrono::system_clock::to_time_t(c.at)), c.project,
                                 c.caller.empty() ? "(withheld)" : c.caller,
                                 c.customer_id ? std::to_string(*c.customer_id) : "-",
                                 c.operator_extension.empty() ? "-" : c.operator_extension, c.outcome)
                  << std::flush;
      });
    });
  });
  if (show_calls && !call_logs.empty()) {
    std::cout << "call log:";
    for (const auto& l : call_logs) std::cout << ' ' << l;
    std::cout << "; `switchboard calllog export -c " << file << " -o FILE` writes the stored log\n";
  }
  return code;
}

int cmd_plugins_list(const std::vector<std::string>& dirs) {
  PluginRegistry registry;
  registry.load_search_path(dirs);
  std::vector<std::vector<std::string>> rows{{"CATEGORY", "TYPE", "PLUGIN", "VERSION", "FILE"}};
  for (auto category : sdk::all_categories)
    for (const auto& f : registry.factories())
      if (f.factory->category() == category)
        rows.push_back({std::string(sdk::to_string(category)), f.factory->type(), f.plugin->id, f.plugin->version,
                        f.plugin->file});
  std::vector<std::size_t> widths(5, 0);
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) widths[i] = std::max(widths[i], r[i].size());
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i)
      std::cout << r[i] << (i + 1 < r.size() ? std::string(widths[i] - r[i].size() + 2, ' ') : "\n");
  }
  if (!registry.refused().empty()) {
    std::cout << "\nrefused:\n";
    for (const auto& r : registry.refused()) std::cout << "  " << r.file << ": " << r.reason << '\n';
  }
  return exit_ok;
}

int cmd_plugins_describe(const std::string& what, const std::vector<std::string>& dirs) {
  PluginRegistry registry;
  registry.load_search_path(dirs);
  // TYPE, or CATEGORY/TYPE when two categories share a type name
  std::string category_name, type = what;
  if (auto slash = what.find('/'); slash != std::string::npos) {
    category_name = what.substr(0, slash);
    type = what.substr(slash + 1);
  }
  int shown = 0;
  std::vector<std::string> all_types;
  for (const auto& f : registry.factories()) {
    all_types.push_back(f.factory->type());
    if (f.factory->type() != type) continue;
    if (!category_name.empty() && sdk::to_string(f.factory->category()) != category_name) continue;
    if (shown++) std::cout << '\n';
    describe_factory(f, std::cout);
  }
  if (!shown) {
    std::cerr << "error: no plugin provides type '" << what << "'" << sdk::did_you_mean(type, all_types)
              << "; `switchboard plugins list` shows every type\n";
    return exit_config;
  }
  return exit_ok;
}

int cmd_config_reference(const std::string& output, const std::vector<std::string>& dirs) {
  PluginRegistry registry;
  registry.load_search_path(dirs);
  std::ostringstream text;
  write_config_reference(registry, text);
  if (output.empty() || output == "-") {
    std::cout << text.str();
    return exit_ok;
  }
  std::ofstream out(output, std::ios::binary | std::ios::trunc);
  if (!(out << text.str())) {
    std::cerr << "error: cannot write " << output << '\n';
    return exit_failure;
  }
  return exit_ok;
}

// Fires one test alert through the configured alert actions: proves the path before a real outage does.
int cmd_alerts_test(const std::string& file, const std::string& only, const std::string& summary,
                    const std::vector<std::string>& dirs) {
  LogSetup logs;
  PluginRegistry registry;
  auto config = load_config(file, registry, dirs, true);
  if (!config) return exit_config;
  logs.configure(config->host.object("logging"), true);
  // Only the alert instances take part.
  HostConfig alerts_only{config->file, config->host, {}};
  for (const auto& i : config->instances)
    if (i.category == sdk::Category::alert && (only.empty() || i.name == only)) alerts_only.instances.push_back(i);
  if (alerts_only.instances.empty()) {
    std::cerr << "error: " << (only.empty() ? "no alert instance is configured in " + file
                                            : "no alert instance named '" + only + "' in " + file)
              << '\n';
    return exit_config;
  }
  Runtime runtime(alerts_only, logs);
  if (auto status = runtime.start(); !status.ok()) {
    std::cerr << "error: " << status.error().message << '\n';
    return exit_failure;
  }
  sdk::Alert alert;
  alert.rule = "test";
  alert.severity = sdk::Severity::info;
  alert.summary = summary;
  alert.dedup_key = "test";
  alert.labels["source"] = "switchboard alerts test";
  alert.at = std::chrono::system_clock::now();
  int failures = 0;
  for (const auto& r : runtime.instances()) {
    auto* action = static_cast<sdk::AlertAction*>(r.instance.get());
    std::promise<sdk::Status> done;
    auto future = done.get_future();
    sdk::asio::post(r.context->strand(), [&] { action->fire(alert, [&](sdk::Status s) { done.set_value(s); }); });
    auto name = "alert." + r.config->name;
    if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      std::cout << name << ": no answer within 30s\n";
      ++failures;
      continue;
    }
    auto s = future.get();
    std::cout << name << ": " << (s.ok() ? "delivered" : "failed: " + s.error().message) << '\n';
    failures += s.ok() ? 0 : 1;
  }
  runtime.stop();
  return failures ? exit_failure : exit_ok;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{"Switchboard: CTI middleware that routes a call centre's calls beside the PBX.\n"
               "Every capability is a plugin, wired by one YAML file (see docs/config-reference.md).",
               "switchboard"};
  app.set_version_flag("--version", std::string("switchboard ") + sdk::version + " (SDK ABI " +
                                        std::to_string(sdk::abi_major) + "." + std::to_string(sdk::abi_minor) +
                                        ", allocator " + allocator::name() + ")");
  app.require_subcommand(1);
  app.footer("Exit codes: 0 success, 1 runtime failure, 2 configuration or usage error.\n"
             "Environment: SWITCHBOARD_LOG=driver.*=trace,info overrides log levels; "
             "SWITCHBOARD_PLUGIN_PATH adds plugin directories.");

  std::vector<std::string> plugin_dirs;
  // The options every command that reads a configuration shares.
  auto add_plugin_dir = [](CLI::App* cmd, std::vector<std::string>& into) {
    cmd->add_option("--plugin-dir", into, "Also load plugins from DIR (repeatable)")->type_name("DIR");
  };
  auto add_config = [](CLI::App* cmd, std::string& into) {
    cmd->add_option("-c,--config", into, "Configuration file")->required()->type_name("FILE");
  };

  std::string config_file;
  int result = exit_ok;

  auto* serve = app.add_subcommand("serve", "Load the plugins, start every configured instance and run until "
                                            "SIGINT/SIGTERM, then stop them in order");
  add_config(serve, config_file);
  add_plugin_dir(serve, plugin_dirs);
  bool show_calls = false;
  serve->add_flag("--show-calls", show_calls, "Print one line per finished call (time, project, caller, customer, "
                                              "operator, outcome code)");
  serve->callback([&] { result = cmd_serve(config_file, plugin_dirs, show_calls); });

  bool print = false;
  auto* check = app.add_subcommand("check", "Validate a configuration completely (plugins, keys, types, ranges, "
                                            "references) without opening any socket or database");
  add_config(check, config_file);
  check->add_flag("--print", print, "Also print the effective configuration, defaults filled in, secrets redacted");
  add_plugin_dir(check, plugin_dirs);
  check->callback([&] { result = cmd_check(config_file, print, plugin_dirs); });

  auto* plugins = app.add_subcommand("plugins", "Inspect the installed plugins");
  plugins->require_subcommand(1);
  auto* list = plugins->add_subcommand("list", "One line per factory (category, type, plugin id, version, file), "
                                               "then every refused file with its reason");
  add_plugin_dir(list, plugin_dirs);
  list->callback([&] { result = cmd_plugins_list(plugin_dirs); });
  std::string type;
  auto* describe = plugins->add_subcommand("describe", "The configuration keys of one type");
  describe->add_option("type", type, "TYPE, or CATEGORY/TYPE (e.g. alert/log)")->required();
  add_plugin_dir(describe, plugin_dirs);
  describe->callback([&] { result = cmd_plugins_describe(type, plugin_dirs); });

  auto* config = app.add_subcommand("config", "Configuration documentation");
  config->require_subcommand(1);
  std::string output;
  auto* reference = config->add_subcommand("reference", "Markdown reference of every section and every installed "
                                                        "type's keys (docs/config-reference.md)");
  reference->add_option("-o,--output", output, "Write to FILE instead of standard output")->type_name("FILE");
  add_plugin_dir(reference, plugin_dirs);
  reference->callback([&] { result = cmd_config_reference(output, plugin_dirs); });

  auto* rules = app.add_subcommand("rules", "Import and export project rules (customers) and their notes history");
  rules->require_subcommand(1);
  RulesImportOptions import_options;
  auto* import = rules->add_subcommand(
      "import", "Import rules from a ;-separated CSV file (columns " + join_columns(rule_columns()) +
                    "). All or nothing: every bad row is reported as FILE:LINE: column: message and the database "
                    "is left untouched (exit 2)");
  import->add_option("file", import_options.rules_file, "Rules file")->required()->type_name("FILE");
  add_config(import, import_options.config_file);
  import->add_option("--history", import_options.history_file,
                     "Also import notes from HFILE (columns " + join_columns(history_columns()) + ")")
      ->type_name("HFILE");
  import->add_option("--encoding", import_options.encoding, "utf-8 (default; a BOM is accepted) or cp1250")
      ->type_name("ENC");
  import->add_option("--project", import_options.project,
                     "Import only project P: rows must belong to it (an empty project cell takes it)")
      ->type_name("P");
  import->add_flag("--replace", import_options.replace,
                   "Delete the rules the file does not name: of project P with --project, otherwise all rules "
                   "(notes are never deleted)");
  import->add_flag("--dry-run", import_options.dry_run, "Check everything, write nothing");
  import->add_option("--storage", import_options.storage, "Storage instance (default: the only one)")->type_name("NAME");
  add_plugin_dir(import, import_options.plugin_dirs);
  import->callback([&] {
    result = rules_import(import_options);
  });
  RuleGeneratorOptions generate_options;
  std::string generate_output, generate_projects = "100,200,300", generate_operators = "101-117";
  auto* generate = rules->add_subcommand("generate", "Write realistic rules (Czech names, addresses, unique numbers) "
                                                     "for a demo or a benchmark, in the import format");
  generate->add_option("--customers", generate_options.customers, "How many")->capture_default_str();
  generate->add_option("--projects", generate_projects, "Project numbers")->capture_default_str();
  generate->add_option("--operators", generate_operators, "Operator extensions shared out over the projects")
      ->capture_default_str();
  generate->add_option("--seed", generate_options.seed, "Seed")->capture_default_str();
  generate->add_option("-o,--output", generate_output, "File (default: standard output)")->type_name("FILE");
  generate->callback([&] {
    generate_options.projects = expand_extensions(generate_projects);
    generate_options.operators = expand_extensions(generate_operators);
    result = cmd_rules_generate(generate_options, generate_output);
  });

  RulesExportOptions export_options;
  auto* exp = rules->add_subcommand("export", "Export rules (and with --history their notes) as ;-separated CSV that "
                                              "`rules import` reads back");
  add_config(exp, export_options.config_file);
  exp->add_option("-o,--output", export_options.output, "Rules file (default: standard output)")->type_name("FILE");
  exp->add_option("--history", export_options.history_file, "Also write the notes to HFILE")->type_name("HFILE");
  exp->add_option("--encoding", export_options.encoding, "utf-8 (default) or cp1250")->type_name("ENC");
  exp->add_option("--project", export_options.project, "Only the rules of project P (\"\" = rules without a project)")
      ->type_name("P");
  exp->add_option("--storage", export_options.storage, "Storage instance (default: the only one)")->type_name("NAME");
  add_plugin_dir(exp, export_options.plugin_dirs);
  exp->callback([&] {
    result = rules_export(export_options);
  });

  RouteExplainOptions explain_options;
  auto* route = app.add_subcommand("route", "Routing decisions");
  route->require_subcommand(1);
  auto* explain = route->add_subcommand(
      "explain", "Show the decision the engine would take for a call: the customer found, each candidate in order "
                 "with why others were skipped, the operator and the outcome code");
  add_config(explain, explain_options.config_file);
  explain->add_option("--project", explain_options.project, "The dialled project number")->required()->type_name("P");
  explain->add_option("--caller", explain_options.caller, "The caller's number as the PBX gives it (omit: withheld)")
      ->type_name("C");
  explain->add_option("--busy", explain_options.busy, "Extensions to take as busy")->type_name("EXT,...");
  explain->add_option("--offline", explain_options.offline, "Extensions to take as offline")->type_name("EXT,...");
  explain->add_flag("--json", explain_options.json, "One JSON object: outcome, operator, customer_id, steps, candidates");
  add_plugin_dir(explain, explain_options.plugin_dirs);
  explain->callback([&] {
    result = route_explain(explain_options);
  });

  SimulateOptions simulate_options;
  std::int64_t seed = 0;
  double rate = 0;
  auto* sim = app.add_subcommand("simulate", "Run the sim driver's scenario in virtual time to completion, write the "
                                             "call log through the configured exporters and print a summary");
  add_config(sim, simulate_options.config_file);
  sim->add_option("--calls", simulate_options.calls, "How many calls to offer")->capture_default_str();
  auto* seed_option = sim->add_option("--seed", seed, "Seed of the scenario (default: the config's)");
  auto* rate_option = sim->add_option("--rate", rate, "Calls per minute (default: the config's)")->check(CLI::PositiveNumber);
  sim->add_option("--start", simulate_options.start, "Virtual start time, local")->capture_default_str();
  add_plugin_dir(sim, simulate_options.plugin_dirs);
  sim->callback([&] {
    if (*seed_option) simulate_options.seed = seed;
    if (*rate_option) simulate_options.rate = rate;
    result = simulate(simulate_options);
  });

  CallLogExportOptions calllog_options;
  auto* calllog = app.add_subcommand("calllog", "The stored call log");
  calllog->require_subcommand(1);
  auto* calllog_export_cmd = calllog->add_subcommand(
      "export", "Write every stored record in the original format (D.M.YYYY HH:MM:SS;project;caller;operator;type;"
                "customer_id;); with --clear, delete exactly the records written (the original's \"save and delete\")");
  add_config(calllog_export_cmd, calllog_options.config_file);
  calllog_export_cmd->add_option("-o,--output", calllog_options.output, "File to write")->required()->type_name("FILE");
  calllog_export_cmd->add_flag("--clear", calllog_options.clear, "Delete the written records from the database");
  calllog_export_cmd->add_option("--encoding", calllog_options.encoding, "utf-8 (default) or cp1250")->type_name("ENC");
  calllog_export_cmd->add_option("--storage", calllog_options.storage, "Storage instance (default: the only one)")
      ->type_name("NAME");
  add_plugin_dir(calllog_export_cmd, calllog_options.plugin_dirs);
  calllog_export_cmd->callback([&] {
    result = calllog_export(calllog_options);
  });

  GroupsOptions groups_options;
  auto* groups = app.add_subcommand("groups", "SA (hunt) groups of the running host, through its control socket");
  groups->require_subcommand(1);
  auto* groups_status = groups->add_subcommand("status", "Each group: members joined or left, calls waiting");
  add_config(groups_status, groups_options.config_file);
  add_plugin_dir(groups_status, groups_options.plugin_dirs);
  groups_status->callback([&] {
    groups_options.action = "status";
    result = groups_command(groups_options);
  });
  for (const char* action : {"login", "logout"}) {
    auto* change = groups->add_subcommand(
        action, std::string(action) == "login"
                    ? "EXT joins every SA group it belongs to (as dialling the join code, 401), sent to the PBX"
                    : "EXT leaves every SA group it belongs to (as dialling the leave code, 402), sent to the PBX");
    change->add_option("extension", groups_options.extension, "The member's extension")->required()->type_name("EXT");
    add_config(change, groups_options.config_file);
    add_plugin_dir(change, groups_options.plugin_dirs);
    change->callback([&, action] {
      groups_options.action = action;
      result = groups_command(groups_options);
    });
  }

  MissedListOptions missed_options;
  auto* missed = app.add_subcommand("missed", "Unanswered calls kept on agents' missed-call lists");
  missed->require_subcommand(1);
  auto* missed_list_cmd = missed->add_subcommand("list", "The missed calls, oldest first");
  add_config(missed_list_cmd, missed_options.config_file);
  missed_list_cmd->add_option("--agent", missed_options.agent, "Only this agent's (extension)")->type_name("EXT");
  missed_list_cmd->add_option("--storage", missed_options.storage, "Storage instance (default: the only one)")
      ->type_name("NAME");
  missed_list_cmd->add_flag("--json", missed_options.json, "One JSON object per line");
  add_plugin_dir(missed_list_cmd, missed_options.plugin_dirs);
  missed_list_cmd->callback([&] { result = missed_list(missed_options); });

  // Agents on the server (seed 4), in storage. Fields not given to `set` stay as they are.
  AgentsOptions agents_options;
  std::string agent_extension, agent_role, agent_group, agent_central, agent_own, agent_call_module;
  bool agent_central_flag = false, agent_own_flag = false, agent_call_module_flag = false;
  auto* agents = app.add_subcommand("agents", "Agents on the server: name, password (argon2id hash), extension, "
                                              "rights");
  agents->require_subcommand(1);
  auto agents_common = [&](CLI::App* cmd, bool named) {
    if (named) cmd->add_option("name", agents_options.name, "The agent's login name")->required()->type_name("NAME");
    add_config(cmd, agents_options.config_file);
    cmd->add_option("--storage", agents_options.storage, "Storage instance (default: the only one)")->type_name("NAME");
    add_plugin_dir(cmd, agents_options.plugin_dirs);
  };
  auto* agents_add_cmd = agents->add_subcommand(
      "add", "Add an agent; the password is standard input's first line, or asked twice on a terminal");
  agents_common(agents_add_cmd, true);
  agents_add_cmd->add_option("--extension", agent_extension, "The agent's extension (digits)")->required()
      ->type_name("EXT");
  auto* add_role = agents_add_cmd->add_option("--role", agent_role, "agent (default) or administrator")
                       ->check(CLI::IsMember({"agent", "administrator"}))->type_name("ROLE");
  agents_add_cmd->add_flag("--central", agent_central_flag, "May edit the central list");
  agents_add_cmd->add_flag("--own", agent_own_flag, "May edit its own list");
  agents_add_cmd->add_flag("--call-module", agent_call_module_flag, "Is also a call-centre agent (call module)");
  auto* add_group = agents_add_cmd->add_option("--group", agent_group, "SA group number")->type_name("N");
  agents_add_cmd->callback([&] {
    agents_options.extension = agent_extension;
    if (*add_role) agents_options.role = agent_role;
    agents_options.central = agent_central_flag;
    agents_options.own = agent_own_flag;
    agents_options.call_module = agent_call_module_flag;
    if (*add_group) agents_options.group = agent_group;
    result = agents_add(agents_options);
  });
  auto* agents_list_cmd = agents->add_subcommand("list", "The agents (never their password hashes); \"logged in\" "
                                                         "when Start is set and Stop empty");
  agents_common(agents_list_cmd, false);
  agents_list_cmd->add_flag("--json", agents_options.json, "One JSON object per line");
  agents_list_cmd->callback([&] { result = agents_list(agents_options); });
  auto* agents_passwd_cmd = agents->add_subcommand(
      "passwd", "Set an agent's password: standard input's first line, or asked twice on a terminal");
  agents_common(agents_passwd_cmd, true);
  agents_passwd_cmd->callback([&] { result = agents_passwd(agents_options); });
  auto* agents_set_cmd = agents->add_subcommand("set", "Change only the given fields of an agent");
  agents_common(agents_set_cmd, true);
  auto* set_extension = agents_set_cmd->add_option("--extension", agent_extension, "Extension (digits)")
                            ->type_name("EXT");
  auto* set_role = agents_set_cmd->add_option("--role", agent_role, "agent or administrator")
                       ->check(CLI::IsMember({"agent", "administrator"}))->type_name("ROLE");
  const auto on_off = CLI::IsMember({"on", "off"});
  auto* set_central = agents_set_cmd->add_option("--central", agent_central, "May edit the central list")
                          ->check(on_off)->type_name("on|off");
  auto* set_own = agents_set_cmd->add_option("--own", agent_own, "May edit its own list")->check(on_off)
                      ->type_name("on|off");
  auto* set_call_module = agents_set_cmd->add_option("--call-module", agent_call_module, "Call module")
                              ->check(on_off)->type_name("on|off");
  auto* set_group = agents_set_cmd->add_option("--group", agent_group, "SA group number; \"\" for none")
                        ->type_name("N");
  agents_set_cmd->callback([&] {
    if (*set_extension) agents_options.extension = agent_extension;
    if (*set_role) agents_options.role = agent_role;
    if (*set_central) agents_options.central = agent_central == "on";
    if (*set_own) agents_options.own = agent_own == "on";
    if (*set_call_module) agents_options.call_module = agent_call_module == "on";
    if (*set_group) agents_options.group = agent_group;
    result = agents_set(agents_options);
  });
  auto* agents_remove_cmd = agents->add_subcommand("remove", "Remove an agent");
  agents_common(agents_remove_cmd, true);
  agents_remove_cmd->callback([&] { result = agents_remove(agents_options); });

  std::vector<std::string> trace_files;
  auto* csta = app.add_subcommand("csta", "CSTA XML tools for integrators");
  csta->require_subcommand(1);
  auto* decode = csta->add_subcommand(
      "decode", "Print each CSTA message of captured wire frames (binary, 8-byte header included) or of a bare "
                "XML file as one JSON line: the normalised event or request it becomes. Unknown or malformed "
                "input: an error line and exit 1");
  decode->add_option("files", trace_files, "Trace files")->required()->type_name("FILE...");
  decode->callback([&] { result = csta_decode(trace_files); });

  auto* alerts = app.add_subcommand("alerts", "Alert actions");
  alerts->require_subcommand(1);
  std::string instance, summary = "test alert from switchboard";
  auto* test = alerts->add_subcommand("test", "Fire a test alert through the configured alert actions");
  add_config(test, config_file);
  test->add_option("--instance", instance, "Only this alert instance")->type_name("NAME");
  test->add_option("--summary", summary, "The alert's text");
  add_plugin_dir(test, plugin_dirs);
  test->callback([&] { result = cmd_alerts_test(config_file, instance, summary, plugin_dirs); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? exit_ok : exit_config;
  }
  return result;
}

}  // namespace switchboard::core
