// Crash safety of the rocksdb backend: a child process (kv_crash_child) commits numbered
// transactions with sync_commits and acknowledges each on stdout; the test kills it with
// SIGKILL at random points, many times, and after each kill proves from a fresh Database that
//  * every acknowledged transaction is present, with all of its keys (no partial transaction),
//  * the transactions present are exactly 0..max (a contiguous prefix; nothing lost in between),
//  * versionstamps of later rounds exceed every earlier acknowledged one (the version counter
//    never goes backwards across crashes), and the read version is at least the last ack's.
// The seed is printed; set KV_CRASH_SEED to replay a run.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "recordstore/kv.h"
#include "recordstore/status.h"

#ifndef KV_CRASH_CHILD_PATH
#error "KV_CRASH_CHILD_PATH must name the kv_crash_child binary"
#endif

namespace recordstore::kv {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct Ack {
  long long n;
  std::string stamp;  // 10 raw bytes
};

std::optional<std::string> FromHex(const std::string& hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int v = 0;
    for (int j = 0; j < 2; ++j) {
      char c = hex[i + j];
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) return std::nullopt;
      v = v * 16 + d;
    }
    out.push_back(static_cast<char>(v));
  }
  return out;
}

std::string Hex(const std::string& s) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (char c : s) {
    out.push_back(kDigits[(static_cast<unsigned char>(c) >> 4) & 0xf]);
    out.push_back(kDigits[static_cast<unsigned char>(c) & 0xf]);
  }
  return out;
}

int64_t BigEndian64(const std::string& s) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return static_cast<int64_t>(v);
}

std::string TxnKey(long long n, const char* which) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "txn/%010lld/%s", n, which);
  return buf;
}

// One run of kv_crash_child with its stdout on a pipe. Killed on destruction if still alive.
class Child {
 public:
  explicit Child(const std::string& db_path) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe2: " << std::strerror(errno);
      return;
    }
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);  // dup2 clears O_CLOEXEC on the new descriptor
      execl(KV_CRASH_CHILD_PATH, KV_CRASH_CHILD_PATH, db_path.c_str(), static_cast<char*>(nullptr));
      std::fprintf(stderr, "exec %s: %s\n", KV_CRASH_CHILD_PATH, std::strerror(errno));
      _exit(127);
    }
    close(fds[1]);
    if (pid_ < 0) {
      ADD_FAILURE() << "fork: " << std::strerror(errno);
      close(fds[0]);
      return;
    }
    fd_ = fds[0];
  }
  ~Child() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) close(fd_);
  }

  // Reads what is available, waiting at most `timeout`; returns false at end of file.
  bool Pump(milliseconds timeout) {
    if (fd_ < 0 || eof_) return false;
    pollfd p{fd_, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(timeout.count()));
    if (r <= 0) return true;
    char buf[4096];
    ssize_t got = read(fd_, buf, sizeof(buf));
    if (got <= 0) {
      if (got < 0 && errno == EINTR) return true;
      eof_ = true;
      return false;
    }
    pending_.append(buf, static_cast<size_t>(got));
    size_t nl;
    while ((nl = pending_.find('\n')) != std::string::npos) {
      lines_.push_back(pending_.substr(0, nl));
      pending_.erase(0, nl + 1);
    }
    return true;
  }

  // Pumps until a line starting with "ack " arrives, EOF, or the deadline.
  bool WaitForFirstAck(milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      for (const std::string& line : lines_) {
        if (line.rfind("ack ", 0) == 0) return true;
      }
      if (!Pump(milliseconds(20))) return false;
    }
    return false;
  }

  // Keeps reading for `duration` (so the pipe never fills).
  void PumpFor(milliseconds duration) {
    auto deadline = Clock::now() + duration;
    while (Clock::now() < deadline) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      if (!Pump(std::max(milliseconds(1), std::min(left, milliseconds(10))))) {
        std::this_thread::sleep_until(deadline);
        return;
      }
    }
  }

  // SIGKILLs the child, reads everything it flushed before dying, and reaps it. Returns the
  // wait status.
  int KillAndReap() {
    kill(pid_, SIGKILL);
    while (Pump(milliseconds(1000))) {
    }
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    return status;
  }

  const std::vector<std::string>& lines() const { return lines_; }
  const std::string& partial_line() const { return pending_; }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  bool eof_ = false;
  bool reaped_ = false;
  std::string pending_;
  std::vector<std::string> lines_;
};

class KvCrashTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::path(testing::TempDir()) / "rs-kvcrash-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    db_path_ = dir_ + "/db";
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string dir_;
  std::string db_path_;
};

TEST_F(KvCrashTest, AcknowledgedCommitsSurviveKillNineAndVersionsNeverGoBackwards) {
  uint32_t seed = std::random_device{}();
  if (const char* env = std::getenv("KV_CRASH_SEED")) seed = static_cast<uint32_t>(std::atoll(env));
  std::printf("[ crash ] seed %u (replay with KV_CRASH_SEED=%u)\n", seed, seed);
  std::fflush(stdout);
  RecordProperty("seed", std::to_string(seed));
  std::mt19937 rng(seed);

  constexpr int kRounds = 25;
  const auto test_start = Clock::now();
  std::vector<Ack> all_acks;    // every acknowledged transaction, in ack order
  std::string max_acked_stamp;  // over all earlier rounds
  long long present_count = 0;  // transactions 0..present_count-1 are in the db
  long long total_acks = 0;
  int rounds_with_acks = 0;

  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round) + ", seed " + std::to_string(seed));
    const bool kill_early = round % 4 == 3;  // sometimes during open / recovery
    int wait_status = 0;
    std::vector<std::string> lines;
    {
      Child child(db_path_);
      if (kill_early) {
        child.PumpFor(milliseconds(std::uniform_int_distribution<int>(0, 50)(rng)));
      } else {
        ASSERT_TRUE(child.WaitForFirstAck(milliseconds(20000)))
            << "the child acknowledged nothing within 20 s; its output so far: "
            << (child.lines().empty() ? std::string("<none>") : child.lines().back());
        child.PumpFor(milliseconds(std::uniform_int_distribution<int>(20, 200)(rng)));
      }
      wait_status = child.KillAndReap();
      lines = child.lines();
    }
    ASSERT_TRUE(WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL)
        << "the child ended on its own (exit status "
        << (WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1)
        << "); it stops only when a commit fails";

    // Parse this round's output.
    std::vector<Ack> round_acks;
    for (const std::string& line : lines) {
      long long n = 0;
      char hex[64] = {0};
      if (std::sscanf(line.c_str(), "start %lld", &n) == 1) {
        EXPECT_EQ(n, present_count)
            << "the child must resume right after the highest committed transaction";
      } else if (std::sscanf(line.c_str(), "ack %lld %63s", &n, hex) == 2) {
        auto stamp = FromHex(hex);
        ASSERT_TRUE(stamp.has_value() && stamp->size() == 10) << "bad ack line: " << line;
        round_acks.push_back({n, *stamp});
      } else {
        ADD_FAILURE() << "unexpected child output: " << line;
      }
    }
    for (size_t i = 0; i < round_acks.size(); ++i) {
      const Ack& ack = round_acks[i];
      EXPECT_EQ(ack.n, present_count + static_cast<long long>(i)) << "acks must be consecutive";
      EXPECT_GT(ack.stamp, max_acked_stamp)
          << "versionstamp " << Hex(ack.stamp) << " of transaction " << ack.n
          << " does not exceed earlier acknowledged " << Hex(max_acked_stamp);
      if (i > 0) {
        EXPECT_GT(ack.stamp, round_acks[i - 1].stamp);
      }
    }
    for (const Ack& ack : round_acks) {
      if (ack.stamp > max_acked_stamp) max_acked_stamp = ack.stamp;
      all_acks.push_back(ack);
    }
    total_acks += static_cast<long long>(round_acks.size());
    if (!round_acks.empty()) ++rounds_with_acks;

    // Verify from a fresh Database in this process, then close it before the next round.
    {
      auto db = Database::Open("rocksdb://" + db_path_);
      ASSERT_TRUE(db.ok()) << "reopening after kill -9: " << db.status().ToString();
      auto t = (*db)->CreateTransaction();
      auto rows = t->GetRange("txn/", "txn0");
      ASSERT_TRUE(rows.ok()) << rows.status().ToString();
      EXPECT_FALSE(rows->more);
      std::map<long long, std::pair<bool, bool>> present;  // n -> (a, b)
      for (const KeyValue& kv : rows->rows) {
        long long n = -1;
        char which[8] = {0};
        int consumed = 0;
        if (std::sscanf(kv.key.c_str(), "txn/%lld/%7s%n", &n, which, &consumed) != 2 ||
            kv.key != TxnKey(n, which)) {
          ADD_FAILURE() << "unexpected key " << kv.key;
          continue;
        }
        const std::string number = std::to_string(n);
        if (std::string(which) == "a") {
          EXPECT_EQ(kv.value, "a:" + number) << kv.key;
          present[n].first = true;
        } else if (std::string(which) == "b") {
          EXPECT_EQ(kv.value, "b:" + number) << kv.key;
          present[n].second = true;
        } else {
          ADD_FAILURE() << "unexpected key " << kv.key;
        }
      }
      long long expect_n = 0;
      for (const auto& [n, ab] : present) {
        EXPECT_TRUE(ab.first && ab.second)
            << "partial transaction " << n << " visible: a=" << ab.first << " b=" << ab.second;
        EXPECT_EQ(n, expect_n) << "transactions present are not a contiguous prefix";
        expect_n = n + 1;
      }
      const long long max_present = present.empty() ? -1 : present.rbegin()->first;
      for (const Ack& ack : all_acks) {
        EXPECT_TRUE(present.count(ack.n) == 1)
            << "acknowledged transaction " << ack.n << " is missing after kill -9";
      }
      auto last = t->Get("last");
      ASSERT_TRUE(last.ok()) << last.status().ToString();
      if (max_present < 0) {
        EXPECT_EQ(*last, std::nullopt);
      } else {
        EXPECT_EQ(*last, std::to_string(max_present))
            << "\"last\" must belong to the same transaction as the highest txn/ keys";
      }
      if (!max_acked_stamp.empty()) {
        auto rv = t->GetReadVersion();
        ASSERT_TRUE(rv.ok()) << rv.status().ToString();
        EXPECT_GE(*rv, BigEndian64(max_acked_stamp))
            << "read version after reopen is older than an acknowledged commit";
      }
      EXPECT_GE(max_present + 1, present_count) << "committed transactions disappeared";
      present_count = max_present + 1;
    }
    if (HasFatalFailure()) return;
  }

  const double seconds = std::chrono::duration<double>(Clock::now() - test_start).count();
  std::printf(
      "[ crash ] %d rounds, %lld acknowledged, %lld present, %d rounds with acks, "
      "%.1f s\n",
      kRounds, total_acks, present_count, rounds_with_acks, seconds);
  EXPECT_GT(total_acks, 0);
  EXPECT_GE(rounds_with_acks, kRounds / 2) << "most rounds must make progress before the kill";
}

}  // namespace
}  // namespace recordstore::kv
