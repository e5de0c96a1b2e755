// The transactional, ordered key-value API that every Record-Store layer is written against.
// Semantics follow FoundationDB's (https://apple.github.io/foundationdb/ "Developer Guide"):
//
//  * Strict serializability by optimistic concurrency. A transaction reads at a read version
//    (a consistent snapshot of everything committed before it). At commit it fails with
//    not_committed (1020) iff a key or range it read without `snapshot` was written by a
//    transaction that committed after its read version. Range reads conflict with inserts
//    into the range (phantoms).
//  * Read-your-writes: reads inside a transaction see its own uncommitted writes, clears and
//    atomic mutations. Reads answered entirely from the transaction's own writes add no read
//    conflict.
//  * Versionstamps are 10 bytes: the 8-byte big-endian commit version followed by the 2-byte
//    big-endian order of the transaction within its commit batch. They increase in commit
//    order, also across restarts.
//  * Limits (FDB's numbers): key <= 10,000 bytes (2102), value <= 100,000 bytes (2103),
//    transaction (mutations + conflict ranges) <= 10,000,000 bytes (2101), a read version is
//    usable for 5 seconds (1007 afterwards). User keys are below "\xff" (2004 otherwise).
//
// Thread-safety: a Database is safe for concurrent use; it hands out Transactions. A
// Transaction is used by one thread at a time. Many transactions may run in parallel; reads
// never wait for commits.
#ifndef RECORDSTORE_KV_H_
#define RECORDSTORE_KV_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "recordstore/status.h"

namespace recordstore::kv {

// A version of the database: strictly increasing across commits, durable across restarts.
using Version = int64_t;

struct KeyValue {
  std::string key;
  std::string value;
  bool operator==(const KeyValue&) const = default;
};

// One end of a range: a key and whether the key itself belongs to the range.
struct RangeEndpoint {
  std::string key;
  bool inclusive;
  static RangeEndpoint Inclusive(std::string_view key) { return {std::string(key), true}; }
  static RangeEndpoint Exclusive(std::string_view key) { return {std::string(key), false}; }
};

struct RangeOptions {
  // Maximum number of rows to return; 0 means no limit.
  int limit = 0;
  // Return rows in descending key order (the limit then counts from the end of the range).
  bool reverse = false;
  // Stop after the row that makes the returned key+value bytes reach this total; 0 means no
  // byte target. At least one row is returned when the range has one.
  int64_t target_bytes = 0;
  // Snapshot read: sees the transaction's own writes but adds no read conflict range.
  bool snapshot = false;
};

struct RangeResult {
  std::vector<KeyValue> rows;
  // True when the range holds more rows than returned (a limit or byte target stopped the
  // read). Continue from the last row's key with an exclusive endpoint.
  bool more = false;
};

enum class MutationType {
  // Little-endian integer addition; the result has the operand's length (the old value is
  // zero-extended or truncated to it, the carry out is dropped). A missing value counts as 0.
  kAdd,
  // Bitwise ops on the operand's length. For kAnd a missing value yields the operand.
  kBitAnd,
  kBitOr,
  kBitXor,
  // Little-endian unsigned max / min on the operand's length. A missing value yields the
  // operand.
  kMax,
  kMin,
  // Lexicographic byte-string max / min. A missing value yields the operand.
  kByteMax,
  kByteMin,
  // The key's last 4 bytes are a little-endian offset; the 10-byte versionstamp of the commit
  // replaces the 10 bytes at that offset of the key (the 4 offset bytes are dropped).
  kSetVersionstampedKey,
  // The same, applied to the value. The key becomes unreadable in this transaction (1036).
  kSetVersionstampedValue,
  // Clears the key if its value equals the operand.
  kCompareAndClear,
  // Appends the operand to the value unless the result would exceed the value size limit, in
  // which case the value is left unchanged.
  kAppendIfFits,
};

// A watch on one key: becomes ready when the key's value differs from the value it had when
// the watching transaction committed (or, for a read-only transaction, from the value that
// transaction saw). Changes that revert before the watch looks (A->B->A) may be missed.
class Watch {
 public:
  virtual ~Watch() = default;
  // Blocks until the watch fires (OK), fails, or is cancelled (operation_cancelled 1101).
  virtual Status Wait() = 0;
  // As Wait, but returns nullopt if nothing happened within `timeout`.
  virtual std::optional<Status> WaitFor(std::chrono::milliseconds timeout) = 0;
  // Stops watching; a pending Wait returns operation_cancelled (1101).
  virtual void Cancel() = 0;
};

struct TransactionOptions {
  // Cancels the transaction with transaction_timed_out (1031) this long after its creation,
  // across OnError retries (as FDB's timeout option). 0 means no timeout.
  std::chrono::milliseconds timeout{0};
  // OnError gives up, returning the error, after this many retries. -1 means unlimited.
  int retry_limit = -1;
  // Upper bound of the exponential backoff between retries.
  std::chrono::milliseconds max_retry_delay{1000};
};

class Transaction {
 public:
  virtual ~Transaction() = default;

  // The version this transaction reads at, chosen at the first read (or here).
  virtual StatusOr<Version> GetReadVersion() = 0;
  // Uses `version` as the read version instead of the latest one. REQUIRES: no read yet.
  virtual void SetReadVersion(Version version) = 0;

  // The value of `key`, or nullopt when absent.
  virtual StatusOr<std::optional<std::string>> Get(std::string_view key, bool snapshot = false) = 0;

  // Rows of [begin, end) in key order, honoring options. An inverted or empty range returns
  // no rows. The read conflict range covers what the read could observe: the whole range when
  // it ran to completion, up to the last returned row otherwise.
  virtual StatusOr<RangeResult> GetRange(const RangeEndpoint& begin, const RangeEndpoint& end,
                                         const RangeOptions& options = {}) = 0;
  // Shorthand for [begin, end).
  StatusOr<RangeResult> GetRange(std::string_view begin, std::string_view end,
                                 const RangeOptions& options = {}) {
    return GetRange(RangeEndpoint::Inclusive(begin), RangeEndpoint::Exclusive(end), options);
  }

  virtual void Set(std::string_view key, std::string_view value) = 0;
  virtual void Clear(std::string_view key) = 0;
  // Clears [begin, end). begin > end fails the transaction with inverted_range (2005).
  virtual void ClearRange(std::string_view begin, std::string_view end) = 0;
  virtual void AtomicOp(MutationType type, std::string_view key, std::string_view operand) = 0;

  // The database's metadata version (FDB's "\xff/metadataVersion"): the 10-byte versionstamp
  // of the last committed transaction that called BumpMetadataVersion, as of this
  // transaction's read version, or nullopt when none ever did. Higher layers cache what they
  // read from the database (record store headers) keyed by it, and bump it whenever they
  // change such state. The embedded engine hands it out with the read version, without a
  // storage read; etcd reads it as an ordinary key. Without `snapshot` the read adds a read
  // conflict on it, so a concurrent bump makes this transaction conflict.
  // Errors: accessed_unreadable (1036) once this transaction has called BumpMetadataVersion
  // (as in FDB: the new value is unknown until commit); the errors of Get.
  virtual StatusOr<std::optional<std::string>> GetMetadataVersion(bool snapshot = false) = 0;
  // Sets the metadata version to this transaction's versionstamp when it commits. A blind
  // write (a versionstamped value): it adds a write conflict on the metadata version but no
  // read conflict, so concurrent bumpers never conflict with each other. Calling it again in
  // the same transaction changes nothing.
  virtual void BumpMetadataVersion() = 0;
  // The Database::id() of the database this transaction belongs to.
  virtual uint64_t database_id() const = 0;

  // Explicit conflict ranges ([begin, end)) and keys.
  virtual void AddReadConflictRange(std::string_view begin, std::string_view end) = 0;
  virtual void AddReadConflictKey(std::string_view key) = 0;
  virtual void AddWriteConflictRange(std::string_view begin, std::string_view end) = 0;
  virtual void AddWriteConflictKey(std::string_view key) = 0;

  // Watches `key`; the watch starts when this transaction commits. If the transaction fails
  // or is destroyed uncommitted, the watch completes with that error (or 1025).
  virtual StatusOr<std::shared_ptr<Watch>> WatchKey(std::string_view key) = 0;

  // Commits. On success every mutation is durable and visible to later transactions. Errors:
  // 1020 conflict, 1007 read version too old, 1031 timeout, 2101 too large, 1021 outcome
  // unknown. A transaction with no mutations and no write conflict ranges commits at once.
  virtual Status Commit() = 0;

  // After a successful commit: the commit version (-1 for a read-only transaction).
  virtual Version GetCommittedVersion() const = 0;
  // After a successful commit with mutations: the 10-byte versionstamp of this transaction.
  // no_commit_version (2021) otherwise.
  virtual StatusOr<std::string> GetVersionstamp() const = 0;

  // Bytes of mutations and conflict ranges so far (what the 10 MB limit counts).
  virtual int64_t GetApproximateSize() const = 0;

  // Handles an error from this transaction: for a retryable error (IsRetryable) it waits with
  // exponential backoff, resets the transaction and returns OK so the caller can run it again;
  // otherwise, or past the retry limit or timeout, it returns the error.
  virtual Status OnError(const Status& error) = 0;

  // Discards all reads and writes, keeping options (and the timeout clock).
  virtual void Reset() = 0;
  // Every later operation fails with transaction_cancelled (1025).
  virtual void Cancel() = 0;

  virtual void SetOptions(const TransactionOptions& options) = 0;
};

// Streams a range through a transaction in batches (successive GetRange calls that resume
// after the last row), so a long scan holds one batch in memory and the first rows arrive
// early. Batches start at `first_batch_rows` and double up to `max_batch_rows`, like FDB's
// iterator streaming mode. The conflict range grows with what has been read.
//
// REQUIRES: `txn` outlives the reader. Not thread-safe.
struct RangeBatching {
  int first_batch_rows = 64;
  int max_batch_rows = 8192;
};

class RangeReader {
 public:
  // `options.limit` bounds the total rows streamed; `options.target_bytes` applies per batch.
  RangeReader(Transaction& txn, RangeEndpoint begin, RangeEndpoint end, RangeOptions options = {},
              RangeBatching batching = {});

  // The next row, or nullptr at the end of the range (or the limit). The row stays valid
  // until the next call.
  StatusOr<const KeyValue*> Next();
  int batches_fetched() const { return batches_fetched_; }

 private:
  Transaction& txn_;
  RangeEndpoint begin_;
  RangeEndpoint end_;
  RangeOptions options_;
  RangeBatching batching_;
  int next_batch_rows_;
  int64_t rows_returned_ = 0;
  int batches_fetched_ = 0;
  RangeResult batch_;
  size_t position_ = 0;
  bool exhausted_ = false;
};

struct DatabaseOptions {
  // fsync the write-ahead log for every commit batch. Without it an acknowledged commit
  // survives a process crash (kill -9) but not a machine crash.
  bool sync_commits = true;
  // Maximum number of simultaneously registered watches (too_many_watches 1032 beyond).
  int max_watches = 10000;
  // Told the size of each commit batch the embedded engine (memory://, rocksdb://) writes:
  // the number of transactions its group commit wrote to storage in one write (and one
  // fsync with sync_commits), >= 1. Called after the batch is acknowledged, on a committing
  // thread, concurrently from several: it must be thread-safe and cheap. The etcd backend
  // commits each transaction as its own etcd Txn and never calls it. Null: not called.
  std::function<void(int transactions)> on_commit_batch;
};

// REQUIRES: a Database outlives every Transaction it created; Watch objects may outlive it
// (they complete with operation_cancelled when it closes).
class Database {
 public:
  virtual ~Database() = default;

  // Unique among the Database objects of this process and never reused, also after one is
  // destroyed: process-local caches of database content key their entries by it, so they
  // never serve one database's data to another (or to a database reopened at the same path).
  uint64_t id() const { return id_; }

  // Opens a database: "memory://" (private to this object), "rocksdb:///absolute/path"
  // (created when missing), "etcd://host:port[,host:port...]/prefix" (an etcd v3 cluster).
  // Errors: connection_string_invalid (2104) for an unknown or malformed URL, io_error (1510)
  // when storage cannot be opened.
  static StatusOr<std::unique_ptr<Database>> Open(std::string_view url,
                                                  const DatabaseOptions& options = {});

  virtual std::unique_ptr<Transaction> CreateTransaction(
      const TransactionOptions& options = {}) = 0;

  // Runs `body` in a transaction and commits it, retrying retryable errors with backoff
  // (Transaction::OnError). Returns the first non-retryable error, from `body` or the commit.
  // `body` may run several times; it must not have effects outside the transaction that a
  // retry would duplicate.
  Status Run(const std::function<Status(Transaction&)>& body,
             const TransactionOptions& options = {});

 protected:
  Database();

 private:
  const uint64_t id_;
};

}  // namespace recordstore::kv

#endif  // RECORDSTORE_KV_H_
