// The storage conformance suite against PostgreSQL: a new schema for every test in the server that ctest
// starts (tests/postgres/postgres_fixture.sh), named by SWITCHBOARD_TEST_POSTGRES.
#include "switchboard/sdk/testing/storage_conformance.hpp"

#include "test_support.hpp"

namespace {

using namespace soci_test;

sdk::testing::StorageUnderTest make_postgres_storage(sdk::testing::FakeContext& ctx) {
  auto server = postgres_server();
  if (!server) {
    // GTEST_SKIP() returns void, so it is issued from a void function; the fixture sees the skip.
    [] { GTEST_SKIP() << "SWITCHBOARD_TEST_POSTGRES is not set (ctest sets it and starts the server)"; }();
    return {};
  }
  auto schema = std::make_shared<PostgresSchema>(*server);
  return {factory().create(ctx, schema->settings()), [schema]() mutable { schema.reset(); }};
}

}  // namespace

using switchboard::sdk::testing::StorageConformance;
INSTANTIATE_TEST_SUITE_P(Postgres, StorageConformance,
                         ::testing::Values(switchboard::sdk::testing::StorageBackend{"postgres", make_postgres_storage}),
                         switchboard::sdk::testing::StorageBackend::name_of);
