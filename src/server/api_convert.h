// Conversions between the gRPC API's messages (proto/recordstore/v1) and the library's types:
// values, records, statuses.
#ifndef RECORDSTORE_SERVER_API_CONVERT_H_
#define RECORDSTORE_SERVER_API_CONVERT_H_

#include <string>
#include <vector>

#include "google/protobuf/message.h"
#include "grpcpp/support/status.h"
#include "metadata/record_metadata.h"
#include "recordstore/status.h"
#include "recordstore/v1/common.pb.h"
#include "store/record_store.h"
#include "tuple/tuple.h"

namespace recordstore::server {

// The gRPC status for `status`: the same canonical code (absl and gRPC share them: conflicts
// after retries are ABORTED, limits RESOURCE_EXHAUSTED, ...) and its message, which carries
// our error number ("not_found (8002): ...").
grpc::Status ToGrpc(const Status& status);

// Tuple elements for API values; invalid_argument for an empty Value.
StatusOr<TupleElement> FromValue(const v1::Value& value);
StatusOr<Tuple> FromValues(const google::protobuf::RepeatedPtrField<v1::Value>& values);
// API values for tuple elements (integers above INT64_MAX become uint64; other kinds that
// record fields never hold are refused with internal_error).
StatusOr<v1::Value> ToValue(const TupleElement& element);

// The message of `type` in `record` (protobuf bytes or JSON). invalid_argument naming the
// type when the bytes do not parse.
StatusOr<std::unique_ptr<google::protobuf::Message>> ParseRecord(
    const metadata::RecordMetaData& metadata, const metadata::RecordType& type,
    const v1::Record& record);

// `stored` as an API record: type, body (JSON or protobuf bytes), primary key without its
// leading record type, version.
StatusOr<v1::Record> ToApiRecord(const store::StoredRecord& stored, bool json);
// `stored`, the record with `primary_key`, as an API record with a protobuf body: its bytes
// as stored, not parsed and serialized again.
StatusOr<v1::Record> ToApiRecord(store::SerializedRecord stored, const Tuple& primary_key);

}  // namespace recordstore::server

#endif  // RECORDSTORE_SERVER_API_CONVERT_H_
