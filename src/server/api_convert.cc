#include "server/api_convert.h"

#include "common/status_macros.h"
#include "google/protobuf/util/json_util.h"

namespace recordstore::server {

grpc::Status ToGrpc(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

StatusOr<TupleElement> FromValue(const v1::Value& value) {
  switch (value.kind_case()) {
    case v1::Value::kNull:
      return TupleElement();
    case v1::Value::kInt64:
      return TupleElement(value.int64());
    case v1::Value::kUint64:
      return TupleElement(value.uint64());
    case v1::Value::kDouble:
      return TupleElement(value.double_());
    case v1::Value::kFloat:
      return TupleElement(value.float_());
    case v1::Value::kString:
      return TupleElement(value.string());
    case v1::Value::kBytes:
      return TupleElement(ByteString{value.bytes()});
    case v1::Value::kBool:
      return TupleElement(value.bool_());
    case v1::Value::KIND_NOT_SET:
      break;
  }
  return MakeError(ErrorCode::kInvalidArgument, "a value has no kind set");
}

StatusOr<Tuple> FromValues(const google::protobuf::RepeatedPtrField<v1::Value>& values) {
  Tuple tuple;
  for (const v1::Value& value : values) {
    ASSIGN_OR_RETURN(TupleElement element, FromValue(value));
    tuple.Append(std::move(element));
  }
  return tuple;
}

StatusOr<v1::Value> ToValue(const TupleElement& element) {
  v1::Value value;
  if (element.is_null()) {
    value.set_null(true);
  } else if (std::optional<int64_t> integer = element.AsInt64()) {
    value.set_int64(*integer);
  } else if (const BigInteger* big = element.get_if<BigInteger>()) {
    std::optional<uint64_t> unsigned_value = big->ToUint64();
    if (!unsigned_value.has_value()) {
      return MakeError(ErrorCode::kInternalError, "integer " + element.ToString() +
                                                      " does not fit the API's values");
    }
    value.set_uint64(*unsigned_value);
  } else if (const double* d = element.get_if<double>()) {
    value.set_double_(*d);
  } else if (const float* f = element.get_if<float>()) {
    value.set_float_(*f);
  } else if (const std::string* s = element.get_if<std::string>()) {
    value.set_string(*s);
  } else if (const ByteString* b = element.get_if<ByteString>()) {
    value.set_bytes(b->data);
  } else if (const bool* flag = element.get_if<bool>()) {
    value.set_bool_(*flag);
  } else {
    return MakeError(ErrorCode::kInternalError,
                     "value " + element.ToString() + " has no API form");
  }
  return value;
}

StatusOr<std::unique_ptr<google::protobuf::Message>> ParseRecord(
    const metadata::RecordMetaData& metadata, const metadata::RecordType& type,
    const v1::Record& record) {
  std::unique_ptr<google::protobuf::Message> message = metadata.NewRecord(type);
  switch (record.body_case()) {
    case v1::Record::kProto:
      if (!message->ParseFromString(record.proto())) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "the record's bytes do not parse as " + type.name());
      }
      return message;
    case v1::Record::kJson: {
      google::protobuf::util::JsonParseOptions options;
      auto parsed = google::protobuf::util::JsonStringToMessage(record.json(), message.get(),
                                                                options);
      if (!parsed.ok()) {
        return MakeError(ErrorCode::kInvalidArgument, "the record's JSON is not a " +
                                                          type.name() + ": " +
                                                          std::string(parsed.message()));
      }
      return message;
    }
    case v1::Record::BODY_NOT_SET:
      break;
  }
  return MakeError(ErrorCode::kInvalidArgument, "the record has neither proto nor json body");
}

namespace {

// Sets `record`'s primary key and version. The server's primary keys start with the record
// type key; clients never see it.
Status SetKeyAndVersion(const Tuple& primary_key,
                        const std::optional<cursor::RecordVersion>& version, v1::Record& record) {
  for (size_t i = 1; i < primary_key.size(); ++i) {
    ASSIGN_OR_RETURN(*record.add_primary_key(), ToValue(primary_key[i]));
  }
  if (version.has_value()) record.set_version(version->ToBytes());
  return absl::OkStatus();
}

}  // namespace

StatusOr<v1::Record> ToApiRecord(const store::StoredRecord& stored, bool json) {
  v1::Record record;
  record.set_record_type(stored.type->name());
  if (json) {
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    std::string text;
    auto printed = google::protobuf::util::MessageToJsonString(*stored.message, &text, options);
    if (!printed.ok()) {
      return MakeError(ErrorCode::kInternalError, "record does not print as JSON: " +
                                                      std::string(printed.message()));
    }
    record.set_json(std::move(text));
  } else {
    record.set_proto(stored.message->SerializeAsString());
  }
  RETURN_IF_ERROR(SetKeyAndVersion(stored.primary_key, stored.version, record));
  return record;
}

StatusOr<v1::Record> ToApiRecord(store::SerializedRecord stored, const Tuple& primary_key) {
  v1::Record record;
  record.set_record_type(stored.type->name());
  record.set_proto(std::move(stored.bytes));
  RETURN_IF_ERROR(SetKeyAndVersion(primary_key, stored.version, record));
  return record;
}

}  // namespace recordstore::server
