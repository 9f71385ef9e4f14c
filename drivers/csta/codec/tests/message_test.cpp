#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>
#include <variant>

#include "codec/framing.hpp"
#include "codec/message.hpp"

namespace switchboard::csta {
namespace {

using sdk::ConnectionState;

// gtest compares from its own namespace and cannot see csta::operator== for sdk::CallRef.
std::pair<std::string, std::string> ids(const sdk::CallRef& ref) { return {ref.call_id, ref.device}; }

Message decoded(std::string_view body) {
  auto result = decode_message(body);
  EXPECT_TRUE(result) << (result ? "" : result.error().message);
  return result ? result.value() : Message{};
}

// ----- round trips -------------------------------------------------------------------------------------

struct RoundTrip {
  const char* root;
  Message message;
};

Message make(MessageKind kind, auto&& fill) {
  Message m;
  m.kind = kind;
  fill(m);
  return m;
}

const sdk::CallRef kCall{"FF000100000000001B5E4C5F4E0A0000", "N<+15619231002>;displayNumber=Dvořák"};

void PrintTo(const RoundTrip& sample, std::ostream* out) { *out << sample.root; }

class MessageRoundTrip : public ::testing::TestWithParam<RoundTrip> {};

TEST_P(MessageRoundTrip, DecodesToTheMessageThatWasEncoded) {
  const auto& sample = GetParam();
  auto body = encode_message(sample.message);
  ASSERT_TRUE(body) << body.error().message;
  auto framed = encode_frame(12, body.value());
  ASSERT_TRUE(framed);
  FrameDecoder decoder;
  decoder.feed(framed.value());
  auto frame = decoder.next();
  ASSERT_TRUE(frame);
  Message expected = sample.message;
  expected.root_name = sample.root;
  EXPECT_EQ(decoded(frame->body), expected) << body.value();
}

const RoundTrip kRoundTrips[] = {
    {"SystemStatus", make(MessageKind::system_status, [](Message& m) { m.system_status = "normal"; })},
    {"SystemStatusResponse", make(MessageKind::system_status_response, [](Message&) {})},
    {"StartApplicationSession", make(MessageKind::start_application_session, [](Message& m) {
       m.application_id = "switchboard";
       m.user = "csta<admin>";
       m.password = "p&ss\"word'";
       m.protocol_version = std::string(kCstaNamespace);
       m.session_duration = "180";
     })},
    {"StartApplicationSessionPosResponse", make(MessageKind::start_application_session_pos_response, [](Message& m) {
       m.session_id = "469421A9364D46D6444524AE41BEAD72";
       m.protocol_version = std::string(kCstaNamespace);
       m.session_duration = "180";
     })},
    {"StartApplicationSessionNegResponse", make(MessageKind::start_application_session_neg_response, [](Message& m) {
       m.error_category = "definedError";
       m.error_value = "invalidApplicationInfo";
     })},
    {"ResetApplicationSessionTimer", make(MessageKind::reset_application_session_timer, [](Message& m) {
       m.session_id = "469421A9";
       m.session_duration = "180";
     })},
    {"ResetApplicationSessionTimerPosResponse",
     make(MessageKind::reset_application_session_timer_response, [](Message& m) { m.session_duration = "180"; })},
    {"MonitorStart", make(MessageKind::monitor_start, [](Message& m) { m.device_id = "N<+15619231000>"; })},
    {"MonitorStartResponse", make(MessageKind::monitor_start_response, [](Message& m) { m.monitor_cross_ref_id = "0A1B"; })},
    {"MonitorStop", make(MessageKind::monitor_stop, [](Message& m) { m.monitor_cross_ref_id = "0A1B"; })},
    {"MonitorStopResponse", make(MessageKind::monitor_stop_response, [](Message&) {})},
    {"SnapshotDevice", make(MessageKind::snapshot_device, [](Message& m) { m.device_id = "1001"; })},
    {"SnapshotDeviceResponse", make(MessageKind::snapshot_device_response, [](Message& m) {
       m.snapshot = {{kCall, ConnectionState::alerting}, {{"77", "1001"}, ConnectionState::hold}, {{"78", "1001"}, std::nullopt}};
     })},
    {"DeflectCall", make(MessageKind::deflect_call, [](Message& m) {
       m.connection = kCall;
       m.new_destination = "114";
     })},
    {"DeflectCallResponse", make(MessageKind::deflect_call_response, [](Message&) {})},
    {"SingleStepTransferCall", make(MessageKind::single_step_transfer_call, [](Message& m) {
       m.connection = kCall;
       m.new_destination = "tel:+4930123";
     })},
    {"SingleStepTransferCallResponse",
     make(MessageKind::single_step_transfer_call_response, [](Message& m) { m.connection = {"99", "114"}; })},
    {"ClearConnection", make(MessageKind::clear_connection, [](Message& m) { m.connection = kCall; })},
    {"ClearConnectionResponse", make(MessageKind::clear_connection_response, [](Message&) {})},
    {"RouteRegister", make(MessageKind::route_register, [](Message& m) { m.device_id = "1001:CM1:10.0.0.1:0"; })},
    {"RouteRegisterResponse", make(MessageKind::route_register_response, [](Message& m) { m.route_register_req_id = "5"; })},
    {"RouteRequest", make(MessageKind::route_request, [](Message& m) {
       m.route_register_req_id = "5";
       m.routing_cross_ref_id = "31";
       m.called_device = "200";
       m.calling_device = "+4930123";
       m.connection = {"88", "200"};
     })},
    {"RouteSelect", make(MessageKind::route_select, [](Message& m) {
       m.route_register_req_id = "5";
       m.routing_cross_ref_id = "31";
       m.new_destination = "114";
     })},
    {"RouteEnd", make(MessageKind::route_end, [](Message& m) {
       m.route_register_req_id = "5";
       m.routing_cross_ref_id = "31";
       m.error_category = "operation";
       m.error_value = "generic";
     })},
    {"ReRoute", make(MessageKind::re_route, [](Message& m) {
       m.route_register_req_id = "5";
       m.routing_cross_ref_id = "31";
     })},
    {"SetAgentState", make(MessageKind::set_agent_state, [](Message& m) {
       m.device_id = "N<+15619231002>";
       m.agent_state = "loggedOn";
       m.agent_group = "401";
     })},
    {"SetAgentStateResponse", make(MessageKind::set_agent_state_response, [](Message&) {})},
    {"CSTAErrorCode", make(MessageKind::csta_error_code, [](Message& m) {
       m.error_category = "stateIncompatibility";
       m.error_value = "invalidConnectionState";
     })},
    {"DeliveredEvent", make(MessageKind::delivered, [](Message& m) {
       m.monitor_cross_ref_id = "17";
       m.connection = kCall;
       m.alerting_device = kCall.device;
       m.calling_device = "N<+15619231000>;noa=nk;displayNumber=Dvořák Antonín";
       m.called_device = "200";
       m.last_redirection_device = "199";
       m.local_connection_info = ConnectionState::alerting;
       m.cause = "entering_distribution";
     })},
    {"EstablishedEvent", make(MessageKind::established, [](Message& m) {
       m.monitor_cross_ref_id = "17";
       m.connection = kCall;
       m.answering_device = "114";
       m.calling_device = "+4930123";
       m.called_device = "200";
       m.local_connection_info = ConnectionState::connected;
       m.cause = "new_call";
     })},
    {"ConnectionClearedEvent", make(MessageKind::connection_cleared, [](Message& m) {
       m.monitor_cross_ref_id = "17";
       m.connection = kCall;
       m.releasing_device = "114";
       m.local_connection_info = ConnectionState::null;
       m.cause = "normal_clearing";
     })},
    {"DivertedEvent", make(MessageKind::diverted, [](Message& m) {
       m.monitor_cross_ref_id = "17";
       m.connection = kCall;
       m.new_destination = "114";
       m.calling_device = "+4930123";
       m.called_device = "200";
       m.local_connection_info = ConnectionState::null;
       m.cause = "redirected";
     })},
    {"FailedEvent", make(MessageKind::failed, [](Message& m) {
       m.monitor_cross_ref_id = "17";
       m.connection = kCall;
       m.calling_device = "+4930123";
       m.called_device = "114";
       m.local_connection_info = ConnectionState::fail;
       m.cause = "destination_not_obtainable";
     })},
    {"OriginatedEvent", make(MessageKind::originated, [](Message& m) {
       m.monitor_cross_ref_id = "17";
       m.connection = {"sim-4", "114"};
       m.calling_device = "114";
       m.called_device = "401";
       m.local_connection_info = ConnectionState::initiated;
     })},
};

INSTANTIATE_TEST_SUITE_P(Messages, MessageRoundTrip, ::testing::ValuesIn(kRoundTrips),
                         [](const auto& info) { return std::string(info.param.root); });

// The driver decodes every frame into one Message: nothing of an earlier message may show through.
TEST(DecodeMessage, IntoAReusedMessageLeavesNothingOfTheLastOne) {
  std::vector<std::string> bodies;
  for (const auto& sample : kRoundTrips) bodies.push_back(encode_message(sample.message).value());
  Message reused;
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& body : bodies) {
      ASSERT_TRUE(decode_message(body, reused));
      EXPECT_EQ(reused, decoded(body)) << body;
    }
    std::reverse(bodies.begin(), bodies.end());
  }
  EXPECT_FALSE(decode_message("<DeliveredEvent>", reused));
}

TEST(EncodeMessage, UsesEd3NamespaceAndEcma354ForTheSession) {
  Message monitor;
  monitor.kind = MessageKind::monitor_start;
  monitor.device_id = "1001";
  EXPECT_NE(encode_message(monitor).value().find(R"(<MonitorStart xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">)"),
            std::string::npos);
  Message session;
  session.kind = MessageKind::start_application_session;
  EXPECT_NE(encode_message(session).value().find(
                R"(<StartApplicationSession xmlns="http://www.ecma-international.org/standards/ecma-354/appl_session">)"),
            std::string::npos);
}

TEST(EncodeMessage, EscapesTextValuesAndSendsNoMonitorFilter) {
  Message monitor;
  monitor.kind = MessageKind::monitor_start;
  monitor.device_id = "N<+15619231000>&x";
  const std::string body = encode_message(monitor).value();
  EXPECT_NE(body.find("<deviceObject>N&lt;+15619231000&gt;&amp;x</deviceObject>"), std::string::npos) << body;
  EXPECT_EQ(body.find("monitorFilter"), std::string::npos);
}

TEST(EncodeMessage, RefusesKindsWeNeverSend) {
  Message offered;
  offered.kind = MessageKind::offered;
  auto result = encode_message(offered);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, sdk::ErrorCode::not_supported);
}

// ----- namespace editions and real-world shapes -------------------------------------------------------

// OpenScape Voice style, with the Siemens private data block the decoder must skip.
std::string delivered_event(std::string_view root_open, std::string_view root_close) {
  return std::string(R"(<?xml version="1.0" encoding="UTF-8"?>)") + std::string(root_open) + R"(
  <monitorCrossRefID>17</monitorCrossRefID>
  <connection><callID>FF0001000000</callID><deviceID>N&lt;+15619231002&gt;</deviceID></connection>
  <alertingDevice><deviceIdentifier>N&lt;+15619231002&gt;</deviceIdentifier></alertingDevice>
  <callingDevice><deviceIdentifier>N&lt;+15619231000&gt;;noa=nk</deviceIdentifier></callingDevice>
  <calledDevice><deviceIdentifier>200</deviceIdentifier></calledDevice>
  <lastRedirectionDevice><notKnown/></lastRedirectionDevice>
  <localConnectionInfo>alerting</localConnectionInfo>
  <cause>newCall</cause>
  <servicesPermitted><callControlServices><deflectCall>true</deflectCall></callControlServices></servicesPermitted>
  <extensions><privateData><private>
    <scx:CallInfo xmlns:scx="http://www.siemens.com/schema/csta"><scx:callingDevice>999</scx:callingDevice></scx:CallInfo>
    <av:cause xmlns:av="http://www.avaya.com/csta">bogus</av:cause>
  </private></privateData></extensions>
)" + std::string(root_close);
}

void expect_openscape_delivered(const Message& m) {
  EXPECT_EQ(m.kind, MessageKind::delivered);
  EXPECT_EQ(m.root_name, "DeliveredEvent");
  EXPECT_EQ(m.monitor_cross_ref_id, "17");
  EXPECT_EQ(m.connection.call_id, "FF0001000000");
  EXPECT_EQ(m.connection.device, "N<+15619231002>");
  EXPECT_EQ(m.alerting_device, "N<+15619231002>");
  EXPECT_EQ(m.calling_device, "N<+15619231000>;noa=nk");
  EXPECT_EQ(m.called_device, "200");
  EXPECT_EQ(m.last_redirection_device, "");
  EXPECT_EQ(m.local_connection_info, ConnectionState::alerting);
  EXPECT_EQ(m.cause, "new_call");
}

class NamespaceVariant : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(NamespaceVariant, DeliveredEventDecodesTheSame) {
  expect_openscape_delivered(decoded(delivered_event(GetParam().first, GetParam().second)));
}

INSTANTIATE_TEST_SUITE_P(
    Editions, NamespaceVariant,
    ::testing::Values(
        std::pair{R"(<DeliveredEvent xmlns="http://www.ecma.ch/standards/ecma-323/csta/ed2">)", "</DeliveredEvent>"},
        std::pair{R"(<DeliveredEvent xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">)", "</DeliveredEvent>"},
        std::pair{R"(<DeliveredEvent xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed4">)", "</DeliveredEvent>"},
        std::pair{R"(<DeliveredEvent xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed5">)", "</DeliveredEvent>"},
        std::pair{R"(<DeliveredEvent xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed6">)", "</DeliveredEvent>"},
        std::pair{R"(<DeliveredEvent xmlns="http://www.ecma.ch/standards/ecma-323/csta/ed6">)", "</DeliveredEvent>"},
        std::pair{R"(<ns3:DeliveredEvent xmlns:ns3="http://www.ecma-international.org/standards/ecma-323/csta/ed4">)",
                  "</ns3:DeliveredEvent>"},
        std::pair{R"(<csta:DeliveredEvent>)", "</csta:DeliveredEvent>"},  // prefix never declared
        std::pair{R"(<DeliveredEvent>)", "</DeliveredEvent>"}));

TEST(DecodeMessage, PrefixedChildrenAreMatchedByLocalName) {
  const Message m = decoded(R"(<ns3:EstablishedEvent xmlns:ns3="http://www.ecma-international.org/standards/ecma-323/csta/ed5">
    <ns3:establishedConnection><ns3:callID>5</ns3:callID><ns3:deviceID>114</ns3:deviceID></ns3:establishedConnection>
    <ns3:answeringDevice><ns3:deviceIdentifier>114</ns3:deviceIdentifier></ns3:answeringDevice>
    <ns3:localConnectionInfo>connected</ns3:localConnectionInfo></ns3:EstablishedEvent>)");
  EXPECT_EQ(m.kind, MessageKind::established);
  EXPECT_EQ(ids(m.connection), ids(sdk::CallRef{"5", "114"}));
  EXPECT_EQ(m.answering_device, "114");
  EXPECT_EQ(m.local_connection_info, ConnectionState::connected);
}

TEST(DecodeMessage, TrimsValuesAndAcceptsDeviceIdsAsDirectText) {
  const Message m = decoded(R"(<FailedEvent>
    <failedConnection>
      <callID>
        42
      </callID>
      <deviceID>	114 </deviceID>
    </failedConnection>
    <calledDevice>  114
    </calledDevice>
    <localConnectionInfo> fail </localConnectionInfo>
    <cause>
      busy
    </cause>
  </FailedEvent>)");
  EXPECT_EQ(m.kind, MessageKind::failed);
  EXPECT_EQ(ids(m.connection), ids(sdk::CallRef{"42", "114"}));
  EXPECT_EQ(m.called_device, "114");
  EXPECT_EQ(m.local_connection_info, ConnectionState::fail);
  EXPECT_EQ(m.cause, "busy");
}

TEST(DecodeMessage, TransferedEventTakesTheNewCallId) {
  const Message m = decoded(R"(<TransferedEvent xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">
    <monitorCrossRefID>3</monitorCrossRefID>
    <primaryOldCall><callID>10</callID><deviceID>200</deviceID></primaryOldCall>
    <transferringDevice><deviceIdentifier>200</deviceIdentifier></transferringDevice>
    <transferredToDevice><deviceIdentifier>114</deviceIdentifier></transferredToDevice>
    <transferredConnections><connectionListItem>
      <newConnection><callID>11</callID><deviceID>114</deviceID></newConnection>
      <oldConnection><callID>10</callID><deviceID>200</deviceID></oldConnection>
    </connectionListItem></transferredConnections>
    <cause>transfer</cause></TransferedEvent>)");
  EXPECT_EQ(m.kind, MessageKind::transferred);
  EXPECT_EQ(ids(m.connection), ids(sdk::CallRef{"11", "114"}));
  EXPECT_EQ(ids(m.old_connection), ids(sdk::CallRef{"10", "200"}));
  EXPECT_EQ(m.new_destination, "114");
}

TEST(DecodeMessage, UnknownRootIsNotAnError) {
  const Message m = decoded("<AgentReadyEvent><agentDevice>114</agentDevice></AgentReadyEvent>");
  EXPECT_EQ(m.kind, MessageKind::unknown);
  EXPECT_EQ(m.root_name, "AgentReadyEvent");
}

TEST(NormaliseCause, ConvertsCamelCaseToLowerSnake) {
  EXPECT_EQ(normalise_cause("newCall"), "new_call");
  EXPECT_EQ(normalise_cause("normalClearing"), "normal_clearing");
  EXPECT_EQ(normalise_cause("enteringDistribution"), "entering_distribution");
  EXPECT_EQ(normalise_cause("destNotObtainable"), "destination_not_obtainable");
  EXPECT_EQ(normalise_cause("busy"), "busy");
}

// ----- hostile and broken input -----------------------------------------------------------------------

TEST(DecodeMessage, DoctypeEntitiesAreNeverExpanded) {
  const Message m = decoded(R"(<?xml version="1.0"?>
<!DOCTYPE DeliveredEvent [
  <!ENTITY secret SYSTEM "file:///etc/hostname">
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
]>
<DeliveredEvent><callingDevice>&secret;</callingDevice><calledDevice>&lol2;</calledDevice></DeliveredEvent>)");
  EXPECT_EQ(m.kind, MessageKind::delivered);
  EXPECT_EQ(m.calling_device, "&secret;");  // left as literal text, the file was not read
  EXPECT_EQ(m.called_device, "&lol2;");
}

TEST(DecodeMessage, MalformedXmlNamesTheProblemAndOffset) {
  auto result = decode_message("<DeliveredEvent><connection><callID>1</callID></DeliveredEvent>");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, sdk::ErrorCode::invalid_argument);
  EXPECT_NE(result.error().message.find("malformed CSTA XML at byte"), std::string::npos) << result.error().message;
  EXPECT_FALSE(decode_message(""));
  EXPECT_FALSE(decode_message("not xml at all"));
}

TEST(DecodeMessage, RejectsBodiesAbove65535Bytes) {
  const std::string body = "<SystemStatus>" + std::string(65535, ' ') + "</SystemStatus>";
  auto result = decode_message(body);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("exceeds"), std::string::npos);
}

TEST(DecodeMessage, ConvertsIso8859_2ToUtf8) {
  // "Dvořák" in ISO-8859-2: ř = 0xF8, á = 0xE1.
  const std::string body = "<?xml version=\"1.0\" encoding=\"ISO-8859-2\"?>"
                           "<DeliveredEvent><callingDevice>Dvo\xF8\xE1k</callingDevice></DeliveredEvent>";
  EXPECT_EQ(decoded(body).calling_device, "Dvořák");
}

TEST(DecodeMessage, ConvertsWindows1250ToUtf8) {
  const std::string body = "<?xml version='1.0' encoding='windows-1250'?>"
                           "<DeliveredEvent><callingDevice>\x8Akoda</callingDevice></DeliveredEvent>";  // Š
  EXPECT_EQ(decoded(body).calling_device, "Škoda");
}

TEST(DecodeMessage, ReportsAnEncodingItCannotConvert) {
  auto result = decode_message("<?xml version=\"1.0\" encoding=\"x-no-such-charset\"?><SystemStatus/>");
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("x-no-such-charset"), std::string::npos);
}

TEST(DecodeMessage, ReadsUtf16WithByteOrderMark) {
  const std::string utf8 = "<SystemStatus><systemStatus>normal</systemStatus></SystemStatus>";
  std::string utf16le = "\xFF\xFE";
  for (const char c : utf8) {
    utf16le += c;
    utf16le += '\0';
  }
  const Message m = decoded(utf16le);
  EXPECT_EQ(m.kind, MessageKind::system_status);
  EXPECT_EQ(m.system_status, "normal");
}

TEST(EncodeMessage, SetAgentStateLeavesOutAnEmptyGroup) {
  Message request;
  request.kind = MessageKind::set_agent_state;
  request.device_id = "114";
  request.agent_state = "notReady";
  const std::string body = encode_message(request).value();
  EXPECT_NE(body.find("<device>114</device><requestedAgentState>notReady</requestedAgentState></SetAgentState>"),
            std::string::npos)
      << body;
}

TEST(DecodeMessage, SetAgentStateTakesTheGroupInEitherForm) {
  auto m = decoded(R"(<csta:SetAgentState xmlns:csta="http://www.ecma-international.org/standards/ecma-323/csta/ed4">
    <csta:device>N&lt;114&gt;</csta:device><csta:requestedAgentState> ready </csta:requestedAgentState>
    <csta:agentID>7</csta:agentID><csta:group><csta:deviceIdentifier>401</csta:deviceIdentifier></csta:group>
  </csta:SetAgentState>)");
  EXPECT_EQ(m.kind, MessageKind::set_agent_state);
  EXPECT_EQ(m.device_id, "N<114>");
  EXPECT_EQ(m.agent_state, "ready");
  EXPECT_EQ(m.agent_group, "401");
}

// ----- SDK events -------------------------------------------------------------------------------------

TEST(ToSdkEvent, DeliveredBecomesACallEvent) {
  const Message m = decoded(delivered_event(R"(<DeliveredEvent xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">)",
                                            "</DeliveredEvent>"));
  const sdk::TimePoint at{std::chrono::seconds(1000)};
  auto event = to_sdk_event(m, "hicom-main", at);
  ASSERT_TRUE(event);
  const auto& call = std::get<sdk::CallEvent>(*event);
  EXPECT_EQ(call.type, sdk::CallEventType::delivered);
  EXPECT_EQ(call.driver, "hicom-main");
  // Device ids normalised for matching, as the driver publishes them.
  EXPECT_EQ(ids(call.connection), ids(sdk::CallRef{"FF0001000000", "+15619231002"}));
  EXPECT_EQ(call.calling, "+15619231000");
  EXPECT_EQ(call.called, "200");
  EXPECT_EQ(call.other_device, "+15619231002");
  EXPECT_EQ(call.cause, "new_call");
  EXPECT_EQ(call.local_state, ConnectionState::alerting);
  EXPECT_EQ(call.at, at);
}

TEST(ToSdkEvent, MapsEachCallEventKindAndNothingElse) {
  const std::pair<MessageKind, sdk::CallEventType> mapped[] = {
      {MessageKind::delivered, sdk::CallEventType::delivered},
      {MessageKind::established, sdk::CallEventType::established},
      {MessageKind::connection_cleared, sdk::CallEventType::cleared},
      {MessageKind::diverted, sdk::CallEventType::diverted},
      {MessageKind::failed, sdk::CallEventType::failed},
      {MessageKind::transferred, sdk::CallEventType::transferred},
      {MessageKind::originated, sdk::CallEventType::originated},
  };
  for (const auto& [kind, type] : mapped) {
    Message m;
    m.kind = kind;
    auto event = to_sdk_event(m, "d");
    ASSERT_TRUE(event) << to_string(kind);
    EXPECT_EQ(std::get<sdk::CallEvent>(*event).type, type) << to_string(kind);
  }
  // An operator dialling: the dialled digits are `called`, the dialling device the other end.
  Message originated;
  originated.kind = MessageKind::originated;
  originated.connection = {"c4", "N<114>"};
  originated.calling_device = "N<114>";
  originated.called_device = "401";
  originated.local_connection_info = ConnectionState::initiated;
  auto event = to_sdk_event(originated, "d");
  ASSERT_TRUE(event);
  const auto& call = std::get<sdk::CallEvent>(*event);
  EXPECT_EQ(ids(call.connection), ids(sdk::CallRef{"c4", "114"}));
  EXPECT_EQ(call.calling, "114");
  EXPECT_EQ(call.called, "401");
  EXPECT_EQ(call.other_device, "114");
  EXPECT_EQ(call.local_state, ConnectionState::initiated);
  Message response;
  response.kind = MessageKind::monitor_start_response;
  EXPECT_FALSE(to_sdk_event(response, "d"));
}

}  // namespace
}  // namespace switchboard::csta

TEST(DeviceIds, VendorFormsReduceToTheNumber) {
  EXPECT_EQ(switchboard::csta::normalise_device_id("N<+15619231000>;noa=nk;displayNumber=Sales"), "+15619231000");
  EXPECT_EQ(switchboard::csta::normalise_device_id("1001:CM1:10.0.0.1:0"), "1001");
  EXPECT_EQ(switchboard::csta::normalise_device_id("tel:+420602123456"), "+420602123456");
  EXPECT_EQ(switchboard::csta::normalise_device_id("sip:115@pbx.example"), "115");
  EXPECT_EQ(switchboard::csta::normalise_device_id("  114 "), "114");
  EXPECT_EQ(switchboard::csta::normalise_device_id("0602123456"), "0602123456");
  EXPECT_EQ(switchboard::csta::normalise_device_id(""), "");
}
