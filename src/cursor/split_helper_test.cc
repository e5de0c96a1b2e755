// The split helper: exact chunk boundaries, the transaction size limit, overwrites that leave
// no stale keys (checked by scanning the raw subspace), versions, and corruption.
#include "cursor/split_helper.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cursor/cursor_test_util.h"

namespace recordstore::cursor {
namespace {

using testing_util::TestDatabase;

const Subspace kRecords(Tuple::Of("records"));
const Tuple kPk = Tuple::Of("pk", 1);
const Tuple kNeighbour = Tuple::Of("pk", 2);

// A value whose bytes differ with their position, so misordered chunks are caught.
std::string Value(size_t size) {
  std::string value(size, '\0');
  for (size_t i = 0; i < size; ++i) value[i] = static_cast<char>((i * 7 + i / 100'000) % 251);
  return value;
}

// (suffix, value size) of each raw key under the record, from a plain range read.
using RawKeys = std::vector<std::pair<int64_t, size_t>>;

class SplitHelperTest : public testing::TestWithParam<std::string> {
 protected:
  RecordContext NewContext() { return RecordContext(database_.db().CreateTransaction()); }

  Status Save(const Tuple& pk, const std::string& value,
              const std::optional<RecordVersion>& version = std::nullopt) {
    RecordContext context = NewContext();
    Status saved = SaveSplit(context, kRecords, pk, value, version);
    if (!saved.ok()) return saved;
    return context.Commit();
  }

  StatusOr<std::optional<SplitRecord>> Load(const Tuple& pk) {
    RecordContext context = NewContext();
    return LoadSplit(context, kRecords, pk);
  }

  RawKeys Raw(const Tuple& pk) {
    auto txn = database_.db().CreateTransaction();
    auto [begin, end] = kRecords.Sub(pk).Range();
    auto rows = txn->GetRange(begin, end);
    EXPECT_TRUE(rows.ok()) << rows.status();
    RawKeys raw;
    for (const kv::KeyValue& row : rows->rows) {
      auto suffix = kRecords.Sub(pk).Unpack(row.key);
      EXPECT_TRUE(suffix.ok() && suffix->size() == 1);
      raw.emplace_back((*suffix)[0].AsInt64().value_or(-99), row.value.size());
    }
    EXPECT_FALSE(rows->more);
    return raw;
  }

  void Corrupt(const std::function<void(kv::Transaction&)>& change) {
    ASSERT_TRUE(database_.db()
                    .Run([&](kv::Transaction& txn) {
                      change(txn);
                      return absl::OkStatus();
                    })
                    .ok());
  }

  std::string ChunkKey(int64_t suffix) { return kRecords.Sub(kPk).Pack(Tuple::Of(suffix)); }

  TestDatabase database_{GetParam()};
};

TEST_P(SplitHelperTest, SplitsExactlyAtTheChunkBoundaries) {
  struct Case {
    size_t size;
    RawKeys raw;
  };
  const Case kCases[] = {
      {0, {{0, 0}}},
      {1, {{0, 1}}},
      {100'000, {{0, 100'000}}},
      {100'001, {{1, 100'000}, {2, 1}}},
      {200'000, {{1, 100'000}, {2, 100'000}}},
      {200'001, {{1, 100'000}, {2, 100'000}, {3, 1}}},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE("size " + std::to_string(c.size));
    std::string value = Value(c.size);
    ASSERT_TRUE(Save(kPk, value).ok());
    EXPECT_EQ(Raw(kPk), c.raw);
    auto loaded = Load(kPk);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    ASSERT_TRUE(loaded->has_value());
    EXPECT_EQ((*loaded)->value, value);
    EXPECT_EQ((*loaded)->chunks, c.raw.size() == 1 ? 0 : static_cast<int>(c.raw.size()));
    EXPECT_FALSE((*loaded)->version.has_value());
  }
}

TEST_P(SplitHelperTest, TenMegabyteRecordsMeetTheTransactionLimit) {
  // 10,000,000 bytes are 100 chunks, but the keys push the transaction past 10,000,000 bytes:
  // refused up front, nothing written.
  RecordContext context = NewContext();
  int64_t before = context.txn().GetApproximateSize();
  Status too_large = SaveSplit(context, kRecords, kPk, Value(10'000'000), std::nullopt);
  EXPECT_TRUE(HasErrorCode(too_large, ErrorCode::kTransactionTooLarge)) << too_large;
  EXPECT_EQ(context.txn().GetApproximateSize(), before);

  // The largest value that fits a fresh transaction: SplitSaveSize must be exactly what the
  // engine counts, or one of the two saves below fails.
  int64_t overhead = SplitSaveSize(kRecords, kPk, 10'000'000, std::nullopt) - 10'000'000;
  size_t largest = static_cast<size_t>(kTransactionSizeLimit - overhead);
  ASSERT_EQ((largest + kSplitChunkSize - 1) / kSplitChunkSize, 100u);
  RecordContext one_more = NewContext();
  EXPECT_TRUE(HasErrorCode(SaveSplit(one_more, kRecords, kPk, Value(largest + 1), std::nullopt),
                           ErrorCode::kTransactionTooLarge));

  std::string value = Value(largest);
  RecordContext fits = NewContext();
  ASSERT_TRUE(SaveSplit(fits, kRecords, kPk, value, std::nullopt).ok());
  EXPECT_EQ(fits.txn().GetApproximateSize(), kTransactionSizeLimit);
  Status committed = fits.Commit();
  ASSERT_TRUE(committed.ok()) << committed;
  auto loaded = Load(kPk);
  ASSERT_TRUE(loaded.ok() && loaded->has_value()) << loaded.status();
  EXPECT_EQ((*loaded)->chunks, 100);
  EXPECT_TRUE((*loaded)->value == value);
  RawKeys raw = Raw(kPk);
  ASSERT_EQ(raw.size(), 100u);
  EXPECT_EQ(raw.back(), (std::pair<int64_t, size_t>(100, largest - 99 * kSplitChunkSize)));
}

TEST_P(SplitHelperTest, OverwritesLeaveNoStaleChunks) {
  ASSERT_TRUE(Save(kNeighbour, Value(150'000)).ok());
  ASSERT_TRUE(Save(kPk, Value(250'000)).ok());
  EXPECT_EQ(Raw(kPk), (RawKeys{{1, 100'000}, {2, 100'000}, {3, 50'000}}));
  ASSERT_TRUE(Save(kPk, Value(120'000)).ok());
  EXPECT_EQ(Raw(kPk), (RawKeys{{1, 100'000}, {2, 20'000}}));
  ASSERT_TRUE(Save(kPk, Value(5)).ok());
  EXPECT_EQ(Raw(kPk), (RawKeys{{0, 5}}));
  ASSERT_TRUE(Save(kPk, Value(300'000)).ok());
  EXPECT_EQ(Raw(kPk), (RawKeys{{1, 100'000}, {2, 100'000}, {3, 100'000}}));
  auto loaded = Load(kPk);
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  EXPECT_EQ((*loaded)->value, Value(300'000));
  // The neighbour's keys are untouched.
  EXPECT_EQ(Raw(kNeighbour), (RawKeys{{1, 100'000}, {2, 50'000}}));
}

// Saves and deletes told the previous shape clear exactly its keys.
TEST_P(SplitHelperTest, SavesAndDeletesByShapeLeaveNoStaleKeys) {
  auto save_known = [&](const Tuple& pk, const std::string& value,
                        const std::optional<RecordVersion>& version) {
    RecordContext context = NewContext();
    auto previous = LoadSplit(context, kRecords, pk);
    ASSERT_TRUE(previous.ok()) << previous.status();
    SplitShape shape = ShapeOf(*previous);
    ASSERT_TRUE(SaveSplit(context, kRecords, pk, value, version, &shape).ok());
    ASSERT_TRUE(context.Commit().ok());
  };
  const RecordVersion version = *RecordVersion::Complete(std::string(10, '\x02'), 7);
  ASSERT_TRUE(Save(kNeighbour, Value(150'000)).ok());
  save_known(kPk, Value(250'000), version);
  EXPECT_EQ(Raw(kPk), (RawKeys{{-1, 13}, {1, 100'000}, {2, 100'000}, {3, 50'000}}));
  save_known(kPk, Value(120'000), std::nullopt);
  EXPECT_EQ(Raw(kPk), (RawKeys{{1, 100'000}, {2, 20'000}}));
  save_known(kPk, Value(5), version);
  EXPECT_EQ(Raw(kPk), (RawKeys{{-1, 13}, {0, 5}}));
  save_known(kPk, Value(300'000), std::nullopt);
  EXPECT_EQ(Raw(kPk), (RawKeys{{1, 100'000}, {2, 100'000}, {3, 100'000}}));
  save_known(kPk, Value(7), std::nullopt);
  EXPECT_EQ(Raw(kPk), (RawKeys{{0, 7}}));
  {
    // Saved twice in one transaction with an incomplete version, then deleted.
    RecordContext context = NewContext();
    SplitShape shape = ShapeOf(*LoadSplit(context, kRecords, kPk));
    auto incomplete = context.NewIncompleteVersion();
    ASSERT_TRUE(SaveSplit(context, kRecords, kPk, Value(9), *incomplete, &shape).ok());
    shape = ShapeOf(*LoadSplit(context, kRecords, kPk));
    EXPECT_TRUE(shape.has_version);
    DeleteSplit(context, kRecords, kPk, &shape);
    EXPECT_FALSE(LoadSplit(context, kRecords, kPk)->has_value());
    ASSERT_TRUE(context.Commit().ok());
  }
  EXPECT_TRUE(Raw(kPk).empty());
  EXPECT_EQ(Raw(kNeighbour), (RawKeys{{1, 100'000}, {2, 50'000}}));
  // A new record over nothing clears nothing.
  save_known(Tuple::Of("pk", 3), Value(10), std::nullopt);
  EXPECT_EQ(Raw(Tuple::Of("pk", 3)), (RawKeys{{0, 10}}));
}

TEST_P(SplitHelperTest, DeleteRemovesChunksAndVersion) {
  ASSERT_TRUE(Save(kNeighbour, Value(10)).ok());
  ASSERT_TRUE(Save(kPk, Value(250'000), *RecordVersion::Complete(std::string(10, '\x01'), 3)).ok());
  EXPECT_EQ(Raw(kPk).size(), 4u);
  RecordContext context = NewContext();
  DeleteSplit(context, kRecords, kPk);
  auto in_txn = LoadSplit(context, kRecords, kPk);
  ASSERT_TRUE(in_txn.ok());
  EXPECT_FALSE(in_txn->has_value());
  ASSERT_TRUE(context.Commit().ok());
  EXPECT_TRUE(Raw(kPk).empty());
  auto loaded = Load(kPk);
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded->has_value());
  EXPECT_EQ(Raw(kNeighbour), (RawKeys{{0, 10}}));
}

TEST_P(SplitHelperTest, CompleteVersionsAreStoredUnderMinusOne) {
  RecordVersion version = *RecordVersion::Complete(std::string("0123456789"), 42);
  ASSERT_TRUE(Save(kPk, Value(100'001), version).ok());
  EXPECT_EQ(Raw(kPk), (RawKeys{{-1, 13}, {1, 100'000}, {2, 1}}));
  auto loaded = Load(kPk);
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  EXPECT_EQ((*loaded)->version, version);
  // Saving without a version removes the old one.
  ASSERT_TRUE(Save(kPk, Value(3)).ok());
  EXPECT_EQ(Raw(kPk), (RawKeys{{0, 3}}));
}

TEST_P(SplitHelperTest, IncompleteVersionsAreCompletedAtCommit) {
  RecordContext context = NewContext();
  auto first = context.NewIncompleteVersion();
  auto second = context.NewIncompleteVersion();
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_TRUE(SaveSplit(context, kRecords, kPk, Value(7), *first).ok());
  ASSERT_TRUE(SaveSplit(context, kRecords, kNeighbour, Value(200'000), *second).ok());
  // Before commit the version key is unreadable; the context answers for it.
  auto pending = LoadSplit(context, kRecords, kNeighbour);
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_TRUE(pending->has_value());
  EXPECT_EQ((*pending)->version, *second);
  EXPECT_EQ((*pending)->value, Value(200'000));
  ASSERT_TRUE(context.Commit().ok());

  auto complete_first = context.CompleteVersion(*first);
  auto complete_second = context.CompleteVersion(*second);
  ASSERT_TRUE(complete_first.ok() && complete_second.ok());
  auto loaded_first = Load(kPk);
  auto loaded_second = Load(kNeighbour);
  ASSERT_TRUE(loaded_first.ok() && loaded_first->has_value());
  ASSERT_TRUE(loaded_second.ok() && loaded_second->has_value());
  EXPECT_EQ((*loaded_first)->version, *complete_first);
  EXPECT_EQ((*loaded_second)->version, *complete_second);
  EXPECT_LT(*(*loaded_first)->version, *(*loaded_second)->version);
}

TEST_P(SplitHelperTest, OverwritingAnIncompleteVersionInOneTransactionKeepsTheLast) {
  RecordContext context = NewContext();
  auto first = context.NewIncompleteVersion();
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(SaveSplit(context, kRecords, kPk, Value(10), *first).ok());
  ASSERT_TRUE(SaveSplit(context, kRecords, kPk, Value(20), std::nullopt).ok());
  auto loaded = LoadSplit(context, kRecords, kPk);
  ASSERT_TRUE(loaded.ok() && loaded->has_value()) << loaded.status();
  EXPECT_FALSE((*loaded)->version.has_value());
  ASSERT_TRUE(context.Commit().ok());
  EXPECT_EQ(Raw(kPk), (RawKeys{{0, 20}}));
}

TEST_P(SplitHelperTest, MissingOrDamagedChunksAreDataCorruption) {
  ASSERT_TRUE(Save(kPk, Value(250'000)).ok());
  Corrupt([&](kv::Transaction& txn) { txn.Clear(ChunkKey(2)); });
  auto missing = Load(kPk);
  EXPECT_TRUE(HasErrorCode(missing.status(), ErrorCode::kDataCorruption)) << missing.status();
  EXPECT_NE(std::string(missing.status().message()).find("chunk 2 is missing"), std::string::npos)
      << missing.status();

  ASSERT_TRUE(Save(kPk, Value(250'000)).ok());
  Corrupt([&](kv::Transaction& txn) { txn.Clear(ChunkKey(1)); });
  EXPECT_TRUE(HasErrorCode(Load(kPk).status(), ErrorCode::kDataCorruption));

  ASSERT_TRUE(Save(kPk, Value(250'000)).ok());
  Corrupt([&](kv::Transaction& txn) { txn.Set(ChunkKey(1), "short"); });
  EXPECT_TRUE(HasErrorCode(Load(kPk).status(), ErrorCode::kDataCorruption));

  ASSERT_TRUE(Save(kPk, Value(250'000)).ok());
  Corrupt([&](kv::Transaction& txn) { txn.Set(ChunkKey(0), "both"); });
  EXPECT_TRUE(HasErrorCode(Load(kPk).status(), ErrorCode::kDataCorruption));

  ASSERT_TRUE(Save(kPk, Value(150'000)).ok());
  Corrupt([&](kv::Transaction& txn) { txn.Clear(ChunkKey(2)); });
  EXPECT_TRUE(HasErrorCode(Load(kPk).status(), ErrorCode::kDataCorruption));

  ASSERT_TRUE(Save(kPk, Value(10), *RecordVersion::Complete(std::string(10, '\x01'), 0)).ok());
  Corrupt([&](kv::Transaction& txn) { txn.Clear(ChunkKey(0)); });
  EXPECT_TRUE(HasErrorCode(Load(kPk).status(), ErrorCode::kDataCorruption));

  ASSERT_TRUE(Save(kPk, Value(10)).ok());
  Corrupt([&](kv::Transaction& txn) { txn.Set(ChunkKey(-1), "not a versionstamp"); });
  EXPECT_TRUE(HasErrorCode(Load(kPk).status(), ErrorCode::kDataCorruption));

  ASSERT_TRUE(Save(kPk, Value(10)).ok());
  Corrupt([&](kv::Transaction& txn) { txn.Set(ChunkKey(-2), "x"); });
  EXPECT_TRUE(HasErrorCode(Load(kPk).status(), ErrorCode::kDataCorruption));
}

// LoadSplitByPointReads returns what LoadSplit returns for every layout SaveSplit writes.
TEST_P(SplitHelperTest, PointReadsLoadWhatTheRangeReadLoads) {
  const RecordVersion version = *RecordVersion::Complete(std::string("0123456789"), 7);
  struct Case {
    size_t size;
    std::optional<RecordVersion> version;
    int chunks;
  };
  for (const Case& c : {Case{0, std::nullopt, 0}, Case{10, version, 0},
                        Case{100'000, std::nullopt, 0}, Case{100'001, version, 2},
                        Case{250'000, std::nullopt, 3}}) {
    SCOPED_TRACE(c.size);
    ASSERT_TRUE(Save(kPk, Value(c.size), c.version).ok());
    RecordContext context = NewContext();
    auto loaded = LoadSplitByPointReads(context, kRecords, kPk);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    ASSERT_TRUE(loaded->has_value());
    EXPECT_EQ((*loaded)->value, Value(c.size));
    EXPECT_EQ((*loaded)->version, c.version);
    EXPECT_EQ((*loaded)->chunks, c.chunks);
  }
  RecordContext context = NewContext();
  auto missing = LoadSplitByPointReads(context, kRecords, kNeighbour);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST_P(SplitHelperTest, PointReadsSeeThisTransactionsWritesAndPendingVersions) {
  ASSERT_TRUE(Save(kPk, Value(10)).ok());
  RecordContext context = NewContext();
  auto version = context.NewIncompleteVersion();
  ASSERT_TRUE(version.ok());
  ASSERT_TRUE(SaveSplit(context, kRecords, kNeighbour, Value(20), *version).ok());
  auto pending = LoadSplitByPointReads(context, kRecords, kNeighbour);
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_TRUE(pending->has_value());
  EXPECT_EQ((*pending)->value, Value(20));
  EXPECT_EQ((*pending)->version, *version);
  DeleteSplit(context, kRecords, kPk);
  auto deleted = LoadSplitByPointReads(context, kRecords, kPk);
  ASSERT_TRUE(deleted.ok());
  EXPECT_FALSE(deleted->has_value());
}

// The keys read are the record's data keys: a concurrent insert of a record that was read as
// missing, or a replacement of one read as unsplit by a split one, fails the reader's commit.
TEST_P(SplitHelperTest, PointReadsConflictWithWritersOfTheRecord) {
  for (size_t written_size : {size_t{10}, size_t{250'000}}) {
    SCOPED_TRACE(written_size);
    RecordContext reader = NewContext();
    auto before = LoadSplitByPointReads(reader, kRecords, kNeighbour);
    ASSERT_TRUE(before.ok());
    reader.txn().Set("marker", "x");
    ASSERT_TRUE(Save(kNeighbour, Value(written_size)).ok());
    EXPECT_TRUE(HasErrorCode(reader.Commit(), ErrorCode::kNotCommitted));
  }
}

// Told that no record may be split, the point reads load unsplit records as before and take
// a missing (pk..., 0) for a missing record, reading no chunk: a split record is not seen.
TEST_P(SplitHelperTest, PointReadsOfUnsplitRecordsReadNoChunk) {
  const RecordVersion version = *RecordVersion::Complete(std::string("0123456789"), 7);
  ASSERT_TRUE(Save(kPk, Value(10), version).ok());
  ASSERT_TRUE(Save(kNeighbour, Value(250'000)).ok());
  RecordContext context = NewContext();
  auto unsplit = LoadSplitByPointReads(context, kRecords, kPk, /*may_be_split=*/false);
  ASSERT_TRUE(unsplit.ok() && unsplit->has_value()) << unsplit.status();
  EXPECT_EQ((*unsplit)->value, Value(10));
  EXPECT_EQ((*unsplit)->version, version);
  auto split = LoadSplitByPointReads(context, kRecords, kNeighbour, /*may_be_split=*/false);
  ASSERT_TRUE(split.ok());
  EXPECT_FALSE(split->has_value());
}

// What the point reads trust and so cannot see; LoadSplit still reports it.
TEST_P(SplitHelperTest, PointReadsTrustTheLayout) {
  ASSERT_TRUE(Save(kPk, Value(10)).ok());
  Corrupt([&](kv::Transaction& txn) { txn.Set(ChunkKey(1), "stray chunk"); });
  RecordContext context = NewContext();
  auto loaded = LoadSplitByPointReads(context, kRecords, kPk);
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  EXPECT_EQ((*loaded)->value, Value(10));
  EXPECT_TRUE(HasErrorCode(Load(kPk).status(), ErrorCode::kDataCorruption));
  // A damaged version is still refused.
  Corrupt([&](kv::Transaction& txn) {
    txn.Clear(ChunkKey(1));
    txn.Set(ChunkKey(-1), "not a versionstamp");
  });
  RecordContext again = NewContext();
  EXPECT_TRUE(HasErrorCode(LoadSplitByPointReads(again, kRecords, kPk).status(),
                           ErrorCode::kDataCorruption));
}

INSTANTIATE_TEST_SUITE_P(Engines, SplitHelperTest, testing::Values("memory", "rocksdb"));

}  // namespace
}  // namespace recordstore::cursor
