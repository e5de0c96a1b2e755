// RecordContext: the per-transaction state of Record-Store code, so that the rest (split
// helper, record store) can be plain functions of a context. It owns one kv::Transaction and
// knows
//   * its age (time since the context was created), for callers that must stop well before
//     the 5-second read-version lifetime;
//   * the local versions it has handed out (0, 1, 2, ... in call order), which order the
//     records the transaction saves;
//   * the versionstamped writes it will make at commit: record versions (values) and version
//     index entries (keys). FDB cannot read back a key written with a versionstamped
//     mutation before commit (1036), nor clear one whose final bytes are unknown, so the
//     context holds them until Commit and readers in the same transaction ask it instead.
//     Range reads then never meet an unreadable key.
//
// Thread-safety: like its transaction, used by one thread at a time.
#ifndef RECORDSTORE_CURSOR_RECORD_CONTEXT_H_
#define RECORDSTORE_CURSOR_RECORD_CONTEXT_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "cursor/record_version.h"
#include "recordstore/kv.h"

namespace recordstore::cursor {

class RecordContext {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // Takes ownership of `txn`. `clock` defaults to std::chrono::steady_clock::now.
  explicit RecordContext(std::unique_ptr<kv::Transaction> txn, Clock clock = nullptr);

  kv::Transaction& txn() { return *txn_; }

  std::chrono::steady_clock::time_point created() const { return created_; }
  // Time since creation.
  std::chrono::nanoseconds Age() const { return clock_() - created_; }

  // 0 on the first call, then 1, 2, ...; fails with kInvalidArgument after 65,536 calls (the
  // local version is 2 bytes).
  StatusOr<uint16_t> NextLocalVersion();
  // RecordVersion::Incomplete(NextLocalVersion()).
  StatusOr<RecordVersion> NewIncompleteVersion();

  // Makes `key` hold the one-element tuple (version) once the transaction commits, written
  // then with SET_VERSIONSTAMPED_VALUE when `version` is incomplete. Until then the key is
  // not written at all; FindPendingVersion returns the version.
  void AddPendingVersion(std::string key, const RecordVersion& version);
  // Forgets pending versions in [begin, end) (their keys were cleared).
  void ClearPendingVersions(std::string_view begin, std::string_view end);
  // The pending version of `key`, or nullptr.
  const RecordVersion* FindPendingVersion(std::string_view key) const;

  // Writes `value` at commit under `key_operand` (a key holding an incomplete versionstamp
  // followed by its 4-byte offset, Tuple::PackWithVersionstamp) with SET_VERSIONSTAMPED_KEY.
  // Deferred because such a key cannot be cleared before commit: its final bytes are unknown.
  // `placeholder_key` (the key as Tuple::Pack writes it) names the write for
  // CancelVersionstampedKey.
  void SetVersionstampedKeyAtCommit(std::string placeholder_key, std::string key_operand,
                                    std::string value);
  // Drops a write SetVersionstampedKeyAtCommit deferred; returns whether there was one.
  bool CancelVersionstampedKey(std::string_view placeholder_key);

  // Makes Commit fail with `reason` (the first reason given wins). For writers whose
  // sequence of writes failed halfway, so that the half-written change never lands.
  void FailCommit(Status reason);

  // Writes the pending versions and deferred versionstamped keys, then commits
  // (kv::Transaction::Commit). Fails without committing after FailCommit.
  Status Commit();
  // After a successful commit: `version` with the transaction's versionstamp filled in when it
  // was incomplete, unchanged otherwise. Errors of Transaction::GetVersionstamp (no commit yet,
  // or a read-only commit: no_commit_version 2021).
  StatusOr<RecordVersion> CompleteVersion(const RecordVersion& version) const;

 private:
  std::unique_ptr<kv::Transaction> txn_;
  Clock clock_;
  std::chrono::steady_clock::time_point created_;
  int next_local_version_ = 0;
  std::map<std::string, RecordVersion, std::less<>> pending_versions_;
  struct VersionstampedKeyWrite {
    std::string key_operand;
    std::string value;
  };
  // By placeholder key.
  std::map<std::string, VersionstampedKeyWrite, std::less<>> versionstamped_keys_;
  Status commit_failure_;
};

}  // namespace recordstore::cursor

#endif  // RECORDSTORE_CURSOR_RECORD_CONTEXT_H_
