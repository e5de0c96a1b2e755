// Shared by the crypto tests: the shop metadata of metadata/testdata, a memory:// database and
// helpers to save and read Orders through a real RecordStore.
#ifndef RECORDSTORE_CRYPTO_CRYPTO_TEST_UTIL_H_
#define RECORDSTORE_CRYPTO_CRYPTO_TEST_UTIL_H_

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

namespace recordstore::crypto::testing_util {

inline const Subspace& StoreSpace() {
  static const Subspace* space = new Subspace(Tuple::Of("store"));
  return *space;
}
inline const Subspace& KeySpace() {
  static const Subspace* space = new Subspace(Tuple::Of("system", "keys"));
  return *space;
}
// Where the store's records live (record_store.h: subspace + (1)).
inline Subspace RecordsSpace() { return StoreSpace().Sub(Tuple::Of(1)); }

inline StatusOr<metadata::RecordMetaData> ShopMetaData() {
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
  return metadata::RecordMetaData::Build(proto);
}

inline store::RecordStoreOptions EncryptedOptions(std::shared_ptr<const KeyProvider> keys,
                                                  bool encrypt = true) {
  store::RecordStoreOptions options;
  options.serializer.encrypt = encrypt;
  options.keys = std::move(keys);
  return options;
}

// Runs `body` on the store in one transaction, retrying retryable errors, and commits.
inline Status InStore(kv::Database& db, const metadata::RecordMetaData& metadata,
                      const store::RecordStoreOptions& options,
                      const std::function<Status(store::RecordStore&)>& body) {
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

// An Order of customer 7 with a note that marks its plaintext.
inline std::string OrderText(int64_t order_id, const std::string& note) {
  return "order_id: " + std::to_string(order_id) +
         " customer_id: 7 total: " + std::to_string(order_id * 10) + " note: \"" + note + "\"";
}

// Saves Order `order_id` with `note`; returns its primary key.
inline StatusOr<Tuple> SaveOrder(store::RecordStore& store, int64_t order_id,
                                 const std::string& note) {
  const metadata::RecordType* type = store.metadata().FindRecordType("Order");
  if (type == nullptr) return MakeError(ErrorCode::kNotFound, "Order");
  std::unique_ptr<google::protobuf::Message> record = store.metadata().NewRecord(*type);
  if (!google::protobuf::TextFormat::ParseFromString(OrderText(order_id, note), record.get())) {
    return MakeError(ErrorCode::kInvalidArgument, "order text");
  }
  ASSIGN_OR_RETURN(store::SavedRecord saved, store.SaveRecord(*record));
  return saved.primary_key;
}

}  // namespace recordstore::crypto::testing_util

#endif  // RECORDSTORE_CRYPTO_CRYPTO_TEST_UTIL_H_
