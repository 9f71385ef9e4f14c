// The plugin loader against real libraries: good ones load, every bad one is refused by name with a
// message that gives both versions and the fix, and loading goes on after a refusal.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "switchboard/core/plugin_registry.hpp"
#include "switchboard/sdk/version.hpp"

namespace fs = std::filesystem;
namespace sdk = switchboard::sdk;
using switchboard::core::PluginRegistry;

namespace {

const std::string test_plugins = SWITCHBOARD_TEST_PLUGIN_DIRECTORY;

std::string reason_for(const PluginRegistry& registry, const std::string& file_name) {
  for (const auto& r : registry.refused())
    if (fs::path(r.file).filename() == file_name) return r.reason;
  return "<not refused>";
}

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("switchboard-loader-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

}  // namespace

TEST(Loader, LoadsAGoodPluginAndItsFactories) {
  PluginRegistry registry;
  registry.load_directory(test_plugins);
  const auto* probe = registry.find(sdk::Category::alert, "asio_probe");
  ASSERT_NE(probe, nullptr);
  EXPECT_EQ(probe->plugin->id, "test.probe");
  EXPECT_EQ(probe->plugin->version, "1.0.0");
  EXPECT_NE(registry.find(sdk::Category::alert, "log_probe"), nullptr);
}

TEST(Loader, RefusesAnotherAbiMajorWithoutLoadingIt) {
  PluginRegistry registry;
  registry.load_directory(test_plugins);
  EXPECT_EQ(reason_for(registry, "test_abi_major_99.so"),
            "built for SDK ABI 99; this host provides ABI " + std::to_string(sdk::abi_major) + "." +
                std::to_string(sdk::abi_minor) + "; rebuild the plugin against a Switchboard SDK of ABI " +
                std::to_string(sdk::abi_major) + ".x (`switchboard --version` shows the host's)");
}

TEST(Loader, RefusesANewerAbiMinor) {
  PluginRegistry registry;
  registry.load_directory(test_plugins);
  std::string host = std::to_string(sdk::abi_major) + "." + std::to_string(sdk::abi_minor);
  std::string plugin = std::to_string(sdk::abi_major) + ".99";
  EXPECT_EQ(reason_for(registry, "test_abi_minor_newer.so"),
            "built for SDK ABI " + plugin + "; this host provides ABI " + host +
                " (older); upgrade the host to a release with ABI " + plugin +
                " or newer, or rebuild the plugin against this host's SDK (ABI " + host + ")");
}

TEST(Loader, RefusesAnotherBuildTag) {
  PluginRegistry registry;
  registry.load_directory(test_plugins);
  EXPECT_EQ(reason_for(registry, "test_build_tag_other.so"),
            std::string("built with [gcc-4;libstdc++-4;cxx-201103;boost-105500;fmt-50000]; this host was built with [") +
                sdk::build_tag + "]; rebuild the plugin with the host's compiler and libraries");
}

TEST(Loader, RefusesALibraryThatIsNoPlugin) {
  PluginRegistry registry;
  registry.load_directory(test_plugins);
  EXPECT_EQ(reason_for(registry, "test_not_a_plugin.so"),
            "not a Switchboard plugin: it exports no switchboard_plugin_abi_v* descriptor; build it with "
            "SWITCHBOARD_PLUGIN(...) or remove it from the plugin directory");
}

TEST(Loader, RefusesATypeAnotherPluginProvides) {
  PluginRegistry registry;
  registry.load_directory(test_plugins);
  auto reason = reason_for(registry, "test_probe_duplicate.so");
  EXPECT_EQ(reason.rfind("plugin 'test.probe-duplicate' registers alert 'log_probe', which plugin 'test.probe' (", 0), 0u)
      << reason;
}

TEST(Loader, RefusesAnUndocumentedKey) {
  PluginRegistry registry;
  registry.load_directory(test_plugins);
  EXPECT_EQ(reason_for(registry, "test_undocumented_key.so"),
            "plugin 'test.undocumented-key': alert 'undocumented' declares key 'secret_sauce' without a doc; every key "
            "needs one");
}

TEST(Loader, RefusesATruncatedPluginAndGoesOn) {
  TempDir dir;
  fs::copy_file(test_plugins + "/test_probe.so", dir.path() / "a_truncated.so");
  fs::resize_file(dir.path() / "a_truncated.so", fs::file_size(dir.path() / "a_truncated.so") / 3);
  std::ofstream(dir.path() / "b_garbage.so") << "this is not an ELF file";
  fs::copy_file(test_plugins + "/test_probe.so", dir.path() / "c_good.so");

  PluginRegistry registry;
  registry.load_directory(dir.path().string());
  ASSERT_EQ(registry.refused().size(), 2u);
  EXPECT_EQ(registry.refused()[0].file, (dir.path() / "a_truncated.so").string());
  EXPECT_EQ(registry.refused()[1].file, (dir.path() / "b_garbage.so").string());
  for (const auto& r : registry.refused()) {
    EXPECT_EQ(r.reason.find('\n'), std::string::npos) << "one line: " << r.reason;
    EXPECT_FALSE(r.reason.empty());
  }
  EXPECT_NE(reason_for(registry, "b_garbage.so").find("not a readable shared library"), std::string::npos)
      << reason_for(registry, "b_garbage.so");
  ASSERT_EQ(registry.plugins().size(), 1u) << "the good plugin after the bad ones still loads";
  EXPECT_EQ(registry.plugins()[0]->file, (dir.path() / "c_good.so").string());
}

TEST(Loader, RefusesTheSamePluginIdTwice) {
  TempDir dir;
  fs::copy_file(test_plugins + "/test_probe.so", dir.path() / "one.so");
  fs::copy_file(test_plugins + "/test_probe.so", dir.path() / "two.so");
  PluginRegistry registry;
  registry.load_directory(dir.path().string());
  EXPECT_EQ(registry.plugins().size(), 1u);
  EXPECT_EQ(reason_for(registry, "two.so"), "plugin id 'test.probe' is already loaded from " +
                                                 (dir.path() / "one.so").string() + "; keep one copy in the plugin path");
}

TEST(Loader, NamesAMissingDirectory) {
  PluginRegistry registry;
  registry.load_directory("/nonexistent/switchboard/plugins");
  ASSERT_EQ(registry.refused().size(), 1u);
  EXPECT_EQ(registry.refused()[0].file, "/nonexistent/switchboard/plugins");
}

TEST(Loader, LoadsTheFirstPartyPluginsOfTheBuildTree) {
  PluginRegistry registry;
  registry.load_directory(SWITCHBOARD_PLUGIN_OUTPUT_DIRECTORY);
  EXPECT_TRUE(registry.refused().empty()) << registry.refused().front().file << ": " << registry.refused().front().reason;
  // Every first-party factory, through the real loader.
  for (auto [category, type] : std::vector<std::pair<sdk::Category, const char*>>{
           {sdk::Category::alert, "log"},          {sdk::Category::alert, "exec"},
           {sdk::Category::alert, "webhook"},      {sdk::Category::driver, "sim"},
           {sdk::Category::storage, "soci"},       {sdk::Category::routing, "project_rules"},
           {sdk::Category::exporter, "calllog_file"}, {sdk::Category::exporter, "csv"},
           {sdk::Category::exporter, "jsonl"}})
    EXPECT_NE(registry.find(category, type), nullptr) << sdk::to_string(category) << " " << type;
}
