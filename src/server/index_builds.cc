#include "server/index_builds.h"

#include <iostream>

namespace recordstore::server {

IndexBuilds::~IndexBuilds() { Shutdown(); }

void IndexBuilds::Start(const std::string& space, const Subspace& store,
                        std::shared_ptr<const metadata::RecordMetaData> metadata,
                        const std::string& index, const store::RecordStoreOptions& options) {
  absl::MutexLock lock(&mutex_);
  if (shut_down_) return;
  std::unique_ptr<Build>& slot = builds_[{space, index}];
  if (slot != nullptr && slot->running) return;
  if (slot != nullptr && slot->thread.joinable()) slot->thread.join();
  auto build = std::make_unique<Build>();
  build->metadata = std::move(metadata);
  indexer::OnlineIndexerOptions indexer_options = options_;
  indexer_options.store_options = options;
  build->indexer = std::make_unique<indexer::OnlineIndexer>(stoppable_, store, *build->metadata,
                                                            index, indexer_options);
  Build* raw = build.get();
  build->thread = std::thread([this, raw, space, index] {
    StatusOr<indexer::IndexBuildResult> result = raw->indexer->BuildIndex();
    if (!result.ok() && stoppable_.stopped()) {
      std::cerr << "recordstore: building index " << index << " of " << space
                << " paused by shutdown; it resumes on the next start\n";
    } else if (!result.ok()) {
      std::cerr << "recordstore: building index " << index << " of " << space
                << " failed: " << result.status().message() << "\n";
    } else if (!result->readable) {
      std::cerr << "recordstore: index " << index << " of " << space
                << " stays write-only: " << result->violations.size()
                << " records share unique keys\n";
    }
    absl::MutexLock done(&mutex_);
    raw->running = false;
  });
  slot = std::move(build);
}

std::optional<indexer::IndexBuildProgress> IndexBuilds::Progress(const std::string& space,
                                                                 const std::string& index) const {
  absl::MutexLock lock(&mutex_);
  auto found = builds_.find({space, index});
  if (found == builds_.end()) return std::nullopt;
  return found->second->indexer->progress();
}

std::vector<std::pair<std::pair<std::string, std::string>, indexer::IndexBuildProgress>>
IndexBuilds::All() const {
  absl::MutexLock lock(&mutex_);
  std::vector<std::pair<std::pair<std::string, std::string>, indexer::IndexBuildProgress>> all;
  for (const auto& [key, build] : builds_) all.emplace_back(key, build->indexer->progress());
  return all;
}

void IndexBuilds::Shutdown() {
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mutex_);
    shut_down_ = true;
    stoppable_.Stop();
    for (auto& [key, build] : builds_) {
      if (build->thread.joinable()) threads.push_back(std::move(build->thread));
    }
  }
  for (std::thread& thread : threads) thread.join();
}

}  // namespace recordstore::server
