// Online index builds the server runs in the background after a schema change adds or
// redefines an index of a record space too large to build in the schema transaction.
//
// Builds are resumable (src/indexer/online_indexer.h): one interrupted by a shutdown or a
// crash goes on where it stopped when the next schema read (GetSchema) or a restart finds the
// index still write-only.
//
// Thread-safety: thread-safe.
#ifndef RECORDSTORE_SERVER_INDEX_BUILDS_H_
#define RECORDSTORE_SERVER_INDEX_BUILDS_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "indexer/online_indexer.h"
#include "metadata/record_metadata.h"
#include "recordstore/kv.h"
#include "server/stoppable_database.h"
#include "tuple/subspace.h"

namespace recordstore::server {

class IndexBuilds {
 public:
  // `options` are the indexers' (throttle, batch sizes); their store_options are replaced by
  // Start's.
  explicit IndexBuilds(kv::Database& db, indexer::OnlineIndexerOptions options = {})
      : db_(db), options_(std::move(options)) {}
  // Stops running builds (Shutdown).
  ~IndexBuilds();

  // Starts building `index` of the store in `store` (the record space named `space`) unless
  // a build of it runs already. No effect after Shutdown.
  void Start(const std::string& space, const Subspace& store,
             std::shared_ptr<const metadata::RecordMetaData> metadata, const std::string& index,
             const store::RecordStoreOptions& options);
  // The progress of the latest build of `index` of `space`, if one ran in this process.
  std::optional<indexer::IndexBuildProgress> Progress(const std::string& space,
                                                      const std::string& index) const;
  // Every build this process ran, keyed by (space, index).
  std::vector<std::pair<std::pair<std::string, std::string>, indexer::IndexBuildProgress>> All()
      const;
  // Starts no more builds and stops the running ones at their next batch (a batch in flight
  // commits or not, as any transaction): what they built stays, and a later Start resumes.
  void Shutdown();

 private:
  struct Build {
    std::shared_ptr<const metadata::RecordMetaData> metadata;
    std::unique_ptr<indexer::OnlineIndexer> indexer;
    std::thread thread;
    bool running = true;
  };

  kv::Database& db_;
  // The builds' view of the database, stopped by Shutdown.
  StoppableDatabase stoppable_{db_};
  const indexer::OnlineIndexerOptions options_;
  mutable absl::Mutex mutex_;
  bool shut_down_ ABSL_GUARDED_BY(mutex_) = false;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<Build>> builds_
      ABSL_GUARDED_BY(mutex_);
};

}  // namespace recordstore::server

#endif  // RECORDSTORE_SERVER_INDEX_BUILDS_H_
