// etcd backend specifics that the shared suites do not cover: URL parsing and the isolation of
// databases that share a cluster.
#include <gtest/gtest.h>

#include "kv/etcd/etcd_cluster.h"
#include "recordstore/kv.h"

namespace recordstore::kv::etcd {
namespace {

TEST(EtcdDatabaseTest, MalformedUrlsFailWithConnectionStringInvalid) {
  for (const char* url :
       {"etcd://", "etcd:///prefix", "etcd://127.0.0.1/prefix", "etcd://127.0.0.1:port/prefix",
        "etcd://:2379/prefix", "etcd://127.0.0.1:2379,/prefix"}) {
    auto db = Database::Open(url);
    EXPECT_TRUE(HasErrorCode(db.status(), ErrorCode::kConnectionStringInvalid))
        << url << ": " << db.status();
  }
}

// Prefix "a" stores user key "dx" at "a" "\0" "d" "dx"; without the separator it would be
// "addx", which is where prefix "ad" stores user key "x".
TEST(EtcdDatabaseTest, DatabasesWhosePrefixesExtendEachOtherAreIsolated) {
  auto cluster = EtcdCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  auto a = Database::Open((*cluster)->Url("a"));
  auto ad = Database::Open((*cluster)->Url("ad"));
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(ad.ok()) << ad.status();
  ASSERT_TRUE((*ad)
                  ->Run([](Transaction& t) {
                    t.Set("x", "in ad");
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_TRUE((*a)->Run([](Transaction& t) {
                    t.Set("dx", "in a");
                    return absl::OkStatus();
                  })
                  .ok());
  auto t = (*a)->CreateTransaction();
  auto rows = t->GetRange("", "\xff");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->rows.size(), 1u);
  EXPECT_EQ(rows->rows[0].value, "in a");
  auto other = (*ad)->CreateTransaction();
  auto x = other->Get("x");
  ASSERT_TRUE(x.ok()) << x.status();
  EXPECT_EQ(*x, "in ad");
  auto dx = other->Get("dx");
  ASSERT_TRUE(dx.ok()) << dx.status();
  EXPECT_EQ(*dx, std::nullopt);
}

// With every member down, a commit cannot know whether an attempt reached the cluster: it
// fails with commit_unknown_result (1021) after its retries instead of hanging, and once the
// cluster is back, acknowledged data is there and commits work again.
TEST(EtcdDatabaseTest, CommitWithEveryMemberDownFailsWithCommitUnknownResult) {
  auto cluster = EtcdCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  auto db = Database::Open((*cluster)->Url("down"));
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)
                  ->Run([](Transaction& t) {
                    t.Set("before", "1");
                    return absl::OkStatus();
                  })
                  .ok());
  for (int i = 0; i < (*cluster)->size(); ++i) (*cluster)->Kill(i);
  auto t = (*db)->CreateTransaction();
  t->Set("during", "1");
  Status commit = t->Commit();
  EXPECT_TRUE(HasErrorCode(commit, ErrorCode::kCommitUnknownResult)) << commit;
  EXPECT_TRUE(MaybeCommitted(commit));

  for (int i = 0; i < (*cluster)->size(); ++i) ASSERT_TRUE((*cluster)->Restart(i).ok());
  ASSERT_TRUE((*cluster)->WaitHealthy(std::chrono::seconds(30)).ok());
  auto reader = (*db)->CreateTransaction();
  auto before = reader->Get("before");
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(*before, "1");
  auto during = reader->Get("during");
  ASSERT_TRUE(during.ok()) << during.status();
  EXPECT_EQ(*during, std::nullopt) << "no member was reachable, so nothing was applied";
  EXPECT_TRUE((*db)
                  ->Run([](Transaction& t) {
                    t.Set("after", "1");
                    return absl::OkStatus();
                  })
                  .ok());
}

}  // namespace
}  // namespace recordstore::kv::etcd
