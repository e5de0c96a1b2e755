#include "tuple/directory_layer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <barrier>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/status_macros.h"
#include "tuple/directory_test_util.h"
#include "tuple/tuple_test_util.h"

namespace recordstore {
namespace {

// Forwards to another transaction and counts the reads that reach it.
class CountingTransaction : public kv::Transaction {
 public:
  explicit CountingTransaction(kv::Transaction& inner) : inner_(inner) {}

  int point_reads() const { return point_reads_; }
  int range_reads() const { return range_reads_; }

  StatusOr<kv::Version> GetReadVersion() override { return inner_.GetReadVersion(); }
  void SetReadVersion(kv::Version version) override { inner_.SetReadVersion(version); }
  StatusOr<std::optional<std::string>> Get(std::string_view key, bool snapshot) override {
    ++point_reads_;
    return inner_.Get(key, snapshot);
  }
  using kv::Transaction::GetRange;
  StatusOr<kv::RangeResult> GetRange(const kv::RangeEndpoint& begin, const kv::RangeEndpoint& end,
                                     const kv::RangeOptions& options) override {
    ++range_reads_;
    return inner_.GetRange(begin, end, options);
  }
  void Set(std::string_view key, std::string_view value) override { inner_.Set(key, value); }
  void Clear(std::string_view key) override { inner_.Clear(key); }
  void ClearRange(std::string_view begin, std::string_view end) override {
    inner_.ClearRange(begin, end);
  }
  void AtomicOp(kv::MutationType type, std::string_view key, std::string_view operand) override {
    inner_.AtomicOp(type, key, operand);
  }
  void AddReadConflictRange(std::string_view begin, std::string_view end) override {
    inner_.AddReadConflictRange(begin, end);
  }
  void AddReadConflictKey(std::string_view key) override { inner_.AddReadConflictKey(key); }
  void AddWriteConflictRange(std::string_view begin, std::string_view end) override {
    inner_.AddWriteConflictRange(begin, end);
  }
  void AddWriteConflictKey(std::string_view key) override { inner_.AddWriteConflictKey(key); }
  StatusOr<std::shared_ptr<kv::Watch>> WatchKey(std::string_view key) override {
    return inner_.WatchKey(key);
  }
  StatusOr<std::optional<std::string>> GetMetadataVersion(bool snapshot) override {
    return inner_.GetMetadataVersion(snapshot);
  }
  void BumpMetadataVersion() override { inner_.BumpMetadataVersion(); }
  uint64_t database_id() const override { return inner_.database_id(); }
  Status Commit() override { return inner_.Commit(); }
  kv::Version GetCommittedVersion() const override { return inner_.GetCommittedVersion(); }
  StatusOr<std::string> GetVersionstamp() const override { return inner_.GetVersionstamp(); }
  int64_t GetApproximateSize() const override { return inner_.GetApproximateSize(); }
  Status OnError(const Status& error) override { return inner_.OnError(error); }
  void Reset() override { inner_.Reset(); }
  void Cancel() override { inner_.Cancel(); }
  void SetOptions(const kv::TransactionOptions& options) override { inner_.SetOptions(options); }

 private:
  kv::Transaction& inner_;
  int point_reads_ = 0;
  int range_reads_ = 0;
};

// "t3" for ("t", 3). (Spelled out because GCC 12 warns falsely on "t" + std::to_string(3).)
std::string Numbered(std::string_view stem, int number) {
  std::string name(stem);
  name += std::to_string(number);
  return name;
}

class DirectoryLayerTest : public KvBackendTest {
 protected:
  // Runs `op` in a committed transaction of its own.
  template <typename Op>
  auto InTransaction(Op op) -> decltype(op(std::declval<kv::Transaction&>())) {
    std::unique_ptr<kv::Transaction> txn = db_->CreateTransaction();
    auto result = op(*txn);
    if (result.ok()) {
      Status committed = txn->Commit();
      if (!committed.ok()) return committed;
    }
    return result;
  }

  StatusOr<DirectorySubspace> CreateOrOpen(const DirectoryPath& path, std::string_view layer = {}) {
    return InTransaction([&](kv::Transaction& txn) { return dl_.CreateOrOpen(txn, path, layer); });
  }
  StatusOr<DirectorySubspace> Create(const DirectoryPath& path, std::string_view layer = {}) {
    return InTransaction([&](kv::Transaction& txn) { return dl_.Create(txn, path, layer); });
  }
  StatusOr<DirectorySubspace> Open(const DirectoryPath& path, std::string_view layer = {}) {
    return InTransaction([&](kv::Transaction& txn) { return dl_.Open(txn, path, layer); });
  }
  StatusOr<bool> Exists(const DirectoryPath& path) {
    return InTransaction([&](kv::Transaction& txn) { return dl_.Exists(txn, path); });
  }
  StatusOr<std::vector<std::string>> List(const DirectoryPath& path) {
    return InTransaction([&](kv::Transaction& txn) { return dl_.List(txn, path); });
  }
  StatusOr<DirectorySubspace> Move(const DirectoryPath& from, const DirectoryPath& to) {
    return InTransaction([&](kv::Transaction& txn) { return dl_.Move(txn, from, to); });
  }
  Status Remove(const DirectoryPath& path) {
    std::unique_ptr<kv::Transaction> txn = db_->CreateTransaction();
    RETURN_IF_ERROR(dl_.Remove(*txn, path));
    return txn->Commit();
  }
  StatusOr<bool> RemoveIfExists(const DirectoryPath& path) {
    return InTransaction([&](kv::Transaction& txn) { return dl_.RemoveIfExists(txn, path); });
  }

  void Put(std::string_view key, std::string_view value) {
    ASSERT_OK(db_->Run([&](kv::Transaction& txn) {
      txn.Set(key, value);
      return Status();
    }));
  }
  std::optional<std::string> Read(std::string_view key) {
    std::unique_ptr<kv::Transaction> txn = db_->CreateTransaction();
    StatusOr<std::optional<std::string>> value = txn->Get(key);
    EXPECT_OK(value);
    return value.ok() ? *value : std::nullopt;
  }

  // The integer a default directory layer allocated for `prefix` (its tuple encoding).
  static int64_t AllocatedInteger(const std::string& prefix) {
    StatusOr<Tuple> tuple = Tuple::Unpack(prefix);
    EXPECT_OK(tuple);
    if (!tuple.ok() || tuple->size() != 1 || !(*tuple)[0].AsInt64().has_value()) return -1;
    return *(*tuple)[0].AsInt64();
  }

  DirectoryLayer dl_;
};

TEST_P(DirectoryLayerTest, CreateWritesFdbsKeyLayout) {
  StatusOr<DirectorySubspace> app = Create({"app"}, "lyr");
  ASSERT_OK(app);
  int64_t n = AllocatedInteger(app->key());
  ASSERT_GE(n, 0);
  ASSERT_LT(n, 64);
  EXPECT_EQ(app->key(), Tuple::Of(n).Pack());
  EXPECT_EQ(app->path(), DirectoryPath({"app"}));
  EXPECT_EQ(app->layer(), "lyr");
  EXPECT_EQ(BytesToHex(dl_.root_node().key()), "fe01fe00");

  const std::string root = HexToBytes("fe01fe00");
  const std::string hca = root + HexToBytes("0168636100");  // (b"hca", ...)
  std::map<std::string, std::string> expected = {
      {hca + HexToBytes("1414"), HexToBytes("0100000000000000")},  // (0, 0): window counter
      {hca + "\x15\x01" + app->key(), ""},                         // (1, n): handed out
      {root + HexToBytes("1402617070") + '\x00', app->key()},      // (0, "app"): subdir
      {root + HexToBytes("0176657273696f6e00"),                    // (b"version") = 1.0.0
       HexToBytes("010000000000000000000000")},
      {HexToBytes("fe01") + app->key() + HexToBytes("00016c6179657200"), "lyr"},  // (b"layer")
  };
  std::map<std::string, std::string> actual;
  for (const kv::KeyValue& row : Scan("", "\xff")) actual[row.key] = row.value;
  EXPECT_EQ(actual, expected);
}

TEST_P(DirectoryLayerTest, CreateOrOpenCreatesParentsAndThenOpens) {
  StatusOr<DirectorySubspace> leaf = CreateOrOpen({"a", "b", "c"}, "leaf");
  ASSERT_OK(leaf);
  EXPECT_EQ(leaf->layer(), "leaf");
  for (const DirectoryPath& parent : {DirectoryPath{"a"}, DirectoryPath{"a", "b"}}) {
    StatusOr<DirectorySubspace> opened = Open(parent);
    ASSERT_OK(opened);
    EXPECT_EQ(opened->layer(), "");
    EXPECT_NE(opened->key(), leaf->key());
  }
  StatusOr<DirectorySubspace> again = CreateOrOpen({"a", "b", "c"});
  ASSERT_OK(again);
  EXPECT_EQ(*again, *leaf);
  StatusOr<DirectorySubspace> same_layer = CreateOrOpen({"a", "b", "c"}, "leaf");
  ASSERT_OK(same_layer);
  EXPECT_EQ(*same_layer, *leaf);
}

TEST_P(DirectoryLayerTest, CreateRefusesAnExistingDirectory) {
  StatusOr<DirectorySubspace> first = Create({"x", "y"});
  ASSERT_OK(first);
  StatusOr<DirectorySubspace> second = Create({"x", "y"});
  EXPECT_TRUE(HasCode(second, ErrorCode::kAlreadyExists));
  EXPECT_EQ(second.status().message(), "already_exists (8003): directory /x/y already exists");
  // The parent was created implicitly and exists too.
  EXPECT_TRUE(HasCode(Create({"x"}), ErrorCode::kAlreadyExists));
  ASSERT_OK(Create({"x", "z"}));
}

TEST_P(DirectoryLayerTest, OpenOfAMissingDirectoryFailsAndWritesNothing) {
  StatusOr<DirectorySubspace> missing = Open({"nope"});
  EXPECT_TRUE(HasCode(missing, ErrorCode::kNotFound));
  EXPECT_EQ(missing.status().message(), "not_found (8002): directory /nope does not exist");
  EXPECT_TRUE(Scan("", "\xff").empty());
  ASSERT_OK(Create({"a"}));
  EXPECT_TRUE(HasCode(Open({"a", "b"}), ErrorCode::kNotFound));
}

TEST_P(DirectoryLayerTest, OpenChecksTheLayerOnlyWhenGiven) {
  ASSERT_OK(Create({"d"}, "records"));
  StatusOr<DirectorySubspace> untagged = Open({"d"});
  ASSERT_OK(untagged);
  EXPECT_EQ(untagged->layer(), "records");
  StatusOr<DirectorySubspace> wrong = Open({"d"}, "queue");
  EXPECT_TRUE(HasCode(wrong, ErrorCode::kInvalidArgument));
  EXPECT_EQ(wrong.status().message(),
            "invalid_argument (8001): directory /d has layer b\"records\", not b\"queue\"");
  EXPECT_TRUE(HasCode(CreateOrOpen({"d"}, "queue"), ErrorCode::kInvalidArgument));
}

TEST_P(DirectoryLayerTest, RootIsImplicit) {
  StatusOr<bool> exists = Exists({});
  ASSERT_OK(exists);
  EXPECT_TRUE(*exists);
  StatusOr<std::vector<std::string>> empty = List({});
  ASSERT_OK(empty);
  EXPECT_TRUE(empty->empty());
  EXPECT_TRUE(HasCode(Open({}), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(HasCode(CreateOrOpen({}), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(HasCode(Remove({}), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(HasCode(RemoveIfExists({}), ErrorCode::kInvalidArgument));
  ASSERT_OK(Create({"a"}));
  EXPECT_TRUE(HasCode(Move({}, {"b"}), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(HasCode(Move({"a"}, {}), ErrorCode::kInvalidArgument));
}

TEST_P(DirectoryLayerTest, NamesMustBeUtf8) {
  const DirectoryPath bad = {"ok", std::string("\xc3\x28")};
  StatusOr<DirectorySubspace> created = CreateOrOpen(bad);
  EXPECT_TRUE(HasCode(created, ErrorCode::kInvalidArgument));
  EXPECT_EQ(created.status().message(),
            "invalid_argument (8001): directory name b\"\\xc3(\" is not valid UTF-8");
  EXPECT_TRUE(HasCode(Exists(bad), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(HasCode(List(bad), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(HasCode(RemoveIfExists(bad), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(Scan("", "\xff").empty());
}

TEST_P(DirectoryLayerTest, ExistsFollowsCreateAndRemove) {
  StatusOr<bool> before = Exists({"p", "q"});
  ASSERT_OK(before);
  EXPECT_FALSE(*before);
  ASSERT_OK(Create({"p", "q"}));
  for (const DirectoryPath& path : {DirectoryPath{"p"}, DirectoryPath{"p", "q"}}) {
    StatusOr<bool> exists = Exists(path);
    ASSERT_OK(exists);
    EXPECT_TRUE(*exists);
  }
  ASSERT_OK(Remove({"p", "q"}));
  StatusOr<bool> after = Exists({"p", "q"});
  ASSERT_OK(after);
  EXPECT_FALSE(*after);
  StatusOr<bool> parent = Exists({"p"});
  ASSERT_OK(parent);
  EXPECT_TRUE(*parent);
}

TEST_P(DirectoryLayerTest, ListReturnsChildNamesInByteOrder) {
  for (const std::string& name : {std::string("b"), std::string("a"), std::string("\xc3\xa4"),
                                  std::string("a\0b", 3), std::string("A"), std::string()}) {
    ASSERT_OK(Create({"top", name}));
  }
  ASSERT_OK(Create({"top", "b", "grandchild"}));
  StatusOr<std::vector<std::string>> names = List({"top"});
  ASSERT_OK(names);
  EXPECT_EQ(*names,
            (std::vector<std::string>{"", "A", "a", std::string("a\0b", 3), "b", "\xc3\xa4"}));
  StatusOr<std::vector<std::string>> root = List({});
  ASSERT_OK(root);
  EXPECT_EQ(*root, std::vector<std::string>{"top"});
  StatusOr<std::vector<std::string>> leaf = List({"top", "A"});
  ASSERT_OK(leaf);
  EXPECT_TRUE(leaf->empty());
  EXPECT_TRUE(HasCode(List({"missing"}), ErrorCode::kNotFound));
}

TEST_P(DirectoryLayerTest, ListPagesThroughManyChildren) {
  ASSERT_OK(db_->Run([&](kv::Transaction& txn) {
    for (int i = 0; i < 300; ++i) {
      char name[8];
      snprintf(name, sizeof(name), "c%03d", i);
      StatusOr<DirectorySubspace> child = dl_.Create(txn, {"many", name});
      if (!child.ok()) return child.status();
    }
    return Status();
  }));
  StatusOr<std::vector<std::string>> names = List({"many"});
  ASSERT_OK(names);
  ASSERT_EQ(names->size(), 300u);
  EXPECT_EQ(names->front(), "c000");
  EXPECT_EQ((*names)[150], "c150");
  EXPECT_EQ(names->back(), "c299");
}

TEST_P(DirectoryLayerTest, MoveKeepsThePrefixAndTheData) {
  StatusOr<DirectorySubspace> source = Create({"old", "dir"}, "kind");
  ASSERT_OK(source);
  StatusOr<DirectorySubspace> child = Create({"old", "dir", "child"});
  ASSERT_OK(child);
  Put(source->Pack(Tuple::Of("k")), "v");
  Put(child->Pack(Tuple::Of("ck")), "cv");
  ASSERT_OK(Create({"new"}));

  StatusOr<DirectorySubspace> moved = Move({"old", "dir"}, {"new", "renamed"});
  ASSERT_OK(moved);
  EXPECT_EQ(*moved, DirectorySubspace(source->key(), {"new", "renamed"}, "kind"));

  StatusOr<DirectorySubspace> reopened = Open({"new", "renamed"});
  ASSERT_OK(reopened);
  EXPECT_EQ(*reopened, *moved);
  EXPECT_EQ(Read(reopened->Pack(Tuple::Of("k"))), "v");
  StatusOr<DirectorySubspace> moved_child = Open({"new", "renamed", "child"});
  ASSERT_OK(moved_child);
  EXPECT_EQ(moved_child->key(), child->key());
  EXPECT_EQ(Read(moved_child->Pack(Tuple::Of("ck"))), "cv");

  EXPECT_TRUE(HasCode(Open({"old", "dir"}), ErrorCode::kNotFound));
  StatusOr<std::vector<std::string>> old_children = List({"old"});
  ASSERT_OK(old_children);
  EXPECT_TRUE(old_children->empty());
}

TEST_P(DirectoryLayerTest, MoveToTheTopLevel) {
  StatusOr<DirectorySubspace> deep = Create({"a", "b"});
  ASSERT_OK(deep);
  StatusOr<DirectorySubspace> moved = Move({"a", "b"}, {"b"});
  ASSERT_OK(moved);
  EXPECT_EQ(moved->key(), deep->key());
  StatusOr<std::vector<std::string>> root = List({});
  ASSERT_OK(root);
  EXPECT_EQ(*root, (std::vector<std::string>{"a", "b"}));
}

TEST_P(DirectoryLayerTest, MoveErrors) {
  ASSERT_OK(Create({"src", "sub"}));
  ASSERT_OK(Create({"dst"}));

  StatusOr<DirectorySubspace> missing = Move({"nothing"}, {"dst2"});
  EXPECT_TRUE(HasCode(missing, ErrorCode::kNotFound));
  EXPECT_EQ(missing.status().message(),
            "not_found (8002): cannot move directory /nothing: it does not exist");

  StatusOr<DirectorySubspace> exists = Move({"src"}, {"dst"});
  EXPECT_TRUE(HasCode(exists, ErrorCode::kAlreadyExists));
  EXPECT_EQ(exists.status().message(),
            "already_exists (8003): cannot move to /dst: it already exists");

  StatusOr<DirectorySubspace> no_parent = Move({"src"}, {"nowhere", "x"});
  EXPECT_TRUE(HasCode(no_parent, ErrorCode::kNotFound));
  EXPECT_EQ(no_parent.status().message(),
            "not_found (8002): cannot move to /nowhere/x: its parent does not exist");

  StatusOr<DirectorySubspace> inside = Move({"src"}, {"src", "sub", "x"});
  EXPECT_TRUE(HasCode(inside, ErrorCode::kInvalidArgument));
  EXPECT_EQ(inside.status().message(),
            "invalid_argument (8001): cannot move directory /src to /src/sub/x inside itself");
  EXPECT_TRUE(HasCode(Move({"src"}, {"src"}), ErrorCode::kInvalidArgument));

  // Nothing moved.
  StatusOr<std::vector<std::string>> root = List({});
  ASSERT_OK(root);
  EXPECT_EQ(*root, (std::vector<std::string>{"dst", "src"}));
  StatusOr<std::vector<std::string>> sub = List({"src"});
  ASSERT_OK(sub);
  EXPECT_EQ(*sub, std::vector<std::string>{"sub"});
}

TEST_P(DirectoryLayerTest, RemoveClearsTheSubtreeAndItsContents) {
  StatusOr<DirectorySubspace> a = Create({"a"});
  StatusOr<DirectorySubspace> ab = Create({"a", "b"});
  StatusOr<DirectorySubspace> abc = Create({"a", "b", "c"});
  StatusOr<DirectorySubspace> sibling = Create({"a2"});
  for (const auto* dir : {&a, &ab, &abc, &sibling}) {
    ASSERT_OK(*dir);
    Put((*dir)->key(), "bare prefix");
    Put((*dir)->Pack(Tuple::Of("x", 1)), "x");
  }

  ASSERT_OK(Remove({"a"}));
  for (const auto* dir : {&a, &ab, &abc}) {
    EXPECT_TRUE(ScanPrefix((*dir)->key()).empty()) << BytesToHex((*dir)->key());
    EXPECT_TRUE(ScanPrefix(dl_.node_subspace().Pack(Tuple().AppendBytes((*dir)->key()))).empty());
  }
  EXPECT_EQ(ScanPrefix(sibling->key()).size(), 2u);
  StatusOr<std::vector<std::string>> root = List({});
  ASSERT_OK(root);
  EXPECT_EQ(*root, std::vector<std::string>{"a2"});

  // A recreated directory gets a fresh prefix: the allocator never hands one out twice.
  StatusOr<DirectorySubspace> recreated = Create({"a"});
  ASSERT_OK(recreated);
  for (const auto* dir : {&a, &ab, &abc, &sibling}) EXPECT_NE(recreated->key(), (*dir)->key());
}

TEST_P(DirectoryLayerTest, RemoveOfAMissingDirectory) {
  Status removed = Remove({"ghost"});
  EXPECT_TRUE(HasCode(removed, ErrorCode::kNotFound));
  EXPECT_EQ(removed.message(), "not_found (8002): directory /ghost does not exist");
  StatusOr<bool> if_exists = RemoveIfExists({"ghost"});
  ASSERT_OK(if_exists);
  EXPECT_FALSE(*if_exists);

  StatusOr<DirectorySubspace> real = Create({"real"});
  ASSERT_OK(real);
  Put(real->Pack(Tuple::Of(1)), "v");
  if_exists = RemoveIfExists({"real"});
  ASSERT_OK(if_exists);
  EXPECT_TRUE(*if_exists);
  EXPECT_TRUE(ScanPrefix(real->key()).empty());
}

TEST_P(DirectoryLayerTest, OperationsTakeEffectOnlyWhenTheTransactionCommits) {
  {
    std::unique_ptr<kv::Transaction> txn = db_->CreateTransaction();
    StatusOr<DirectorySubspace> dir = dl_.Create(*txn, {"t", "u"});
    ASSERT_OK(dir);
    // Visible inside the transaction...
    StatusOr<DirectorySubspace> opened = dl_.Open(*txn, {"t", "u"});
    ASSERT_OK(opened);
    EXPECT_EQ(*opened, *dir);
  }
  // ...and gone with it.
  EXPECT_TRUE(Scan("", "\xff").empty());
}

TEST_P(DirectoryLayerTest, NewerLayoutVersionsAreRefused) {
  ASSERT_OK(Create({"a"}));
  const std::string version_key = dl_.root_node().Pack(Tuple().AppendBytes("version"));

  Put(version_key, HexToBytes("010000000100000000000000"));  // 1.1.0
  ASSERT_OK(Open({"a"}));
  StatusOr<DirectorySubspace> change = Create({"b"});
  EXPECT_TRUE(HasCode(change, ErrorCode::kUnsupported));
  EXPECT_EQ(change.status().message(),
            "unsupported (8006): cannot change a directory layer of version 1.1.0");
  EXPECT_TRUE(HasCode(Remove({"a"}), ErrorCode::kUnsupported));

  Put(version_key, HexToBytes("020000000000000000000000"));  // 2.0.0
  StatusOr<DirectorySubspace> read = Open({"a"});
  EXPECT_TRUE(HasCode(read, ErrorCode::kUnsupported));
  EXPECT_EQ(read.status().message(),
            "unsupported (8006): cannot read a directory layer of version 2.0.0");
  EXPECT_TRUE(HasCode(Exists({"a"}), ErrorCode::kUnsupported));

  Put(version_key, "short");
  EXPECT_TRUE(HasCode(Open({"a"}), ErrorCode::kDataCorruption));
}

TEST_P(DirectoryLayerTest, RefusesAPrefixThatAlreadyHoldsKeys) {
  // Every integer of the allocator's first window, as a prefix, holds a foreign key.
  for (int n = 0; n < 64; ++n) Put(Tuple::Of(n, "foreign").Pack(), "x");
  StatusOr<DirectorySubspace> created = Create({"d"});
  EXPECT_TRUE(HasCode(created, ErrorCode::kDataCorruption));
  EXPECT_TRUE(created.status().message().find("already holds keys") != std::string_view::npos)
      << created.status();
}

TEST_P(DirectoryLayerTest, RefusesAPrefixThatOverlapsAForeignNode) {
  // Nodes for every prefix of the first window that the allocator did not hand out.
  for (int n = 0; n < 64; ++n) {
    Put(dl_.node_subspace().Pack(Tuple().AppendBytes(Tuple::Of(n).Pack()).AppendBytes("layer")),
        "");
  }
  StatusOr<DirectorySubspace> created = Create({"d"});
  EXPECT_TRUE(HasCode(created, ErrorCode::kDataCorruption));
  EXPECT_TRUE(created.status().message().find("overlaps a directory prefix") !=
              std::string_view::npos)
      << created.status();
}

TEST_P(DirectoryLayerTest, CustomSubspacesHoldEverything) {
  DirectoryLayer custom(Subspace("N"), Subspace(Tuple::Of("content")));
  StatusOr<DirectorySubspace> dir = InTransaction([&](kv::Transaction& txn) {
    return custom.CreateOrOpen(txn, {"x", "y"});
  });
  ASSERT_OK(dir);
  EXPECT_TRUE(dir->key().starts_with(Tuple::Of("content").Pack()));
  StatusOr<Tuple> suffix = Subspace(Tuple::Of("content")).Unpack(dir->key());
  ASSERT_OK(suffix);
  ASSERT_EQ(suffix->size(), 1u);
  EXPECT_TRUE((*suffix)[0].AsInt64().has_value());
  EXPECT_EQ(custom.root_node().key(), std::string("N\x01N\x00", 4));
  // Nothing outside the node subspace: content is empty until written.
  std::vector<kv::KeyValue> all = Scan("", "\xff");
  EXPECT_FALSE(all.empty());
  for (const kv::KeyValue& row : all) EXPECT_TRUE(row.key.starts_with("N")) << BytesToHex(row.key);
  // The default layer does not see it.
  EXPECT_TRUE(HasCode(Open({"x"}), ErrorCode::kNotFound));
}

TEST_P(DirectoryLayerTest, OpenCostsDepthPlusTwoReadsWhateverTheNumberOfDirectories) {
  ASSERT_OK(Create({"a", "b", "c"}));
  auto count_open = [&](const DirectoryPath& path) {
    std::unique_ptr<kv::Transaction> txn = db_->CreateTransaction();
    CountingTransaction counting(*txn);
    EXPECT_OK(dl_.Open(counting, path));
    EXPECT_EQ(counting.range_reads(), 0);
    return counting.point_reads();
  };
  EXPECT_EQ(count_open({"a"}), 3);
  EXPECT_EQ(count_open({"a", "b", "c"}), 5);

  // On RocksDB every allocation leaves one more version of the allocator's window counter in
  // the memtable, and the allocator's reverse read of the counters walks them all, so bulk
  // creation there grows quadratically until a flush; the read count under test does not
  // depend on the backend, so RocksDB gets a fifth of the directories.
  const int batches = GetParam() == "rocksdb" ? 2 : 10;
  for (int batch = 0; batch < batches; ++batch) {
    ASSERT_OK(db_->Run([&](kv::Transaction& txn) {
      for (int i = 0; i < 500; ++i) {
        StatusOr<DirectorySubspace> dir =
            dl_.Create(txn, {"bulk", std::to_string(batch), std::to_string(i)});
        if (!dir.ok()) return dir.status();
      }
      return Status();
    }));
  }
  StatusOr<std::vector<std::string>> listed = List({"bulk"});
  ASSERT_OK(listed);
  EXPECT_EQ(listed->size(), static_cast<size_t>(batches));

  EXPECT_EQ(count_open({"a"}), 3);
  EXPECT_EQ(count_open({"a", "b", "c"}), 5);
  EXPECT_EQ(count_open({"bulk", "1", "499"}), 5);
}

// Threads create distinct paths (their own) and identical ones (shared) at once, each creation
// in its own retried transaction; then remove half of their directories and move the others.
TEST_P(DirectoryLayerTest, ConcurrentCreateRemoveAndMove) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20;
  auto own_path = [](int t, int i) {
    return DirectoryPath{"tenants", Numbered("t", t), Numbered("s", i)};
  };
  auto shared_path = [](int i) { return DirectoryPath{"shared", Numbered("s", i)}; };
  auto moved_path = [](int t, int i) {
    return DirectoryPath{"moved", Numbered("t", t), Numbered("s", i)};
  };

  std::vector<std::vector<std::string>> own(kThreads, std::vector<std::string>(kPerThread));
  std::vector<std::vector<std::string>> shared(kThreads, std::vector<std::string>(kPerThread));
  auto run_threads = [&](auto body) {
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) threads.emplace_back(body, t);
    for (std::thread& thread : threads) thread.join();
  };
  // Runs `op` in a retried transaction whose first attempt waits, before committing, until
  // every thread has done its reads: the threads' transactions overlap for sure, even on one
  // core. Each thread calls it equally often.
  std::barrier together(kThreads);
  auto run_together = [&](const std::function<Status(kv::Transaction&)>& op) {
    bool first_attempt = true;
    return db_->Run([&](kv::Transaction& txn) {
      Status status = op(txn);
      if (first_attempt) {
        first_attempt = false;
        together.arrive_and_wait();
      }
      return status;
    });
  };

  run_threads([&](int t) {
    for (int i = 0; i < kPerThread; ++i) {
      EXPECT_OK(run_together([&](kv::Transaction& txn) {
        StatusOr<DirectorySubspace> dir = dl_.CreateOrOpen(txn, own_path(t, i));
        if (!dir.ok()) return dir.status();
        own[t][i] = dir->key();
        txn.Set(dir->Pack(Tuple::Of("owner")), std::to_string(t));
        return Status();
      }));
      EXPECT_OK(run_together([&](kv::Transaction& txn) {
        StatusOr<DirectorySubspace> dir = dl_.CreateOrOpen(txn, shared_path(i));
        if (!dir.ok()) return dir.status();
        shared[t][i] = dir->key();
        return Status();
      }));
    }
  });

  std::set<std::string> prefixes;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      prefixes.insert(own[t][i]);
      EXPECT_EQ(shared[t][i], shared[0][i]) << "shared path " << i << " thread " << t;
    }
  }
  for (int i = 0; i < kPerThread; ++i) prefixes.insert(shared[0][i]);
  // Plus the parents: tenants, shared, and tenants/t<n>.
  for (const DirectoryPath& parent :
       {DirectoryPath{"tenants"}, DirectoryPath{"shared"}, DirectoryPath{"tenants", "t0"},
        DirectoryPath{"tenants", "t1"}, DirectoryPath{"tenants", "t2"},
        DirectoryPath{"tenants", "t3"}}) {
    StatusOr<DirectorySubspace> dir = Open(parent);
    ASSERT_OK(dir);
    prefixes.insert(dir->key());
  }
  ASSERT_EQ(prefixes.size(), size_t{kThreads * kPerThread + kPerThread + 6});
  for (const std::string& p : prefixes) {
    for (const std::string& q : prefixes) {
      if (p != q) {
        EXPECT_FALSE(q.starts_with(p)) << BytesToHex(p) << " prefixes " << BytesToHex(q);
      }
    }
  }
  StatusOr<std::vector<std::string>> shared_names = List({"shared"});
  ASSERT_OK(shared_names);
  EXPECT_EQ(shared_names->size(), size_t{kPerThread});

  run_threads([&](int t) {
    for (int i = 0; i < kPerThread; ++i) {
      EXPECT_OK(run_together([&](kv::Transaction& txn) -> Status {
        if (i % 2 == 0) return dl_.Remove(txn, own_path(t, i));
        DirectoryPath destination = moved_path(t, i);
        StatusOr<DirectorySubspace> parent =
            dl_.CreateOrOpen(txn, DirectoryPath(destination.begin(), destination.end() - 1));
        if (!parent.ok()) return parent.status();
        return dl_.Move(txn, own_path(t, i), destination).status();
      }));
    }
  });

  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      StatusOr<bool> old_exists = Exists(own_path(t, i));
      ASSERT_OK(old_exists);
      EXPECT_FALSE(*old_exists);
      if (i % 2 == 0) {
        EXPECT_TRUE(ScanPrefix(own[t][i]).empty()) << "removed " << t << "/" << i;
        continue;
      }
      StatusOr<DirectorySubspace> moved = Open(moved_path(t, i));
      ASSERT_OK(moved);
      EXPECT_EQ(moved->key(), own[t][i]);
      EXPECT_EQ(Read(moved->Pack(Tuple::Of("owner"))), std::to_string(t));
    }
    StatusOr<std::vector<std::string>> left = List({"tenants", Numbered("t", t)});
    ASSERT_OK(left);
    EXPECT_TRUE(left->empty());
    StatusOr<std::vector<std::string>> moved = List({"moved", Numbered("t", t)});
    ASSERT_OK(moved);
    EXPECT_EQ(moved->size(), size_t{kPerThread / 2});
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, DirectoryLayerTest, testing::ValuesIn(TestBackends()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace recordstore
