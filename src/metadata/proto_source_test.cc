#include "metadata/proto_source.h"

#include <map>
#include <string>

#include "gtest/gtest.h"
#include "metadata/metadata_test_util.h"

namespace recordstore::metadata {
namespace {

std::string ParseError(const std::map<std::string, std::string>& sources) {
  StatusOr<google::protobuf::FileDescriptorSet> files = ParseProtoFiles(sources);
  EXPECT_FALSE(files.ok());
  return static_cast<std::string>(files.status().message());
}

TEST(ProtoSourceTest, ShopParsesInDependencyOrder) {
  StatusOr<google::protobuf::FileDescriptorSet> files = ParseProtoFiles(ShopSources());
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->file_size(), 2);
  EXPECT_EQ(files->file(0).name(), "shop/common.proto");
  EXPECT_EQ(files->file(1).name(), "shop/shop.proto");
  EXPECT_EQ(files->file(1).dependency(0), "shop/common.proto");
  EXPECT_EQ(files->file(1).message_type_size(), 5);
}

TEST(ProtoSourceTest, SyntaxErrorHasItsPosition) {
  EXPECT_EQ(ParseError({{"bad.proto",
                         "syntax = \"proto3\";\n"
                         "message Order {\n"
                         "  int64 id = 1\n"
                         "  string note = 2;\n"
                         "}\n"}}),
            "invalid_argument (8001): bad.proto:4:3: Expected \";\".");
}

TEST(ProtoSourceTest, UnknownTypeHasItsPosition) {
  EXPECT_EQ(ParseError({{"bad.proto",
                         "syntax = \"proto3\";\n"
                         "message Order {\n"
                         "  Adress shipping = 1;\n"
                         "}\n"}}),
            "invalid_argument (8001): bad.proto:3:3: \"Adress\" is not defined.");
}

TEST(ProtoSourceTest, ErrorInAnImportedFileNamesThatFile) {
  std::map<std::string, std::string> sources = ShopSources();
  sources["shop/common.proto"] =
      "syntax = \"proto3\";\n"
      "package shop;\n"
      "message Address {\n"
      "  string city = 1;\n"
      "  string zip = 1;\n"
      "}\n";
  EXPECT_EQ(ParseError(sources),
            "invalid_argument (8001): shop/common.proto:5:16: Field number 1 has already been "
            "used in \"shop.Address\" by field \"city\".; shop/shop.proto:6:1: Import "
            "\"shop/common.proto\" was not found or had errors.; shop/shop.proto:12:3: "
            "\"Address\" is not defined.; shop/shop.proto:33:3: \"Address\" is not defined.");
}

TEST(ProtoSourceTest, MissingImportIsNamed) {
  std::map<std::string, std::string> sources = ShopSources();
  sources.erase("shop/common.proto");
  EXPECT_EQ(ParseError(sources),
            "invalid_argument (8001): shop/common.proto: not among the given files; "
            "shop/shop.proto:6:1: Import \"shop/common.proto\" was not found or had errors.; "
            "shop/shop.proto:12:3: \"Address\" is not defined.; shop/shop.proto:33:3: "
            "\"Address\" is not defined.");
}

TEST(ProtoSourceTest, WellKnownImportsAreIncluded) {
  StatusOr<google::protobuf::FileDescriptorSet> files =
      ParseProtoFiles({{"event.proto",
                        "syntax = \"proto3\";\n"
                        "import \"google/protobuf/timestamp.proto\";\n"
                        "message Event { google.protobuf.Timestamp at = 1; }\n"}});
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->file_size(), 2);
  EXPECT_EQ(files->file(0).name(), "google/protobuf/timestamp.proto");
  EXPECT_EQ(files->file(1).name(), "event.proto");
}

}  // namespace
}  // namespace recordstore::metadata
