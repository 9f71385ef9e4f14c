// pbxsim in-process against a raw CSTA client: session, supervision, monitors, call control, routing,
// fault injection. Calls come from the control port's `call` command, so every test decides its traffic.
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace switchboard::pbxsim::testing {
namespace {

// No generated traffic, no polls, nobody logged out, nobody answers: the tests drive every call.
const std::string kQuietScenario = R"(
projects: ["100", "200"]
extensions: ["101", "102", "103"]
callers: [{number: "0602123456", project: "100"}]
status_interval: 0
calls: {calls_per_minute: 0, offline_operators: 0, answer_probability: 0}
)";

// Monitors every device of kQuietScenario; returns the crossRefIDs by device.
std::map<std::string, std::string> monitor_all(CstaTestClient& client) {
  std::map<std::string, std::string> refs;
  for (const char* device : {"100", "200", "101", "102", "103"}) {
    auto answer = client.request(monitor_start(device));
    EXPECT_EQ(answer.kind, MessageKind::monitor_start_response) << device;
    refs[device] = answer.monitor_cross_ref_id;
  }
  return refs;
}

// Offers a call through the control port and returns its id.
std::string offer_call(ControlClient& control, const std::string& project, const std::string& caller) {
  auto answer = control.command("call " + project + " " + caller);
  EXPECT_EQ(answer.rfind("ok call ", 0), 0u) << answer;
  return answer.size() > 8 ? answer.substr(8) : std::string();
}

void expect_error(const Message& answer, const std::string& category, const std::string& value) {
  EXPECT_EQ(answer.kind, MessageKind::csta_error_code);
  EXPECT_EQ(answer.error_category, category);
  EXPECT_EQ(answer.error_value, value);
}

// ----- session and supervision ---------------------------------------------------------------------------

TEST(Session, RequiredRefusesRequestsUntilStartedAndChecksCredentials) {
  InProcessPbxSim pbx(kQuietScenario + R"(
session: {required: true, application_id: "switchboard", user: "cti", password: "secret"}
)");
  CstaTestClient client(pbx.csta_port());
  expect_error(client.request(monitor_start("101")), "stateIncompatibility", "invalidObjectState");

  auto start = make(MessageKind::start_application_session);
  start.application_id = "switchboard";
  start.user = "cti";
  start.password = "wrong";
  auto refused = client.request(start);
  EXPECT_EQ(refused.kind, MessageKind::start_application_session_neg_response);
  EXPECT_EQ(refused.error_category, "definedError");
  EXPECT_EQ(refused.error_value, "invalidApplicationInfo");
  expect_error(client.request(monitor_start("101")), "stateIncompatibility", "invalidObjectState");

  start.password = "secret";
  start.session_duration = "120";
  auto accepted = client.request(start);
  ASSERT_EQ(accepted.kind, MessageKind::start_application_session_pos_response);
  EXPECT_FALSE(accepted.session_id.empty());
  EXPECT_EQ(accepted.protocol_version, csta::kCstaNamespace);
  EXPECT_EQ(accepted.session_duration, "120");

  auto reset = make(MessageKind::reset_application_session_timer);
  reset.session_id = accepted.session_id;
  EXPECT_EQ(client.request(reset).kind, MessageKind::reset_application_session_timer_response);
  reset.session_id = "someone-else";
  expect_error(client.request(reset), "stateIncompatibility", "invalidObjectState");
  EXPECT_EQ(client.request(monitor_start("101")).kind, MessageKind::monitor_start_response);
}

TEST(Session, OptionalSessionIsStillAnsweredWithTheDefaultDuration) {
  InProcessPbxSim pbx(kQuietScenario);
  CstaTestClient client(pbx.csta_port());
  EXPECT_EQ(client.request(monitor_start("101")).kind, MessageKind::monitor_start_response);
  auto start = make(MessageKind::start_application_session);
  start.application_id = "anything";
  start.protocol_version = "http://www.ecma-international.org/standards/ecma-323/csta/ed5";
  auto accepted = client.request(start);
  ASSERT_EQ(accepted.kind, MessageKind::start_application_session_pos_response);
  EXPECT_EQ(accepted.protocol_version, start.protocol_version);
  EXPECT_EQ(accepted.session_duration, "300");
}

TEST(Session, ExpiresWithoutReset) {
  InProcessPbxSim pbx(kQuietScenario);
  CstaTestClient client(pbx.csta_port());
  auto start = make(MessageKind::start_application_session);
  start.session_duration = "1";
  ASSERT_EQ(client.request(start).kind, MessageKind::start_application_session_pos_response);
  EXPECT_TRUE(client.closed_within(3s));
}

TEST(Supervision, SystemStatusFromTheClientIsEchoed) {
  InProcessPbxSim pbx(kQuietScenario);
  CstaTestClient client(pbx.csta_port());
  client.send_with(4321, make(MessageKind::system_status));
  auto answer = client.expect(MessageKind::system_status_response);
  EXPECT_EQ(answer.frame.invoke_id, 4321);
}

TEST(Supervision, PollsAndDropsAClientThatDoesNotAnswer) {
  InProcessPbxSim pbx(R"(
projects: ["100"]
extensions: ["101"]
status_interval: 100ms
status_misses: 2
calls: {calls_per_minute: 0}
)");
  CstaTestClient silent_client(pbx.csta_port());
  CstaTestClient answering_client(pbx.csta_port());

  // The answering client gets poll after poll: four polls prove it outlived three intervals.
  for (int i = 0; i < 4; ++i) {
    auto poll = answering_client.expect(MessageKind::system_status);
    EXPECT_LE(poll.frame.invoke_id, csta::kMaxRequestInvokeId);
    answering_client.send_with(poll.frame.invoke_id, make(MessageKind::system_status_response));
  }
  EXPECT_FALSE(answering_client.closed());

  auto first = silent_client.expect(MessageKind::system_status);
  auto second = silent_client.expect(MessageKind::system_status);
  EXPECT_NE(first.frame.invoke_id, second.frame.invoke_id);
  EXPECT_TRUE(silent_client.closed_within(2s));
}

// ----- monitors and snapshots ----------------------------------------------------------------------------

TEST(Monitor, StartDuplicateUnknownAndStop) {
  InProcessPbxSim pbx(kQuietScenario);
  CstaTestClient client(pbx.csta_port());
  auto first = client.request(monitor_start("101"));
  ASSERT_EQ(first.kind, MessageKind::monitor_start_response);
  EXPECT_FALSE(first.monitor_cross_ref_id.empty());
  EXPECT_EQ(client.request(monitor_start("101")).monitor_cross_ref_id, first.monitor_cross_ref_id);
  EXPECT_NE(client.request(monitor_start("102")).monitor_cross_ref_id, first.monitor_cross_ref_id);
  expect_error(client.request(monitor_start("999")), "operation", "invalidDeviceID");

  auto stop = make(MessageKind::monitor_stop);
  stop.monitor_cross_ref_id = first.monitor_cross_ref_id;
  EXPECT_EQ(client.request(stop).kind, MessageKind::monitor_stop_response);
  expect_error(client.request(stop), "operation", "invalidCrossRefID");
}

TEST(Monitor, EveryClientGetsEventsWithItsOwnCrossRef) {
  InProcessPbxSim pbx(kQuietScenario);
  ControlClient control(pbx.control_port());
  CstaTestClient first(pbx.csta_port());
  CstaTestClient second(pbx.csta_port());
  auto first_ref = first.request(monitor_start("100")).monitor_cross_ref_id;
  auto second_ref = second.request(monitor_start("100")).monitor_cross_ref_id;
  ASSERT_NE(first_ref, second_ref);
  auto id = offer_call(control, "100", "0602123456");
  auto seen_first = first.expect_event(MessageKind::delivered);
  auto seen_second = second.expect_event(MessageKind::delivered);
  EXPECT_EQ(seen_first.monitor_cross_ref_id, first_ref);
  EXPECT_EQ(seen_second.monitor_cross_ref_id, second_ref);
  EXPECT_EQ(seen_first.connection.call_id, id);
}

TEST(Snapshot, ListsTheCallsAtADevice) {
  InProcessPbxSim pbx(kQuietScenario);
  ControlClient control(pbx.control_port());
  CstaTestClient client(pbx.csta_port());
  auto id = offer_call(control, "100", "0602123456");
  auto snapshot = make(MessageKind::snapshot_device);
  snapshot.device_id = "100";
  auto answer = client.request(snapshot);
  ASSERT_EQ(answer.kind, MessageKind::snapshot_device_response);
  ASSERT_EQ(answer.snapshot.size(), 1u);
  EXPECT_EQ(answer.snapshot[0].connection.call_id, id);
  EXPECT_EQ(answer.snapshot[0].connection.device, "100");
  EXPECT_EQ(answer.snapshot[0].state, sdk::ConnectionState::alerting);

  snapshot.device_id = "101";
  auto idle = client.request(snapshot);
  EXPECT_EQ(idle.kind, MessageKind::snapshot_device_response);
  EXPECT_TRUE(idle.snapshot.empty());
  snapshot.device_id = "999";
  expect_error(client.request(snapshot), "operation", "invalidDeviceID");
}

// A snapshot that does not fit one frame (a project number with a thousand calls queued) is refused at once,
// not left unanswered for the client's request timeout.
TEST(Snapshot, TooBigForOneFrameIsRefused) {
  InProcessPbxSim pbx(kQuietScenario);
  ControlClient control(pbx.control_port());
  CstaTestClient client(pbx.csta_port());
  for (int i = 0; i < 1000; ++i) offer_call(control, "100", "0602" + std::to_string(100000 + i));
  auto snapshot = make(MessageKind::snapshot_device);
  snapshot.device_id = "100";
  expect_error(client.request(snapshot), "systemResourceAvailability", "generic");
  snapshot.device_id = "101";
  EXPECT_EQ(client.request(snapshot).kind, MessageKind::snapshot_device_response) << "the link still works";
}

// ----- call control --------------------------------------------------------------------------------------

TEST(Calls, DeliveredCarriesTheCallAndAWithheldCallerIsEmpty) {
  InProcessPbxSim pbx(kQuietScenario);
  ControlClient control(pbx.control_port());
  CstaTestClient client(pbx.csta_port());
  auto refs = monitor_all(client);

  auto id = offer_call(control, "100", "0602123456");
  auto delivered = client.expect_event(MessageKind::delivered);
  EXPECT_EQ(delivered.monitor_cross_ref_id, refs["100"]);
  EXPECT_EQ(delivered.connection.call_id, id);
  EXPECT_EQ(delivered.connection.device, "100");
  EXPECT_EQ(delivered.alerting_device, "100");
  EXPECT_EQ(delivered.calling_device, "0602123456");
  EXPECT_EQ(delivered.called_device, "100");
  EXPECT_EQ(delivered.local_connection_info, sdk::ConnectionState::alerting);
  EXPECT_EQ(delivered.cause, "new_call");

  offer_call(control, "200", "-");
  auto withheld = client.expect_event(MessageKind::delivered);
  EXPECT_EQ(withheld.connection.device, "200");
  EXPECT_EQ(withheld.calling_device, "");
}

TEST(Calls, DeflectAnswersFirstThenDivertedThenDelivered) {
  InProcessPbxSim pbx(kQuietScenario);
  ControlClient control(pbx.control_port());
  CstaTestClient client(pbx.csta_port());
  auto refs = monitor_all(client);
  auto id = offer_call(control, "100", "0602123456");
  client.expect_event(MessageKind::delivered);

  auto invoke_id = client.send(deflect({id, "100"}, "101"));
  auto response = client.expect(MessageKind::deflect_call_response);
  EXPECT_EQ(response.frame.invoke_id, invoke_id);
  auto diverted = client.expect_event(MessageKind::diverted);
  EXPECT_EQ(diverted.monitor_cross_ref_id, refs["100"]);
  EXPECT_EQ(diverted.connection.device, "100");
  EXPECT_EQ(diverted.new_destination, "101");
  EXPECT_EQ(diverted.cause, "redirected");
  auto delivered = client.expect_event(MessageKind::delivered);
  EXPECT_EQ(delivered.monitor_cross_ref_id, refs["101"]);
  EXPECT_EQ(delivered.connection.call_id, id);
  EXPECT_EQ(delivered.connection.device, "101");
  EXPECT_EQ(delivered.alerting_device, "101");
  EXPECT_EQ(delivered.last_redirection_device, "100");
  EXPECT_EQ(delivered.calling_device, "0602123456");
  EXPECT_EQ(delivered.called_device, "100");
}

TEST(Calls, DeflectFailuresAreMappedToEcma269Errors) {
  InProcessPbxSim pbx(kQuietScenario);
  ControlClient control(pbx.control_port());
  CstaTestClient client(pbx.csta_port());
  auto first = offer_call(control, "100", "0602123456");
  auto second = offer_call(control, "100", "0602123457");
  ASSERT_EQ(client.request(deflect({first, "100"}, "101")).kind, MessageKind::deflect_call_response);

  expect_error(client.request(deflect({second, "100"}, "101")), "systemResourceAvailability", "resourceBusy");
  expect_error(client.request(deflect({second, "100"}, "999")), "operation", "invalidDestination");
  expect_error(client.request(deflect({second, "100"}, "100")), "operation", "invalidDestination");
  expect_error(client.request(deflect({second, "200"}, "102")), "stateIncompatibility", "invalidConnectionState");
  expect_error(client.request(deflect({"sim-999", "100"}, "102")), "stateIncompatibility", "invalidConnectionState");
}

TEST(Calls, DeflectToALoggedOutExtensionIsOutOfService) {
  InProcessPbxSim pbx(R"(
projects: ["100"]
extensions: ["101"]
status_interval: 0
calls: {calls_per_minute: 0, offline_operators: 1}
)");
  ControlClient control(pbx.control_port());
  CstaTestClient client(pbx.csta_port());
  auto id = offer_call(control, "100", "0602123456");
  expect_error(client.request(deflect({id, "100"}, "101")), "systemResourceAvailability", "resourceOutOfService");
}

TEST(Calls, ClearConnectionAnswersThenClears) {
  InProcessPbxSim pbx(kQuietScenario);
  ControlClient control(pbx.control_port());
  CstaTestClient client(pbx.csta_port());
  monitor_all(client);
  auto id = offer_call(control, "100", "0602123456");
  client.expect_event(MessageKind::delivered);

  auto invoke_id = client.send(clear_connection({id, "100"}));
  auto response = client.expect(MessageKind::clear_connection_response);
  EXPECT_EQ(response.frame.invoke_id, invoke_id);
  auto cleared = client.expect_event(MessageKind::connection_cleared);
  EXPECT_EQ(cleared.connection.call_id, id);
  EXPECT_EQ(cleared.connection.device, "100");
  EXPECT_EQ(cleared.releasing_device, "100");
  EXPECT_EQ(cleared.local_connection_info, sdk::ConnectionState::null);
  expect_error(client.request(clear_connection({id, "100"})), "stateIncompatibility", "invalidConnectionState");
}

TEST(Calls, SingleStepTransferMovesAnAnsweredCall) {
  InProcessPbxSim pbx(R"(
projects: ["100"]
extensions: ["101", "102"]
status_interval: 0
calls: {calls_per_minute: 0, offline_operators: 0, answer_probability: 1,
        answer_delay_min: 10ms, answer_delay_max: 10ms, talk_time_min: 60s, talk_time_max: 60s}
)");
  ControlClient control(pbx.control_port());
  CstaTestClient client(pbx.csta_port());
  for (const char* device : {"100", "101", "102"}) client.request(monitor_start(device));
  auto id = offer_call(control, "100", "0602123456");
  client.expect_event(MessageKind::delivered);

  auto transfer = make(MessageKind::single_step_transfer_call);
  transfer.connection = {id, "101"};
  transfer.new_destination = "102";
  expect_error(client.request(transfer), "stateIncompatibility", "invalidConnectionState");  // not answered

  ASSERT_EQ(client.request(deflect({id, "100"}, "101")).kind, MessageKind::deflect_call_response);
  client.expect_event(MessageKind::diverted);
  client.expect_event(MessageKind::delivered);
  auto established = client.expect_event(MessageKind::established);
  EXPECT_EQ(established.connection.device, "101");
  EXPECT_EQ(established.answering_device, "101");

  auto answer = client.request(transfer);
  ASSERT_EQ(answer.kind, MessageKind::single_step_transfer_call_response);
  EXPECT_EQ(answer.connection.call_id, id);
  EXPECT_EQ(answer.connection.device, "102");
  auto cleared = client.expect_event(MessageKind::connection_cleared);
  EXPECT_EQ(cleared.connection.device, "101");
  EXPECT_EQ(cleared.cause, "transfer");
  auto delivered = client.expect_event(MessageKind::delivered);
  EXPECT_EQ(delivered.connection.device, "102");
  EXPECT_EQ(delivered.last_redirection_device, "101");
  EXPECT_EQ(delivered.cause, "transfer");
  EXPECT_EQ(client.expect_event(MessageKind::established).connection.device, "102");
}

TEST(Calls, UnknownAndUndecodableRequestsAreRefused) {
  InProcessPbxSim pbx(kQuietScenario);
  CstaTestClient client(pbx.csta_port());
  client.send_body(17, "<?xml version=\"1.0\"?><GetDoNotDisturb><device>101</device></GetDoNotDisturb>");
  auto unknown = client.next();
  EXPECT_EQ(unknown.frame.invoke_id, 17);
  expect_error(unknown.message, "operation", "requestIncompatibleWithObject");
  client.send_body(18, "<MonitorStart><monitorObject>");
  auto broken = client.next();
  EXPECT_EQ(broken.frame.invoke_id, 18);
  expect_error(broken.message, "operation", "requestIncompatibleWithObject");
  // A response pbxsim never asked for is no request either.
  expect_error(client.request(make(MessageKind::deflect_call_response)), "operation", "requestIncompatibleWithObject");
}

// ----- routing services ----------------------------------------------------------------------------------

TEST(Routing, RegisterRequestSelectAndEnd) {
  InProcessPbxSim pbx(kQuietScenario);
  ControlClient control(pbx.control_port());
  CstaTestClient client(pbx.csta_port());
  auto refs = monitor_all(client);

  auto register_request = make(MessageKind::route_register);
  register_request.device_id = "101";
  expect_error(client.request(register_request), "operation", "invalidDeviceID");
  register_request.device_id = "100";
  auto registered = client.request(register_request);
  ASSERT_EQ(registered.kind, MessageKind::route_register_response);
  ASSERT_FALSE(registered.route_register_req_id.empty());
  EXPECT_EQ(client.request(register_request).route_register_req_id, registered.route_register_req_id);

  // Success: the Delivered at the project, the RouteRequest, then the deflect's events, then RouteEnd.
  auto id = offer_call(control, "100", "0602123456");
  EXPECT_EQ(client.expect_event(MessageKind::delivered).connection.call_id, id);
  auto route_request = client.expect(MessageKind::route_request);
  EXPECT_NE(route_request.frame.invoke_id, csta::kEventInvokeId);
  const auto& routed = route_request.message;
  EXPECT_EQ(routed.route_register_req_id, registered.route_register_req_id);
  EXPECT_FALSE(routed.routing_cross_ref_id.empty());
  EXPECT_EQ(routed.called_device, "100");
  EXPECT_EQ(routed.calling_device, "0602123456");
  EXPECT_EQ(routed.connection.call_id, id);
  EXPECT_EQ(routed.connection.device, "100");

  auto select = make(MessageKind::route_select);
  select.route_register_req_id = routed.route_register_req_id;
  select.routing_cross_ref_id = routed.routing_cross_ref_id;
  select.new_destination = "101";
  client.send(select);
  EXPECT_EQ(client.expect_event(MessageKind::diverted).new_destination, "101");
  EXPECT_EQ(client.expect_event(MessageKind::delivered).connection.device, "101");
  auto end = client.expect(MessageKind::route_end).message;
  EXPECT_EQ(end.routing_cross_ref_id, routed.routing_cross_ref_id);
  EXPECT_EQ(end.error_value, "");

  // Failure: 101 rings already, so pbxsim asks for another route; the second choice succeeds.
  auto second = offer_call(control, "100", "0602123457");
  client.expect_event(MessageKind::delivered);
  auto second_request = client.expect(MessageKind::route_request).message;
  select.routing_cross_ref_id = second_request.routing_cross_ref_id;
  client.send(select);
  auto reroute = client.expect(MessageKind::re_route).message;
  EXPECT_EQ(reroute.route_register_req_id, registered.route_register_req_id);
  EXPECT_EQ(reroute.routing_cross_ref_id, second_request.routing_cross_ref_id);
  select.new_destination = "102";
  client.send(select);
  EXPECT_EQ(client.expect_event(MessageKind::diverted).connection.call_id, second);
  EXPECT_EQ(client.expect_event(MessageKind::delivered).connection.device, "102");
  EXPECT_EQ(client.expect(MessageKind::route_end).message.routing_cross_ref_id, second_request.routing_cross_ref_id);

  // A route that is over cannot be selected again.
  expect_error(client.request(select), "operation", "invalidCrossRefID");
}

TEST(Routing, AClearedCallEndsItsRouteWithAnError) {
  InProcessPbxSim pbx(kQuietScenario);
  ControlClient control(pbx.control_port());
  CstaTestClient client(pbx.csta_port());
  auto register_request = make(MessageKind::route_register);
  register_request.device_id = "200";
  ASSERT_EQ(client.request(register_request).kind, MessageKind::route_register_response);
  client.request(monitor_start("200"));

  auto id = offer_call(control, "200", "0602123456");
  client.expect_event(MessageKind::delivered);
  auto routed = client.expect(MessageKind::route_request).message;
  ASSERT_EQ(client.request(clear_connection({id, "200"})).kind, MessageKind::clear_connection_response);
  EXPECT_EQ(client.expect_event(MessageKind::connection_cleared).connection.call_id, id);
  auto end = client.expect(MessageKind::route_end).message;
  EXPECT_EQ(end.routing_cross_ref_id, routed.routing_cross_ref_id);
  EXPECT_EQ(end.error_category, "operation");
  EXPECT_EQ(end.error_value, "generic");
}

// ----- set-up and traffic --------------------------------------------------------------------------------

TEST(Traffic, StartsWhenAClientWatchesEveryDeviceAndStopsWhenTheLastLeaves) {
  InProcessPbxSim pbx(R"(
projects: ["100", "200"]
extensions: ["101", "102"]
status_interval: 0
calls: {calls_per_minute: 60000, answer_probability: 0}
)");
  ControlClient control(pbx.control_port());
  {
    CstaTestClient client(pbx.csta_port());
    client.request(monitor_start("100"));
    client.request(monitor_start("101"));
    client.request(monitor_start("102"));
    EXPECT_NE(control.command("status").find("traffic=stopped"), std::string::npos);

    // A project can be watched by RouteRegister instead of MonitorStart.
    auto register_request = make(MessageKind::route_register);
    register_request.device_id = "200";
    ASSERT_EQ(client.request(register_request).kind, MessageKind::route_register_response);
    auto status = control.command("status");
    EXPECT_NE(status.find("set_up=1"), std::string::npos) << status;
    EXPECT_NE(status.find("traffic=running"), std::string::npos) << status;
    auto arrival = client.next();  // a Delivered at 100 or a RouteRequest for 200
    EXPECT_TRUE(arrival.message.kind == MessageKind::delivered || arrival.message.kind == MessageKind::route_request)
        << arrival.message.root_name;
  }
  // The server learns of the close asynchronously: ask until it has (each ask is a round trip).
  std::string status;
  for (auto deadline = std::chrono::steady_clock::now() + 2s; std::chrono::steady_clock::now() < deadline;) {
    status = control.command("status");
    if (status.find("clients=0") != std::string::npos) break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_NE(status.find("traffic=stopped"), std::string::npos) << status;
  EXPECT_NE(status.find("calls=0"), std::string::npos) << status;
}

// ----- fault injection -----------------------------------------------------------------------------------

TEST(Faults, DropClosesEveryClient) {
  InProcessPbxSim pbx(kQuietScenario);
  ControlClient control(pbx.control_port());
  CstaTestClient first(pbx.csta_port());
  CstaTestClient second(pbx.csta_port());
  first.request(make(MessageKind::system_status));  // both are accepted before the drop
  second.request(make(MessageKind::system_status));
  EXPECT_EQ(control.command("drop"), "ok dropped 2");
  EXPECT_TRUE(first.closed_within(2s));
  EXPECT_TRUE(second.closed_within(2s));
}

TEST(Faults, SilentStopsAnswersUntilTurnedOff) {
  InProcessPbxSim pbx(kQuietScenario);
  ControlClient control(pbx.control_port());
  CstaTestClient client(pbx.csta_port());
  client.request(make(MessageKind::system_status));
  EXPECT_EQ(control.command("silent on"), "ok silent on");
  client.send_with(100, make(MessageKind::system_status));
  control.command("call 100 0602123456");
  EXPECT_TRUE(client.nothing_for(300ms));
  EXPECT_FALSE(client.closed());

  EXPECT_EQ(control.command("silent off"), "ok silent off");
  client.send_with(101, make(MessageKind::system_status));
  auto answer = client.expect(MessageKind::system_status_response);
  EXPECT_EQ(answer.frame.invoke_id, 101);  // the request made while silent was never answered
}

TEST(Faults, GarbageIsAMalformedFrame) {
  InProcessPbxSim pbx(kQuietScenario);
  ControlClient control(pbx.control_port());
  CstaTestClient client(pbx.csta_port());
  client.request(make(MessageKind::system_status));
  EXPECT_EQ(control.command("garbage"), "ok garbage sent to 1");
  auto bytes = client.read_raw(2s);
  ASSERT_FALSE(bytes.empty());
  csta::FrameDecoder decoder;
  decoder.feed(bytes);
  EXPECT_FALSE(decoder.next());
  ASSERT_TRUE(decoder.failed());
  EXPECT_EQ(decoder.error().kind, csta::FrameErrorKind::length_too_small);
}

TEST(Faults, AFramingErrorFromTheClientClosesIt) {
  InProcessPbxSim pbx(kQuietScenario);
  CstaTestClient client(pbx.csta_port());
  client.send_raw(std::string_view("\x01\x02\x00\x10" "0001", 8));
  EXPECT_TRUE(client.closed_within(2s));
}

TEST(Control, AnswersStatusAndRefusesUnknownCommands) {
  InProcessPbxSim pbx(kQuietScenario);
  ControlClient control(pbx.control_port());
  EXPECT_EQ(control.command("call 101 0602123456"), "error 101 is not a project");
  EXPECT_EQ(control.command("call 100").rfind("ok call sim-", 0), 0u);
  auto status = control.command("status");
  EXPECT_EQ(status.rfind("ok clients=0 ", 0), 0u) << status;
  EXPECT_NE(status.find("calls=1 offered=1 routed=0 silent=no"), std::string::npos) << status;
  EXPECT_EQ(control.command("dance").rfind("error unknown command", 0), 0u);
  EXPECT_EQ(control.command("silent maybe").rfind("error", 0), 0u);
}

// ----- hunt groups and agents ------------------------------------------------------------------------------

const std::string kGroupScenario = R"(
projects: ["100", "200"]
extensions: ["101", "102", "103"]
hunt_groups: [{number: "401", members: ["101", "102"], group: "300"}]
status_interval: 0
calls: {calls_per_minute: 0, offline_operators: 0, answer_probability: 0}
)";

Message set_agent_state(const std::string& device, const std::string& state, const std::string& group) {
  auto m = make(MessageKind::set_agent_state);
  m.device_id = device;
  m.agent_state = state;
  m.agent_group = group;
  return m;
}

TEST(Agents, SetAgentStateJoinsAndLeavesHuntGroups) {
  InProcessPbxSim pbx(kGroupScenario);
  ControlClient control(pbx.control_port());
  CstaTestClient client(pbx.csta_port());
  auto refs = monitor_all(client);
  EXPECT_EQ(client.request(monitor_start("401")).kind, MessageKind::monitor_start_response) << "a device too";

  EXPECT_EQ(client.request(set_agent_state("101", "loggedOff", "401")).kind, MessageKind::set_agent_state_response);
  // Without a group: every group of the device.
  EXPECT_EQ(client.request(set_agent_state("102", "notReady", "")).kind, MessageKind::set_agent_state_response);
  auto id = offer_call(control, "100", "0602123456");
  client.expect_event(MessageKind::delivered);
  expect_error(client.request(deflect({id, "100"}, "401")), "systemResourceAvailability", "resourceBusy");

  // The group it follows names it as well as its own number.
  EXPECT_EQ(client.request(set_agent_state("102", "ready", "300")).kind, MessageKind::set_agent_state_response);
  ASSERT_EQ(client.request(deflect({id, "100"}, "401")).kind, MessageKind::deflect_call_response);
  auto diverted = client.expect_event(MessageKind::diverted);
  EXPECT_EQ(diverted.new_destination, "401");
  auto delivered = client.expect_event(MessageKind::delivered);
  EXPECT_EQ(delivered.connection.device, "102") << "101 left the group";
  EXPECT_EQ(delivered.monitor_cross_ref_id, refs["102"]);

  expect_error(client.request(set_agent_state("103", "loggedOn", "401")), "operation", "invalidAgentGroup");
  expect_error(client.request(set_agent_state("103", "loggedOn", "")), "operation", "invalidAgentGroup");
  EXPECT_EQ(client.request(set_agent_state("101", "loggedOn", "499")).kind, MessageKind::set_agent_state_response)
      << "an SA group no hunt group rings for (Switchboard distributes its calls): the switch keeps the membership";
  expect_error(client.request(set_agent_state("999", "loggedOn", "401")), "operation", "invalidDeviceID");
  expect_error(client.request(set_agent_state("101", "workingAfterCall", "401")), "operation", "invalidAgentState");
}

TEST(Agents, AHuntGroupRingsAllAndTheFirstToAnswerTakesTheCall) {
  InProcessPbxSim pbx(R"(
projects: ["100", "200"]
extensions: ["101", "102", "103"]
hunt_groups: [{number: "401", members: ["101", "102"]}]
status_interval: 0
calls: {calls_per_minute: 0, offline_operators: 0, answer_probability: 1, answer_delay_min: 50ms, answer_delay_max: 80ms}
)");
  ControlClient control(pbx.control_port());
  CstaTestClient client(pbx.csta_port());
  monitor_all(client);
  auto id = offer_call(control, "100", "0602123456");
  client.expect_event(MessageKind::delivered);
  ASSERT_EQ(client.request(deflect({id, "100"}, "401")).kind, MessageKind::deflect_call_response);
  client.expect_event(MessageKind::diverted);
  EXPECT_EQ(client.expect_event(MessageKind::delivered).connection.device, "101");
  EXPECT_EQ(client.expect_event(MessageKind::delivered).connection.device, "102");
  auto established = client.expect_event(MessageKind::established);
  auto cleared = client.expect_event(MessageKind::connection_cleared);
  EXPECT_EQ(established.connection.call_id, id);
  EXPECT_EQ(cleared.connection.call_id, id);
  EXPECT_EQ(std::set<std::string>({established.connection.device, cleared.connection.device}),
            (std::set<std::string>{"101", "102"}));
}

TEST(Control, DialOriginatesAtTheExtensionUntilClearConnection) {
  InProcessPbxSim pbx(kGroupScenario);
  ControlClient control(pbx.control_port());
  CstaTestClient client(pbx.csta_port());
  auto refs = monitor_all(client);
  EXPECT_NE(control.command("help").find("dial FROM NUMBER"), std::string::npos);
  auto answer = control.command("dial 101 401");
  ASSERT_EQ(answer.rfind("ok dial sim-", 0), 0u) << answer;
  auto id = answer.substr(8);
  auto originated = client.expect_event(MessageKind::originated);
  EXPECT_EQ(originated.monitor_cross_ref_id, refs["101"]);
  EXPECT_EQ(originated.connection.call_id, id);
  EXPECT_EQ(originated.connection.device, "101");
  EXPECT_EQ(originated.calling_device, "101");
  EXPECT_EQ(originated.called_device, "401");
  EXPECT_EQ(originated.local_connection_info, sdk::ConnectionState::initiated);
  EXPECT_EQ(control.command("dial 101 402"), "error 101 is not an idle, logged-in extension");
  EXPECT_EQ(control.command("dial 100 401"), "error 100 is not an idle, logged-in extension");

  ASSERT_EQ(client.request(clear_connection({id, "101"})).kind, MessageKind::clear_connection_response);
  auto cleared = client.expect_event(MessageKind::connection_cleared);
  EXPECT_EQ(cleared.connection.call_id, id);
  EXPECT_EQ(cleared.connection.device, "101");
  EXPECT_EQ(control.command("dial 101 402").rfind("ok dial sim-", 0), 0u) << "idle again";
}

// ----- load mode -----------------------------------------------------------------------------------------

TEST(Load, RouteSelectAndTimeoutsAreCounted) {
  LoadOptions load;
  load.calls = 20;
  load.rate = 1000;
  load.decision_timeout = 200ms;
  InProcessPbxSim pbx(kQuietScenario, load);
  CstaTestClient client(pbx.csta_port());
  auto register_request = make(MessageKind::route_register);
  for (const char* project : {"100", "200"}) {
    register_request.device_id = project;
    ASSERT_EQ(client.request(register_request).kind, MessageKind::route_register_response);
  }
  for (const char* extension : {"101", "102", "103"}) client.request(monitor_start(extension));

  // Every second call is routed; the others wait out the decision timeout.
  int requests = 0;
  while (auto frame = client.next_frame(3s)) {
    auto message = csta::decode_message(frame->body);
    ASSERT_TRUE(message.ok());
    if (message->kind != MessageKind::route_request || requests++ % 2 == 1) continue;
    auto select = make(MessageKind::route_select);
    select.route_register_req_id = message->route_register_req_id;
    select.routing_cross_ref_id = message->routing_cross_ref_id;
    select.new_destination = "101";
    client.send(select);
  }
  EXPECT_TRUE(client.closed());
  auto report = pbx.wait_for_load_report();
  ASSERT_TRUE(report);
  EXPECT_EQ(requests, 20);
  EXPECT_EQ(report->offered, 20u);
  EXPECT_EQ(report->routed, 10u);
  EXPECT_EQ(report->errors, 10u);
  EXPECT_GT(report->latency_us.max, 0);
  EXPECT_GE(report->latency_us.max, report->write_latency_us.max);  // the scheduled time is never later
}

TEST(Load, LatencyCountsFromTheScheduledSendTime) {
  // 1,000 calls at 1,000/s, each answered 100 us after its Delivered was written; the generator stalls
  // before the last two (10 and 20 ms late). Counted from the write the stall is invisible; counted from
  // the scheduled time it shows in p99.9 and max.
  using Clock = LoadRecorder::Clock;
  LoadRecorder recorder(1000);
  auto start = Clock::now();
  for (std::uint32_t i = 0; i < 1000; ++i) {
    auto scheduled = start + i * 1ms;
    auto sent = scheduled + (i == 998 ? 10ms : i == 999 ? 20ms : 0ms);
    auto index = recorder.add(i % 2 ? "100" : "200", scheduled, sent);
    recorder.bind(index, "c" + std::to_string(i));
    recorder.written(index, sent);
    recorder.routed(index, sent + 100us);
  }
  ASSERT_TRUE(recorder.all_decided());
  auto report = recorder.report(start + 1020ms, 1000);
  EXPECT_EQ(report.routed, 1000u);
  EXPECT_EQ(report.errors, 0u);
  EXPECT_DOUBLE_EQ(report.latency_us.p50, 100);
  EXPECT_DOUBLE_EQ(report.latency_us.p99, 100);
  EXPECT_DOUBLE_EQ(report.latency_us.p99_9, 10'100);  // nearest rank 999 of 1,000
  EXPECT_DOUBLE_EQ(report.latency_us.max, 20'100);
  EXPECT_DOUBLE_EQ(report.write_latency_us.p99_9, 100);
  EXPECT_DOUBLE_EQ(report.write_latency_us.max, 100);
  EXPECT_DOUBLE_EQ(report.send_lag_us.p99, 0);
  EXPECT_DOUBLE_EQ(report.send_lag_us.max, 20'000);

  auto json = nlohmann::json::parse(report.to_json());
  for (const char* key : {"offered", "routed", "errors", "seconds", "rate", "requested_rate", "error_answers"})
    EXPECT_TRUE(json.contains(key)) << key;
  for (const char* group : {"latency_us", "write_latency_us", "send_lag_us"})
    for (const char* key : {"p50", "p90", "p99", "p99_9", "max"})
      EXPECT_TRUE(json[group].contains(key)) << group << "." << key;
  EXPECT_DOUBLE_EQ(json["latency_us"]["p99_9"].get<double>(), 10'100);
  EXPECT_DOUBLE_EQ(json["write_latency_us"]["p99_9"].get<double>(), 100);
}

TEST(Load, NoClientSetUpInTimeExits1) {
  LoadOptions load;
  load.calls = 10;
  load.rate = 100;
  load.setup_timeout = 100ms;
  InProcessPbxSim pbx(kQuietScenario, load);
  CstaTestClient client(pbx.csta_port());
  client.request(monitor_start("100"));  // not every device: never set up
  EXPECT_TRUE(client.closed_within(3s));
  EXPECT_FALSE(pbx.wait_for_load_report());
  EXPECT_EQ(pbx.exit_code(), 1);
}

}  // namespace
}  // namespace switchboard::pbxsim::testing
