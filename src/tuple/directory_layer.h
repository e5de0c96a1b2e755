// The directory layer (FoundationDB's design and key layout): maps paths of names such as
// ("recordstore", "acme", "orders") to short allocated key prefixes, so that long logical
// names cost a few bytes per key, and a directory can be renamed (Move) without rewriting its
// data. docs/key-layout.md ("Directory layer") describes the keys.
//
// Each directory has a node in the node subspace, keyed by its prefix: its subdirectories
// (name -> prefix) and its layer (an application tag, "" when none). The root's node hangs
// under the node subspace's own prefix and also holds the prefix allocator and the layout
// version. Resolving a path reads one subdirectory entry per path element, so opening a
// directory costs O(depth) reads whatever the number of directories.
//
// Every operation runs inside the caller's transaction and takes effect only when it
// commits; concurrent transactions that create the same path conflict (one retries and then
// finds the directory), while creations of different paths rarely do.
//
// Thread-safety: a DirectoryLayer is immutable and may be used from many threads, each with
// its own transaction. DirectorySubspace is a plain value.
#ifndef RECORDSTORE_TUPLE_DIRECTORY_LAYER_H_
#define RECORDSTORE_TUPLE_DIRECTORY_LAYER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "recordstore/kv.h"
#include "recordstore/status.h"
#include "tuple/high_contention_allocator.h"
#include "tuple/subspace.h"

namespace recordstore {

// A directory path: names from the root down. Names are UTF-8 strings (any, "" included).
using DirectoryPath = std::vector<std::string>;

// An opened directory: the subspace of its contents (keys start with the allocated prefix),
// the path it was opened by and its layer.
class DirectorySubspace : public Subspace {
 public:
  DirectorySubspace(std::string prefix, DirectoryPath path, std::string layer)
      : Subspace(std::move(prefix)), path_(std::move(path)), layer_(std::move(layer)) {}

  const DirectoryPath& path() const { return path_; }
  const std::string& layer() const { return layer_; }

  friend bool operator==(const DirectorySubspace&, const DirectorySubspace&) = default;

 private:
  DirectoryPath path_;
  std::string layer_;
};

class DirectoryLayer {
 public:
  // Layout version written with the first directory (FDB's 1.0.0). A directory layer written
  // by a newer major version is refused for every operation (kUnsupported); one written by a
  // newer minor version is refused for changes.
  static constexpr uint32_t kMajorVersion = 1;
  static constexpr uint32_t kMinorVersion = 0;
  static constexpr uint32_t kMicroVersion = 0;

  // FDB's default: nodes under "\xfe", content prefixes directly in the key space (each
  // prefix is one tuple-encoded integer, so they never collide with "\xfe").
  DirectoryLayer();
  // Nodes under `node_subspace`, content prefixes = content_subspace.key() + a tuple-encoded
  // integer. REQUIRES: no other writer uses node_subspace or the prefixes it hands out.
  DirectoryLayer(Subspace node_subspace, Subspace content_subspace);

  // Opens the directory at `path`, creating it and any missing parents (with layer "") when
  // absent. A new directory gets `layer`. Errors: kInvalidArgument for the root (empty path),
  // a name that is not UTF-8, or an existing directory whose layer differs from a non-empty
  // `layer`; kDataCorruption when the allocated prefix already holds keys or overlaps a
  // prefix that the directory layer did not allocate; kUnsupported (see kMajorVersion);
  // errors of txn.
  StatusOr<DirectorySubspace> CreateOrOpen(kv::Transaction& txn, const DirectoryPath& path,
                                           std::string_view layer = {}) const;
  // As CreateOrOpen, but fails with kAlreadyExists when the directory exists.
  StatusOr<DirectorySubspace> Create(kv::Transaction& txn, const DirectoryPath& path,
                                     std::string_view layer = {}) const;
  // As CreateOrOpen, but fails with kNotFound when the directory does not exist, and writes
  // nothing. Costs depth + 2 point reads (version, one per name, layer).
  StatusOr<DirectorySubspace> Open(kv::Transaction& txn, const DirectoryPath& path,
                                   std::string_view layer = {}) const;

  // True when the directory exists; the root always does. Errors: kInvalidArgument for a
  // name that is not UTF-8; kUnsupported; errors of txn.
  StatusOr<bool> Exists(kv::Transaction& txn, const DirectoryPath& path) const;

  // The names of the directory's subdirectories in ascending byte order (the root's for an
  // empty path). Errors: kNotFound when the directory does not exist; as Exists.
  StatusOr<std::vector<std::string>> List(kv::Transaction& txn,
                                          const DirectoryPath& path = {}) const;

  // Moves the directory at `old_path`, with its subdirectories and contents, to `new_path`:
  // its prefix stays, so the data it holds is reachable under the new path at once. Returns
  // the directory as opened at `new_path`. Errors: kInvalidArgument when either path is the
  // root, a name is not UTF-8, or `new_path` lies inside `old_path` (itself included);
  // kNotFound when `old_path` or new_path's parent does not exist; kAlreadyExists when
  // `new_path` exists; kUnsupported; errors of txn.
  StatusOr<DirectorySubspace> Move(kv::Transaction& txn, const DirectoryPath& old_path,
                                   const DirectoryPath& new_path) const;

  // Removes the directory, all its subdirectories and every key under their prefixes.
  // Errors: kInvalidArgument for the root or a name that is not UTF-8; kNotFound when the
  // directory does not exist; kUnsupported; errors of txn.
  Status Remove(kv::Transaction& txn, const DirectoryPath& path) const;
  // As Remove, but returns false instead of kNotFound (and true after removing).
  StatusOr<bool> RemoveIfExists(kv::Transaction& txn, const DirectoryPath& path) const;

  // The subspaces of the layout, for inspection.
  const Subspace& node_subspace() const { return node_subspace_; }
  const Subspace& content_subspace() const { return content_subspace_; }
  // Where the root's node keys live (node_subspace + (node_subspace.key() as bytes)).
  const Subspace& root_node() const { return root_node_; }

 private:
  enum class Access { kRead, kWrite };

  // The node of the directory whose prefix is `prefix`.
  Subspace NodeFor(std::string_view prefix) const;

  // Refuses layouts of newer versions; for kWrite on a database without directories yet,
  // also records this version.
  Status CheckVersion(kv::Transaction& txn, Access access) const;

  // The prefixes of path[0..k) for the longest k <= path.size() whose directories all exist
  // (element i is the prefix of path[0..i]). One read per element, plus one for the first
  // missing one.
  StatusOr<std::vector<std::string>> Walk(kv::Transaction& txn, const DirectoryPath& path) const;
  // The prefix of the directory at `path` (node_subspace.key() for the root), or nullopt.
  StatusOr<std::optional<std::string>> Find(kv::Transaction& txn, const DirectoryPath& path) const;
  StatusOr<std::string> ReadLayer(kv::Transaction& txn, std::string_view prefix) const;

  // Allocates a fresh prefix and checks that nothing occupies it.
  StatusOr<std::string> AllocatePrefix(kv::Transaction& txn) const;
  // False when a node's prefix starts with `prefix` or is a prefix of it (snapshot reads).
  StatusOr<bool> IsPrefixFree(kv::Transaction& txn, const std::string& prefix) const;

  StatusOr<DirectorySubspace> CreateOrOpenImpl(kv::Transaction& txn, const DirectoryPath& path,
                                               std::string_view layer, bool allow_create,
                                               bool allow_open) const;
  StatusOr<bool> RemoveImpl(kv::Transaction& txn, const DirectoryPath& path, bool must_exist) const;
  // Clears the contents and nodes of the directory with `prefix` and of all below it.
  Status RemoveRecursive(kv::Transaction& txn, const std::string& prefix) const;

  Subspace node_subspace_;
  Subspace content_subspace_;
  Subspace root_node_;
  HighContentionAllocator allocator_;
};

}  // namespace recordstore

#endif  // RECORDSTORE_TUPLE_DIRECTORY_LAYER_H_
