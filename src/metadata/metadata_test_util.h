// The shop schema (testdata/shop/*.proto, testdata/shop_metadata.textproto) and helpers shared
// by the metadata tests.
#ifndef RECORDSTORE_METADATA_METADATA_TEST_UTIL_H_
#define RECORDSTORE_METADATA_METADATA_TEST_UTIL_H_

#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "metadata/metadata.pb.h"
#include "metadata/proto_source.h"
#include "metadata/record_metadata.h"
#include "tuple/tuple_test_util.h"

namespace recordstore::metadata {

inline std::string ReadTestFile(const std::string& relative) {
  std::ifstream in(std::string(RS_METADATA_TESTDATA) + "/" + relative);
  EXPECT_TRUE(in.good()) << relative;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The shop's .proto files, named as they import each other.
inline std::map<std::string, std::string> ShopSources() {
  return {{"shop/common.proto", ReadTestFile("shop/common.proto")},
          {"shop/shop.proto", ReadTestFile("shop/shop.proto")}};
}

// `text` parsed as a text-format message of type T; a parse failure fails the test.
template <typename T>
T ParseText(std::string_view text) {
  T message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(std::string(text), &message)) << text;
  return message;
}

// The shop's metadata proto, version 3, with its files parsed from `sources`.
inline proto::RecordMetaData ShopProto(
    const std::map<std::string, std::string>& sources = ShopSources()) {
  auto metadata = ParseText<proto::RecordMetaData>(ReadTestFile("shop_metadata.textproto"));
  StatusOr<google::protobuf::FileDescriptorSet> files = ParseProtoFiles(sources);
  EXPECT_TRUE(files.ok()) << files.status();
  if (files.ok()) *metadata.mutable_files() = *files;
  return metadata;
}

inline RecordMetaData BuildOrDie(const proto::RecordMetaData& proto) {
  StatusOr<RecordMetaData> metadata = RecordMetaData::Build(proto);
  if (!metadata.ok()) {
    ADD_FAILURE() << metadata.status();
    std::abort();
  }
  return *std::move(metadata);
}

// A record of `type` in `metadata` filled from text format.
inline std::unique_ptr<google::protobuf::Message> MakeRecord(const RecordMetaData& metadata,
                                                             std::string_view type,
                                                             std::string_view text) {
  const RecordType* record_type = metadata.FindRecordType(type);
  EXPECT_NE(record_type, nullptr) << type;
  std::unique_ptr<google::protobuf::Message> record = metadata.NewRecord(*record_type);
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(std::string(text), record.get()))
      << text;
  return record;
}

}  // namespace recordstore::metadata

#endif  // RECORDSTORE_METADATA_METADATA_TEST_UTIL_H_
