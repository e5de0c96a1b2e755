// recordstore_bench indexer: building a VALUE index online against re-inserting the same
// records with the index already present, same records, same process.
//
//   value_index_1m   --records Orders (default 1,000,000; customer_id = id % 1000, total =
//                    id % 10,000) in a memory:// database, under metadata whose only index is
//                    order_by_total (value, on Order.total):
//     online_build   the records are saved without the index (untimed); the metadata then adds
//                    it, the store is opened so that it becomes write-only with nothing built,
//                    and the timed part is OnlineIndexer::BuildIndex with default options
//                    (counting pass included) until the index is readable
//     reinsert       the same records saved, 500 per transaction, into an empty store that
//                    already has the index (the baseline: what building should beat)
// Each round runs both systems on fresh subspaces (cleared afterwards), alternating which goes
// first. Throughput is records divided by the median round time; p50/p99 are of the round
// times. The ratio printed is online_build / reinsert.
//
// Flags: --records=N --rounds=N (default 3) --schema-dir=<src/metadata/testdata/shop>.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench.h"
#include "google/protobuf/text_format.h"
#include "indexer/online_indexer.h"
#include "metadata/proto_source.h"
#include "metadata/record_metadata.h"
#include "recordstore/kv.h"
#include "store/record_store.h"

#ifndef RS_SHOP_SCHEMA_DIR
#define RS_SHOP_SCHEMA_DIR "src/metadata/testdata/shop"
#endif

namespace recordstore::bench {
namespace {

// The shop's record types (as in src/metadata/testdata/shop_metadata.textproto), no indexes.
constexpr const char* kBaseMetadata = R"pb(
  version: 1
  record_types {
    name: "Customer"
    primary_key {
      then {
        children { record_type_key {} }
        children { field { name: "customer_id" } }
      }
    }
  }
  record_types {
    name: "Order"
    primary_key {
      then {
        children { record_type_key {} }
        children { field { name: "customer_id" } }
        children { field { name: "order_id" } }
      }
    }
  }
  record_types {
    name: "Product"
    primary_key {
      then {
        children { record_type_key {} }
        children { field { name: "sku" } }
      }
    }
    record_type_key_string: "product"
  }
)pb";
constexpr const char* kValueIndex = R"pb(
  name: "order_by_total"
  type: "value"
  root { field { name: "total" } }
  record_types: "Order"
  added_version: 2
  last_modified_version: 2
)pb";
constexpr int64_t kRecordsPerTransaction = 500;

void Check(const Status& s, const std::string& what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s failed: %s\n", what.c_str(), s.ToString().c_str());
    std::exit(1);
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in.good()) {
    std::fprintf(stderr, "cannot read %s (set --schema-dir)\n", path.c_str());
    std::exit(1);
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Version 1 without indexes, version 2 with order_by_total.
metadata::RecordMetaData BuildMetadata(const std::string& schema_dir, bool with_index) {
  metadata::proto::RecordMetaData proto;
  if (!google::protobuf::TextFormat::ParseFromString(kBaseMetadata, &proto) ||
      (with_index &&
       !google::protobuf::TextFormat::ParseFromString(kValueIndex, proto.add_indexes()))) {
    std::fprintf(stderr, "the benchmark's metadata text does not parse\n");
    std::exit(1);
  }
  if (with_index) proto.set_version(2);
  auto files =
      metadata::ParseProtoFiles({{"shop/common.proto", ReadFile(schema_dir + "/common.proto")},
                                 {"shop/shop.proto", ReadFile(schema_dir + "/shop.proto")}});
  Check(files.status(), "parse shop .proto files");
  *proto.mutable_files() = *std::move(files);
  auto built = metadata::RecordMetaData::Build(proto);
  Check(built.status(), "build metadata");
  return *std::move(built);
}

// Saves Orders [0, records) into the store in `space`, 500 per transaction.
void SaveOrders(kv::Database& db, const Subspace& space, const metadata::RecordMetaData& metadata,
                int64_t records) {
  const metadata::RecordType* type = metadata.FindRecordType("Order");
  std::unique_ptr<google::protobuf::Message> order = metadata.NewRecord(*type);
  const auto* descriptor = order->GetDescriptor();
  const auto* reflection = order->GetReflection();
  for (int64_t first = 0; first < records; first += kRecordsPerTransaction) {
    Status status;
    do {
      cursor::RecordContext context(db.CreateTransaction());
      status = [&]() -> Status {
        auto store = store::RecordStore::Open(context, space, metadata);
        if (!store.ok()) return store.status();
        for (int64_t id = first; id < std::min(records, first + kRecordsPerTransaction); ++id) {
          reflection->SetInt64(order.get(), descriptor->FindFieldByName("order_id"), id);
          reflection->SetInt64(order.get(), descriptor->FindFieldByName("customer_id"), id % 1000);
          reflection->SetInt64(order.get(), descriptor->FindFieldByName("total"), id % 10'000);
          if (auto saved = (*store)->SaveRecord(*order); !saved.ok()) return saved.status();
        }
        return context.Commit();
      }();
    } while (IsRetryable(status));
    Check(status, "save orders");
  }
}

void ClearSpace(kv::Database& db, const Subspace& space) {
  Check(db.Run([&](kv::Transaction& txn) {
    auto [begin, end] = space.Range();
    txn.ClearRange(begin, end);
    return absl::OkStatus();
  }),
        "clear");
}

double MedianSeconds(std::vector<double> seconds) {
  std::sort(seconds.begin(), seconds.end());
  return seconds[seconds.size() / 2];
}

int RunIndexer(const Options& options, Reporter& reporter) {
  const int64_t records = options.GetInt("records", 1'000'000);
  const int rounds = static_cast<int>(options.GetInt("rounds", 3));
  if (records <= 0 || rounds <= 0) {
    std::fprintf(stderr, "need positive records and rounds\n");
    return 2;
  }
  const std::string schema_dir = options.Get("schema-dir", RS_SHOP_SCHEMA_DIR);
  const metadata::RecordMetaData without_index = BuildMetadata(schema_dir, false);
  const metadata::RecordMetaData with_index = BuildMetadata(schema_dir, true);
  auto db = kv::Database::Open("memory://");
  Check(db.status(), "open memory://");

  std::map<std::string, std::vector<double>> seconds;
  std::map<std::string, LatencyRecorder> latencies;
  for (int round = 0; round < rounds; ++round) {
    const Subspace build_space(Tuple::Of("bench", "indexer", "build", round));
    const Subspace reinsert_space(Tuple::Of("bench", "indexer", "reinsert", round));
    auto online_build = [&] {
      Progress("round " + std::to_string(round) + ": saving " + std::to_string(records) +
               " records without the index");
      SaveOrders(**db, build_space, without_index, records);
      store::RecordStoreOptions upgrade;
      upgrade.inline_build_record_limit = 0;
      {
        cursor::RecordContext context((*db)->CreateTransaction());
        auto store = store::RecordStore::Open(context, build_space, with_index, upgrade);
        Check(store.status(), "upgrade");
        Check(context.Commit(), "commit upgrade");
      }
      Progress("round " + std::to_string(round) + ": online_build");
      indexer::OnlineIndexer builder(**db, build_space, with_index, "order_by_total");
      const double start = NowSeconds();
      auto built = builder.BuildIndex();
      const double elapsed = NowSeconds() - start;
      Check(built.status(), "build");
      if (!built->readable || built->records_scanned != records) {
        std::fprintf(stderr, "build scanned %lld records, expected %lld\n",
                     static_cast<long long>(built->records_scanned),
                     static_cast<long long>(records));
        std::exit(1);
      }
      seconds["online_build"].push_back(elapsed);
      latencies["online_build"].Record(elapsed * 1e6);
      ClearSpace(**db, build_space);
    };
    auto reinsert = [&] {
      Progress("round " + std::to_string(round) + ": reinsert");
      const double start = NowSeconds();
      SaveOrders(**db, reinsert_space, with_index, records);
      const double elapsed = NowSeconds() - start;
      seconds["reinsert"].push_back(elapsed);
      latencies["reinsert"].Record(elapsed * 1e6);
      ClearSpace(**db, reinsert_space);
    };
    if (round % 2 == 0) {
      online_build();
      reinsert();
    } else {
      reinsert();
      online_build();
    }
  }
  for (const char* system : {"online_build", "reinsert"}) {
    Result result;
    result.workload = "value_index_1m";
    result.system = system;
    result.ops_per_sec = static_cast<double>(records) / MedianSeconds(seconds[system]);
    result.p50_us = latencies[system].Percentile(50);
    result.p99_us = latencies[system].Percentile(99);
    result.params = {{"records", std::to_string(records)}, {"rounds", std::to_string(rounds)}};
    reporter.Add(result);
  }
  reporter.PrintRatio("value_index_1m", "online_build", "reinsert");
  return 0;
}

}  // namespace

RS_BENCH_SUITE(indexer,
               "online index build vs re-inserting the records with the index (value_index_1m)",
               RunIndexer);

}  // namespace recordstore::bench
