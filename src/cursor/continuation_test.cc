// Continuation bytes: round trips, and every way of damaging them is refused with
// invalid_continuation (8005) rather than read as another position.
#include "cursor/continuation.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "cursor/continuation.pb.h"
#include "cursor/cursor.h"

namespace recordstore::cursor {
namespace {

// A nested position like a union of a key_value cursor and a flat map would write.
Continuation Nested() {
  Continuation leaf = Continuation::At(CursorKind::kKeyValue, std::string("\x15\x07", 2), 0,
                                       0x0123456789abcdefULL, {});
  Continuation flat_map =
      Continuation::At(CursorKind::kFlatMap, "", 0, 0, {leaf, Continuation::Start()});
  Continuation limit = Continuation::At(CursorKind::kLimit, "", 7, 0, {leaf});
  return Continuation::At(CursorKind::kUnion, "", 0, 0, {flat_map, limit, Continuation::End()});
}

void ExpectInvalid(std::string_view bytes, std::string_view what) {
  StatusOr<Continuation> parsed = Continuation::FromBytes(bytes);
  EXPECT_TRUE(HasErrorCode(parsed.status(), ErrorCode::kInvalidContinuation))
      << what << ": " << (parsed.ok() ? std::string("accepted") : parsed.status().ToString());
}

std::string Envelope(uint32_t version, const proto::CursorState& state, bool good_checksum) {
  proto::ContinuationEnvelope envelope;
  envelope.set_format_version(version);
  envelope.set_state(state.SerializeAsString());
  envelope.set_checksum(Fingerprint64(envelope.state()) + (good_checksum ? 0 : 1));
  return envelope.SerializeAsString();
}

TEST(ContinuationTest, RoundTripsStartEndAndNestedPositions) {
  EXPECT_EQ(Continuation::Start().ToBytes(), "");
  auto start = Continuation::FromBytes("");
  ASSERT_TRUE(start.ok());
  EXPECT_TRUE(start->is_start());

  auto end = Continuation::FromBytes(Continuation::End().ToBytes());
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_TRUE(end->is_end());

  Continuation nested = Nested();
  auto parsed = Continuation::FromBytes(nested.ToBytes());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, nested);
  EXPECT_EQ(parsed->children()[1].number(), 7u);
  EXPECT_EQ(parsed->children()[0].children()[0].key(), std::string("\x15\x07", 2));
  EXPECT_EQ(parsed->children()[0].children()[0].check(), 0x0123456789abcdefULL);
}

TEST(ContinuationTest, EveryByteFlipIsRefused) {
  std::string bytes = Nested().ToBytes();
  int flips = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (uint8_t mask : {0x01, 0x02, 0x10, 0x80, 0xff}) {
      std::string damaged = bytes;
      damaged[i] = static_cast<char>(damaged[i] ^ mask);
      ExpectInvalid(damaged, "byte " + std::to_string(i) + " ^ " + std::to_string(mask));
      ++flips;
    }
  }
  EXPECT_EQ(flips, static_cast<int>(bytes.size()) * 5);
}

TEST(ContinuationTest, RandomByteFlipsAndRandomBytesAreRefused) {
  std::string bytes = Nested().ToBytes();
  std::mt19937 rng(20261121);
  for (int round = 0; round < 2000; ++round) {
    std::string damaged = bytes;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      damaged[rng() % damaged.size()] ^= static_cast<char>(1 + rng() % 255);
    }
    if (damaged == bytes) continue;
    ExpectInvalid(damaged, "random flips, round " + std::to_string(round));
    std::string noise(1 + rng() % 64, '\0');
    for (char& c : noise) c = static_cast<char>(rng());
    ExpectInvalid(noise, "random bytes, round " + std::to_string(round));
  }
}

TEST(ContinuationTest, EveryTruncationAndExtensionIsRefused) {
  std::string bytes = Nested().ToBytes();
  for (size_t length = 1; length < bytes.size(); ++length) {
    ExpectInvalid(bytes.substr(0, length), "truncated to " + std::to_string(length));
  }
  ExpectInvalid(bytes + '\0', "a trailing zero byte");
  ExpectInvalid(bytes + bytes, "the bytes twice");
}

TEST(ContinuationTest, RefusesOtherVersionsChecksumsAndNonCanonicalStates) {
  proto::CursorState state;
  state.set_kind(proto::CURSOR_KIND_KEY_VALUE);
  state.set_key("k");
  ASSERT_TRUE(Continuation::FromBytes(Envelope(kContinuationFormatVersion, state, true)).ok());
  ExpectInvalid(Envelope(kContinuationFormatVersion + 1, state, true), "a newer format");
  ExpectInvalid(Envelope(0, state, true), "format version 0");
  ExpectInvalid(Envelope(kContinuationFormatVersion, state, false), "a wrong checksum");

  proto::CursorState start_with_key;
  start_with_key.set_key("k");
  ExpectInvalid(Envelope(kContinuationFormatVersion, start_with_key, true), "a start with a key");
  proto::CursorState empty;
  ExpectInvalid(Envelope(kContinuationFormatVersion, empty, true), "an enveloped start");
  proto::CursorState end_and_kind = state;
  end_and_kind.set_end(true);
  ExpectInvalid(Envelope(kContinuationFormatVersion, end_and_kind, true), "an end with a kind");
  proto::CursorState unknown_kind;
  unknown_kind.set_kind(static_cast<proto::CursorKind>(99));
  ExpectInvalid(Envelope(kContinuationFormatVersion, unknown_kind, true), "an unknown kind");

  // Valid protobuf, but not in the form ToBytes writes (an unknown field appended).
  std::string bytes = Envelope(kContinuationFormatVersion, state, true);
  ExpectInvalid(bytes + std::string("\x50\x01", 2), "an unknown field");
  // The same inside the checksummed state.
  proto::ContinuationEnvelope envelope;
  envelope.set_format_version(kContinuationFormatVersion);
  envelope.set_state(state.SerializeAsString() + std::string("\x50\x01", 2));
  envelope.set_checksum(Fingerprint64(envelope.state()));
  ExpectInvalid(envelope.SerializeAsString(), "an unknown field in the state");
}

TEST(ContinuationTest, ExpectKindNamesBothKinds) {
  Continuation leaf = Continuation::At(CursorKind::kKeyValue, "k", 0, 1, {});
  Status status = leaf.ExpectKind(CursorKind::kUnion, 2);
  EXPECT_TRUE(HasErrorCode(status, ErrorCode::kInvalidContinuation));
  EXPECT_NE(std::string(status.message()).find("key_value continuation was given to a union"),
            std::string::npos)
      << status;
  EXPECT_TRUE(Continuation::Start().ExpectKind(CursorKind::kUnion, 2).ok());
  EXPECT_TRUE(Continuation::End().ExpectKind(CursorKind::kUnion, 2).ok());
  EXPECT_TRUE(
      HasErrorCode(Nested().ExpectKind(CursorKind::kUnion, 2), ErrorCode::kInvalidContinuation));
  EXPECT_TRUE(Nested().ExpectKind(CursorKind::kUnion, 3).ok());
}

TEST(ContinuationTest, NoNextReasonsAreNamedAndClassified) {
  EXPECT_EQ(NoNextReasonName(NoNextReason::kSourceExhausted), "SOURCE_EXHAUSTED");
  EXPECT_EQ(NoNextReasonName(NoNextReason::kByteLimitReached), "BYTE_LIMIT_REACHED");
  EXPECT_FALSE(IsOutOfBand(NoNextReason::kSourceExhausted));
  EXPECT_FALSE(IsOutOfBand(NoNextReason::kReturnLimitReached));
  EXPECT_TRUE(IsOutOfBand(NoNextReason::kTimeLimitReached));
  EXPECT_TRUE(IsOutOfBand(NoNextReason::kScanLimitReached));
  EXPECT_TRUE(IsOutOfBand(NoNextReason::kByteLimitReached));
}

}  // namespace
}  // namespace recordstore::cursor
