#include "store/range_set.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "recordstore/kv.h"
#include "tuple/tuple.h"

namespace recordstore::store {
namespace {

using Ranges = std::vector<RangeSet::Range>;

class RangeSetTest : public testing::Test {
 protected:
  RangeSetTest() : set_(Subspace(Tuple::Of("ranges"))) {
    auto db = kv::Database::Open("memory://");
    EXPECT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
  }

  bool Insert(std::string_view begin, std::string_view end) {
    auto txn = db_->CreateTransaction();
    StatusOr<bool> added = set_.InsertRange(*txn, begin, end);
    EXPECT_TRUE(added.ok()) << added.status();
    EXPECT_TRUE(txn->Commit().ok());
    return added.ok() && *added;
  }
  template <typename F>
  auto Read(F read) {
    auto txn = db_->CreateTransaction();
    auto result = read(*txn);
    EXPECT_TRUE(result.ok()) << result.status();
    return *std::move(result);
  }

  std::unique_ptr<kv::Database> db_;
  RangeSet set_;
};

TEST_F(RangeSetTest, InsertsFillOnlyGapsAndNeverMerge) {
  EXPECT_EQ(Read([&](kv::Transaction& t) { return set_.MissingRanges(t); }),
            (Ranges{{"", "\xff"}}));
  EXPECT_TRUE(Insert("b", "d"));
  EXPECT_TRUE(Insert("f", "h"));
  EXPECT_FALSE(Insert("b", "c"));
  EXPECT_FALSE(Insert("b", "d"));
  // Spans both ranges: fills [a, b), [d, f) and [h, i) only.
  EXPECT_TRUE(Insert("a", "i"));
  EXPECT_EQ(Read([&](kv::Transaction& t) { return set_.Ranges(t); }),
            (Ranges{{"a", "b"}, {"b", "d"}, {"d", "f"}, {"f", "h"}, {"h", "i"}}));
  EXPECT_EQ(Read([&](kv::Transaction& t) { return set_.MissingRanges(t); }),
            (Ranges{{"", "a"}, {"i", "\xff"}}));
  EXPECT_EQ(Read([&](kv::Transaction& t) { return set_.MissingRanges(t, "c", "z"); }),
            (Ranges{{"i", "z"}}));
}

TEST_F(RangeSetTest, ContainsIsHalfOpen) {
  Insert("b", "d");
  Insert(std::string("x\x00", 2), "y");
  for (auto [key, expected] :
       std::vector<std::pair<std::string, bool>>{{"", false},
                                                 {"a", false},
                                                 {"b", true},
                                                 {"c\xff", true},
                                                 {"d", false},
                                                 {"x", false},
                                                 {std::string("x\x00", 2), true},
                                                 {"y", false}}) {
    EXPECT_EQ(Read([&](kv::Transaction& t) { return set_.Contains(t, key); }), expected) << key;
  }
}

TEST_F(RangeSetTest, FirstMissingRangeStopsAtTheFirstGap) {
  Insert("", "c");
  Insert("c", "e");
  Insert("g", "\xff");
  EXPECT_EQ(Read([&](kv::Transaction& t) { return set_.FirstMissingRange(t, ""); }),
            (RangeSet::Range{"e", "g"}));
  EXPECT_EQ(Read([&](kv::Transaction& t) { return set_.FirstMissingRange(t, "f", "z"); }),
            (RangeSet::Range{"f", "g"}));
  EXPECT_EQ(Read([&](kv::Transaction& t) { return set_.FirstMissingRange(t, "g"); }), std::nullopt);
  Insert("e", "g");
  EXPECT_EQ(Read([&](kv::Transaction& t) { return set_.FirstMissingRange(t, ""); }), std::nullopt);
  auto txn = db_->CreateTransaction();
  set_.Clear(*txn);
  EXPECT_EQ(*set_.FirstMissingRange(*txn, ""), (RangeSet::Range{"", "\xff"}));
}

TEST_F(RangeSetTest, RefusesEmptyAndOutOfSpaceRanges) {
  auto txn = db_->CreateTransaction();
  EXPECT_TRUE(HasErrorCode(set_.InsertRange(*txn, "b", "b").status(), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(HasErrorCode(set_.InsertRange(*txn, "c", "b").status(), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(
      HasErrorCode(set_.InsertRange(*txn, "a", "\xff\x01").status(), ErrorCode::kInvalidArgument));
  txn->Set(Subspace(Tuple::Of("ranges")).Pack(Tuple::Of(ByteString{"q"})), "p");
  EXPECT_TRUE(HasErrorCode(set_.Contains(*txn, "r").status(), ErrorCode::kDataCorruption));
}

// A writer that saw a key outside the set and a builder that adds the range holding it
// cannot both commit.
TEST_F(RangeSetTest, AWriterThatSawAKeyMissingConflictsWithItsInsertion) {
  Insert("a", "b");
  auto writer = db_->CreateTransaction();
  EXPECT_FALSE(*set_.Contains(*writer, "m"));
  writer->Set("record m", "v");
  auto builder = db_->CreateTransaction();
  ASSERT_TRUE(set_.InsertRange(*builder, "b", "z").ok());
  ASSERT_TRUE(builder->Commit().ok());
  EXPECT_TRUE(HasErrorCode(writer->Commit(), ErrorCode::kNotCommitted));

  // A writer inside an existing range does not conflict with insertions elsewhere.
  auto inside = db_->CreateTransaction();
  EXPECT_TRUE(*set_.Contains(*inside, "a"));
  inside->Set("record a", "v");
  ASSERT_TRUE(Insert("z", "\xff"));
  EXPECT_TRUE(inside->Commit().ok());
}

}  // namespace
}  // namespace recordstore::store
