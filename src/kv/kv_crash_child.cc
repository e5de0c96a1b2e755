// The child process of kv_crash_test: opens "rocksdb://<path>" with sync_commits and commits
// numbered transactions until it is killed. Transaction n writes "txn/<n>/a" = "a:<n>",
// "txn/<n>/b" = "b:<n>" and "last" = "<n>"; once Commit() returns OK it prints
// "ack <n> <versionstamp hex>" and flushes, so every printed n must survive kill -9.
//
// Usage: kv_crash_child <rocksdb path> [start]
// Without `start`, the child continues after the highest committed n (from "last"), because
// an unacknowledged commit of the previous child may still have landed.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "recordstore/kv.h"
#include "recordstore/status.h"

namespace {

std::string Hex(const std::string& s) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (char c : s) {
    out.push_back(kDigits[(static_cast<unsigned char>(c) >> 4) & 0xf]);
    out.push_back(kDigits[static_cast<unsigned char>(c) & 0xf]);
  }
  return out;
}

std::string TxnKey(long long n, const char* which) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "txn/%010lld/%s", n, which);
  return buf;
}

int Fail(const char* what, const recordstore::Status& s) {
  std::fprintf(stderr, "kv_crash_child: %s: %s\n", what, s.ToString().c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using recordstore::kv::Database;
  using recordstore::kv::DatabaseOptions;
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s <rocksdb path> [start]\n", argv[0]);
    return 1;
  }
  DatabaseOptions options;
  options.sync_commits = true;
  auto db = Database::Open(std::string("rocksdb://") + argv[1], options);
  if (!db.ok()) return Fail("open", db.status());

  long long n = 0;
  if (argc == 3) {
    n = std::atoll(argv[2]);
  } else {
    auto t = (*db)->CreateTransaction();
    auto last = t->Get("last");
    if (!last.ok()) return Fail("read last", last.status());
    if (last->has_value()) n = std::atoll((*last)->c_str()) + 1;
  }
  std::printf("start %lld\n", n);
  std::fflush(stdout);

  for (;; ++n) {
    auto t = (*db)->CreateTransaction();
    const std::string number = std::to_string(n);
    t->Set(TxnKey(n, "a"), "a:" + number);
    t->Set(TxnKey(n, "b"), "b:" + number);
    t->Set("last", number);
    recordstore::Status s = t->Commit();
    if (!s.ok()) return Fail("commit", s);
    auto stamp = t->GetVersionstamp();
    if (!stamp.ok()) return Fail("versionstamp", stamp.status());
    std::printf("ack %lld %s\n", n, Hex(*stamp).c_str());
    std::fflush(stdout);
  }
}
