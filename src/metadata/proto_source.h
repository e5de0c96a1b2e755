// Parses .proto source text at run time into a FileDescriptorSet, so that a schema can be
// uploaded as text. Nothing is read from disk: every file, imports included, comes from the
// map passed in.
//
// Thread-safety: a pure function.
#ifndef RECORDSTORE_METADATA_PROTO_SOURCE_H_
#define RECORDSTORE_METADATA_PROTO_SOURCE_H_

#include <map>
#include <string>

#include "google/protobuf/descriptor.pb.h"
#include "recordstore/status.h"

namespace recordstore::metadata {

// Parses and links the files in `sources` (file name as imports name it -> .proto text).
// Returns every file in dependency order (each after the files it imports), as protoc
// --include_imports would. The well-known files the protobuf library carries
// (google/protobuf/timestamp.proto, descriptor.proto, ...) may be imported without being
// given; they are included in the result like the others. Fails with kInvalidArgument listing each
// problem as "file:line:column: message" (1-based line and column), separated by "; " — syntax
// errors, unknown types, imports of files not in `sources`.
StatusOr<google::protobuf::FileDescriptorSet> ParseProtoFiles(
    const std::map<std::string, std::string>& sources);

}  // namespace recordstore::metadata

#endif  // RECORDSTORE_METADATA_PROTO_SOURCE_H_
