// The KV conformance suite: what every backend behind include/recordstore/kv.h must do. One
// parameterized suite runs against each backend URL (see Backends() below, the one place that
// knows how to reach a fresh instance of each backend). Expected results follow the contract
// in kv.h and FoundationDB's documented semantics.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/status_macros.h"
#include "kv/etcd/etcd_cluster.h"
#include "recordstore/kv.h"
#include "recordstore/status.h"

namespace recordstore::kv {
namespace {

using std::chrono::milliseconds;

// ---------------------------------------------------------------------------------------------
// Backends. An etcd backend joins by adding one entry here.

struct BackendInfo {
  std::string name;
  // Survives closing and reopening the Database at the same URL.
  bool durable;
  // The URL of a fresh, empty instance whose files (if any) live under `dir`.
  std::string (*url)(const std::string& dir);
};

const std::vector<BackendInfo>& Backends() {
  static const std::vector<BackendInfo> kBackends = {
      {"memory", false, [](const std::string&) { return std::string("memory://"); }},
      {"rocksdb", true, [](const std::string& dir) { return "rocksdb://" + dir + "/db"; }},
      {"etcd", true, [](const std::string&) { return etcd::SharedTestClusterUrl(); }},
  };
  return kBackends;
}

std::vector<std::string> BackendNames() {
  std::vector<std::string> names;
  for (const BackendInfo& b : Backends()) names.push_back(b.name);
  return names;
}

const BackendInfo& FindBackend(const std::string& name) {
  for (const BackendInfo& b : Backends()) {
    if (b.name == name) return b;
  }
  ADD_FAILURE() << "unknown backend " << name;
  return Backends().front();
}

// A unique directory under the test temp dir, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::path(testing::TempDir()) / "rs-kvconf-XXXXXX").string();
    char* made = mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr) << "mkdtemp failed for " << tmpl;
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ---------------------------------------------------------------------------------------------
// Assertion helpers: every failure prints the status it got.

testing::AssertionResult IsOk(const Status& s) {
  if (s.ok()) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "expected OK, got " << s.ToString();
}
template <typename T>
testing::AssertionResult IsOk(const StatusOr<T>& s) {
  return IsOk(s.status());
}

testing::AssertionResult HasCode(const Status& s, ErrorCode code) {
  if (HasErrorCode(s, code)) return testing::AssertionSuccess();
  return testing::AssertionFailure()
         << "expected " << ErrorName(code) << " (" << static_cast<int>(code) << "), got "
         << (s.ok() ? std::string("OK") : s.ToString());
}
template <typename T>
testing::AssertionResult HasCode(const StatusOr<T>& s, ErrorCode code) {
  return HasCode(s.status(), code);
}

#define ASSERT_OK(expr) ASSERT_TRUE(IsOk(expr))
#define EXPECT_OK(expr) EXPECT_TRUE(IsOk(expr))

// ---------------------------------------------------------------------------------------------
// Byte helpers.

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

std::string Le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

std::string Le32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

int64_t BigEndian64(std::string_view s) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return static_cast<int64_t>(v);
}

std::string Hex(std::string_view s) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (char c : s) {
    out.push_back(kDigits[(static_cast<uint8_t>(c) >> 4) & 0xf]);
    out.push_back(kDigits[static_cast<uint8_t>(c) & 0xf]);
  }
  return out;
}

std::vector<std::string> Keys(const RangeResult& r) {
  std::vector<std::string> keys;
  for (const KeyValue& kv : r.rows) keys.push_back(kv.key);
  return keys;
}

using Strings = std::vector<std::string>;

// ---------------------------------------------------------------------------------------------
// Fixture.

class KvConformanceTest : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    url_ = backend().url(dir_.path());
    Open();
  }
  void TearDown() override { db_.reset(); }

  const BackendInfo& backend() const { return FindBackend(GetParam()); }

  void Open(const DatabaseOptions& options = {}) {
    auto db = Database::Open(url_, options);
    ASSERT_OK(db) << " opening " << url_;
    db_ = std::move(db).value();
  }
  // Closes and reopens the same URL (for durable backends, the same data).
  void Reopen() {
    db_.reset();
    Open();
  }

  std::unique_ptr<Transaction> Txn(const TransactionOptions& options = {}) {
    return db_->CreateTransaction(options);
  }

  // Commits `key`=`value` in its own transaction; returns the commit version.
  Version Put(std::string_view key, std::string_view value) {
    auto t = Txn();
    t->Set(key, value);
    Status s = t->Commit();
    EXPECT_OK(s) << " putting " << key;
    return t->GetCommittedVersion();
  }

  // The committed value of `key` as a fresh transaction sees it.
  std::optional<std::string> Read(std::string_view key) {
    auto t = Txn();
    auto v = t->Get(key);
    EXPECT_OK(v) << " reading " << key;
    return v.ok() ? *v : std::nullopt;
  }

  // Every committed row in [begin, end).
  std::vector<KeyValue> ReadRange(std::string_view begin, std::string_view end) {
    auto t = Txn();
    auto r = t->GetRange(begin, end);
    EXPECT_OK(r);
    return r.ok() ? r->rows : std::vector<KeyValue>{};
  }

  // Applies one atomic op to `key` (first set to `initial` when given, cleared otherwise) in
  // its own transaction, and returns the committed result.
  std::optional<std::string> ApplyAtomic(MutationType type,
                                         const std::optional<std::string>& initial,
                                         const std::string& operand) {
    const std::string key = "atomic";
    {
      auto t = Txn();
      if (initial.has_value()) {
        t->Set(key, *initial);
      } else {
        t->Clear(key);
      }
      EXPECT_OK(t->Commit());
    }
    auto t = Txn();
    t->AtomicOp(type, key, operand);
    EXPECT_OK(t->Commit());
    return Read(key);
  }

  // Fills a..e with values "va".."ve" (each row: 1-byte key + 2-byte value = 3 bytes).
  void FillAtoE() {
    auto t = Txn();
    for (char c = 'a'; c <= 'e'; ++c) t->Set(std::string(1, c), std::string("v") + c);
    ASSERT_OK(t->Commit());
  }

  RangeResult Range(const RangeEndpoint& b, const RangeEndpoint& e, RangeOptions o = {}) {
    auto t = Txn();
    auto r = t->GetRange(b, e, o);
    EXPECT_OK(r);
    return r.ok() ? *r : RangeResult{};
  }

  TempDir dir_;
  std::string url_;
  std::unique_ptr<Database> db_;
};

using RE = RangeEndpoint;

// =============================================================================================
// Basic API

TEST_P(KvConformanceTest, GetOfMissingKeyReturnsNullopt) {
  auto t = Txn();
  auto v = t->Get("missing");
  ASSERT_OK(v);
  EXPECT_FALSE(v->has_value());
}

TEST_P(KvConformanceTest, SetCommitThenGetReturnsValueInNewTransaction) {
  Put("k", "v");
  EXPECT_EQ(Read("k"), "v");
}

TEST_P(KvConformanceTest, EmptyValueIsStoredAndDistinctFromMissing) {
  Put("empty", "");
  auto v = Read("empty");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, "");
}

TEST_P(KvConformanceTest, BinaryKeysAndValuesRoundTripExactly) {
  const std::string key = Bytes({0x00, 0x01, 0xfe, 0x00});
  const std::string value = Bytes({0x00, 0xff, 0x00, 0x7f, 0x80});
  Put(key, value);
  EXPECT_EQ(Read(key), value);
  auto rows = ReadRange(Bytes({0x00}), Bytes({0x01}));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], (KeyValue{key, value}));
}

TEST_P(KvConformanceTest, OverwriteReplacesValue) {
  Put("k", "one");
  Put("k", "two");
  EXPECT_EQ(Read("k"), "two");
}

TEST_P(KvConformanceTest, ClearRemovesKey) {
  Put("k", "v");
  auto t = Txn();
  t->Clear("k");
  ASSERT_OK(t->Commit());
  EXPECT_EQ(Read("k"), std::nullopt);
}

TEST_P(KvConformanceTest, ClearRangeRemovesHalfOpenRange) {
  FillAtoE();
  auto t = Txn();
  t->ClearRange("b", "d");
  ASSERT_OK(t->Commit());
  auto rows = ReadRange("", "\xff");
  std::vector<KeyValue> expected = {{"a", "va"}, {"d", "vd"}, {"e", "ve"}};
  EXPECT_EQ(rows, expected);
}

TEST_P(KvConformanceTest, ClearRangeWithEqualEndpointsClearsNothing) {
  FillAtoE();
  auto t = Txn();
  t->ClearRange("c", "c");
  ASSERT_OK(t->Commit());
  EXPECT_EQ(ReadRange("", "\xff").size(), 5u);
}

TEST_P(KvConformanceTest, UncommittedWritesAreInvisibleToOtherTransactions) {
  auto writer = Txn();
  writer->Set("k", "v");
  EXPECT_EQ(Read("k"), std::nullopt);
  ASSERT_OK(writer->Commit());
  EXPECT_EQ(Read("k"), "v");
}

TEST_P(KvConformanceTest, DestroyedTransactionDiscardsWrites) {
  {
    auto t = Txn();
    t->Set("k", "v");
  }
  EXPECT_EQ(Read("k"), std::nullopt);
}

TEST_P(KvConformanceTest, ReadSeesSnapshotAtReadVersionNotLaterCommits) {
  Put("k", "old");
  auto reader = Txn();
  ASSERT_OK(reader->Get("other"));  // fixes the read version
  Put("k", "new");
  auto v = reader->Get("k");
  ASSERT_OK(v);
  EXPECT_EQ(*v, "old");
  auto r = reader->GetRange("", "\xff");
  ASSERT_OK(r);
  ASSERT_EQ(r->rows.size(), 1u);
  EXPECT_EQ(r->rows[0].value, "old");
}

TEST_P(KvConformanceTest, GetReadVersionIsStableAndAtLeastLastCommit) {
  Version committed = Put("k", "v");
  auto t = Txn();
  auto rv1 = t->GetReadVersion();
  ASSERT_OK(rv1);
  EXPECT_GE(*rv1, committed);
  Put("k2", "v2");
  auto rv2 = t->GetReadVersion();
  ASSERT_OK(rv2);
  EXPECT_EQ(*rv1, *rv2);
}

TEST_P(KvConformanceTest, SetReadVersionReadsAnOlderSnapshot) {
  Version v1 = Put("k", "one");
  Put("k", "two");
  auto t = Txn();
  t->SetReadVersion(v1);
  auto rv = t->GetReadVersion();
  ASSERT_OK(rv);
  EXPECT_EQ(*rv, v1);
  auto v = t->Get("k");
  ASSERT_OK(v);
  EXPECT_EQ(*v, "one");
}

TEST_P(KvConformanceTest, CommittedVersionsStrictlyIncrease) {
  Version prev = -1;
  for (int i = 0; i < 5; ++i) {
    Version v = Put("k", std::to_string(i));
    EXPECT_GT(v, prev) << "commit " << i;
    EXPECT_GE(v, 0);
    prev = v;
  }
}

TEST_P(KvConformanceTest, ReadOnlyTransactionCommitsWithVersionMinusOne) {
  Put("k", "v");
  auto t = Txn();
  ASSERT_OK(t->Get("k"));
  ASSERT_OK(t->GetRange("a", "z"));
  ASSERT_OK(t->Commit());
  EXPECT_EQ(t->GetCommittedVersion(), -1);
  EXPECT_TRUE(HasCode(t->GetVersionstamp(), ErrorCode::kNoCommitVersion));
}

TEST_P(KvConformanceTest, EmptyTransactionCommitsWithVersionMinusOne) {
  auto t = Txn();
  ASSERT_OK(t->Commit());
  EXPECT_EQ(t->GetCommittedVersion(), -1);
}

TEST_P(KvConformanceTest, GetApproximateSizeGrowsWithMutations) {
  auto t = Txn();
  int64_t initial = t->GetApproximateSize();
  EXPECT_GE(initial, 0);
  t->Set("key1", std::string(1000, 'x'));
  int64_t after_one = t->GetApproximateSize();
  EXPECT_GE(after_one - initial, 1004);
  t->Set("key2", std::string(2000, 'y'));
  int64_t after_two = t->GetApproximateSize();
  EXPECT_GE(after_two - after_one, 2004);
  t->AddReadConflictRange("a", "b");
  EXPECT_GT(t->GetApproximateSize(), after_two);
}

TEST_P(KvConformanceTest, ResetDiscardsWritesAndAllowsReuse) {
  auto t = Txn();
  t->Set("discarded", "x");
  t->Reset();
  t->Set("kept", "y");
  ASSERT_OK(t->Commit());
  EXPECT_EQ(Read("discarded"), std::nullopt);
  EXPECT_EQ(Read("kept"), "y");
}

TEST_P(KvConformanceTest, ResetAfterCommitStartsAFreshTransaction) {
  auto t = Txn();
  t->Set("k", "1");
  ASSERT_OK(t->Commit());
  Version first = t->GetCommittedVersion();
  t->Reset();
  auto v = t->Get("k");
  ASSERT_OK(v);
  EXPECT_EQ(*v, "1");
  t->Set("k", "2");
  ASSERT_OK(t->Commit());
  EXPECT_GT(t->GetCommittedVersion(), first);
  EXPECT_EQ(Read("k"), "2");
}

TEST_P(KvConformanceTest, MemoryDatabasesArePrivateToTheirObject) {
  if (GetParam() != "memory") GTEST_SKIP() << "memory:// only";
  Put("k", "v");
  auto other = Database::Open("memory://");
  ASSERT_OK(other);
  auto t = (*other)->CreateTransaction();
  auto v = t->Get("k");
  ASSERT_OK(v);
  EXPECT_EQ(*v, std::nullopt);
}

TEST_P(KvConformanceTest, DataSurvivesReopenAndVersionsKeepIncreasing) {
  if (!backend().durable) GTEST_SKIP() << "backend is not durable";
  Put("a", "1");
  {
    auto t = Txn();
    t->Set("b", "2");
    t->Set("c", "3");
    t->Clear("a");
    ASSERT_OK(t->Commit());
  }
  Version before = Put("d", "4");
  auto stamp_before = [&] {
    auto t = Txn();
    t->Set("e", "5");
    EXPECT_OK(t->Commit());
    auto vs = t->GetVersionstamp();
    EXPECT_OK(vs);
    return vs.ok() ? *vs : std::string();
  }();

  Reopen();

  std::vector<KeyValue> expected = {{"b", "2"}, {"c", "3"}, {"d", "4"}, {"e", "5"}};
  EXPECT_EQ(ReadRange("", "\xff"), expected);
  auto t = Txn();
  auto rv = t->GetReadVersion();
  ASSERT_OK(rv);
  EXPECT_GE(*rv, before);
  t->Set("f", "6");
  ASSERT_OK(t->Commit());
  EXPECT_GT(t->GetCommittedVersion(), before);
  auto vs = t->GetVersionstamp();
  ASSERT_OK(vs);
  EXPECT_GT(*vs, stamp_before) << Hex(*vs) << " vs " << Hex(stamp_before);

  // And once more, to catch a counter that is only persisted at clean shutdown of a fresh db.
  Version after = t->GetCommittedVersion();
  Reopen();
  EXPECT_GT(Put("g", "7"), after);
}

// =============================================================================================
// Database::Open

TEST_P(KvConformanceTest, OpenUnknownSchemeFailsWithConnectionStringInvalid) {
  EXPECT_TRUE(HasCode(Database::Open("bogus://"), ErrorCode::kConnectionStringInvalid));
  EXPECT_TRUE(HasCode(Database::Open("not a url"), ErrorCode::kConnectionStringInvalid));
}

TEST_P(KvConformanceTest, OpenRocksdbAtUncreatablePathFailsWithIoError) {
  if (GetParam() != "rocksdb") GTEST_SKIP() << "rocksdb only";
  EXPECT_TRUE(
      HasCode(Database::Open("rocksdb:///proc/recordstore-no-such-dir/db"), ErrorCode::kIoError));
}

// =============================================================================================
// Atomic operations (FoundationDB semantics)

TEST_P(KvConformanceTest, AtomicAddLittleEndianWithCarry) {
  EXPECT_EQ(ApplyAtomic(MutationType::kAdd, Bytes({0x01, 0x00}), Bytes({0xff, 0x00})),
            Bytes({0x00, 0x01}));
  EXPECT_EQ(ApplyAtomic(MutationType::kAdd, Bytes({0xff, 0xff, 0x00, 0x00}),
                        Bytes({0x01, 0x00, 0x00, 0x00})),
            Bytes({0x00, 0x00, 0x01, 0x00}));
  EXPECT_EQ(ApplyAtomic(MutationType::kAdd, Le64(1000), Le64(234)), Le64(1234));
}

TEST_P(KvConformanceTest, AtomicAddDropsCarryOutOfOperandLength) {
  EXPECT_EQ(ApplyAtomic(MutationType::kAdd, Bytes({0xff, 0xff}), Bytes({0x01, 0x00})),
            Bytes({0x00, 0x00}));
  // Two's complement subtraction: 5 + (-1) over 8 bytes.
  EXPECT_EQ(ApplyAtomic(MutationType::kAdd, Le64(5), Le64(~uint64_t{0})), Le64(4));
}

TEST_P(KvConformanceTest, AtomicAddTruncatesLongerExistingValue) {
  EXPECT_EQ(ApplyAtomic(MutationType::kAdd, Bytes({0x01, 0x02, 0x03}), Bytes({0x01})),
            Bytes({0x02}));
}

TEST_P(KvConformanceTest, AtomicAddZeroExtendsShorterExistingValue) {
  EXPECT_EQ(ApplyAtomic(MutationType::kAdd, Bytes({0xff}), Bytes({0x01, 0x00, 0x00})),
            Bytes({0x00, 0x01, 0x00}));
}

TEST_P(KvConformanceTest, AtomicAddOnMissingValueStoresOperand) {
  EXPECT_EQ(ApplyAtomic(MutationType::kAdd, std::nullopt, Bytes({0x05, 0x00})),
            Bytes({0x05, 0x00}));
}

TEST_P(KvConformanceTest, AtomicAddTwiceInOneTransactionAccumulates) {
  auto t = Txn();
  t->AtomicOp(MutationType::kAdd, "ctr", Le64(2));
  t->AtomicOp(MutationType::kAdd, "ctr", Le64(3));
  ASSERT_OK(t->Commit());
  EXPECT_EQ(Read("ctr"), Le64(5));
}

TEST_P(KvConformanceTest, AtomicBitAndUsesOperandLength) {
  EXPECT_EQ(ApplyAtomic(MutationType::kBitAnd, Bytes({0xff, 0x0f}), Bytes({0x0f, 0xff})),
            Bytes({0x0f, 0x0f}));
  // Shorter existing value is zero-extended.
  EXPECT_EQ(ApplyAtomic(MutationType::kBitAnd, Bytes({0xff}), Bytes({0xff, 0xff})),
            Bytes({0xff, 0x00}));
  // Longer existing value is truncated.
  EXPECT_EQ(ApplyAtomic(MutationType::kBitAnd, Bytes({0x3c, 0xff, 0xff}), Bytes({0x0f})),
            Bytes({0x0c}));
}

TEST_P(KvConformanceTest, AtomicBitAndOnMissingValueStoresOperand) {
  EXPECT_EQ(ApplyAtomic(MutationType::kBitAnd, std::nullopt, Bytes({0x12, 0x34})),
            Bytes({0x12, 0x34}));
}

TEST_P(KvConformanceTest, AtomicBitOr) {
  EXPECT_EQ(ApplyAtomic(MutationType::kBitOr, Bytes({0x01, 0x02}), Bytes({0x10, 0x20})),
            Bytes({0x11, 0x22}));
  EXPECT_EQ(ApplyAtomic(MutationType::kBitOr, Bytes({0x01}), Bytes({0x10, 0x20})),
            Bytes({0x11, 0x20}));
  EXPECT_EQ(ApplyAtomic(MutationType::kBitOr, Bytes({0x01, 0x02, 0x04}), Bytes({0x10})),
            Bytes({0x11}));
  EXPECT_EQ(ApplyAtomic(MutationType::kBitOr, std::nullopt, Bytes({0x10, 0x20})),
            Bytes({0x10, 0x20}));
}

TEST_P(KvConformanceTest, AtomicBitXor) {
  EXPECT_EQ(ApplyAtomic(MutationType::kBitXor, Bytes({0xff, 0x00}), Bytes({0x0f, 0x0f})),
            Bytes({0xf0, 0x0f}));
  EXPECT_EQ(ApplyAtomic(MutationType::kBitXor, Bytes({0xff}), Bytes({0x0f, 0x0f})),
            Bytes({0xf0, 0x0f}));
  EXPECT_EQ(ApplyAtomic(MutationType::kBitXor, Bytes({0xff, 0xff, 0xff}), Bytes({0x0f})),
            Bytes({0xf0}));
  EXPECT_EQ(ApplyAtomic(MutationType::kBitXor, std::nullopt, Bytes({0x0f, 0x0f})),
            Bytes({0x0f, 0x0f}));
}

TEST_P(KvConformanceTest, AtomicMaxComparesLittleEndianUnsigned) {
  // 0x0100 = 256 vs 0x00ff = 255: lexicographic order would pick the operand.
  EXPECT_EQ(ApplyAtomic(MutationType::kMax, Bytes({0x00, 0x01}), Bytes({0xff, 0x00})),
            Bytes({0x00, 0x01}));
  EXPECT_EQ(ApplyAtomic(MutationType::kMax, Bytes({0xff, 0x00}), Bytes({0x00, 0x01})),
            Bytes({0x00, 0x01}));
  // Unsigned: 0xff..ff beats 1.
  EXPECT_EQ(ApplyAtomic(MutationType::kMax, Le64(1), Le64(~uint64_t{0})), Le64(~uint64_t{0}));
}

TEST_P(KvConformanceTest, AtomicMinComparesLittleEndianUnsigned) {
  EXPECT_EQ(ApplyAtomic(MutationType::kMin, Bytes({0x00, 0x01}), Bytes({0xff, 0x00})),
            Bytes({0xff, 0x00}));
  EXPECT_EQ(ApplyAtomic(MutationType::kMin, Bytes({0xff, 0x00}), Bytes({0x00, 0x01})),
            Bytes({0xff, 0x00}));
  EXPECT_EQ(ApplyAtomic(MutationType::kMin, Le64(1), Le64(~uint64_t{0})), Le64(1));
}

TEST_P(KvConformanceTest, AtomicMaxMinWithDifferingLengthsUseOperandLength) {
  // Existing 4 bytes truncated to 2: 0x0001 = 1 < 2.
  EXPECT_EQ(ApplyAtomic(MutationType::kMax, Bytes({0x01, 0x00, 0x00, 0x01}), Bytes({0x02, 0x00})),
            Bytes({0x02, 0x00}));
  EXPECT_EQ(ApplyAtomic(MutationType::kMin, Bytes({0x01, 0x00, 0x00, 0x01}), Bytes({0x02, 0x00})),
            Bytes({0x01, 0x00}));
  // Existing 1 byte zero-extended to 2: 5 vs 3.
  EXPECT_EQ(ApplyAtomic(MutationType::kMax, Bytes({0x05}), Bytes({0x03, 0x00})),
            Bytes({0x05, 0x00}));
  EXPECT_EQ(ApplyAtomic(MutationType::kMin, Bytes({0x05}), Bytes({0x03, 0x00})),
            Bytes({0x03, 0x00}));
}

TEST_P(KvConformanceTest, AtomicMaxMinOnMissingValueStoreOperand) {
  EXPECT_EQ(ApplyAtomic(MutationType::kMax, std::nullopt, Bytes({0x07, 0x00})),
            Bytes({0x07, 0x00}));
  EXPECT_EQ(ApplyAtomic(MutationType::kMin, std::nullopt, Bytes({0x07, 0x00})),
            Bytes({0x07, 0x00}));
}

TEST_P(KvConformanceTest, AtomicByteMaxByteMinCompareLexicographically) {
  EXPECT_EQ(ApplyAtomic(MutationType::kByteMax, std::string("abc"), "abd"), "abd");
  EXPECT_EQ(ApplyAtomic(MutationType::kByteMax, std::string("abd"), "abc"), "abd");
  EXPECT_EQ(ApplyAtomic(MutationType::kByteMin, std::string("abc"), "abd"), "abc");
  EXPECT_EQ(ApplyAtomic(MutationType::kByteMin, std::string("abd"), "abc"), "abc");
  // A prefix is smaller; lengths are not normalized.
  EXPECT_EQ(ApplyAtomic(MutationType::kByteMax, std::string("ab"), "abc"), "abc");
  EXPECT_EQ(ApplyAtomic(MutationType::kByteMin, std::string("ab"), "abc"), "ab");
  EXPECT_EQ(ApplyAtomic(MutationType::kByteMax, std::string("b"), "abc"), "b");
  // Unsigned bytes: 0x80 > 0x7f.
  EXPECT_EQ(ApplyAtomic(MutationType::kByteMax, Bytes({0x7f}), Bytes({0x80})), Bytes({0x80}));
  EXPECT_EQ(ApplyAtomic(MutationType::kByteMin, Bytes({0x7f}), Bytes({0x80})), Bytes({0x7f}));
}

TEST_P(KvConformanceTest, AtomicByteMaxByteMinOnMissingValueStoreOperand) {
  EXPECT_EQ(ApplyAtomic(MutationType::kByteMax, std::nullopt, "xyz"), "xyz");
  EXPECT_EQ(ApplyAtomic(MutationType::kByteMin, std::nullopt, "xyz"), "xyz");
}

TEST_P(KvConformanceTest, CompareAndClearClearsOnlyWhenEqual) {
  EXPECT_EQ(ApplyAtomic(MutationType::kCompareAndClear, std::string("same"), "same"), std::nullopt);
  EXPECT_EQ(ApplyAtomic(MutationType::kCompareAndClear, std::string("mine"), "other"), "mine");
  EXPECT_EQ(ApplyAtomic(MutationType::kCompareAndClear, std::string("same"), "sam"), "same");
  EXPECT_EQ(ApplyAtomic(MutationType::kCompareAndClear, std::nullopt, "x"), std::nullopt);
}

TEST_P(KvConformanceTest, AppendIfFitsAppends) {
  EXPECT_EQ(ApplyAtomic(MutationType::kAppendIfFits, std::string("abc"), "def"), "abcdef");
  EXPECT_EQ(ApplyAtomic(MutationType::kAppendIfFits, std::nullopt, "def"), "def");
}

TEST_P(KvConformanceTest, AppendIfFitsAllowsExactlyTheValueLimit) {
  std::string base(99'999, 'a');
  auto result = ApplyAtomic(MutationType::kAppendIfFits, base, "b");
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->size(), 100'000u);
  EXPECT_EQ(*result, base + "b");
}

TEST_P(KvConformanceTest, AppendIfFitsLeavesValueUnchangedWhenItWouldOverflow) {
  std::string full(100'000, 'a');
  auto result = ApplyAtomic(MutationType::kAppendIfFits, full, "b");
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->size(), 100'000u);
  EXPECT_EQ(*result, full);

  std::string almost(99'990, 'a');
  result = ApplyAtomic(MutationType::kAppendIfFits, almost, std::string(11, 'b'));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(*result, almost);
}

TEST_P(KvConformanceTest, AtomicOpResultIsVisibleThroughReadYourWrites) {
  Put("ctr", Le64(5));
  auto t = Txn();
  t->AtomicOp(MutationType::kAdd, "ctr", Le64(3));
  auto v = t->Get("ctr");
  ASSERT_OK(v);
  EXPECT_EQ(*v, Le64(8));
  t->AtomicOp(MutationType::kMax, "ctr", Le64(100));
  v = t->Get("ctr");
  ASSERT_OK(v);
  EXPECT_EQ(*v, Le64(100));
  auto r = t->GetRange("c", "d");
  ASSERT_OK(r);
  ASSERT_EQ(r->rows.size(), 1u);
  EXPECT_EQ(r->rows[0], (KeyValue{"ctr", Le64(100)}));
  ASSERT_OK(t->Commit());
  EXPECT_EQ(Read("ctr"), Le64(100));
}

TEST_P(KvConformanceTest, AtomicOpsOnCommittedValuesSeenThroughRangeReadsInBothDirections) {
  Put("a", Le64(1));
  Put("b", Le64(5));
  Put("c", "abc");
  auto t = Txn();
  t->AtomicOp(MutationType::kAdd, "a", Le64(10));
  t->AtomicOp(MutationType::kMin, "b", Le64(3));
  t->AtomicOp(MutationType::kAppendIfFits, "c", "def");
  t->AtomicOp(MutationType::kBitOr, "d", Bytes({0x0f}));  // missing value
  std::vector<KeyValue> expected = {
      {"a", Le64(11)}, {"b", Le64(3)}, {"c", "abcdef"}, {"d", Bytes({0x0f})}};
  auto forward = t->GetRange("", "\xff");
  ASSERT_OK(forward);
  EXPECT_EQ(forward->rows, expected);
  auto reverse = t->GetRange(RE::Inclusive(""), RE::Exclusive("\xff"), {.reverse = true});
  ASSERT_OK(reverse);
  EXPECT_EQ(reverse->rows, std::vector<KeyValue>(expected.rbegin(), expected.rend()));
  ASSERT_OK(t->Commit());
  EXPECT_EQ(ReadRange("", "\xff"), expected);
}

TEST_P(KvConformanceTest, AtomicOpAfterSetAndClearInSameTransaction) {
  auto t = Txn();
  t->Set("x", Le64(10));
  t->AtomicOp(MutationType::kAdd, "x", Le64(1));
  t->Set("y", Le64(10));
  t->Clear("y");
  t->AtomicOp(MutationType::kAdd, "y", Le64(7));
  auto x = t->Get("x");
  auto y = t->Get("y");
  ASSERT_OK(x);
  ASSERT_OK(y);
  EXPECT_EQ(*x, Le64(11));
  EXPECT_EQ(*y, Le64(7));
  ASSERT_OK(t->Commit());
  EXPECT_EQ(Read("x"), Le64(11));
  EXPECT_EQ(Read("y"), Le64(7));
}

TEST_P(KvConformanceTest, CompareAndClearSeenThroughReadYourWrites) {
  Put("k", "v");
  auto t = Txn();
  t->AtomicOp(MutationType::kCompareAndClear, "k", "v");
  auto v = t->Get("k");
  ASSERT_OK(v);
  EXPECT_EQ(*v, std::nullopt);
  auto r = t->GetRange("", "\xff");
  ASSERT_OK(r);
  EXPECT_TRUE(r->rows.empty());
}

// =============================================================================================
// Versionstamps

TEST_P(KvConformanceTest, VersionstampIsTenBytesWithCommitVersionBigEndian) {
  auto t = Txn();
  t->Set("k", "v");
  ASSERT_OK(t->Commit());
  auto vs = t->GetVersionstamp();
  ASSERT_OK(vs);
  ASSERT_EQ(vs->size(), 10u);
  EXPECT_EQ(BigEndian64(*vs), t->GetCommittedVersion()) << Hex(*vs);
}

TEST_P(KvConformanceTest, VersionstampsIncreaseAcrossSequentialCommits) {
  std::string prev;
  Version prev_version = -1;
  for (int i = 0; i < 5; ++i) {
    auto t = Txn();
    t->Set("k", std::to_string(i));
    ASSERT_OK(t->Commit());
    auto vs = t->GetVersionstamp();
    ASSERT_OK(vs);
    ASSERT_EQ(vs->size(), 10u);
    EXPECT_GT(*vs, prev) << Hex(*vs) << " after " << Hex(prev);
    EXPECT_GT(t->GetCommittedVersion(), prev_version);
    EXPECT_EQ(BigEndian64(*vs), t->GetCommittedVersion());
    prev = *vs;
    prev_version = t->GetCommittedVersion();
  }
}

TEST_P(KvConformanceTest, GetVersionstampBeforeCommitFailsWithNoCommitVersion) {
  auto t = Txn();
  t->Set("k", "v");
  EXPECT_TRUE(HasCode(t->GetVersionstamp(), ErrorCode::kNoCommitVersion));
}

TEST_P(KvConformanceTest, GetVersionstampAfterFailedCommitFailsWithNoCommitVersion) {
  Put("k", "0");
  auto t = Txn();
  ASSERT_OK(t->Get("k"));
  Put("k", "1");
  t->Set("k", "2");
  EXPECT_TRUE(HasCode(t->Commit(), ErrorCode::kNotCommitted));
  EXPECT_TRUE(HasCode(t->GetVersionstamp(), ErrorCode::kNoCommitVersion));
}

TEST_P(KvConformanceTest, SetVersionstampedKeySplicesVersionstampAtOffset) {
  const std::string prefix = "vs/";
  const std::string suffix = "/tail";
  const std::string placeholder(10, '\0');
  auto t = Txn();
  t->AtomicOp(MutationType::kSetVersionstampedKey,
              prefix + placeholder + suffix + Le32(static_cast<uint32_t>(prefix.size())),
              "payload");
  ASSERT_OK(t->Commit());
  auto vs = t->GetVersionstamp();
  ASSERT_OK(vs);
  ASSERT_EQ(vs->size(), 10u);
  auto rows = ReadRange("vs/", "vs0");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(Hex(rows[0].key), Hex(prefix + *vs + suffix));
  EXPECT_EQ(rows[0].value, "payload");
}

TEST_P(KvConformanceTest, SetVersionstampedKeyAtOffsetZeroAndAtEnd) {
  auto t = Txn();
  // Offset 0: the stamp is the whole key.
  t->AtomicOp(MutationType::kSetVersionstampedKey, std::string(10, '\0') + Le32(0), "whole");
  // Stamp at the very end of the key.
  t->AtomicOp(MutationType::kSetVersionstampedKey, "end/" + std::string(10, '\0') + Le32(4), "end");
  ASSERT_OK(t->Commit());
  auto vs = t->GetVersionstamp();
  ASSERT_OK(vs);
  EXPECT_EQ(Read(*vs), "whole");
  EXPECT_EQ(Read("end/" + *vs), "end");
}

TEST_P(KvConformanceTest, SetVersionstampedValueSplicesVersionstampAtOffset) {
  auto t = Txn();
  t->AtomicOp(MutationType::kSetVersionstampedValue, "vv",
              "pre" + std::string(10, '\0') + "post" + Le32(3));
  ASSERT_OK(t->Commit());
  auto vs = t->GetVersionstamp();
  ASSERT_OK(vs);
  auto v = Read("vv");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(Hex(*v), Hex("pre" + *vs + "post"));
}

TEST_P(KvConformanceTest, VersionstampedOpsInOneTransactionShareOneStamp) {
  auto t = Txn();
  t->AtomicOp(MutationType::kSetVersionstampedKey, "k/" + std::string(10, '\0') + Le32(2), "");
  t->AtomicOp(MutationType::kSetVersionstampedValue, "v1", std::string(10, '\0') + Le32(0));
  t->AtomicOp(MutationType::kSetVersionstampedValue, "v2", std::string(10, '\0') + Le32(0));
  ASSERT_OK(t->Commit());
  auto vs = t->GetVersionstamp();
  ASSERT_OK(vs);
  EXPECT_EQ(Read("k/" + *vs), "");
  EXPECT_EQ(Read("v1"), *vs);
  EXPECT_EQ(Read("v2"), *vs);
}

TEST_P(KvConformanceTest, ReadingAVersionstampedValueInItsTransactionFailsWithAccessedUnreadable) {
  auto t = Txn();
  t->AtomicOp(MutationType::kSetVersionstampedValue, "vv", std::string(10, '\0') + Le32(0));
  EXPECT_TRUE(HasCode(t->Get("vv"), ErrorCode::kAccessedUnreadable));
}

TEST_P(KvConformanceTest, SetVersionstampedKeyWithOffsetPastEndFailsCommit) {
  auto t = Txn();
  // 5 key bytes before the offset: no room for 10 stamp bytes at offset 0.
  t->AtomicOp(MutationType::kSetVersionstampedKey, "short" + Le32(0), "x");
  EXPECT_TRUE(HasCode(t->Commit(), ErrorCode::kClientInvalidOperation));
  EXPECT_TRUE(ReadRange("", "\xff").empty());
}

TEST_P(KvConformanceTest, SetVersionstampedKeyWithOffsetOverlappingOffsetBytesFailsCommit) {
  auto t = Txn();
  // 12 bytes before the offset; offset 3 needs bytes 3..12, one past the end.
  t->AtomicOp(MutationType::kSetVersionstampedKey, std::string(12, 'k') + Le32(3), "x");
  EXPECT_TRUE(HasCode(t->Commit(), ErrorCode::kClientInvalidOperation));
}

TEST_P(KvConformanceTest, SetVersionstampedKeyShorterThanOffsetFailsCommit) {
  auto t = Txn();
  t->AtomicOp(MutationType::kSetVersionstampedKey, "ab", "x");
  EXPECT_TRUE(HasCode(t->Commit(), ErrorCode::kClientInvalidOperation));
}

TEST_P(KvConformanceTest, SetVersionstampedValueWithBadOffsetFailsCommit) {
  auto t = Txn();
  t->AtomicOp(MutationType::kSetVersionstampedValue, "k", "tiny" + Le32(0));
  EXPECT_TRUE(HasCode(t->Commit(), ErrorCode::kClientInvalidOperation));
  auto t2 = Txn();
  t2->AtomicOp(MutationType::kSetVersionstampedValue, "k", std::string(10, '\0') + Le32(1));
  EXPECT_TRUE(HasCode(t2->Commit(), ErrorCode::kClientInvalidOperation));
  EXPECT_EQ(Read("k"), std::nullopt);
}

// =============================================================================================
// Range reads

TEST_P(KvConformanceTest, RangeOverEverythingReturnsAllRowsInOrder) {
  FillAtoE();
  auto r = Range(RE::Inclusive(""), RE::Exclusive("\xff"));
  EXPECT_EQ(Keys(r), (Strings{"a", "b", "c", "d", "e"}));
  EXPECT_FALSE(r.more);
  EXPECT_EQ(r.rows[2].value, "vc");
}

TEST_P(KvConformanceTest, EmptyRangeReturnsNothing) {
  FillAtoE();
  auto r = Range(RE::Inclusive("c0"), RE::Exclusive("c9"));
  EXPECT_TRUE(r.rows.empty());
  EXPECT_FALSE(r.more);
  auto empty_db_range = Range(RE::Inclusive("x"), RE::Exclusive("z"));
  EXPECT_TRUE(empty_db_range.rows.empty());
}

TEST_P(KvConformanceTest, InvertedRangeReturnsNothing) {
  FillAtoE();
  auto r = Range(RE::Inclusive("d"), RE::Exclusive("b"));
  EXPECT_TRUE(r.rows.empty()) << r.rows.size();
  EXPECT_FALSE(r.more);
  auto reverse = Range(RE::Inclusive("d"), RE::Inclusive("b"), {.reverse = true});
  EXPECT_TRUE(reverse.rows.empty());
  auto t = Txn();
  auto shorthand = t->GetRange("e", "a");
  ASSERT_OK(shorthand);
  EXPECT_TRUE(shorthand->rows.empty());
}

TEST_P(KvConformanceTest, BeginEqualsEndReturnsTheKeyOnlyWhenBothInclusive) {
  FillAtoE();
  EXPECT_EQ(Keys(Range(RE::Inclusive("c"), RE::Inclusive("c"))), (Strings{"c"}));
  EXPECT_TRUE(Range(RE::Inclusive("c"), RE::Exclusive("c")).rows.empty());
  EXPECT_TRUE(Range(RE::Exclusive("c"), RE::Inclusive("c")).rows.empty());
  EXPECT_TRUE(Range(RE::Exclusive("c"), RE::Exclusive("c")).rows.empty());
  EXPECT_EQ(Keys(Range(RE::Inclusive("c"), RE::Inclusive("c"), {.reverse = true})), (Strings{"c"}));
}

TEST_P(KvConformanceTest, EndpointInclusivityInEveryCombination) {
  FillAtoE();
  EXPECT_EQ(Keys(Range(RE::Inclusive("b"), RE::Inclusive("d"))), (Strings{"b", "c", "d"}));
  EXPECT_EQ(Keys(Range(RE::Inclusive("b"), RE::Exclusive("d"))), (Strings{"b", "c"}));
  EXPECT_EQ(Keys(Range(RE::Exclusive("b"), RE::Inclusive("d"))), (Strings{"c", "d"}));
  EXPECT_EQ(Keys(Range(RE::Exclusive("b"), RE::Exclusive("d"))), (Strings{"c"}));
  // Reverse: same sets, descending.
  RangeOptions rev{.reverse = true};
  EXPECT_EQ(Keys(Range(RE::Inclusive("b"), RE::Inclusive("d"), rev)), (Strings{"d", "c", "b"}));
  EXPECT_EQ(Keys(Range(RE::Inclusive("b"), RE::Exclusive("d"), rev)), (Strings{"c", "b"}));
  EXPECT_EQ(Keys(Range(RE::Exclusive("b"), RE::Inclusive("d"), rev)), (Strings{"d", "c"}));
  EXPECT_EQ(Keys(Range(RE::Exclusive("b"), RE::Exclusive("d"), rev)), (Strings{"c"}));
  // Endpoints that are not keys: inclusivity makes no difference.
  EXPECT_EQ(Keys(Range(RE::Exclusive("bb"), RE::Inclusive("dd"))), (Strings{"c", "d"}));
  EXPECT_EQ(Keys(Range(RE::Inclusive("bb"), RE::Exclusive("dd"))), (Strings{"c", "d"}));
  // Exclusive begin excludes only that key, not its extensions.
  Put("b\x01", "x");
  EXPECT_EQ(Keys(Range(RE::Exclusive("b"), RE::Exclusive("c"))), (Strings{"b\x01"}));
}

TEST_P(KvConformanceTest, LimitStopsAndSetsMore) {
  FillAtoE();
  auto r = Range(RE::Inclusive("a"), RE::Inclusive("e"), {.limit = 2});
  EXPECT_EQ(Keys(r), (Strings{"a", "b"}));
  EXPECT_TRUE(r.more);
}

TEST_P(KvConformanceTest, MoreIsFalseWhenLimitEqualsRowCount) {
  FillAtoE();
  auto r = Range(RE::Inclusive("a"), RE::Inclusive("e"), {.limit = 5});
  EXPECT_EQ(Keys(r), (Strings{"a", "b", "c", "d", "e"}));
  EXPECT_FALSE(r.more) << "more must be exact: no row is left in the range";
  auto r2 = Range(RE::Inclusive("a"), RE::Inclusive("e"), {.limit = 5, .reverse = true});
  EXPECT_EQ(Keys(r2), (Strings{"e", "d", "c", "b", "a"}));
  EXPECT_FALSE(r2.more);
}

TEST_P(KvConformanceTest, MoreIsFalseWhenLimitExceedsRowCount) {
  FillAtoE();
  auto r = Range(RE::Inclusive("b"), RE::Exclusive("e"), {.limit = 10});
  EXPECT_EQ(Keys(r), (Strings{"b", "c", "d"}));
  EXPECT_FALSE(r.more);
}

TEST_P(KvConformanceTest, ReverseWithLimitCountsFromTheEnd) {
  FillAtoE();
  auto r = Range(RE::Inclusive("a"), RE::Inclusive("e"), {.limit = 2, .reverse = true});
  EXPECT_EQ(Keys(r), (Strings{"e", "d"}));
  EXPECT_TRUE(r.more);
  auto r2 = Range(RE::Inclusive("a"), RE::Exclusive("e"), {.limit = 2, .reverse = true});
  EXPECT_EQ(Keys(r2), (Strings{"d", "c"}));
  EXPECT_TRUE(r2.more);
}

TEST_P(KvConformanceTest, ContinuingFromLastKeyReadsEveryRowOnce) {
  FillAtoE();
  Strings all;
  RE begin = RE::Inclusive("");
  for (int page = 0; page < 10; ++page) {
    auto r = Range(begin, RE::Exclusive("\xff"), {.limit = 2});
    for (auto& kv : r.rows) all.push_back(kv.key);
    if (!r.more) break;
    begin = RE::Exclusive(r.rows.back().key);
  }
  EXPECT_EQ(all, (Strings{"a", "b", "c", "d", "e"}));

  Strings reverse_all;
  RE end = RE::Exclusive("\xff");
  for (int page = 0; page < 10; ++page) {
    auto r = Range(RE::Inclusive(""), end, {.limit = 2, .reverse = true});
    for (auto& kv : r.rows) reverse_all.push_back(kv.key);
    if (!r.more) break;
    end = RE::Exclusive(r.rows.back().key);
  }
  EXPECT_EQ(reverse_all, (Strings{"e", "d", "c", "b", "a"}));
}

TEST_P(KvConformanceTest, TargetBytesStopsAfterTheRowThatReachesIt) {
  FillAtoE();  // each row is 3 bytes
  auto r = Range(RE::Inclusive("a"), RE::Inclusive("e"), {.target_bytes = 4});
  EXPECT_EQ(Keys(r), (Strings{"a", "b"}));
  EXPECT_TRUE(r.more);
  auto exact = Range(RE::Inclusive("a"), RE::Inclusive("e"), {.target_bytes = 3});
  EXPECT_EQ(Keys(exact), (Strings{"a"}));
  EXPECT_TRUE(exact.more);
  auto one = Range(RE::Inclusive("a"), RE::Inclusive("e"), {.target_bytes = 1});
  EXPECT_EQ(Keys(one), (Strings{"a"})) << "at least one row is returned";
  EXPECT_TRUE(one.more);
  auto reverse =
      Range(RE::Inclusive("a"), RE::Inclusive("e"), {.reverse = true, .target_bytes = 7});
  EXPECT_EQ(Keys(reverse), (Strings{"e", "d", "c"}));
  EXPECT_TRUE(reverse.more);
}

TEST_P(KvConformanceTest, TargetBytesCoveringTheWholeRangeReportsNoMore) {
  FillAtoE();
  auto all = Range(RE::Inclusive("a"), RE::Inclusive("e"), {.target_bytes = 1000});
  EXPECT_EQ(all.rows.size(), 5u);
  EXPECT_FALSE(all.more);
  auto exactly = Range(RE::Inclusive("a"), RE::Inclusive("e"), {.target_bytes = 15});
  EXPECT_EQ(exactly.rows.size(), 5u);
  EXPECT_FALSE(exactly.more) << "the target is reached on the last row of the range";
}

TEST_P(KvConformanceTest, LimitAndTargetBytesWhicheverComesFirst) {
  FillAtoE();
  auto by_limit = Range(RE::Inclusive("a"), RE::Inclusive("e"), {.limit = 1, .target_bytes = 9});
  EXPECT_EQ(Keys(by_limit), (Strings{"a"}));
  EXPECT_TRUE(by_limit.more);
  auto by_bytes = Range(RE::Inclusive("a"), RE::Inclusive("e"), {.limit = 4, .target_bytes = 6});
  EXPECT_EQ(Keys(by_bytes), (Strings{"a", "b"}));
  EXPECT_TRUE(by_bytes.more);
}

TEST_P(KvConformanceTest, RangeEndingAtFFIsAllowed) {
  Put("\xfe", "top");
  auto r = Range(RE::Inclusive(""), RE::Exclusive("\xff"));
  EXPECT_EQ(Keys(r), (Strings{"\xfe"}));
}

// =============================================================================================
// Read-your-writes

TEST_P(KvConformanceTest, GetSeesOwnSetAndClear) {
  Put("k", "committed");
  auto t = Txn();
  t->Set("k", "mine");
  auto v = t->Get("k");
  ASSERT_OK(v);
  EXPECT_EQ(*v, "mine");
  t->Clear("k");
  v = t->Get("k");
  ASSERT_OK(v);
  EXPECT_EQ(*v, std::nullopt);
  auto snap = t->Get("k", /*snapshot=*/true);
  ASSERT_OK(snap);
  EXPECT_EQ(*snap, std::nullopt) << "snapshot reads also see own writes";
  t->Set("new", "n");
  v = t->Get("new", /*snapshot=*/true);
  ASSERT_OK(v);
  EXPECT_EQ(*v, "n");
}

TEST_P(KvConformanceTest, GetRangeMergesCommittedAndUncommittedData) {
  FillAtoE();
  auto t = Txn();
  t->Set("a", "new-a");
  t->Set("bb", "vbb");
  t->Clear("c");
  t->ClearRange("d", "f");  // clears committed d, e
  t->Set("dd", "vdd");      // re-set inside the cleared range
  t->Set("0", "v0");

  std::vector<KeyValue> expected = {
      {"0", "v0"}, {"a", "new-a"}, {"b", "vb"}, {"bb", "vbb"}, {"dd", "vdd"}};
  auto r = t->GetRange("", "\xff");
  ASSERT_OK(r);
  EXPECT_EQ(r->rows, expected);
  EXPECT_FALSE(r->more);

  auto snapshot = t->GetRange(RE::Inclusive(""), RE::Exclusive("\xff"), {.snapshot = true});
  ASSERT_OK(snapshot);
  EXPECT_EQ(snapshot->rows, expected) << "snapshot range reads also see own writes";

  auto rev = t->GetRange(RE::Inclusive(""), RE::Exclusive("\xff"), {.reverse = true});
  ASSERT_OK(rev);
  std::vector<KeyValue> expected_rev(expected.rbegin(), expected.rend());
  EXPECT_EQ(rev->rows, expected_rev);

  auto rev_limited =
      t->GetRange(RE::Inclusive(""), RE::Exclusive("\xff"), {.limit = 2, .reverse = true});
  ASSERT_OK(rev_limited);
  EXPECT_EQ(Keys(*rev_limited), (Strings{"dd", "bb"}));
  EXPECT_TRUE(rev_limited->more);

  auto limited = t->GetRange(RE::Inclusive("a"), RE::Exclusive("\xff"), {.limit = 3});
  ASSERT_OK(limited);
  EXPECT_EQ(Keys(*limited), (Strings{"a", "b", "bb"}));
  EXPECT_TRUE(limited->more);

  auto inside_clear = t->GetRange(RE::Inclusive("d"), RE::Inclusive("e"));
  ASSERT_OK(inside_clear);
  EXPECT_EQ(Keys(*inside_clear), (Strings{"dd"}));

  auto d = t->Get("d");
  ASSERT_OK(d);
  EXPECT_EQ(*d, std::nullopt);
  auto dd = t->Get("dd");
  ASSERT_OK(dd);
  EXPECT_EQ(*dd, "vdd");

  ASSERT_OK(t->Commit());
  EXPECT_EQ(ReadRange("", "\xff"), expected);
}

TEST_P(KvConformanceTest, ClearRangeThenSetInsideTheRangeKeepsTheSet) {
  FillAtoE();
  auto t = Txn();
  t->ClearRange("a", "\xff");
  t->Set("c", "again");
  auto r = t->GetRange("", "\xff");
  ASSERT_OK(r);
  EXPECT_EQ(r->rows, (std::vector<KeyValue>{{"c", "again"}}));
  ASSERT_OK(t->Commit());
  EXPECT_EQ(ReadRange("", "\xff"), (std::vector<KeyValue>{{"c", "again"}}));
}

TEST_P(KvConformanceTest, SetThenClearRangeOverItRemovesTheSet) {
  auto t = Txn();
  t->Set("m", "1");
  t->ClearRange("l", "n");
  auto v = t->Get("m");
  ASSERT_OK(v);
  EXPECT_EQ(*v, std::nullopt);
  ASSERT_OK(t->Commit());
  EXPECT_EQ(Read("m"), std::nullopt);
}

TEST_P(KvConformanceTest, ReadOfOwnWriteAddsNoReadConflict) {
  Put("k", "0");
  auto t = Txn();
  t->Set("k", "mine");
  auto v = t->Get("k");
  ASSERT_OK(v);
  EXPECT_EQ(*v, "mine");
  Put("k", "theirs");
  EXPECT_OK(t->Commit())
      << "a read answered from the transaction's own write conflicts with nothing";
  EXPECT_EQ(Read("k"), "mine");
}

// =============================================================================================
// Conflicts

TEST_P(KvConformanceTest, SerializableReadOfKeyWrittenByLaterCommitConflicts) {
  Put("k", "0");
  auto a = Txn();
  ASSERT_OK(a->Get("k"));
  Put("k", "1");
  a->Set("other", "x");
  EXPECT_TRUE(HasCode(a->Commit(), ErrorCode::kNotCommitted));
  EXPECT_EQ(Read("other"), std::nullopt);
}

TEST_P(KvConformanceTest, SerializableReadOfMissingKeyConflictsWithItsInsert) {
  auto a = Txn();
  auto v = a->Get("k");
  ASSERT_OK(v);
  ASSERT_EQ(*v, std::nullopt);
  Put("k", "1");
  a->Set("other", "x");
  EXPECT_TRUE(HasCode(a->Commit(), ErrorCode::kNotCommitted));
}

TEST_P(KvConformanceTest, SnapshotReadOfKeyWrittenByLaterCommitDoesNotConflict) {
  Put("k", "0");
  auto a = Txn();
  auto v = a->Get("k", /*snapshot=*/true);
  ASSERT_OK(v);
  EXPECT_EQ(*v, "0");
  Put("k", "1");
  a->Set("other", "x");
  EXPECT_OK(a->Commit());
  EXPECT_EQ(Read("other"), "x");
}

TEST_P(KvConformanceTest, SnapshotRangeReadDoesNotConflict) {
  auto a = Txn();
  ASSERT_OK(a->GetRange(RE::Inclusive("a"), RE::Exclusive("c"), {.snapshot = true}));
  Put("b", "1");
  a->Set("x", "1");
  EXPECT_OK(a->Commit());
}

TEST_P(KvConformanceTest, ConflictOnlyWhenWriterCommittedAfterReadVersion) {
  Put("k", "0");  // committed before a's read version
  auto a = Txn();
  ASSERT_OK(a->Get("k"));
  a->Set("other", "x");
  EXPECT_OK(a->Commit());
}

TEST_P(KvConformanceTest, PhantomInsertIntoReadRangeConflicts) {
  Put("a", "1");
  auto a = Txn();
  auto r = a->GetRange("a", "c");
  ASSERT_OK(r);
  EXPECT_EQ(r->rows.size(), 1u);
  Put("b", "phantom");
  a->Set("x", "1");
  EXPECT_TRUE(HasCode(a->Commit(), ErrorCode::kNotCommitted));
}

TEST_P(KvConformanceTest, InsertOutsideReadRangeDoesNotConflict) {
  Put("a", "1");
  auto a = Txn();
  ASSERT_OK(a->GetRange("a", "c"));
  Put("c", "at the exclusive end");
  Put("0", "before the range");
  a->Set("x", "1");
  EXPECT_OK(a->Commit());
}

TEST_P(KvConformanceTest, DeleteInsideReadRangeConflicts) {
  FillAtoE();
  auto a = Txn();
  ASSERT_OK(a->GetRange("b", "d"));
  {
    auto t = Txn();
    t->Clear("c");
    ASSERT_OK(t->Commit());
  }
  a->Set("x", "1");
  EXPECT_TRUE(HasCode(a->Commit(), ErrorCode::kNotCommitted));
}

TEST_P(KvConformanceTest, ClearRangeOverReadKeyConflicts) {
  Put("k", "0");
  auto a = Txn();
  ASSERT_OK(a->Get("k"));
  {
    auto t = Txn();
    t->ClearRange("j", "l");
    ASSERT_OK(t->Commit());
  }
  a->Set("x", "1");
  EXPECT_TRUE(HasCode(a->Commit(), ErrorCode::kNotCommitted));
}

TEST_P(KvConformanceTest, AtomicOpOnReadKeyConflicts) {
  Put("k", Le64(0));
  auto a = Txn();
  ASSERT_OK(a->Get("k"));
  {
    auto t = Txn();
    t->AtomicOp(MutationType::kAdd, "k", Le64(1));
    ASSERT_OK(t->Commit());
  }
  a->Set("x", "1");
  EXPECT_TRUE(HasCode(a->Commit(), ErrorCode::kNotCommitted));
}

TEST_P(KvConformanceTest, LimitedRangeReadConflictsOnlyUpToLastReturnedRow) {
  Put("a", "1");
  Put("b", "2");
  auto a = Txn();
  auto r = a->GetRange(RE::Inclusive("a"), RE::Exclusive("z"), {.limit = 1});
  ASSERT_OK(r);
  ASSERT_EQ(Keys(*r), (Strings{"a"}));
  EXPECT_TRUE(r->more);
  Put("y", "beyond what the read observed");
  a->Set("x", "1");
  EXPECT_OK(a->Commit());
}

TEST_P(KvConformanceTest, LimitedRangeReadConflictsWithInsertBeforeLastReturnedRow) {
  Put("a", "1");
  Put("c", "3");
  auto a = Txn();
  auto r = a->GetRange(RE::Inclusive("a"), RE::Exclusive("z"), {.limit = 2});
  ASSERT_OK(r);
  ASSERT_EQ(Keys(*r), (Strings{"a", "c"}));
  Put("b", "inside what the read observed");
  a->Set("x", "1");
  EXPECT_TRUE(HasCode(a->Commit(), ErrorCode::kNotCommitted));
}

TEST_P(KvConformanceTest, ReverseLimitedRangeReadConflictsOnlyFromLastReturnedRowToEnd) {
  Put("a", "1");
  Put("b", "2");
  {
    auto a = Txn();
    auto r = a->GetRange(RE::Inclusive("a"), RE::Exclusive("z"), {.limit = 1, .reverse = true});
    ASSERT_OK(r);
    ASSERT_EQ(Keys(*r), (Strings{"b"}));
    Put("a0", "below the last returned row");
    a->Set("x", "1");
    EXPECT_OK(a->Commit());
  }
  {
    auto a = Txn();
    auto r = a->GetRange(RE::Inclusive("a"), RE::Exclusive("z"), {.limit = 1, .reverse = true});
    ASSERT_OK(r);
    ASSERT_EQ(Keys(*r), (Strings{"x"}));
    Put("y", "between the last returned row and the end");
    a->Set("q", "1");
    EXPECT_TRUE(HasCode(a->Commit(), ErrorCode::kNotCommitted));
  }
}

TEST_P(KvConformanceTest, ExplicitReadConflictRangeConflicts) {
  auto a = Txn();
  ASSERT_OK(a->GetReadVersion());
  a->AddReadConflictRange("m", "p");
  Put("n", "1");
  a->Set("x", "1");
  EXPECT_TRUE(HasCode(a->Commit(), ErrorCode::kNotCommitted));
}

TEST_P(KvConformanceTest, ExplicitReadConflictRangeIsHalfOpen) {
  auto a = Txn();
  ASSERT_OK(a->GetReadVersion());
  a->AddReadConflictRange("m", "p");
  Put("p", "1");
  a->Set("x", "1");
  EXPECT_OK(a->Commit());
}

TEST_P(KvConformanceTest, ExplicitReadConflictKeyCoversOnlyThatKey) {
  {
    auto a = Txn();
    ASSERT_OK(a->GetReadVersion());
    a->AddReadConflictKey("q");
    Put("q", "1");
    a->Set("x", "1");
    EXPECT_TRUE(HasCode(a->Commit(), ErrorCode::kNotCommitted));
  }
  {
    auto a = Txn();
    ASSERT_OK(a->GetReadVersion());
    a->AddReadConflictKey("q");
    Put(std::string("q\0", 2), "next key");
    a->Set("x", "1");
    EXPECT_OK(a->Commit());
  }
}

TEST_P(KvConformanceTest, ExplicitWriteConflictRangeMakesReadersConflict) {
  auto reader = Txn();
  ASSERT_OK(reader->Get("w"));
  auto writer = Txn();
  writer->AddWriteConflictRange("v", "x");
  ASSERT_OK(writer->Commit()) << "a transaction with only a write conflict range commits";
  reader->Set("y", "1");
  EXPECT_TRUE(HasCode(reader->Commit(), ErrorCode::kNotCommitted));
  EXPECT_EQ(Read("w"), std::nullopt) << "a write conflict range writes no data";
}

TEST_P(KvConformanceTest, ExplicitWriteConflictKeyMakesReadersConflict) {
  auto reader = Txn();
  ASSERT_OK(reader->Get("w"));
  auto writer = Txn();
  writer->AddWriteConflictKey("w");
  writer->Set("unrelated", "1");
  ASSERT_OK(writer->Commit());
  reader->Set("y", "1");
  EXPECT_TRUE(HasCode(reader->Commit(), ErrorCode::kNotCommitted));
}

TEST_P(KvConformanceTest, BlindWritesNeverConflict) {
  auto a = Txn();
  auto b = Txn();
  a->Set("k", "a");
  a->AtomicOp(MutationType::kAdd, "ctr", Le64(1));
  b->Set("k", "b");
  b->AtomicOp(MutationType::kAdd, "ctr", Le64(1));
  ASSERT_OK(b->Commit());
  ASSERT_OK(a->Commit());
  EXPECT_EQ(Read("k"), "a") << "the later commit wins";
  EXPECT_EQ(Read("ctr"), Le64(2));
}

TEST_P(KvConformanceTest, ReadOnlyTransactionNeverConflicts) {
  auto a = Txn();
  ASSERT_OK(a->Get("k"));
  Put("k", "1");
  EXPECT_OK(a->Commit());
  EXPECT_EQ(a->GetCommittedVersion(), -1);
}

TEST_P(KvConformanceTest, OnErrorAfterConflictResetsAndRetrySucceeds) {
  Put("k", "0");
  auto a = Txn({.max_retry_delay = milliseconds(10)});
  ASSERT_OK(a->Get("k"));
  Put("k", "1");
  a->Set("k2", "x");
  Status s = a->Commit();
  ASSERT_TRUE(HasCode(s, ErrorCode::kNotCommitted));
  ASSERT_OK(a->OnError(s));
  auto v = a->Get("k");
  ASSERT_OK(v);
  EXPECT_EQ(*v, "1") << "after OnError the transaction reads at a new read version";
  EXPECT_OK(a->Commit());
  EXPECT_EQ(Read("k2"), std::nullopt) << "OnError discarded the first attempt's writes";
}

// =============================================================================================
// Metadata version (FDB's \xff/metadataVersion)

// Bumps the metadata version in its own transaction; returns that transaction's versionstamp.
std::string Bump(Database& db) {
  auto t = db.CreateTransaction();
  t->BumpMetadataVersion();
  EXPECT_OK(t->Commit());
  auto vs = t->GetVersionstamp();
  EXPECT_OK(vs);
  return vs.ok() ? *vs : std::string();
}

std::optional<std::string> MetadataVersion(Database& db) {
  auto t = db.CreateTransaction();
  auto v = t->GetMetadataVersion();
  EXPECT_OK(v);
  return v.ok() ? *v : std::nullopt;
}

TEST_P(KvConformanceTest, MetadataVersionIsAbsentUntilTheFirstBump) {
  Put("k", "v");
  EXPECT_EQ(MetadataVersion(*db_), std::nullopt);
}

TEST_P(KvConformanceTest, MetadataVersionIsTheLastBumpersVersionstampAndIncreases) {
  const std::string first = Bump(*db_);
  EXPECT_EQ(MetadataVersion(*db_), first);
  Put("k", "v");  // an ordinary commit leaves it alone
  EXPECT_EQ(MetadataVersion(*db_), first);
  const std::string second = Bump(*db_);
  EXPECT_GT(second, first) << Hex(second) << " vs " << Hex(first);
  EXPECT_EQ(MetadataVersion(*db_), second);
}

TEST_P(KvConformanceTest, MetadataVersionIsReadAtTheReadVersion) {
  const std::string first = Bump(*db_);
  auto old_reader = Txn();
  ASSERT_OK(old_reader->GetReadVersion());
  Version before_second = *old_reader->GetReadVersion();
  const std::string second = Bump(*db_);
  auto v = old_reader->GetMetadataVersion();
  ASSERT_OK(v);
  EXPECT_EQ(*v, first);
  // An explicitly older read version too.
  auto at_old = Txn();
  at_old->SetReadVersion(before_second);
  auto old_value = at_old->GetMetadataVersion(/*snapshot=*/true);
  ASSERT_OK(old_value);
  EXPECT_EQ(*old_value, first);
  EXPECT_EQ(MetadataVersion(*db_), second);
}

TEST_P(KvConformanceTest, MetadataVersionIsUnreadableAfterABumpInTheSameTransaction) {
  Bump(*db_);
  auto t = Txn();
  ASSERT_OK(t->GetMetadataVersion());
  t->BumpMetadataVersion();
  t->BumpMetadataVersion();  // a second bump changes nothing
  EXPECT_TRUE(HasCode(t->GetMetadataVersion(), ErrorCode::kAccessedUnreadable));
  EXPECT_TRUE(HasCode(t->GetMetadataVersion(/*snapshot=*/true), ErrorCode::kAccessedUnreadable));
  ASSERT_OK(t->Commit());
  auto vs = t->GetVersionstamp();
  ASSERT_OK(vs);
  EXPECT_EQ(MetadataVersion(*db_), *vs);
  // Reset forgets the bump: readable again.
  t->Reset();
  auto v = t->GetMetadataVersion();
  ASSERT_OK(v);
  EXPECT_EQ(*v, *vs);
}

TEST_P(KvConformanceTest, MetadataVersionIsNotAUserKey) {
  Bump(*db_);
  // Invisible to user reads and clears of the whole user key space.
  EXPECT_TRUE(ReadRange("", "\xff").empty());
  auto t = Txn();
  t->ClearRange("", "\xff");
  ASSERT_OK(t->Commit());
  EXPECT_NE(MetadataVersion(*db_), std::nullopt);
  auto reader = Txn();
  EXPECT_TRUE(HasCode(reader->Get("\xff/metadataVersion"), ErrorCode::kKeyOutsideLegalRange));
}

TEST_P(KvConformanceTest, ConcurrentMetadataVersionBumpsDoNotConflict) {
  auto a = Txn();
  auto b = Txn();
  ASSERT_OK(a->Get("x"));
  ASSERT_OK(b->Get("y"));
  a->BumpMetadataVersion();
  b->BumpMetadataVersion();
  a->Set("x", "a");
  b->Set("y", "b");
  ASSERT_OK(a->Commit());
  ASSERT_OK(b->Commit());
  auto a_stamp = a->GetVersionstamp();
  auto b_stamp = b->GetVersionstamp();
  ASSERT_OK(a_stamp);
  ASSERT_OK(b_stamp);
  EXPECT_GT(*b_stamp, *a_stamp);
  EXPECT_EQ(MetadataVersion(*db_), *b_stamp);
}

TEST_P(KvConformanceTest, SerializableMetadataVersionReadConflictsWithAConcurrentBump) {
  auto reader = Txn();
  ASSERT_OK(reader->GetMetadataVersion());
  Bump(*db_);
  reader->Set("k", "v");
  EXPECT_TRUE(HasCode(reader->Commit(), ErrorCode::kNotCommitted));

  auto snapshot_reader = Txn();
  ASSERT_OK(snapshot_reader->GetMetadataVersion(/*snapshot=*/true));
  Bump(*db_);
  snapshot_reader->Set("k", "v");
  EXPECT_OK(snapshot_reader->Commit());
}

TEST_P(KvConformanceTest, MetadataVersionSurvivesReopen) {
  if (!backend().durable) GTEST_SKIP() << "backend is not durable";
  const std::string stamp = Bump(*db_);
  Put("k", "v");
  Reopen();
  EXPECT_EQ(MetadataVersion(*db_), stamp);
  const std::string next = Bump(*db_);
  EXPECT_GT(next, stamp);
  Reopen();
  EXPECT_EQ(MetadataVersion(*db_), next);
}

TEST_P(KvConformanceTest, DatabaseIdsAreUniqueAndTransactionsReportTheirs) {
  auto other = Database::Open("memory://");
  ASSERT_OK(other);
  EXPECT_NE((*other)->id(), db_->id());
  EXPECT_EQ(Txn()->database_id(), db_->id());
  const uint64_t before = db_->id();
  Reopen();
  EXPECT_NE(db_->id(), before);
}

// =============================================================================================
// Watches

TEST_P(KvConformanceTest, WatchFiresAfterAnotherTransactionChangesTheKey) {
  Put("w", "1");
  auto t = Txn();
  auto watch = t->WatchKey("w");
  ASSERT_OK(watch);
  ASSERT_OK(t->Commit());
  EXPECT_EQ((*watch)->WaitFor(milliseconds(100)), std::nullopt) << "nothing changed yet";
  Put("w", "2");
  auto result = (*watch)->WaitFor(milliseconds(5000));
  ASSERT_TRUE(result.has_value()) << "watch did not fire within 5 s";
  EXPECT_OK(*result);
}

TEST_P(KvConformanceTest, WatchOnMissingKeyFiresWhenKeyIsCreated) {
  auto t = Txn();
  auto watch = t->WatchKey("w");
  ASSERT_OK(watch);
  ASSERT_OK(t->Commit());
  Put("w", "created");
  auto result = (*watch)->WaitFor(milliseconds(5000));
  ASSERT_TRUE(result.has_value());
  EXPECT_OK(*result);
}

TEST_P(KvConformanceTest, WatchFiresWhenKeyIsCleared) {
  Put("w", "1");
  auto t = Txn();
  auto watch = t->WatchKey("w");
  ASSERT_OK(watch);
  ASSERT_OK(t->Commit());
  auto c = Txn();
  c->Clear("w");
  ASSERT_OK(c->Commit());
  auto result = (*watch)->WaitFor(milliseconds(5000));
  ASSERT_TRUE(result.has_value());
  EXPECT_OK(*result);
}

TEST_P(KvConformanceTest, WatchDoesNotFireWhenValueIsSetToTheSameValue) {
  Put("w", "same");
  auto t = Txn();
  auto watch = t->WatchKey("w");
  ASSERT_OK(watch);
  ASSERT_OK(t->Commit());
  Put("w", "same");
  EXPECT_EQ((*watch)->WaitFor(milliseconds(300)), std::nullopt);
  Put("w", "different");
  auto result = (*watch)->WaitFor(milliseconds(5000));
  ASSERT_TRUE(result.has_value());
  EXPECT_OK(*result);
}

TEST_P(KvConformanceTest, WatchSetByWritingTransactionComparesAgainstItsOwnWrite) {
  auto t = Txn();
  t->Set("w", "mine");
  auto watch = t->WatchKey("w");
  ASSERT_OK(watch);
  ASSERT_OK(t->Commit());
  EXPECT_EQ((*watch)->WaitFor(milliseconds(200)), std::nullopt)
      << "the watch starts from the value this transaction committed";
  Put("w", "theirs");
  auto result = (*watch)->WaitFor(milliseconds(5000));
  ASSERT_TRUE(result.has_value());
  EXPECT_OK(*result);
}

TEST_P(KvConformanceTest, WatchOfReadOnlyTransactionFiresIfKeyChangedSinceItsRead) {
  Put("w", "1");
  auto t = Txn();
  auto v = t->Get("w");
  ASSERT_OK(v);
  ASSERT_EQ(*v, "1");
  auto watch = t->WatchKey("w");
  ASSERT_OK(watch);
  Put("w", "2");  // after the read, before the watching transaction commits
  ASSERT_OK(t->Commit());
  auto result = (*watch)->WaitFor(milliseconds(5000));
  ASSERT_TRUE(result.has_value()) << "the value differs from what the transaction saw";
  EXPECT_OK(*result);
}

TEST_P(KvConformanceTest, WatchWaitForTimesOutWithNullopt) {
  auto t = Txn();
  auto watch = t->WatchKey("quiet");
  ASSERT_OK(watch);
  ASSERT_OK(t->Commit());
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ((*watch)->WaitFor(milliseconds(150)), std::nullopt);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(140));
  Put("unrelated", "x");
  EXPECT_EQ((*watch)->WaitFor(milliseconds(150)), std::nullopt)
      << "a change to another key does not fire the watch";
}

TEST_P(KvConformanceTest, CancelledWatchReturnsOperationCancelled) {
  auto t = Txn();
  auto watch = t->WatchKey("w");
  ASSERT_OK(watch);
  ASSERT_OK(t->Commit());
  (*watch)->Cancel();
  auto result = (*watch)->WaitFor(milliseconds(5000));
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(HasCode(*result, ErrorCode::kOperationCancelled));
  EXPECT_TRUE(HasCode((*watch)->Wait(), ErrorCode::kOperationCancelled));
}

TEST_P(KvConformanceTest, CancelWakesAPendingWait) {
  auto t = Txn();
  auto watch = t->WatchKey("w");
  ASSERT_OK(watch);
  ASSERT_OK(t->Commit());
  std::shared_ptr<Watch> w = *watch;
  Status waited;
  std::thread waiter([&] { waited = w->Wait(); });
  std::this_thread::sleep_for(milliseconds(100));
  w->Cancel();
  waiter.join();
  EXPECT_TRUE(HasCode(waited, ErrorCode::kOperationCancelled));
}

TEST_P(KvConformanceTest, WatchOfDestroyedUncommittedTransactionFails) {
  std::shared_ptr<Watch> watch;
  {
    auto t = Txn();
    auto w = t->WatchKey("w");
    ASSERT_OK(w);
    watch = *w;
  }
  auto result = watch->WaitFor(milliseconds(5000));
  ASSERT_TRUE(result.has_value()) << "the watch must complete when its transaction dies";
  EXPECT_FALSE(result->ok());
  EXPECT_TRUE(HasCode(*result, ErrorCode::kTransactionCancelled))
      << "(the contract allows 'that error (or 1025)'; got " << result->ToString() << ")";
}

TEST_P(KvConformanceTest, WatchOfConflictedTransactionFailsWithItsError) {
  Put("k", "0");
  auto t = Txn();
  ASSERT_OK(t->Get("k"));
  auto w = t->WatchKey("w");
  ASSERT_OK(w);
  Put("k", "1");
  t->Set("x", "1");
  ASSERT_TRUE(HasCode(t->Commit(), ErrorCode::kNotCommitted));
  t.reset();
  auto result = (*w)->WaitFor(milliseconds(5000));
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->ok()) << "a watch of a failed transaction must not report a change";
}

TEST_P(KvConformanceTest, TooManyWatchesFailsWith1032) {
  db_.reset();
  Open({.max_watches = 2});
  std::vector<std::shared_ptr<Watch>> watches;
  Status failure;
  for (int i = 0; i < 3 && failure.ok(); ++i) {
    auto t = Txn();
    auto w = t->WatchKey(std::string("w").append(std::to_string(i)));
    if (!w.ok()) {
      failure = w.status();
      break;
    }
    Status c = t->Commit();
    if (!c.ok()) {
      failure = c;
      break;
    }
    if (i == 2) {
      auto r = (*w)->WaitFor(milliseconds(1000));
      if (r.has_value()) failure = *r;
    }
    watches.push_back(*w);
  }
  EXPECT_TRUE(HasCode(failure, ErrorCode::kTooManyWatches))
      << "the third watch with max_watches=2 must fail (at WatchKey, Commit or Wait)";
}

// =============================================================================================
// Limits and errors

TEST_P(KvConformanceTest, KeyOfTenThousandBytesIsAccepted) {
  const std::string key(10'000, 'k');
  Put(key, "v");
  EXPECT_EQ(Read(key), "v");
}

TEST_P(KvConformanceTest, KeyOfTenThousandAndOneBytesFailsCommitWithKeyTooLarge) {
  const std::string key(10'001, 'k');
  auto t = Txn();
  t->Set(key, "v");
  t->Set("ok", "v");
  EXPECT_TRUE(HasCode(t->Commit(), ErrorCode::kKeyTooLarge));
  EXPECT_EQ(Read("ok"), std::nullopt) << "a failed commit writes nothing";
}

TEST_P(KvConformanceTest, TooLargeKeyInClearOrAtomicOpFailsCommit) {
  {
    auto t = Txn();
    t->AtomicOp(MutationType::kAdd, std::string(10'001, 'k'), Le64(1));
    EXPECT_TRUE(HasCode(t->Commit(), ErrorCode::kKeyTooLarge));
  }
}

TEST_P(KvConformanceTest, ValueOfHundredThousandBytesIsAccepted) {
  const std::string value(100'000, 'v');
  Put("k", value);
  EXPECT_EQ(Read("k"), value);
}

TEST_P(KvConformanceTest, ValueOfHundredThousandAndOneBytesFailsCommitWithValueTooLarge) {
  auto t = Txn();
  t->Set("k", std::string(100'001, 'v'));
  EXPECT_TRUE(HasCode(t->Commit(), ErrorCode::kValueTooLarge));
  EXPECT_EQ(Read("k"), std::nullopt);
}

TEST_P(KvConformanceTest, AtomicOperandOverValueLimitFailsCommitWithValueTooLarge) {
  auto t = Txn();
  t->AtomicOp(MutationType::kByteMax, "k", std::string(100'001, 'v'));
  EXPECT_TRUE(HasCode(t->Commit(), ErrorCode::kValueTooLarge));
}

TEST_P(KvConformanceTest, TransactionJustUnderTenMegabytesCommits) {
  auto t = Txn();
  const std::string value(100'000, 'v');
  for (int i = 0; i < 99; ++i) t->Set("big/" + std::to_string(1000 + i), value);
  EXPECT_LT(t->GetApproximateSize(), 10'000'000);
  ASSERT_OK(t->Commit());
  EXPECT_EQ(ReadRange("big/", "big0").size(), 99u);
}

TEST_P(KvConformanceTest, TransactionOverTenMegabytesFailsWithTransactionTooLarge) {
  auto t = Txn();
  const std::string value(100'000, 'v');
  for (int i = 0; i < 101; ++i) t->Set("big/" + std::to_string(1000 + i), value);
  EXPECT_GT(t->GetApproximateSize(), 10'000'000);
  EXPECT_TRUE(HasCode(t->Commit(), ErrorCode::kTransactionTooLarge));
  EXPECT_TRUE(ReadRange("big/", "big0").empty());
}

TEST_P(KvConformanceTest, ConflictRangesCountTowardsTheTransactionSizeLimit) {
  auto t = Txn();
  t->Set("k", "v");
  // 501 read conflict ranges of two 9,999-byte keys each: about 10.02 MB.
  for (int i = 0; i < 501; ++i) {
    std::string begin = std::to_string(100000 + i) + std::string(9'993, 'a');
    std::string end = std::to_string(100000 + i) + std::string(9'993, 'b');
    t->AddReadConflictRange(begin, end);
  }
  EXPECT_GT(t->GetApproximateSize(), 10'000'000);
  EXPECT_TRUE(HasCode(t->Commit(), ErrorCode::kTransactionTooLarge));
  EXPECT_EQ(Read("k"), std::nullopt);
}

TEST_P(KvConformanceTest, SetOfKeyAtOrAboveFFFailsWithKeyOutsideLegalRange) {
  auto t = Txn();
  t->Set("\xff", "x");
  EXPECT_TRUE(HasCode(t->Commit(), ErrorCode::kKeyOutsideLegalRange));
  auto t2 = Txn();
  t2->Set("\xff/system", "x");
  EXPECT_TRUE(HasCode(t2->Commit(), ErrorCode::kKeyOutsideLegalRange));
  auto t3 = Txn();
  t3->ClearRange("a", "\xff\x01");
  EXPECT_TRUE(HasCode(t3->Commit(), ErrorCode::kKeyOutsideLegalRange));
}

TEST_P(KvConformanceTest, GetOfKeyAtOrAboveFFFailsWithKeyOutsideLegalRange) {
  auto t = Txn();
  EXPECT_TRUE(HasCode(t->Get("\xff"), ErrorCode::kKeyOutsideLegalRange));
}

TEST_P(KvConformanceTest, ClearRangeWithBeginAfterEndFailsWithInvertedRange) {
  Put("c", "1");
  auto t = Txn();
  t->ClearRange("d", "b");
  t->Set("x", "1");
  EXPECT_TRUE(HasCode(t->Commit(), ErrorCode::kInvertedRange));
  EXPECT_EQ(Read("c"), "1");
  EXPECT_EQ(Read("x"), std::nullopt);
}

TEST_P(KvConformanceTest, ReadVersionOlderThanFiveSecondsFailsWithTransactionTooOld) {
  Put("k", "0");
  auto t = Txn({.max_retry_delay = milliseconds(10)});
  ASSERT_OK(t->Get("k"));
  std::this_thread::sleep_for(milliseconds(5200));
  auto v = t->Get("k2");
  EXPECT_TRUE(HasCode(v, ErrorCode::kTransactionTooOld));
  t->Set("k", "1");
  Status s = t->Commit();
  EXPECT_TRUE(HasCode(s, ErrorCode::kTransactionTooOld));
  EXPECT_EQ(Read("k"), "0");
  // 1007 is retryable: OnError resets and the retry succeeds.
  ASSERT_OK(t->OnError(s));
  ASSERT_OK(t->Get("k"));
  t->Set("k", "2");
  EXPECT_OK(t->Commit());
  EXPECT_EQ(Read("k"), "2");
}

TEST_P(KvConformanceTest, TimeoutOptionFailsWithTransactionTimedOut) {
  auto t = Txn({.timeout = milliseconds(100)});
  ASSERT_OK(t->Get("k"));
  std::this_thread::sleep_for(milliseconds(250));
  EXPECT_TRUE(HasCode(t->Get("k"), ErrorCode::kTransactionTimedOut));
  t->Set("k", "1");
  Status s = t->Commit();
  EXPECT_TRUE(HasCode(s, ErrorCode::kTransactionTimedOut));
  EXPECT_TRUE(HasCode(t->OnError(s), ErrorCode::kTransactionTimedOut)) << "1031 is not retryable";
  EXPECT_EQ(Read("k"), std::nullopt);
}

TEST_P(KvConformanceTest, SetOptionsTimeoutAppliesToTheTransaction) {
  auto t = Txn();
  t->SetOptions({.timeout = milliseconds(100)});
  std::this_thread::sleep_for(milliseconds(250));
  t->Set("k", "1");
  EXPECT_TRUE(HasCode(t->Commit(), ErrorCode::kTransactionTimedOut));
}

TEST_P(KvConformanceTest, TimeoutClockSpansOnErrorRetries) {
  auto t = Txn({.timeout = milliseconds(300), .max_retry_delay = milliseconds(10)});
  std::this_thread::sleep_for(milliseconds(200));
  ASSERT_OK(t->OnError(MakeError(ErrorCode::kNotCommitted)));
  std::this_thread::sleep_for(milliseconds(200));
  t->Set("k", "1");
  EXPECT_TRUE(HasCode(t->Commit(), ErrorCode::kTransactionTimedOut))
      << "the timeout counts from creation, not from the last reset";
}

TEST_P(KvConformanceTest, CancelledTransactionFailsEveryOperationWithTransactionCancelled) {
  auto t = Txn();
  t->Set("k", "1");
  t->Cancel();
  EXPECT_TRUE(HasCode(t->Get("k"), ErrorCode::kTransactionCancelled));
  EXPECT_TRUE(HasCode(t->GetRange("a", "z"), ErrorCode::kTransactionCancelled));
  t->Set("k2", "1");
  Status s = t->Commit();
  EXPECT_TRUE(HasCode(s, ErrorCode::kTransactionCancelled));
  EXPECT_TRUE(HasCode(t->OnError(s), ErrorCode::kTransactionCancelled));
  EXPECT_EQ(Read("k"), std::nullopt);
  EXPECT_EQ(Read("k2"), std::nullopt);
}

TEST_P(KvConformanceTest, OnErrorRespectsRetryLimit) {
  auto t = Txn({.retry_limit = 2, .max_retry_delay = milliseconds(5)});
  const Status conflict = MakeError(ErrorCode::kNotCommitted);
  EXPECT_OK(t->OnError(conflict));
  EXPECT_OK(t->OnError(conflict));
  EXPECT_TRUE(HasCode(t->OnError(conflict), ErrorCode::kNotCommitted))
      << "the third retry exceeds retry_limit=2";
}

TEST_P(KvConformanceTest, RetryLimitZeroMeansNoRetries) {
  auto t = Txn({.retry_limit = 0});
  EXPECT_TRUE(HasCode(t->OnError(MakeError(ErrorCode::kNotCommitted)), ErrorCode::kNotCommitted));
}

TEST_P(KvConformanceTest, OnErrorReturnsNonRetryableErrors) {
  auto t = Txn();
  EXPECT_TRUE(HasCode(t->OnError(MakeError(ErrorCode::kKeyTooLarge)), ErrorCode::kKeyTooLarge));
  auto t2 = Txn();
  EXPECT_TRUE(
      HasCode(t2->OnError(MakeError(ErrorCode::kInvertedRange)), ErrorCode::kInvertedRange));
  auto t3 = Txn();
  Status foreign = absl::InternalError("not from the table");
  Status returned = t3->OnError(foreign);
  EXPECT_FALSE(returned.ok());
}

TEST_P(KvConformanceTest, OnErrorBacksOffExponentiallyButNotBeyondMaxRetryDelay) {
  auto t = Txn({.max_retry_delay = milliseconds(50)});
  const Status conflict = MakeError(ErrorCode::kNotCommitted);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 8; ++i) ASSERT_OK(t->OnError(conflict));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, milliseconds(8 * 50 + 500)) << "backoff must be capped by max_retry_delay";
}

TEST_P(KvConformanceTest, RunRetriesAConflictAndSucceeds) {
  Put("k", "base");
  int attempts = 0;
  Status s = db_->Run(
      [&](Transaction& t) -> Status {
        ++attempts;
        ASSIGN_OR_RETURN(auto v, t.Get("k"));
        if (attempts == 1) {
          auto other = db_->CreateTransaction();
          other->Set("k", "interfering");
          RETURN_IF_ERROR(other->Commit());
        }
        t.Set("k", v.value_or("<none>") + "+run");
        return absl::OkStatus();
      },
      {.max_retry_delay = milliseconds(10)});
  EXPECT_OK(s);
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(Read("k"), "interfering+run");
}

TEST_P(KvConformanceTest, RunReturnsNonRetryableErrorFromBodyWithoutRetrying) {
  int attempts = 0;
  Status s = db_->Run([&](Transaction& t) -> Status {
    ++attempts;
    t.Set("k", "v");
    return MakeError(ErrorCode::kInvalidArgument, "body failed");
  });
  EXPECT_TRUE(HasCode(s, ErrorCode::kInvalidArgument));
  EXPECT_EQ(attempts, 1);
  EXPECT_EQ(Read("k"), std::nullopt);
}

TEST_P(KvConformanceTest, RunReturnsNonRetryableCommitError) {
  int attempts = 0;
  Status s = db_->Run([&](Transaction& t) -> Status {
    ++attempts;
    t.Set(std::string(10'001, 'k'), "v");
    return absl::OkStatus();
  });
  EXPECT_TRUE(HasCode(s, ErrorCode::kKeyTooLarge));
  EXPECT_EQ(attempts, 1);
}

TEST_P(KvConformanceTest, RunRetriesRetryableErrorFromBody) {
  int attempts = 0;
  Status s = db_->Run(
      [&](Transaction& t) -> Status {
        ++attempts;
        if (attempts < 3) return MakeError(ErrorCode::kNotCommitted);
        t.Set("k", std::to_string(attempts));
        return absl::OkStatus();
      },
      {.max_retry_delay = milliseconds(10)});
  EXPECT_OK(s);
  EXPECT_EQ(attempts, 3);
  EXPECT_EQ(Read("k"), "3");
}

TEST_P(KvConformanceTest, RunGivesUpAtRetryLimit) {
  int attempts = 0;
  Status s = db_->Run(
      [&](Transaction& t) -> Status {
        ++attempts;
        return MakeError(ErrorCode::kNotCommitted);
      },
      {.retry_limit = 3, .max_retry_delay = milliseconds(5)});
  EXPECT_TRUE(HasCode(s, ErrorCode::kNotCommitted));
  EXPECT_EQ(attempts, 4) << "one try plus retry_limit retries";
}

TEST_P(KvConformanceTest, RunStopsAtTimeoutWithTransactionTimedOut) {
  int attempts = 0;
  Status s = db_->Run(
      [&](Transaction& t) -> Status {
        ++attempts;
        std::this_thread::sleep_for(milliseconds(60));
        t.Set("k", "v");
        return MakeError(
            ErrorCode::kNotCommitted);  // retryable: Run would loop without the timeout
      },
      {.timeout = milliseconds(200), .max_retry_delay = milliseconds(10)});
  EXPECT_TRUE(HasCode(s, ErrorCode::kTransactionTimedOut));
  EXPECT_GE(attempts, 2);
  EXPECT_LE(attempts, 5);
  EXPECT_EQ(Read("k"), std::nullopt);
}

INSTANTIATE_TEST_SUITE_P(Backends, KvConformanceTest, testing::ValuesIn(BackendNames()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace recordstore::kv
