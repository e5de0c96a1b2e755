#include "metadata/proto_source.h"

#include <list>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/compiler/importer.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace recordstore::metadata {
namespace {

using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptor;
using google::protobuf::FileDescriptorSet;

constexpr std::string_view kWellKnownPrefix = "google/protobuf/";

// Serves `sources`; a well-known file the protobuf library carries is served as the source
// text its descriptor prints to.
class MapSourceTree : public google::protobuf::compiler::SourceTree {
 public:
  explicit MapSourceTree(const std::map<std::string, std::string>& sources) : sources_(sources) {}

  google::protobuf::io::ZeroCopyInputStream* Open(const std::string& filename) override {
    const std::string* text = nullptr;
    if (auto it = sources_.find(filename); it != sources_.end()) {
      text = &it->second;
    } else if (filename.starts_with(kWellKnownPrefix)) {
      const FileDescriptor* file = DescriptorPool::generated_pool()->FindFileByName(filename);
      if (file != nullptr) text = &well_known_.emplace_back(file->DebugString());
    }
    if (text == nullptr) return nullptr;
    // SourceTree::Open hands the stream's ownership to the caller (the importer).
    return new google::protobuf::io::ArrayInputStream(text->data(), static_cast<int>(text->size()));
  }

  std::string GetLastErrorMessage() override { return "not among the given files"; }

 private:
  const std::map<std::string, std::string>& sources_;
  // Printed well-known files; a deque-like list so that handed-out pointers stay valid.
  std::list<std::string> well_known_;
};

class CollectingErrors : public google::protobuf::compiler::MultiFileErrorCollector {
 public:
  void AddError(const std::string& filename, int line, int column,
                const std::string& message) override {
    std::string error = line < 0
                            ? absl::StrCat(filename, ": ", message)
                            : absl::StrCat(filename, ":", line + 1, ":", column + 1, ": ", message);
    // A file that fails is reported again when a second file imports it.
    if (seen_.insert(error).second) errors_.push_back(std::move(error));
  }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::vector<std::string> errors_;
  std::set<std::string> seen_;
};

// Appends `file` to `out` after the files it imports, each once.
void AppendInDependencyOrder(const FileDescriptor& file, std::set<std::string>& added,
                             FileDescriptorSet& out) {
  if (!added.insert(file.name()).second) return;
  for (int i = 0; i < file.dependency_count(); ++i) {
    AppendInDependencyOrder(*file.dependency(i), added, out);
  }
  file.CopyTo(out.add_file());
}

}  // namespace

StatusOr<FileDescriptorSet> ParseProtoFiles(const std::map<std::string, std::string>& sources) {
  MapSourceTree tree(sources);
  CollectingErrors errors;
  google::protobuf::compiler::Importer importer(&tree, &errors);
  std::vector<const FileDescriptor*> files;
  for (const auto& [name, text] : sources) {
    const FileDescriptor* file = importer.Import(name);
    if (file != nullptr) files.push_back(file);
  }
  if (!errors.errors().empty()) {
    return MakeError(ErrorCode::kInvalidArgument, absl::StrJoin(errors.errors(), "; "));
  }
  FileDescriptorSet result;
  std::set<std::string> added;
  for (const FileDescriptor* file : files) AppendInDependencyOrder(*file, added, result);
  return result;
}

}  // namespace recordstore::metadata
