#include "tuple/directory_layer.h"

#include <algorithm>
#include <utility>

#include "common/status_macros.h"

namespace recordstore {
namespace {

// Keys inside a node, as in FDB's bindings: (0, name) -> the subdirectory's prefix;
// (b"layer") -> the layer. Inside the root node also (b"version") and (b"hca", ...).
constexpr int64_t kSubdirs = 0;
constexpr std::string_view kLayerKey = "layer";
constexpr std::string_view kVersionKey = "version";
constexpr std::string_view kAllocatorKey = "hca";

std::string PathToString(const DirectoryPath& path) {
  std::string text;
  for (const std::string& name : path) text.append("/").append(name);
  return text.empty() ? "/" : text;
}

std::string QuoteBytes(std::string_view bytes) {
  return TupleElement(ByteString{std::string(bytes)}).ToString();
}

// Names are tuple strings; one that Unpack would reject could never be listed.
Status ValidatePath(const DirectoryPath& path) {
  for (const std::string& name : path) {
    if (!Tuple::Unpack(Tuple::Of(name).Pack()).ok()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "directory name " + QuoteBytes(name) + " is not valid UTF-8");
    }
  }
  return Status();
}

// The first key after every key that starts with `prefix`.
// REQUIRES: `prefix` holds a byte other than 0xff.
std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (static_cast<uint8_t>(end.back()) == 0xff) end.pop_back();
  end.back() = static_cast<char>(static_cast<uint8_t>(end.back()) + 1);
  return end;
}

std::string EncodeVersion(uint32_t major, uint32_t minor, uint32_t micro) {
  std::string bytes;
  for (uint32_t part : {major, minor, micro}) {
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>((part >> (8 * i)) & 0xff));
  }
  return bytes;
}

uint32_t DecodeUint32(std::string_view bytes) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(bytes[i]);
  return value;
}

bool IsWithin(const DirectoryPath& path, const DirectoryPath& ancestor) {
  return ancestor.size() <= path.size() &&
         std::equal(ancestor.begin(), ancestor.end(), path.begin());
}

}  // namespace

DirectoryLayer::DirectoryLayer() : DirectoryLayer(Subspace("\xfe"), Subspace()) {}

DirectoryLayer::DirectoryLayer(Subspace node_subspace, Subspace content_subspace)
    : node_subspace_(std::move(node_subspace)),
      content_subspace_(std::move(content_subspace)),
      root_node_(NodeFor(node_subspace_.key())),
      allocator_(root_node_.Sub(Tuple().AppendBytes(kAllocatorKey))) {}

Subspace DirectoryLayer::NodeFor(std::string_view prefix) const {
  return node_subspace_.Sub(Tuple().AppendBytes(prefix));
}

Status DirectoryLayer::CheckVersion(kv::Transaction& txn, Access access) const {
  std::string key = root_node_.Pack(Tuple().AppendBytes(kVersionKey));
  ASSIGN_OR_RETURN(std::optional<std::string> stored, txn.Get(key));
  if (!stored.has_value()) {
    if (access == Access::kWrite) {
      txn.Set(key, EncodeVersion(kMajorVersion, kMinorVersion, kMicroVersion));
    }
    return Status();
  }
  if (stored->size() != 12) {
    return MakeError(ErrorCode::kDataCorruption,
                     "directory layer version is " + QuoteBytes(*stored) + ", expected 12 bytes");
  }
  uint32_t major = DecodeUint32(stored->substr(0, 4));
  uint32_t minor = DecodeUint32(stored->substr(4, 4));
  std::string version = std::to_string(major) + "." + std::to_string(minor) + "." +
                        std::to_string(DecodeUint32(stored->substr(8, 4)));
  if (major > kMajorVersion) {
    return MakeError(ErrorCode::kUnsupported,
                     "cannot read a directory layer of version " + version);
  }
  if (access == Access::kWrite && minor > kMinorVersion) {
    return MakeError(ErrorCode::kUnsupported,
                     "cannot change a directory layer of version " + version);
  }
  return Status();
}

StatusOr<std::vector<std::string>> DirectoryLayer::Walk(kv::Transaction& txn,
                                                        const DirectoryPath& path) const {
  std::vector<std::string> prefixes;
  std::string node_prefix = node_subspace_.key();
  for (const std::string& name : path) {
    ASSIGN_OR_RETURN(std::optional<std::string> child,
                     txn.Get(NodeFor(node_prefix).Pack(Tuple::Of(kSubdirs, name))));
    if (!child.has_value()) break;
    prefixes.push_back(*child);
    node_prefix = *std::move(child);
  }
  return prefixes;
}

StatusOr<std::optional<std::string>> DirectoryLayer::Find(kv::Transaction& txn,
                                                          const DirectoryPath& path) const {
  ASSIGN_OR_RETURN(std::vector<std::string> prefixes, Walk(txn, path));
  if (prefixes.size() < path.size()) return std::nullopt;
  return path.empty() ? node_subspace_.key() : prefixes.back();
}

StatusOr<std::string> DirectoryLayer::ReadLayer(kv::Transaction& txn,
                                                std::string_view prefix) const {
  ASSIGN_OR_RETURN(std::optional<std::string> layer,
                   txn.Get(NodeFor(prefix).Pack(Tuple().AppendBytes(kLayerKey))));
  return layer.value_or("");
}

StatusOr<bool> DirectoryLayer::IsPrefixFree(kv::Transaction& txn, const std::string& prefix) const {
  if (node_subspace_.Contains(prefix)) return false;
  kv::RangeOptions options;
  options.limit = 1;
  options.snapshot = true;

  // Nodes are prefix-free, so a node whose prefix is a prefix of `prefix` has the last node
  // key before `prefix`'s own node keys.
  kv::RangeOptions last = options;
  last.reverse = true;
  ASSIGN_OR_RETURN(kv::RangeResult before,
                   txn.GetRange(node_subspace_.Range().first,
                                node_subspace_.Pack(Tuple().AppendBytes(prefix)) + '\x00', last));
  if (!before.rows.empty()) {
    ASSIGN_OR_RETURN(Tuple key, node_subspace_.Unpack(before.rows[0].key));
    const ByteString* node_prefix = key.empty() ? nullptr : key[0].get_if<ByteString>();
    if (node_prefix == nullptr) {
      return MakeError(ErrorCode::kDataCorruption,
                       "directory node key " + key.ToString() + " does not start with a prefix");
    }
    if (prefix.starts_with(node_prefix->data)) return false;
  }

  ASSIGN_OR_RETURN(
      kv::RangeResult within,
      txn.GetRange(node_subspace_.Pack(Tuple().AppendBytes(prefix)),
                   node_subspace_.Pack(Tuple().AppendBytes(PrefixEnd(prefix))), options));
  return within.rows.empty();
}

StatusOr<std::string> DirectoryLayer::AllocatePrefix(kv::Transaction& txn) const {
  ASSIGN_OR_RETURN(int64_t allocated, allocator_.Allocate(txn));
  std::string prefix = content_subspace_.Pack(Tuple::Of(allocated));
  kv::RangeOptions first;
  first.limit = 1;
  ASSIGN_OR_RETURN(kv::RangeResult existing, txn.GetRange(prefix, PrefixEnd(prefix), first));
  if (!existing.rows.empty()) {
    return MakeError(ErrorCode::kDataCorruption,
                     "the allocated directory prefix " + QuoteBytes(prefix) +
                         " already holds keys written outside the directory layer");
  }
  ASSIGN_OR_RETURN(bool free, IsPrefixFree(txn, prefix));
  if (!free) {
    return MakeError(ErrorCode::kDataCorruption,
                     "the allocated directory prefix " + QuoteBytes(prefix) +
                         " overlaps a directory prefix the allocator did not hand out");
  }
  return prefix;
}

StatusOr<DirectorySubspace> DirectoryLayer::CreateOrOpenImpl(kv::Transaction& txn,
                                                             const DirectoryPath& path,
                                                             std::string_view layer,
                                                             bool allow_create,
                                                             bool allow_open) const {
  if (path.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "the root directory cannot be created or opened");
  }
  RETURN_IF_ERROR(ValidatePath(path));
  RETURN_IF_ERROR(CheckVersion(txn, Access::kRead));
  ASSIGN_OR_RETURN(std::vector<std::string> prefixes, Walk(txn, path));
  if (prefixes.size() == path.size()) {
    if (!allow_open) {
      return MakeError(ErrorCode::kAlreadyExists,
                       "directory " + PathToString(path) + " already exists");
    }
    ASSIGN_OR_RETURN(std::string stored_layer, ReadLayer(txn, prefixes.back()));
    if (!layer.empty() && stored_layer != layer) {
      return MakeError(ErrorCode::kInvalidArgument, "directory " + PathToString(path) +
                                                        " has layer " + QuoteBytes(stored_layer) +
                                                        ", not " + QuoteBytes(layer));
    }
    return DirectorySubspace(prefixes.back(), path, std::move(stored_layer));
  }
  if (!allow_create) {
    return MakeError(ErrorCode::kNotFound, "directory " + PathToString(path) + " does not exist");
  }

  RETURN_IF_ERROR(CheckVersion(txn, Access::kWrite));
  std::string parent = prefixes.empty() ? node_subspace_.key() : prefixes.back();
  for (size_t i = prefixes.size(); i < path.size(); ++i) {
    ASSIGN_OR_RETURN(std::string prefix, AllocatePrefix(txn));
    txn.Set(NodeFor(parent).Pack(Tuple::Of(kSubdirs, path[i])), prefix);
    bool is_target = i + 1 == path.size();
    txn.Set(NodeFor(prefix).Pack(Tuple().AppendBytes(kLayerKey)),
            is_target ? layer : std::string_view());
    parent = std::move(prefix);
  }
  return DirectorySubspace(std::move(parent), path, std::string(layer));
}

StatusOr<DirectorySubspace> DirectoryLayer::CreateOrOpen(kv::Transaction& txn,
                                                         const DirectoryPath& path,
                                                         std::string_view layer) const {
  return CreateOrOpenImpl(txn, path, layer, /*allow_create=*/true, /*allow_open=*/true);
}

StatusOr<DirectorySubspace> DirectoryLayer::Create(kv::Transaction& txn, const DirectoryPath& path,
                                                   std::string_view layer) const {
  return CreateOrOpenImpl(txn, path, layer, /*allow_create=*/true, /*allow_open=*/false);
}

StatusOr<DirectorySubspace> DirectoryLayer::Open(kv::Transaction& txn, const DirectoryPath& path,
                                                 std::string_view layer) const {
  return CreateOrOpenImpl(txn, path, layer, /*allow_create=*/false, /*allow_open=*/true);
}

StatusOr<bool> DirectoryLayer::Exists(kv::Transaction& txn, const DirectoryPath& path) const {
  RETURN_IF_ERROR(ValidatePath(path));
  RETURN_IF_ERROR(CheckVersion(txn, Access::kRead));
  ASSIGN_OR_RETURN(std::optional<std::string> prefix, Find(txn, path));
  return prefix.has_value();
}

StatusOr<std::vector<std::string>> DirectoryLayer::List(kv::Transaction& txn,
                                                        const DirectoryPath& path) const {
  RETURN_IF_ERROR(ValidatePath(path));
  RETURN_IF_ERROR(CheckVersion(txn, Access::kRead));
  ASSIGN_OR_RETURN(std::optional<std::string> prefix, Find(txn, path));
  if (!prefix.has_value()) {
    return MakeError(ErrorCode::kNotFound, "directory " + PathToString(path) + " does not exist");
  }
  Subspace node = NodeFor(*prefix);
  auto [begin, end] = node.Range(Tuple::Of(kSubdirs));
  kv::RangeReader reader(txn, kv::RangeEndpoint::Inclusive(begin),
                         kv::RangeEndpoint::Exclusive(end));
  std::vector<std::string> names;
  while (true) {
    ASSIGN_OR_RETURN(const kv::KeyValue* row, reader.Next());
    if (row == nullptr) break;
    ASSIGN_OR_RETURN(Tuple key, node.Unpack(row->key));
    const std::string* name = key.size() == 2 ? key[1].get_if<std::string>() : nullptr;
    if (name == nullptr) {
      return MakeError(ErrorCode::kDataCorruption,
                       "subdirectory key " + key.ToString() + " is not (0, name)");
    }
    names.push_back(*name);
  }
  return names;
}

StatusOr<DirectorySubspace> DirectoryLayer::Move(kv::Transaction& txn,
                                                 const DirectoryPath& old_path,
                                                 const DirectoryPath& new_path) const {
  if (old_path.empty() || new_path.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "the root directory cannot be moved or replaced");
  }
  RETURN_IF_ERROR(ValidatePath(old_path));
  RETURN_IF_ERROR(ValidatePath(new_path));
  if (IsWithin(new_path, old_path)) {
    return MakeError(ErrorCode::kInvalidArgument, "cannot move directory " +
                                                      PathToString(old_path) + " to " +
                                                      PathToString(new_path) + " inside itself");
  }
  RETURN_IF_ERROR(CheckVersion(txn, Access::kWrite));
  ASSIGN_OR_RETURN(std::vector<std::string> old_prefixes, Walk(txn, old_path));
  if (old_prefixes.size() < old_path.size()) {
    return MakeError(ErrorCode::kNotFound,
                     "cannot move directory " + PathToString(old_path) + ": it does not exist");
  }
  ASSIGN_OR_RETURN(std::vector<std::string> new_prefixes, Walk(txn, new_path));
  if (new_prefixes.size() == new_path.size()) {
    return MakeError(ErrorCode::kAlreadyExists,
                     "cannot move to " + PathToString(new_path) + ": it already exists");
  }
  if (new_prefixes.size() + 1 < new_path.size()) {
    return MakeError(ErrorCode::kNotFound,
                     "cannot move to " + PathToString(new_path) + ": its parent does not exist");
  }
  const std::string& prefix = old_prefixes.back();
  const std::string& old_parent =
      old_path.size() > 1 ? old_prefixes[old_path.size() - 2] : node_subspace_.key();
  const std::string& new_parent =
      new_path.size() > 1 ? new_prefixes[new_path.size() - 2] : node_subspace_.key();
  txn.Set(NodeFor(new_parent).Pack(Tuple::Of(kSubdirs, new_path.back())), prefix);
  txn.Clear(NodeFor(old_parent).Pack(Tuple::Of(kSubdirs, old_path.back())));
  ASSIGN_OR_RETURN(std::string layer, ReadLayer(txn, prefix));
  return DirectorySubspace(prefix, new_path, std::move(layer));
}

Status DirectoryLayer::RemoveRecursive(kv::Transaction& txn, const std::string& prefix) const {
  Subspace node = NodeFor(prefix);
  auto [begin, end] = node.Range(Tuple::Of(kSubdirs));
  kv::RangeReader reader(txn, kv::RangeEndpoint::Inclusive(begin),
                         kv::RangeEndpoint::Exclusive(end));
  std::vector<std::string> children;
  while (true) {
    ASSIGN_OR_RETURN(const kv::KeyValue* row, reader.Next());
    if (row == nullptr) break;
    children.push_back(row->value);
  }
  for (const std::string& child : children) RETURN_IF_ERROR(RemoveRecursive(txn, child));
  txn.ClearRange(prefix, PrefixEnd(prefix));
  auto [node_begin, node_end] = node.Range();
  txn.ClearRange(node_begin, node_end);
  return Status();
}

StatusOr<bool> DirectoryLayer::RemoveImpl(kv::Transaction& txn, const DirectoryPath& path,
                                          bool must_exist) const {
  if (path.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "the root directory cannot be removed");
  }
  RETURN_IF_ERROR(ValidatePath(path));
  RETURN_IF_ERROR(CheckVersion(txn, Access::kWrite));
  ASSIGN_OR_RETURN(std::vector<std::string> prefixes, Walk(txn, path));
  if (prefixes.size() < path.size()) {
    if (!must_exist) return false;
    return MakeError(ErrorCode::kNotFound, "directory " + PathToString(path) + " does not exist");
  }
  RETURN_IF_ERROR(RemoveRecursive(txn, prefixes.back()));
  // Whatever lived under the directory is gone, record store headers included: caches keyed
  // by the metadata version (store/store_state_cache.h) must not serve it any more.
  txn.BumpMetadataVersion();
  const std::string& parent = path.size() > 1 ? prefixes[path.size() - 2] : node_subspace_.key();
  txn.Clear(NodeFor(parent).Pack(Tuple::Of(kSubdirs, path.back())));
  return true;
}

Status DirectoryLayer::Remove(kv::Transaction& txn, const DirectoryPath& path) const {
  return RemoveImpl(txn, path, /*must_exist=*/true).status();
}

StatusOr<bool> DirectoryLayer::RemoveIfExists(kv::Transaction& txn,
                                              const DirectoryPath& path) const {
  return RemoveImpl(txn, path, /*must_exist=*/false);
}

}  // namespace recordstore
