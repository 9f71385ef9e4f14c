// The storage conformance suite against SQLite: a new database file in a new folder for every test.
#include "switchboard/sdk/testing/storage_conformance.hpp"

#include "test_support.hpp"

namespace {

using namespace soci_test;

sdk::testing::StorageUnderTest make_sqlite_storage(sdk::testing::FakeContext& ctx) {
  auto folder = std::make_shared<TemporaryFolder>();
  auto settings = sqlite_settings(folder->file("conformance.db"));
  return {factory().create(ctx, settings), [folder]() mutable { folder.reset(); }};
}

}  // namespace

using switchboard::sdk::testing::StorageConformance;
INSTANTIATE_TEST_SUITE_P(Sqlite, StorageConformance,
                         ::testing::Values(switchboard::sdk::testing::StorageBackend{"sqlite", make_sqlite_storage}),
                         switchboard::sdk::testing::StorageBackend::name_of);
