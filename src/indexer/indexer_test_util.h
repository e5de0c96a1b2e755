// Shared by the indexer tests and the crash child: the shop metadata with indexes added in
// version 4 (to be built online), and helpers to fill and open stores.
#ifndef RECORDSTORE_INDEXER_INDEXER_TEST_UTIL_H_
#define RECORDSTORE_INDEXER_INDEXER_TEST_UTIL_H_

#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>

#include "common/status_macros.h"
#include "cursor/record_context.h"
#include "google/protobuf/text_format.h"
#include "metadata/metadata.pb.h"
#include "metadata/proto_source.h"
#include "metadata/record_metadata.h"
#include "recordstore/kv.h"
#include "store/record_store.h"

namespace recordstore::indexer::testing_util {

inline const Subspace& StoreSpace() {
  static const Subspace* space = new Subspace(Tuple::Of("store"));
  return *space;
}

// The shop metadata of metadata/testdata, version 3, or version 4 with four more indexes:
//   customer_by_name     value on Customer.name
//   orders_per_customer  count of Orders grouped by customer_id
//   order_by_total       value on Order.total
//   total_by_customer    sum of Order.total grouped by customer_id
// `unique_names` makes customer_by_name unique. Failures come back as a Status (the crash
// child has no gtest).
inline StatusOr<metadata::RecordMetaData> ShopMetaData(int version, bool unique_names = false) {
  auto read = [](const std::string& relative) {
    std::ifstream in(std::string(RS_METADATA_TESTDATA) + "/" + relative);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  metadata::proto::RecordMetaData proto;
  if (!google::protobuf::TextFormat::ParseFromString(read("shop_metadata.textproto"), &proto)) {
    return MakeError(ErrorCode::kInvalidArgument, "shop_metadata.textproto does not parse");
  }
  ASSIGN_OR_RETURN(*proto.mutable_files(),
                   metadata::ParseProtoFiles({{"shop/common.proto", read("shop/common.proto")},
                                              {"shop/shop.proto", read("shop/shop.proto")}}));
  if (version >= 4) {
    proto.set_version(version);
    std::string unique = unique_names ? R"(options { key: "unique" value: "true" })" : "";
    for (const std::string& text : {
             R"(name: "customer_by_name" type: "value" root { field { name: "name" } }
                record_types: "Customer" added_version: 4 last_modified_version: 4 )" +
                 unique,
             std::string(R"(name: "orders_per_customer" type: "count"
                root { grouping { whole { field { name: "customer_id" } } grouped_count: 0 } }
                record_types: "Order" added_version: 4 last_modified_version: 4)"),
             std::string(R"(name: "order_by_total" type: "value" root { field { name: "total" } }
                record_types: "Order" added_version: 4 last_modified_version: 4)"),
             std::string(R"(name: "total_by_customer" type: "sum"
                root { grouping { whole { then { children { field { name: "customer_id" } }
                                                 children { field { name: "total" } } } }
                                  grouped_count: 1 } }
                record_types: "Order" added_version: 4 last_modified_version: 4)")}) {
      if (!google::protobuf::TextFormat::ParseFromString(text, proto.add_indexes())) {
        return MakeError(ErrorCode::kInvalidArgument, text);
      }
    }
  }
  return metadata::RecordMetaData::Build(proto);
}

// Saves `text` (text format) as a record of `type`.
inline Status SaveText(store::RecordStore& store, std::string_view type, const std::string& text) {
  const metadata::RecordType* record_type = store.metadata().FindRecordType(type);
  if (record_type == nullptr) return MakeError(ErrorCode::kNotFound, std::string(type));
  std::unique_ptr<google::protobuf::Message> record = store.metadata().NewRecord(*record_type);
  if (!google::protobuf::TextFormat::ParseFromString(text, record.get())) {
    return MakeError(ErrorCode::kInvalidArgument, text);
  }
  return store.SaveRecord(*record).status();
}

// The Order with `order_id`: customer order_id % 100, total `total`.
inline std::string OrderText(int64_t order_id, int64_t total) {
  return "order_id: " + std::to_string(order_id) +
         " customer_id: " + std::to_string(order_id % 100) + " total: " + std::to_string(total);
}

// Runs `body` on the store (opened with `metadata` and `options`) in a transaction, retrying
// retryable errors, and commits.
inline Status InStore(kv::Database& db, const metadata::RecordMetaData& metadata,
                      const std::function<Status(store::RecordStore&)>& body,
                      store::RecordStoreOptions options = {}) {
  while (true) {
    cursor::RecordContext context(db.CreateTransaction());
    Status status = [&]() -> Status {
      ASSIGN_OR_RETURN(std::unique_ptr<store::RecordStore> store,
                       store::RecordStore::Open(context, StoreSpace(), metadata, options));
      RETURN_IF_ERROR(body(*store));
      return context.Commit();
    }();
    if (status.ok() || !IsRetryable(status)) return status;
  }
}

// Saves Orders first..last-1 (total = order_id % 1000) with metadata `v3`, 500 a transaction.
inline Status SaveOrders(kv::Database& db, const metadata::RecordMetaData& v3, int64_t first,
                         int64_t last) {
  for (int64_t begin = first; begin < last; begin += 500) {
    RETURN_IF_ERROR(InStore(db, v3, [&](store::RecordStore& store) -> Status {
      for (int64_t id = begin; id < std::min(last, begin + 500); ++id) {
        RETURN_IF_ERROR(SaveText(store, "Order", OrderText(id, id % 1000)));
      }
      return absl::OkStatus();
    }));
  }
  return absl::OkStatus();
}

// Opens the store with `v4` so that its new indexes become write-only with nothing built.
inline Status UpgradeLeavingIndexesUnbuilt(kv::Database& db, const metadata::RecordMetaData& v4) {
  store::RecordStoreOptions options;
  options.inline_build_record_limit = 0;
  return InStore(
      db, v4, [](store::RecordStore&) { return absl::OkStatus(); }, options);
}

}  // namespace recordstore::indexer::testing_util

#endif  // RECORDSTORE_INDEXER_INDEXER_TEST_UTIL_H_
