// KeyValueCursor: every endpoint type on each side x direction x continuation position,
// against an expected key list computed straight from the endpoint definitions.
#include "cursor/key_value_cursor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cursor/cursor_test_util.h"

namespace recordstore::cursor {
namespace {

using testing_util::Drain;
using testing_util::Drained;
using testing_util::TestDatabase;
using Type = KeyEndpoint::Type;

const Subspace kSpace(Tuple::Of("s"));

// The keys the test stores: (0), (2), ..., (18) in the subspace; the bare prefix, the prefix
// followed by \x01 and by \xff (inside the subspace's raw key range but not tuples); and
// neighbours outside it, including the first key after the prefix range.
std::vector<std::string> StoredKeys() {
  const std::string& prefix = kSpace.key();
  std::vector<std::string> keys = {Tuple::Of("r").Pack(),
                                   prefix,
                                   prefix + "\x01",
                                   prefix + std::string("\xff", 1),
                                   std::string("\x02s\x01", 3),
                                   Tuple::Of("t").Pack()};
  for (int i = 0; i <= 18; i += 2) keys.push_back(kSpace.Pack(Tuple::Of(i)));
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::string Describe(const std::vector<std::string>& keys) {
  std::string out;
  for (const std::string& key : keys) {
    out += TupleElement(ByteString{key}).ToString() + " ";
  }
  return out;
}

// The expected keys, from the definitions in key_value_cursor.h, compared bytewise.
std::vector<std::string> ExpectedKeys(Type low, int low_key, Type high, int high_key,
                                      bool reverse) {
  const std::string& prefix = kSpace.key();
  std::string low_bytes = kSpace.Pack(Tuple::Of(low_key));
  std::string high_bytes = kSpace.Pack(Tuple::Of(high_key));
  std::vector<std::string> expected;
  for (const std::string& key : StoredKeys()) {
    if (!key.starts_with(prefix)) continue;
    if (low == Type::kInclusive && !(key >= low_bytes)) continue;
    if (low == Type::kExclusive && !(key > low_bytes)) continue;
    if (high == Type::kInclusive && !(key <= high_bytes)) continue;
    if (high == Type::kExclusive && !(key < high_bytes)) continue;
    expected.push_back(key);
  }
  if (reverse) std::reverse(expected.begin(), expected.end());
  return expected;
}

KeyEndpoint MakeEndpoint(Type type, int key) {
  switch (type) {
    case Type::kOpen:
      return KeyEndpoint::Open();
    case Type::kInclusive:
      return KeyEndpoint::Inclusive(Tuple::Of(key));
    case Type::kExclusive:
      return KeyEndpoint::Exclusive(Tuple::Of(key));
  }
  return KeyEndpoint::Open();
}

const char* TypeName(Type type) {
  switch (type) {
    case Type::kOpen:
      return "open";
    case Type::kInclusive:
      return "inclusive";
    case Type::kExclusive:
      return "exclusive";
  }
  return "?";
}

class KeyValueCursorTest : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(database_.db()
                    .Run([](kv::Transaction& txn) {
                      for (const std::string& key : StoredKeys()) txn.Set(key, "v" + key);
                      return absl::OkStatus();
                    })
                    .ok());
  }

  // Opens a cursor in a new transaction and drains it.
  StatusOr<Drained<KeyValueRow>> Scan(const KeyEndpoint& low, const KeyEndpoint& high,
                                      const Continuation& continuation,
                                      KeyValueCursorOptions options) {
    auto txn = database_.db().CreateTransaction();
    StatusOr<std::unique_ptr<KeyValueCursor>> cursor =
        KeyValueCursor::Create(*txn, kSpace, low, high, continuation, options);
    if (!cursor.ok()) return cursor.status();
    return Drain<KeyValueRow>(**cursor);
  }

  static std::vector<std::string> KeysOf(const Drained<KeyValueRow>& drained) {
    std::vector<std::string> keys;
    for (const KeyValueRow& row : drained.items) {
      EXPECT_EQ(row.value(), "v" + row.key());
      keys.push_back(row.key());
    }
    return keys;
  }

  TestDatabase database_{GetParam()};
};

TEST_P(KeyValueCursorTest, EveryEndpointTypeDirectionAndContinuationPosition) {
  const Type kTypes[] = {Type::kOpen, Type::kInclusive, Type::kExclusive};
  // Endpoint keys present in the data, absent from it, equal, and inverted.
  const std::pair<int, int> kKeyPairs[] = {{4, 14}, {5, 13}, {8, 8}, {14, 4}};
  int checked_runs = 0;
  for (auto [low_key, high_key] : kKeyPairs) {
    for (Type low : kTypes) {
      for (Type high : kTypes) {
        for (bool reverse : {false, true}) {
          SCOPED_TRACE(std::string("low ") + TypeName(low) + " " + std::to_string(low_key) +
                       ", high " + TypeName(high) + " " + std::to_string(high_key) +
                       (reverse ? ", reverse" : ", forward"));
          KeyValueCursorOptions options;
          options.reverse = reverse;
          options.batching = {2, 4};
          KeyEndpoint low_endpoint = MakeEndpoint(low, low_key);
          KeyEndpoint high_endpoint = MakeEndpoint(high, high_key);
          std::vector<std::string> expected = ExpectedKeys(low, low_key, high, high_key, reverse);

          // No continuation, and the start given as (empty) bytes.
          auto start = Continuation::FromBytes("");
          ASSERT_TRUE(start.ok());
          for (const Continuation& from : {Continuation::Start(), *start}) {
            auto full = Scan(low_endpoint, high_endpoint, from, options);
            ASSERT_TRUE(full.ok()) << full.status();
            ASSERT_EQ(KeysOf(*full), expected) << Describe(KeysOf(*full));
            EXPECT_EQ(full->reason, NoNextReason::kSourceExhausted);
            EXPECT_TRUE(full->stop.is_end());
          }

          // After the first, each middle, and the last item; then the end.
          auto full = Scan(low_endpoint, high_endpoint, Continuation::Start(), options);
          ASSERT_TRUE(full.ok());
          for (size_t i = 0; i < full->continuations.size(); ++i) {
            SCOPED_TRACE("resumed after item " + std::to_string(i));
            auto resumed = Continuation::FromBytes(full->continuations[i].ToBytes());
            ASSERT_TRUE(resumed.ok()) << resumed.status();
            auto rest = Scan(low_endpoint, high_endpoint, *resumed, options);
            ASSERT_TRUE(rest.ok()) << rest.status();
            EXPECT_EQ(KeysOf(*rest),
                      std::vector<std::string>(expected.begin() + i + 1, expected.end()));
            EXPECT_EQ(rest->reason, NoNextReason::kSourceExhausted);
            ++checked_runs;
          }
          auto end = Continuation::FromBytes(full->stop.ToBytes());
          ASSERT_TRUE(end.ok()) << end.status();
          ASSERT_TRUE(end->is_end());
          auto after_end = Scan(low_endpoint, high_endpoint, *end, options);
          ASSERT_TRUE(after_end.ok()) << after_end.status();
          EXPECT_TRUE(after_end->items.empty());
          EXPECT_EQ(after_end->reason, NoNextReason::kSourceExhausted);
          ++checked_runs;
        }
      }
    }
  }
  // Guards against the loops silently running over empty expectations.
  EXPECT_EQ(checked_runs, 474);
}

TEST_P(KeyValueCursorTest, OpenEndpointsCoverTheRawPrefixRangeOnly) {
  auto full = Scan(KeyEndpoint::Open(), KeyEndpoint::Open(), Continuation::Start(), {});
  ASSERT_TRUE(full.ok());
  std::vector<std::string> expected = {kSpace.key(), kSpace.key() + "\x01"};
  for (int i = 0; i <= 18; i += 2) expected.push_back(kSpace.Pack(Tuple::Of(i)));
  expected.push_back(kSpace.key() + std::string("\xff", 1));
  EXPECT_EQ(KeysOf(*full), expected);
}

TEST_P(KeyValueCursorTest, ResolvesEndpointsToByteKeys) {
  const std::string& prefix = kSpace.key();
  ResolvedKeyRange open = ResolveKeyRange(kSpace, KeyEndpoint::Open(), KeyEndpoint::Open());
  EXPECT_EQ(open.begin.key, prefix);
  EXPECT_TRUE(open.begin.inclusive);
  std::string prefix_end = prefix;
  prefix_end.back() = '\x01';  // "s" packs as 02 73 00; the next prefix is 02 73 01.
  EXPECT_EQ(open.end.key, prefix_end);
  EXPECT_FALSE(open.end.inclusive);

  ResolvedKeyRange raw =
      ResolveKeyRange(Subspace(std::string("a\xff\xff", 3)), KeyEndpoint::ExclusiveRaw("x"),
                      KeyEndpoint::InclusiveRaw("y"));
  EXPECT_EQ(raw.begin.key, std::string("a\xff\xffx", 4));
  EXPECT_FALSE(raw.begin.inclusive);
  EXPECT_EQ(raw.end.key, std::string("a\xff\xffy", 4));
  EXPECT_TRUE(raw.end.inclusive);
  EXPECT_EQ(ResolveKeyRange(Subspace(std::string("a\xff\xff", 3)), KeyEndpoint::Open(),
                            KeyEndpoint::Open())
                .end.key,
            "b");
  EXPECT_EQ(ResolveKeyRange(Subspace(), KeyEndpoint::Open(), KeyEndpoint::Open()).end.key,
            std::string("\xff", 1));
}

TEST_P(KeyValueCursorTest, RowLimitPagesThroughTheRange) {
  for (bool reverse : {false, true}) {
    KeyValueCursorOptions options;
    options.reverse = reverse;
    options.row_limit = 3;
    std::vector<std::string> expected =
        ExpectedKeys(Type::kInclusive, 2, Type::kExclusive, 16, reverse);
    ASSERT_EQ(expected.size(), 7u);
    std::vector<std::string> seen;
    Continuation from;
    std::vector<NoNextReason> reasons;
    for (int page = 0; page < 10; ++page) {
      auto drained = Scan(KeyEndpoint::Inclusive(Tuple::Of(2)),
                          KeyEndpoint::Exclusive(Tuple::Of(16)), from, options);
      ASSERT_TRUE(drained.ok()) << drained.status();
      for (const std::string& key : KeysOf(*drained)) seen.push_back(key);
      reasons.push_back(drained->reason);
      if (drained->reason == NoNextReason::kSourceExhausted) break;
      auto bytes = Continuation::FromBytes(drained->stop.ToBytes());
      ASSERT_TRUE(bytes.ok());
      from = *bytes;
    }
    EXPECT_EQ(seen, expected);
    // 3 + 3 + 1: the third page ends the range.
    EXPECT_EQ(reasons, (std::vector<NoNextReason>{NoNextReason::kReturnLimitReached,
                                                  NoNextReason::kReturnLimitReached,
                                                  NoNextReason::kSourceExhausted}));
  }
}

TEST_P(KeyValueCursorTest, RefusesContinuationsOfOtherRangesDirectionsAndKeys) {
  KeyEndpoint low = KeyEndpoint::Inclusive(Tuple::Of(2));
  KeyEndpoint high = KeyEndpoint::Inclusive(Tuple::Of(12));
  auto forward = Scan(low, high, Continuation::Start(), {});
  ASSERT_TRUE(forward.ok());
  ASSERT_GE(forward->continuations.size(), 2u);
  const Continuation& mid = forward->continuations[1];

  KeyValueCursorOptions reverse;
  reverse.reverse = true;
  auto status = Scan(low, high, mid, reverse).status();
  EXPECT_TRUE(HasErrorCode(status, ErrorCode::kInvalidContinuation)) << status;
  status = Scan(low, KeyEndpoint::Exclusive(Tuple::Of(12)), mid, {}).status();
  EXPECT_TRUE(HasErrorCode(status, ErrorCode::kInvalidContinuation)) << status;

  // A continuation with the right fingerprint but a key outside the range.
  Continuation outside =
      Continuation::At(CursorKind::kKeyValue, Tuple::Of(14).Pack(), 0, mid.check(), {});
  status = Scan(low, high, outside, {}).status();
  EXPECT_TRUE(HasErrorCode(status, ErrorCode::kInvalidContinuation)) << status;

  Continuation foreign = Continuation::At(CursorKind::kUnion, "", 0, 0, {mid});
  status = Scan(low, high, foreign, {}).status();
  EXPECT_TRUE(HasErrorCode(status, ErrorCode::kInvalidContinuation)) << status;
}

TEST_P(KeyValueCursorTest, ExhaustedCursorKeepsReportingExhaustion) {
  auto txn = database_.db().CreateTransaction();
  auto cursor =
      KeyValueCursor::Create(*txn, kSpace, KeyEndpoint::Inclusive(Tuple::Of(18)),
                             KeyEndpoint::Inclusive(Tuple::Of(18)), Continuation::Start(), {});
  ASSERT_TRUE(cursor.ok());
  auto first = (*cursor)->Next();
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ(first->value().key(), kSpace.Pack(Tuple::Of(18)));
  auto second = (*cursor)->Next();
  ASSERT_TRUE(second.ok() && !second->has_value());
  EXPECT_EQ(second->no_next_reason(), NoNextReason::kSourceExhausted);
  EXPECT_EQ(second->continuation(), Continuation::End());
  auto third = (*cursor)->Next();
  ASSERT_TRUE(third.ok() && !third->has_value());
  EXPECT_EQ(third->no_next_reason(), NoNextReason::kSourceExhausted);
}

// A result's continuation is built from its row when asked for: it must not depend on where
// the cursor has moved since, on the cursor still existing, or on the row still being in the
// result.
TEST_P(KeyValueCursorTest, KeptResultsKeepTheirContinuation) {
  auto drained = Scan(KeyEndpoint::Open(), KeyEndpoint::Open(), Continuation::Start(), {});
  ASSERT_TRUE(drained.ok()) << drained.status();
  ASSERT_GE(drained->continuations.size(), 3u);

  std::vector<CursorResult<KeyValueRow>> kept;
  {
    auto txn = database_.db().CreateTransaction();
    KeyValueCursorOptions options;
    options.batching = {1, 2};  // Several batches, so that kept rows span batches.
    auto cursor = KeyValueCursor::Create(*txn, kSpace, KeyEndpoint::Open(), KeyEndpoint::Open(),
                                         Continuation::Start(), options);
    ASSERT_TRUE(cursor.ok());
    while (true) {
      auto result = (*cursor)->Next();
      ASSERT_TRUE(result.ok()) << result.status();
      if (!result->has_value()) break;
      kept.push_back(*std::move(result));
    }
  }
  ASSERT_EQ(kept.size(), drained->continuations.size());
  for (size_t i = 0; i < kept.size(); ++i) {
    EXPECT_EQ(kept[i].continuation(), drained->continuations[i]) << i;
    CursorResult<KeyValueRow> copy = kept[i];
    KeyValueRow row = kept[i].TakeValue();
    EXPECT_EQ(row.key(), drained->items[i].key());
    EXPECT_EQ(kept[i].continuation(), drained->continuations[i]) << i;
    EXPECT_EQ(std::move(copy).continuation(), drained->continuations[i]) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, KeyValueCursorTest, testing::Values("memory", "rocksdb"));

}  // namespace
}  // namespace recordstore::cursor
