#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "codec/framing.hpp"

namespace switchboard::csta {
namespace {

std::string frame_of(std::uint16_t invoke_id, std::string_view body) { return encode_frame(invoke_id, body).value(); }

std::vector<Frame> drain(FrameDecoder& decoder) {
  std::vector<Frame> frames;
  while (auto frame = decoder.next()) frames.push_back(std::move(*frame));
  return frames;
}

TEST(EncodeFrame, WritesHeaderWithWholeFrameLengthAndInvokeId) {
  const std::string frame = frame_of(42, "<A/>");
  ASSERT_EQ(frame.size(), 12u);
  EXPECT_EQ(frame.substr(0, 8), std::string("\x00\x00\x00\x0c" "0042", 8));
  EXPECT_EQ(frame.substr(8), "<A/>");
}

TEST(EncodeFrame, CountsBytesNotCharacters) {
  const std::string body = "<callingDevice>Dvořák</callingDevice>";  // ř and á are 2 bytes each in UTF-8
  const std::string frame = frame_of(1, body);
  const std::size_t declared = (static_cast<unsigned char>(frame[2]) << 8) | static_cast<unsigned char>(frame[3]);
  EXPECT_EQ(declared, 8 + body.size());
  EXPECT_EQ(body.size(), 39u);  // 37 characters
}

TEST(EncodeFrame, AcceptsExactMaximumAndRejectsOneByteMore) {
  EXPECT_EQ(frame_of(1, std::string(kMaxBodyBytes, 'x')).size(), 65535u);
  auto oversize = encode_frame(1, std::string(kMaxBodyBytes + 1, 'x'));
  ASSERT_FALSE(oversize);
  EXPECT_NE(oversize.error().message.find("65535"), std::string::npos);
}

TEST(EncodeFrame, RejectsInvokeIdAbove9999) { EXPECT_FALSE(encode_frame(10000, "<A/>")); }

TEST(FrameDecoder, ReassemblesFramesFedOneByteAtATime) {
  const std::string wire = frame_of(7, "<SystemStatus/>") + frame_of(9999, "<DeliveredEvent/>");
  FrameDecoder decoder;
  std::vector<Frame> frames;
  for (const char byte : wire) {
    decoder.feed(std::string_view(&byte, 1));
    for (auto& frame : drain(decoder)) frames.push_back(std::move(frame));
  }
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0], (Frame{7, "<SystemStatus/>"}));
  EXPECT_EQ(frames[1], (Frame{9999, "<DeliveredEvent/>"}));
  EXPECT_TRUE(frames[1].is_event());
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
  EXPECT_FALSE(decoder.failed());
}

TEST(FrameDecoder, SplitsSeveralFramesInOneChunkAndKeepsThePartialTail) {
  const std::string third = frame_of(3, "<C/>");
  const std::string wire = frame_of(1, "<A/>") + frame_of(2, "<B>é</B>") + third.substr(0, 5);
  FrameDecoder decoder;
  decoder.feed(wire);
  const auto frames = drain(decoder);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1], (Frame{2, "<B>é</B>"}));
  EXPECT_EQ(decoder.buffered_bytes(), 5u);
  decoder.feed(third.substr(5));
  EXPECT_EQ(drain(decoder), (std::vector<Frame>{{3, "<C/>"}}));
}

// The driver reads views: each one stays whole while the next frames of the same chunk are taken, and the
// bytes read are dropped at the next feed, not before.
TEST(FrameDecoder, ViewsOfOneChunkStayValidUntilTheNextFeed) {
  FrameDecoder decoder;
  const std::string first(3000, 'a'), second = "<B/>";
  decoder.feed(frame_of(1, first) + frame_of(9999, second) + frame_of(2, "<C/>").substr(0, 10));
  auto one = decoder.next_view();
  auto two = decoder.next_view();
  ASSERT_TRUE(one && two);
  EXPECT_FALSE(decoder.next_view());  // the third is not whole yet
  EXPECT_EQ(one->invoke_id, 1);
  EXPECT_EQ(one->body, first);
  EXPECT_TRUE(two->is_event());
  EXPECT_EQ(two->body, second);
  EXPECT_EQ(decoder.buffered_bytes(), 10u);
  decoder.feed(frame_of(2, "<C/>").substr(10));
  auto three = decoder.next_view();
  ASSERT_TRUE(three);
  EXPECT_EQ(three->invoke_id, 2);
  EXPECT_EQ(three->body, "<C/>");
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
}

TEST(FrameDecoder, AcceptsAFrameOfExactly65535Bytes) {
  const std::string body(kMaxBodyBytes, 'x');
  FrameDecoder decoder;
  decoder.feed(frame_of(5, body));
  auto frame = decoder.next();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->body.size(), kMaxBodyBytes);
}

TEST(FrameDecoder, HeaderOnlyFrameHasEmptyBody) {
  FrameDecoder decoder;
  decoder.feed(std::string("\x00\x00\x00\x08" "0001", 8));
  EXPECT_EQ(decoder.next(), (Frame{1, ""}));
}

struct BadHeader {
  const char* name;
  std::string header;
  FrameErrorKind kind;
  const char* hex_prefix;
};

class FrameDecoderRejects : public ::testing::TestWithParam<BadHeader> {};

TEST_P(FrameDecoderRejects, ReportsKindAndOffendingBytesUntilReset) {
  const auto& bad = GetParam();
  FrameDecoder decoder;
  decoder.feed(bad.header + "<A/>");
  EXPECT_FALSE(decoder.next());
  ASSERT_TRUE(decoder.failed());
  EXPECT_EQ(decoder.error().kind, bad.kind);
  EXPECT_FALSE(decoder.error().message.empty());
  EXPECT_EQ(decoder.error().offending_hex.rfind(bad.hex_prefix, 0), 0u) << decoder.error().offending_hex;

  // Good bytes after an error are refused: the stream has no trustworthy boundary any more.
  decoder.feed(frame_of(1, "<A/>"));
  EXPECT_FALSE(decoder.next());
  decoder.reset();
  decoder.feed(frame_of(1, "<A/>"));
  EXPECT_EQ(decoder.next(), (Frame{1, "<A/>"}));
}

INSTANTIATE_TEST_SUITE_P(
    Headers, FrameDecoderRejects,
    ::testing::Values(
        BadHeader{"NonZeroFormat", std::string("\x01\x00\x00\x0c" "0001", 8), FrameErrorKind::bad_format_indicator, "01 00 00 0c"},
        BadHeader{"NonZeroSecondFormatByte", std::string("\x00\x02\x00\x0c" "0001", 8), FrameErrorKind::bad_format_indicator, "00 02"},
        BadHeader{"ZeroLength", std::string("\x00\x00\x00\x00" "0001", 8), FrameErrorKind::length_too_small, "00 00 00 00"},
        BadHeader{"ShortLength", std::string("\x00\x00\x00\x07" "0001", 8), FrameErrorKind::length_too_small, "00 00 00 07"},
        BadHeader{"LetterInInvokeId", std::string("\x00\x00\x00\x0c" "00a1", 8), FrameErrorKind::invoke_id_not_digits, "00 00 00 0c 30 30 61 31"},
        BadHeader{"SpaceInInvokeId", std::string("\x00\x00\x00\x0c" " 001", 8), FrameErrorKind::invoke_id_not_digits, "00 00 00 0c 20"},
        BadHeader{"HttpInsteadOfCsta", std::string("GET / HT"), FrameErrorKind::bad_format_indicator, "47 45 54"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(FrameDecoder, RejectsFramesAboveAConfiguredLimit) {
  FrameDecoder decoder(1024);
  decoder.feed(frame_of(1, std::string(2000, 'x')).substr(0, 8));  // the header alone is enough to refuse
  EXPECT_FALSE(decoder.next());
  ASSERT_TRUE(decoder.failed());
  EXPECT_EQ(decoder.error().kind, FrameErrorKind::length_too_large);
}

TEST(FrameDecoder, WaitsForTheWholeHeaderBeforeJudgingIt) {
  FrameDecoder decoder;
  decoder.feed(std::string("\x00\x00\x00", 3));
  EXPECT_FALSE(decoder.next());
  EXPECT_FALSE(decoder.failed());
}

TEST(HexDump, TruncatesWithMarker) {
  EXPECT_EQ(hex_dump(std::string("\x00\xff\x10", 3)), "00 ff 10");
  EXPECT_EQ(hex_dump("abcd", 2), "61 62 …");
}

TEST(InvokeIdAllocator, CountsFromZeroAndWrapsBefore9999) {
  InvokeIdAllocator ids;
  EXPECT_EQ(ids.next(), 0);
  for (int i = 1; i < 9998; ++i) ids.next();
  EXPECT_EQ(ids.next(), 9998);
  EXPECT_EQ(ids.next(), 0);  // 9999 is for events only
  EXPECT_EQ(ids.next(), 1);
}

}  // namespace
}  // namespace switchboard::csta
