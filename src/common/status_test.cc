#include "recordstore/status.h"

#include <gtest/gtest.h>

#include "absl/strings/cord.h"
#include "common/status_macros.h"
#include "common/status_util.h"

namespace recordstore {
namespace {

TEST(StatusTest, MakeErrorCarriesNumberNameAndCanonicalCode) {
  Status s = MakeError(ErrorCode::kNotCommitted, "conflict on key 'a'");
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(s.message(), "not_committed (1020): conflict on key 'a'");
  ASSERT_TRUE(GetErrorCode(s).has_value());
  EXPECT_EQ(static_cast<int>(*GetErrorCode(s)), 1020);
  EXPECT_TRUE(HasErrorCode(s, ErrorCode::kNotCommitted));
  EXPECT_FALSE(HasErrorCode(s, ErrorCode::kTransactionTooOld));
}

TEST(StatusTest, FdbNumbersMatchTheTable) {
  EXPECT_EQ(static_cast<int>(ErrorCode::kTransactionTooOld), 1007);
  EXPECT_EQ(static_cast<int>(ErrorCode::kCommitUnknownResult), 1021);
  EXPECT_EQ(static_cast<int>(ErrorCode::kTransactionCancelled), 1025);
  EXPECT_EQ(static_cast<int>(ErrorCode::kTransactionTimedOut), 1031);
  EXPECT_EQ(static_cast<int>(ErrorCode::kTransactionTooLarge), 2101);
  EXPECT_EQ(static_cast<int>(ErrorCode::kKeyTooLarge), 2102);
  EXPECT_EQ(static_cast<int>(ErrorCode::kValueTooLarge), 2103);
  EXPECT_EQ(ErrorName(ErrorCode::kValueTooLarge), "value_too_large");
}

TEST(StatusTest, RetryableAndMaybeCommittedPredicates) {
  EXPECT_TRUE(IsRetryable(MakeError(ErrorCode::kNotCommitted)));
  EXPECT_TRUE(IsRetryable(MakeError(ErrorCode::kTransactionTooOld)));
  EXPECT_TRUE(IsRetryable(MakeError(ErrorCode::kCommitUnknownResult)));
  EXPECT_FALSE(IsRetryable(MakeError(ErrorCode::kTransactionTimedOut)));
  EXPECT_FALSE(IsRetryable(MakeError(ErrorCode::kTransactionTooLarge)));
  EXPECT_FALSE(IsRetryable(MakeError(ErrorCode::kTransactionCancelled)));
  EXPECT_FALSE(IsRetryable(absl::OkStatus()));
  EXPECT_FALSE(IsRetryable(absl::AbortedError("foreign status without a number")));

  EXPECT_TRUE(MaybeCommitted(MakeError(ErrorCode::kCommitUnknownResult)));
  EXPECT_FALSE(MaybeCommitted(MakeError(ErrorCode::kNotCommitted)));
}

TEST(StatusTest, ForeignStatusHasNoNumber) {
  EXPECT_FALSE(GetErrorCode(absl::OkStatus()).has_value());
  EXPECT_FALSE(GetErrorCode(absl::InternalError("x")).has_value());
}

StatusOr<int> Half(int x) {
  if (x % 2 != 0) return MakeError(ErrorCode::kInvalidArgument, "odd");
  return x / 2;
}

StatusOr<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int half, Half(x));
  ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

Status CheckEven(int x) {
  RETURN_IF_ERROR(Half(x).status());
  return absl::OkStatus();
}

TEST(StatusTest, MacrosPropagateErrors) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_TRUE(HasErrorCode(Quarter(6).status(), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_TRUE(HasErrorCode(CheckEven(3), ErrorCode::kInvalidArgument));
}

TEST(StatusTest, WithMessageKeepsCodeAndPayloads) {
  Status error = MakeError(ErrorCode::kDataCorruption, "bad row");
  error.SetPayload("type.example/extra", absl::Cord("kept"));
  Status reworded = WithMessage(error, "record (1): " + std::string(error.message()));
  EXPECT_EQ(reworded.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(reworded.message(), "record (1): data_corruption (8004): bad row");
  EXPECT_TRUE(HasErrorCode(reworded, ErrorCode::kDataCorruption));
  EXPECT_EQ(reworded.GetPayload("type.example/extra"), absl::Cord("kept"));
  // A status from elsewhere has no number before and none after.
  Status foreign = WithMessage(absl::NotFoundError("x"), "y");
  EXPECT_EQ(foreign, absl::NotFoundError("y"));
  EXPECT_TRUE(WithMessage(absl::OkStatus(), "ignored").ok());
}

}  // namespace
}  // namespace recordstore
