#include "store/record_store.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "google/protobuf/text_format.h"
#include "metadata/metadata_test_util.h"
#include "recordstore/kv.h"

namespace recordstore::store {
namespace {

using cursor::Continuation;
using cursor::CursorResult;
using cursor::NoNextReason;
using cursor::RecordContext;
using index::IndexState;
using index::TupleRange;
using metadata::MakeRecord;
using metadata::ParseText;
using metadata::RecordMetaData;

const Subspace kStore(Tuple::Of("store"));

// The shop metadata (version 3) plus a version index over every record type.
metadata::proto::RecordMetaData ShopProtoWithChanges() {
  metadata::proto::RecordMetaData proto = metadata::ShopProto();
  *proto.add_indexes() = ParseText<metadata::proto::Index>(R"pb(
    name: "changes"
    type: "version"
    root { version {} }
    added_version: 3
    last_modified_version: 3
  )pb");
  return proto;
}

class RecordStoreTest : public testing::Test {
 protected:
  RecordStoreTest() : metadata_(metadata::BuildOrDie(ShopProtoWithChanges())) {
    auto db = kv::Database::Open("memory://");
    EXPECT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
  }

  std::unique_ptr<RecordContext> NewContext() {
    return std::make_unique<RecordContext>(db_->CreateTransaction());
  }

  std::unique_ptr<RecordStore> OpenStore(RecordContext& context, RecordStoreOptions options = {},
                                         const RecordMetaData* metadata = nullptr) {
    auto store = RecordStore::Open(context, kStore, metadata ? *metadata : metadata_, options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  // Runs `body` on the store in a new transaction and commits.
  void InStore(const std::function<void(RecordStore&)>& body, RecordStoreOptions options = {}) {
    std::unique_ptr<RecordContext> context = NewContext();
    std::unique_ptr<RecordStore> store = OpenStore(*context, options);
    ASSERT_NE(store, nullptr);
    body(*store);
    ASSERT_TRUE(context->Commit().ok());
  }

  std::unique_ptr<google::protobuf::Message> Record(std::string_view type,
                                                    std::string_view text) {
    return MakeRecord(metadata_, type, text);
  }

  SavedRecord Save(RecordStore& store, std::string_view type, std::string_view text,
                   SaveMode mode = SaveMode::kUpsert) {
    StatusOr<SavedRecord> saved = store.SaveRecord(*Record(type, text), mode);
    EXPECT_TRUE(saved.ok()) << saved.status();
    return saved.ok() ? *saved : SavedRecord{};
  }

  // Every key of the store under (space, name...), as tuples relative to it.
  std::vector<std::string> Keys(const Tuple& prefix) {
    std::unique_ptr<kv::Transaction> txn = db_->CreateTransaction();
    Subspace subspace = kStore.Sub(prefix);
    auto [begin, end] = subspace.Range();
    auto rows = txn->GetRange(begin, end);
    EXPECT_TRUE(rows.ok()) << rows.status();
    std::vector<std::string> keys;
    for (const kv::KeyValue& row : rows->rows) keys.push_back(subspace.Unpack(row.key)->ToString());
    return keys;
  }
  std::vector<std::string> IndexKeys(std::string_view index) {
    return Keys(Tuple::Of(2, std::string(index)));
  }

  RecordMetaData metadata_;
  std::unique_ptr<kv::Database> db_;
};

using Strings = std::vector<std::string>;

constexpr std::string_view kAda =
    R"pb(customer_id: 5 name: "Ada" email: "ada@example.com" address { city: "Paris" })pb";
constexpr std::string_view kBob = R"pb(customer_id: 6 name: "Bob" email: "bob@example.com")pb";
constexpr std::string_view kOrder = R"pb(
  order_id: 1
  customer_id: 5
  total: 150
  line_items { sku: "pot" quantity: 1 price: 50 }
  line_items { sku: "pan" quantity: 2 price: 50 }
  line_items { sku: "pot" quantity: 1 price: 0 }
)pb";

TEST_F(RecordStoreTest, CreatesAStoreWithAHeaderAndReopensIt) {
  InStore([](RecordStore& store) {
    EXPECT_EQ(store.header().format_version(), kStoreFormatVersion);
    EXPECT_EQ(store.header().metadata_version(), 3);
    EXPECT_TRUE(store.SetUserVersion(7).ok());
  });
  InStore([](RecordStore& store) { EXPECT_EQ(store.header().user_version(), 7); });

  std::unique_ptr<RecordContext> context = NewContext();
  RecordStoreOptions create;
  create.open_mode = OpenMode::kCreate;
  EXPECT_EQ(RecordStore::Open(*context, kStore, metadata_, create).status().message(),
            "already_exists (8003): a record store already exists in subspace (b\"\\x02store\\x00\")");
  RecordStoreOptions existing;
  existing.open_mode = OpenMode::kOpenExisting;
  EXPECT_EQ(RecordStore::Open(*context, Subspace(Tuple::Of("other")), metadata_, existing)
                .status()
                .message(),
            "not_found (8002): no record store in subspace (b\"\\x02other\\x00\")");
}

TEST_F(RecordStoreTest, RefusesASubspaceWithDataButNoHeader) {
  std::unique_ptr<RecordContext> context = NewContext();
  context->txn().Set(kStore.Pack(Tuple::Of(1, 2, 3)), "stray");
  StatusOr<std::unique_ptr<RecordStore>> store = RecordStore::Open(*context, kStore, metadata_);
  EXPECT_TRUE(HasErrorCode(store.status(), ErrorCode::kStoreWithoutHeader)) << store.status();
}

TEST_F(RecordStoreTest, RefusesOlderMetadataAndNewerFormats) {
  InStore([](RecordStore&) {});
  metadata::proto::RecordMetaData older_proto = ShopProtoWithChanges();
  older_proto.set_version(2);
  older_proto.clear_indexes();
  const metadata::proto::RecordMetaData current = ShopProtoWithChanges();
  for (const metadata::proto::Index& index : current.indexes()) {
    if (index.last_modified_version() <= 2) *older_proto.add_indexes() = index;
  }
  RecordMetaData older = metadata::BuildOrDie(older_proto);
  std::unique_ptr<RecordContext> context = NewContext();
  EXPECT_EQ(RecordStore::Open(*context, kStore, older).status().message(),
            "metadata_too_old (8011): the record store was opened with metadata version 3; it "
            "cannot be opened with the older version 2");

  proto::StoreHeader header;
  header.set_format_version(kStoreFormatVersion + 1);
  header.set_metadata_version(3);
  context->txn().Set(kStore.Pack(Tuple::Of(0)), header.SerializeAsString());
  // As every writer of a header must (record_store.h): the cached header is stale now.
  context->txn().BumpMetadataVersion();
  EXPECT_TRUE(HasErrorCode(RecordStore::Open(*context, kStore, metadata_).status(),
                           ErrorCode::kUnsupported));
  context->txn().Set(kStore.Pack(Tuple::Of(0)), "\xff\xff garbage");
  EXPECT_TRUE(HasErrorCode(RecordStore::Open(*context, kStore, metadata_).status(),
                           ErrorCode::kDataCorruption));
}

// Maintainers are made on first use, but an index type without one still fails the open,
// creating or not, before anything is written.
TEST_F(RecordStoreTest, OpenFailsWhenAnIndexTypeHasNoMaintainer) {
  const index::IndexMaintainerRegistry none;
  RecordStoreOptions without;
  without.maintainers = &none;
  const metadata::Index& first = metadata_.indexes().front();
  const std::string expected = "index " + first.name() + " has type " + first.type() +
                               ", which has no index maintainer yet";

  std::unique_ptr<RecordContext> context = NewContext();
  auto created = RecordStore::Open(*context, kStore, metadata_, without);
  EXPECT_TRUE(HasErrorCode(created.status(), ErrorCode::kUnsupported)) << created.status();
  EXPECT_NE(created.status().message().find(expected), std::string_view::npos)
      << created.status();
  ASSERT_TRUE(context->Commit().ok());
  EXPECT_EQ(Keys(Tuple()), Strings{});

  InStore([&](RecordStore& store) { Save(store, "Order", "order_id: 1 customer_id: 5"); });
  context = NewContext();
  without.open_mode = OpenMode::kOpenExisting;
  auto opened = RecordStore::Open(*context, kStore, metadata_, without);
  EXPECT_TRUE(HasErrorCode(opened.status(), ErrorCode::kUnsupported)) << opened.status();
  EXPECT_NE(opened.status().message().find(expected), std::string_view::npos) << opened.status();
}

TEST_F(RecordStoreTest, SavesLoadsAndVersionsRecords) {
  std::unique_ptr<RecordContext> context = NewContext();
  std::unique_ptr<RecordStore> store = OpenStore(*context);
  SavedRecord ada = Save(*store, "Customer", kAda);
  EXPECT_EQ(ada.primary_key, Tuple::Of(1, 5));
  EXPECT_FALSE(ada.replaced);
  ASSERT_TRUE(ada.version.has_value());
  EXPECT_FALSE(ada.version->is_complete());
  // Before commit the record reads back with its incomplete version.
  StatusOr<std::optional<StoredRecord>> loaded = store->LoadRecord(Tuple::Of(1, 5));
  ASSERT_TRUE(loaded.ok() && loaded->has_value()) << loaded.status();
  EXPECT_EQ((*loaded)->version, ada.version);
  ASSERT_TRUE(context->Commit().ok());
  StatusOr<cursor::RecordVersion> committed = context->CompleteVersion(*ada.version);
  ASSERT_TRUE(committed.ok());

  context = NewContext();
  store = OpenStore(*context);
  loaded = store->LoadRecord(Tuple::Of(1, 5));
  ASSERT_TRUE(loaded.ok() && loaded->has_value()) << loaded.status();
  const StoredRecord& record = **loaded;
  EXPECT_EQ(record.type->name(), "Customer");
  EXPECT_EQ(record.message->ShortDebugString(), Record("Customer", kAda)->ShortDebugString());
  EXPECT_EQ(record.version, *committed);
  EXPECT_EQ(*store->RecordExists(Tuple::Of(1, 5)), true);
  EXPECT_EQ(*store->RecordExists(Tuple::Of(1, 6)), false);
  EXPECT_FALSE(store->LoadRecord(Tuple::Of(1, 6))->has_value());
}

TEST_F(RecordStoreTest, SaveModesAndBadMessages) {
  InStore([&](RecordStore& store) {
    Save(store, "Customer", kAda);
    EXPECT_EQ(store.SaveRecord(*Record("Customer", kAda), SaveMode::kInsert).status().message(),
              "already_exists (8003): record (1, 5) already exists (a Customer)");
    EXPECT_EQ(store.SaveRecord(*Record("Customer", kBob), SaveMode::kUpdate).status().message(),
              "not_found (8002): record (1, 6) does not exist");
    SavedRecord updated = Save(store, "Customer", kAda, SaveMode::kUpdate);
    EXPECT_TRUE(updated.replaced);
    Save(store, "Customer", kBob, SaveMode::kInsert);
    // A message that is not a record type.
    std::unique_ptr<google::protobuf::Message> item =
        metadata_.NewRecord(*metadata_.FindRecordType("Order"));
    const google::protobuf::Descriptor* line_item =
        item->GetDescriptor()->FindFieldByName("line_items")->message_type();
    std::unique_ptr<google::protobuf::Message> not_a_record(
        item->GetReflection()->AddMessage(item.get(), item->GetDescriptor()->FindFieldByName(
                                                          "line_items"))
            ->New());
    ASSERT_EQ(not_a_record->GetDescriptor(), line_item);
    EXPECT_EQ(store.SaveRecord(*not_a_record).status().message(),
              "invalid_argument (8001): message type shop.LineItem is not a record type of this "
              "store");
  });
}

TEST_F(RecordStoreTest, ARecordMayChangeTypeOnlyOutsideUpdateMode) {
  // Two types whose primary keys can collide: same length, no record type key.
  metadata::proto::RecordMetaData proto = ParseText<metadata::proto::RecordMetaData>(R"pb(
    version: 1
    record_types {
      name: "Item"
      primary_key { field { name: "id" } }
    }
    record_types {
      name: "Note"
      primary_key { field { name: "id" } }
    }
    indexes {
      name: "item_name"
      type: "value"
      root { field { name: "name" } }
      record_types: "Item"
    }
    indexes {
      name: "note_text"
      type: "value"
      root { field { name: "text" } }
      record_types: "Note"
    }
  )pb");
  *proto.mutable_files() = *metadata::ParseProtoFiles({{"small.proto", R"(
syntax = "proto3";
message Item { int64 id = 1; string name = 2; }
message Note { int64 id = 1; string text = 2; }
message RecordTypeUnion { Item _Item = 1; Note _Note = 2; }
)"}});
  RecordMetaData small = metadata::BuildOrDie(proto);
  std::unique_ptr<RecordContext> context = NewContext();
  std::unique_ptr<RecordStore> store = OpenStore(*context, {}, &small);
  ASSERT_TRUE(store->SaveRecord(*MakeRecord(small, "Item", "id: 1 name: \"cup\"")).ok());
  EXPECT_EQ(store->SaveRecord(*MakeRecord(small, "Note", "id: 1 text: \"hi\""), SaveMode::kUpdate)
                .status()
                .message(),
            "record_type_changed (8012): record (1) is a Item, not a Note");
  StatusOr<SavedRecord> replaced = store->SaveRecord(*MakeRecord(small, "Note", "id: 1 text: \"hi\""));
  ASSERT_TRUE(replaced.ok()) << replaced.status();
  EXPECT_TRUE(replaced->replaced);
  ASSERT_TRUE(context->Commit().ok());
  // The Item's entry went with it; the Note has its own.
  EXPECT_EQ(IndexKeys("item_name"), Strings{});
  EXPECT_EQ(IndexKeys("note_text"), Strings{"(\"hi\", 1)"});
}

TEST_F(RecordStoreTest, IndexEntriesFollowSavesUpdatesAndDeletes) {
  InStore([&](RecordStore& store) {
    Save(store, "Customer", kAda);
    Save(store, "Customer", kBob);
    Save(store, "Order", kOrder);
  });
  EXPECT_EQ(IndexKeys("customer_by_email"),
            (Strings{"(\"ada@example.com\", 1, 5)", "(\"bob@example.com\", 1, 6)"}));
  // The fan-out gives one entry per distinct sku.
  EXPECT_EQ(IndexKeys("order_by_sku"), (Strings{"(\"pan\", 2, 5, 1)", "(\"pot\", 2, 5, 1)"}));
  EXPECT_EQ(IndexKeys("product_by_tag"), Strings{});

  InStore([&](RecordStore& store) {
    Save(store, "Order", R"pb(order_id: 1 customer_id: 5 total: 20
                              line_items { sku: "pot" } line_items { sku: "cup" })pb");
    ASSERT_TRUE(*store.DeleteRecord(Tuple::Of(1, 6)));
    EXPECT_FALSE(*store.DeleteRecord(Tuple::Of(1, 6)));
  });
  EXPECT_EQ(IndexKeys("customer_by_email"), (Strings{"(\"ada@example.com\", 1, 5)"}));
  EXPECT_EQ(IndexKeys("order_by_sku"), (Strings{"(\"cup\", 2, 5, 1)", "(\"pot\", 2, 5, 1)"}));

  InStore([&](RecordStore& store) {
    ASSERT_TRUE(*store.DeleteRecord(Tuple::Of(1, 5)));
    ASSERT_TRUE(*store.DeleteRecord(Tuple::Of(2, 5, 1)));
  });
  // Nothing left in any index's entries but the aggregates (zero counts may be kept).
  EXPECT_EQ(IndexKeys("customer_by_email"), Strings{});
  EXPECT_EQ(IndexKeys("order_by_sku"), Strings{});
  EXPECT_EQ(IndexKeys("changes"), Strings{});
  EXPECT_EQ(Keys(Tuple::Of(1)), Strings{});
}

TEST_F(RecordStoreTest, ScansIndexesAndReadsAggregates) {
  InStore([&](RecordStore& store) {
    Save(store, "Customer", kAda);
    Save(store, "Customer", kBob);
    Save(store, "Order", kOrder);
    Save(store, "Order", R"pb(order_id: 2 customer_id: 5 total: 30 line_items { sku: "cup" })pb");
    Save(store, "Order", R"pb(order_id: 3 customer_id: 6 total: 7 line_items { sku: "pot" })pb");
  });
  InStore([&](RecordStore& store) {
    auto scan = store.ScanIndex("order_by_sku", TupleRange::Prefix(Tuple::Of("pot")),
                                Continuation::Start());
    ASSERT_TRUE(scan.ok()) << scan.status();
    std::vector<std::string> primary_keys;
    while (true) {
      StatusOr<CursorResult<index::IndexEntry>> entry = (*scan)->Next();
      ASSERT_TRUE(entry.ok()) << entry.status();
      if (!entry->has_value()) break;
      primary_keys.push_back(entry->value().primary_key.ToString());
    }
    EXPECT_EQ(primary_keys, (Strings{"(2, 5, 1)", "(2, 6, 3)"}));

    EXPECT_EQ(*store.EvaluateAggregate("revenue_by_customer", Tuple::Of(5)), Tuple::Of(180));
    EXPECT_EQ(*store.EvaluateAggregate("revenue_by_customer", Tuple::Of(6)), Tuple::Of(7));
    EXPECT_EQ(*store.EvaluateAggregate("records_by_type", Tuple::Of(1)), Tuple::Of(2));
    EXPECT_EQ(*store.EvaluateAggregate("records_by_type", Tuple::Of(2)), Tuple::Of(3));
    EXPECT_EQ(store.EvaluateAggregate("no_such_index", Tuple()).status().message(),
              "not_found (8002): no index no_such_index");
    EXPECT_TRUE(HasErrorCode(store.EvaluateAggregate("order_by_sku", Tuple()).status(),
                             ErrorCode::kUnsupported));
  });
}

TEST_F(RecordStoreTest, UniqueIndexRefusesDuplicatesAndWritesNothing) {
  InStore([&](RecordStore& store) { Save(store, "Customer", kAda); });
  std::unique_ptr<RecordContext> context = NewContext();
  std::unique_ptr<RecordStore> store = OpenStore(*context);
  StatusOr<SavedRecord> duplicate = store->SaveRecord(
      *Record("Customer", R"pb(customer_id: 9 name: "Eve" email: "ada@example.com")pb"));
  EXPECT_EQ(duplicate.status().message(),
            "uniqueness_violation (8010): index customer_by_email already has key "
            "(\"ada@example.com\") for record (1, 5); record (1, 9) cannot have it too");
  // The refused save left nothing behind; the transaction goes on.
  EXPECT_FALSE(*store->RecordExists(Tuple::Of(1, 9)));
  Save(*store, "Customer", R"pb(customer_id: 9 name: "Eve" email: "eve@example.com")pb");
  // Re-saving a record with its own key is no duplicate; nulls never are.
  Save(*store, "Customer", kAda);
  Save(*store, "Customer", R"pb(customer_id: 10 name: "Nil")pb");
  Save(*store, "Customer", R"pb(customer_id: 11 name: "Null")pb");
  ASSERT_TRUE(context->Commit().ok());
  EXPECT_EQ(IndexKeys("customer_by_email"),
            (Strings{"(null, 1, 10)", "(null, 1, 11)", "(\"ada@example.com\", 1, 5)",
                     "(\"eve@example.com\", 1, 9)"}));
  EXPECT_EQ(Keys(Tuple::Of(1, 1, 9)), (Strings{"(-1)", "(0)"}));
}

TEST_F(RecordStoreTest, WriteOnlyUniqueIndexRecordsViolations) {
  InStore([&](RecordStore& store) {
    ASSERT_TRUE(store.SetIndexState("customer_by_email", IndexState::kWriteOnly).ok());
  });
  InStore([&](RecordStore& store) {
    EXPECT_EQ(store.GetIndexState("customer_by_email"), IndexState::kWriteOnly);
    Save(store, "Customer", kAda);
    Save(store, "Customer", R"pb(customer_id: 9 email: "ada@example.com")pb");
    EXPECT_EQ(store.ScanIndex("customer_by_email", TupleRange::All(), Continuation::Start())
                  .status()
                  .message(),
              "index_not_readable (8013): index customer_by_email is write_only, not readable");
  });
  EXPECT_EQ(Keys(Tuple::Of(7, "customer_by_email")),
            (Strings{"(\"ada@example.com\", 1, 5)", "(\"ada@example.com\", 1, 9)"}));
  InStore([&](RecordStore& store) {
    StatusOr<std::vector<index::UniquenessViolation>> violations =
        store.ScanUniquenessViolations("customer_by_email");
    ASSERT_TRUE(violations.ok());
    ASSERT_EQ(violations->size(), 2u);
    EXPECT_EQ((*violations)[0].index_key, Tuple::Of("ada@example.com"));
    EXPECT_EQ((*violations)[0].primary_key, Tuple::Of(1, 5));
    EXPECT_EQ((*violations)[0].other_primary_key, Tuple::Of(1, 9));
    EXPECT_EQ(store.SetIndexState("customer_by_email", IndexState::kReadable).message(),
              "uniqueness_violation (8010): index customer_by_email cannot become readable: 2 "
              "records share keys, e.g. records (1, 5) and (1, 9) have key (\"ada@example.com\")");
    // Moving one record away resolves both violations.
    Save(store, "Customer", R"pb(customer_id: 9 email: "nine@example.com")pb");
  });
  EXPECT_EQ(Keys(Tuple::Of(7, "customer_by_email")), Strings{});
  InStore([&](RecordStore& store) {
    ASSERT_TRUE(store.SetIndexState("customer_by_email", IndexState::kReadable).ok());
  });
  EXPECT_EQ(Keys(Tuple::Of(5)), Strings{});
}

// The online indexer's contract (record_store.h): writers maintain a write-only index only
// for records in its built ranges.
TEST_F(RecordStoreTest, WriteOnlyIndexesAreMaintainedOnlyInBuiltRanges) {
  const Tuple built_ranges = Tuple::Of(6, "customer_by_email");
  InStore([&](RecordStore& store) {
    ASSERT_TRUE(store.ClearAndMarkIndexWriteOnly("customer_by_email").ok());
    EXPECT_EQ(store.GetIndexState("customer_by_email"), IndexState::kWriteOnly);
    Save(store, "Customer", kAda);
  });
  // Nothing built: the save left the index to the indexer.
  EXPECT_EQ(IndexKeys("customer_by_email"), Strings{});
  EXPECT_EQ(Keys(built_ranges), Strings{});

  InStore([&](RecordStore& store) {
    const std::string bob = Tuple::Of(1, 6).Pack();
    ASSERT_TRUE(store.IndexBuiltRanges("customer_by_email").InsertRange(
        store.context().txn(), bob, bob + "\xff").ok());
    Save(store, "Customer", kBob);
    Save(store, "Customer", R"pb(customer_id: 5 name: "Ada" email: "ada@new.example.com")pb");
  });
  EXPECT_EQ(IndexKeys("customer_by_email"), Strings{"(\"bob@example.com\", 1, 6)"});
  EXPECT_EQ(Keys(built_ranges), Strings{"(b\"\\x15\\x01\\x15\\x06\")"});
  InStore([&](RecordStore& store) { EXPECT_TRUE(*store.DeleteRecord(Tuple::Of(1, 6))); });
  EXPECT_EQ(IndexKeys("customer_by_email"), Strings{});

  // Readable: the built ranges are gone. Readable -> write-only: everything counts as built.
  InStore([&](RecordStore& store) {
    ASSERT_TRUE(store.SetIndexState("customer_by_email", IndexState::kReadable).ok());
  });
  EXPECT_EQ(Keys(built_ranges), Strings{});
  InStore([&](RecordStore& store) {
    ASSERT_TRUE(store.SetIndexState("customer_by_email", IndexState::kWriteOnly).ok());
    Save(store, "Customer", kBob);
  });
  EXPECT_EQ(IndexKeys("customer_by_email"), Strings{"(\"bob@example.com\", 1, 6)"});
  EXPECT_EQ(Keys(built_ranges), Strings{"(b\"\")"});
  InStore([&](RecordStore& store) {
    ASSERT_TRUE(store.SetIndexState("customer_by_email", IndexState::kDisabled).ok());
  });
  EXPECT_EQ(Keys(built_ranges), Strings{});
  EXPECT_EQ(IndexKeys("customer_by_email"), Strings{});
  EXPECT_TRUE(HasErrorCode(RecordStore::Open(*NewContext(), kStore, metadata_)
                               .value()
                               ->ClearAndMarkIndexWriteOnly("nope"),
                           ErrorCode::kNotFound));
}

TEST_F(RecordStoreTest, DisabledIndexesAreClearedAndNotMaintained) {
  InStore([&](RecordStore& store) { Save(store, "Order", kOrder); });
  InStore([&](RecordStore& store) {
    ASSERT_TRUE(store.SetIndexState("order_by_sku", IndexState::kDisabled).ok());
  });
  EXPECT_EQ(IndexKeys("order_by_sku"), Strings{});
  InStore([&](RecordStore& store) {
    Save(store, "Order", R"pb(order_id: 2 customer_id: 5 line_items { sku: "cup" })pb");
  });
  EXPECT_EQ(IndexKeys("order_by_sku"), Strings{});
  EXPECT_EQ(Keys(Tuple::Of(5)), Strings{"(\"order_by_sku\")"});
}

// The header says whether index states are stored, so an open reads (5) only when one is;
// a state change that flips it rewrites the header, which every opener has read.
TEST_F(RecordStoreTest, TheHeaderTellsWhetherIndexStatesAreStored) {
  InStore([](RecordStore& store) { EXPECT_FALSE(store.header().has_index_states()); });
  InStore([](RecordStore& store) {
    ASSERT_TRUE(store.SetIndexState("order_by_sku", IndexState::kDisabled).ok());
    EXPECT_TRUE(store.header().has_index_states());
  });
  InStore([](RecordStore& store) {
    EXPECT_TRUE(store.header().has_index_states());
    EXPECT_EQ(store.GetIndexState("order_by_sku"), IndexState::kDisabled);
  });

  // An opener that read the header conflicts with the state change that rewrites it.
  std::unique_ptr<RecordContext> reader = NewContext();
  std::unique_ptr<RecordStore> opened = OpenStore(*reader);
  ASSERT_NE(opened, nullptr);
  EXPECT_EQ(opened->GetIndexState("order_by_sku"), IndexState::kDisabled);
  InStore([](RecordStore& store) {
    ASSERT_TRUE(store.SetIndexState("order_by_sku", IndexState::kReadable).ok());
    EXPECT_FALSE(store.header().has_index_states());
  });
  Save(*opened, "Order", kOrder);
  EXPECT_TRUE(HasErrorCode(reader->Commit(), ErrorCode::kNotCommitted));
  EXPECT_EQ(Keys(Tuple::Of(5)), Strings{});
  InStore([](RecordStore& store) {
    EXPECT_EQ(store.GetIndexState("order_by_sku"), IndexState::kReadable);
  });
}

// A format-1 header says nothing about index states: they are read, and the header is
// rewritten in format 2.
TEST_F(RecordStoreTest, FormatOneStoresAreReadAndUpgraded) {
  InStore([](RecordStore& store) {
    ASSERT_TRUE(store.SetIndexState("order_by_sku", IndexState::kWriteOnly).ok());
  });
  {
    std::unique_ptr<RecordContext> context = NewContext();
    proto::StoreHeader header;
    header.set_format_version(1);
    header.set_metadata_version(3);
    context->txn().Set(kStore.Pack(Tuple::Of(0)), header.SerializeAsString());
    // As every writer of a header must (record_store.h): cached copies are stale now.
    context->txn().BumpMetadataVersion();
    ASSERT_TRUE(context->Commit().ok());
  }
  InStore([](RecordStore& store) {
    EXPECT_EQ(store.GetIndexState("order_by_sku"), IndexState::kWriteOnly);
    EXPECT_EQ(store.header().format_version(), kStoreFormatVersion);
    EXPECT_TRUE(store.header().has_index_states());
    // It may hold split records.
    EXPECT_FALSE(store.header().records_unsplit());
  });
  InStore([](RecordStore& store) {
    EXPECT_EQ(store.header().format_version(), kStoreFormatVersion);
    EXPECT_EQ(store.GetIndexState("order_by_sku"), IndexState::kWriteOnly);
  });
}

// A Product whose serialized record exceeds one chunk (three chunks).
std::unique_ptr<google::protobuf::Message> BigProduct(const RecordMetaData& metadata,
                                                      std::string_view sku) {
  auto product = MakeRecord(metadata, "Product", "sku: \"" + std::string(sku) + "\"");
  product->GetReflection()->SetString(product.get(),
                                      product->GetDescriptor()->FindFieldByName("thumbnail"),
                                      std::string(250'000, 'x'));
  return product;
}

// A new store says no record is split until one is: the save that splits the first record
// rewrites the header, and every later load looks for chunks, in the same transaction, in
// later ones (the cached header is invalidated) and through RecordExists.
TEST_F(RecordStoreTest, TheFirstSplitRecordClearsRecordsUnsplit) {
  InStore([&](RecordStore& store) {
    EXPECT_TRUE(store.header().records_unsplit());
    Save(store, "Product", R"pb(sku: "small")pb");
    EXPECT_TRUE(store.header().records_unsplit());
    ASSERT_TRUE(store.SaveRecord(*BigProduct(metadata_, "big")).ok());
    EXPECT_FALSE(store.header().records_unsplit());
    auto loaded = store.LoadRecord(Tuple::Of("product", "big"));
    ASSERT_TRUE(loaded.ok() && loaded->has_value()) << loaded.status();
  });
  EXPECT_EQ(Keys(Tuple::Of(1, "product", "big")), (Strings{"(-1)", "(1)", "(2)", "(3)"}));
  InStore([&](RecordStore& store) {
    EXPECT_FALSE(store.header().records_unsplit());
    auto loaded = store.LoadRecord(Tuple::Of("product", "big"));
    ASSERT_TRUE(loaded.ok() && loaded->has_value()) << loaded.status();
    EXPECT_EQ((*loaded)->message->SerializeAsString(),
              BigProduct(metadata_, "big")->SerializeAsString());
    StatusOr<bool> exists = store.RecordExists(Tuple::Of("product", "big"));
    EXPECT_TRUE(exists.ok() && *exists) << exists.status();
    auto serialized = store.LoadSerializedRecord(Tuple::Of("product", "big"));
    ASSERT_TRUE(serialized.ok() && serialized->has_value()) << serialized.status();
    StatusOr<SavedRecord> again =
        store.SaveRecord(*Record("Product", R"pb(sku: "big")pb"), SaveMode::kInsert);
    EXPECT_TRUE(HasErrorCode(again.status(), ErrorCode::kAlreadyExists)) << again.status();
  });
}

// An insert that found no record, on a store that said none was split, conflicts with a
// concurrent save that splits a record with the same key: else both would commit, leaving
// an unsplit value beside the chunks.
TEST_F(RecordStoreTest, InsertsConflictWithTheFirstSplitRecord) {
  InStore([](RecordStore& store) { EXPECT_TRUE(store.header().records_unsplit()); });
  std::unique_ptr<RecordContext> inserter = NewContext();
  std::unique_ptr<RecordStore> store = OpenStore(*inserter);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->SaveRecord(*Record("Product", R"pb(sku: "big")pb"), SaveMode::kInsert).ok());
  InStore([&](RecordStore& other) {
    ASSERT_TRUE(other.SaveRecord(*BigProduct(metadata_, "big"), SaveMode::kInsert).ok());
  });
  EXPECT_TRUE(HasErrorCode(inserter->Commit(), ErrorCode::kNotCommitted));
  EXPECT_EQ(Keys(Tuple::Of(1, "product", "big")), (Strings{"(-1)", "(1)", "(2)", "(3)"}));
}

// A store of format 2 may hold split records that its header does not mention: the upgrade
// to format 3 leaves records_unsplit unset, so they are still found.
TEST_F(RecordStoreTest, FormatTwoStoresKeepLookingForSplitRecords) {
  InStore([&](RecordStore& store) {
    ASSERT_TRUE(store.SaveRecord(*BigProduct(metadata_, "big")).ok());
  });
  {
    std::unique_ptr<RecordContext> context = NewContext();
    proto::StoreHeader header;
    header.set_format_version(2);
    header.set_metadata_version(3);
    context->txn().Set(kStore.Pack(Tuple::Of(0)), header.SerializeAsString());
    context->txn().BumpMetadataVersion();
    ASSERT_TRUE(context->Commit().ok());
  }
  InStore([&](RecordStore& store) {
    EXPECT_EQ(store.header().format_version(), kStoreFormatVersion);
    EXPECT_FALSE(store.header().records_unsplit());
    auto loaded = store.LoadRecord(Tuple::Of("product", "big"));
    ASSERT_TRUE(loaded.ok() && loaded->has_value()) << loaded.status();
    StatusOr<bool> exists = store.RecordExists(Tuple::Of("product", "big"));
    EXPECT_TRUE(exists.ok() && *exists) << exists.status();
    StatusOr<SavedRecord> again =
        store.SaveRecord(*Record("Product", R"pb(sku: "big")pb"), SaveMode::kInsert);
    EXPECT_TRUE(HasErrorCode(again.status(), ErrorCode::kAlreadyExists)) << again.status();
  });
}

TEST_F(RecordStoreTest, NoteSplitRecordClearsRecordsUnsplit) {
  {
    std::unique_ptr<RecordContext> context = NewContext();
    EXPECT_TRUE(HasErrorCode(RecordStore::NoteSplitRecord(*context, kStore), ErrorCode::kNotFound));
  }
  InStore([](RecordStore& store) { EXPECT_TRUE(store.header().records_unsplit()); });
  {
    std::unique_ptr<RecordContext> context = NewContext();
    ASSERT_TRUE(RecordStore::NoteSplitRecord(*context, kStore).ok());
    ASSERT_TRUE(context->Commit().ok());
  }
  InStore([](RecordStore& store) {
    EXPECT_FALSE(store.header().records_unsplit());
    EXPECT_EQ(store.header().format_version(), kStoreFormatVersion);
  });
}

TEST_F(RecordStoreTest, SplitRecordsKeepTheirIndexes) {
  std::string thumbnail(250'000, 'x');
  for (size_t i = 0; i < thumbnail.size(); ++i) thumbnail[i] = static_cast<char>(i * 31 % 251);
  auto product = Record("Product", R"pb(sku: "big" title: "Big" tags: "heavy" tags: "art")pb");
  product->GetReflection()->SetString(
      product.get(), product->GetDescriptor()->FindFieldByName("thumbnail"), thumbnail);
  InStore([&](RecordStore& store) { ASSERT_TRUE(store.SaveRecord(*product).ok()); });
  EXPECT_EQ(Keys(Tuple::Of(1, "product", "big")), (Strings{"(-1)", "(1)", "(2)", "(3)"}));
  EXPECT_EQ(IndexKeys("product_by_tag"),
            (Strings{"(\"art\", \"product\", \"big\")", "(\"heavy\", \"product\", \"big\")"}));
  InStore([&](RecordStore& store) {
    auto loaded = store.LoadRecord(Tuple::Of("product", "big"));
    ASSERT_TRUE(loaded.ok() && loaded->has_value()) << loaded.status();
    EXPECT_EQ((*loaded)->message->SerializeAsString(), product->SerializeAsString());
    // Shrinking it leaves no stale chunk.
    Save(store, "Product", R"pb(sku: "big" tags: "art")pb");
  });
  EXPECT_EQ(Keys(Tuple::Of(1, "product", "big")), (Strings{"(-1)", "(0)"}));
  EXPECT_EQ(IndexKeys("product_by_tag"), (Strings{"(\"art\", \"product\", \"big\")"}));
}

// Collects every record of a scan, resuming after each page in a new transaction.
struct PagedScan {
  std::vector<std::string> primary_keys;
  int pages = 0;
};

TEST_F(RecordStoreTest, ScansRecordsInPagesAndUnderScanLimits) {
  std::string big(150'000, 'b');
  InStore([&](RecordStore& store) {
    for (int id = 1; id <= 6; ++id) {
      auto order = Record("Order", "order_id: " + std::to_string(id) + " customer_id: 5");
      if (id == 3) {
        order->GetReflection()->SetString(order.get(),
                                          order->GetDescriptor()->FindFieldByName("note"), big);
      }
      ASSERT_TRUE(store.SaveRecord(*order).ok());
    }
    Save(store, "Customer", kAda);
  });
  // Every page stops between records: by row limit, then by a scan limit of one key-value pair
  // (each record has 2 or 3; the first of each page is free).
  for (bool reverse : {false, true}) {
    for (bool scan_limit : {false, true}) {
      std::vector<std::string> seen;
      Continuation continuation = Continuation::Start();
      int pages = 0;
      while (!continuation.is_end()) {
        ASSERT_LT(++pages, 20);
        std::unique_ptr<RecordContext> context = NewContext();
        std::unique_ptr<RecordStore> store = OpenStore(*context);
        cursor::ScanLimiter limiter(cursor::ScanLimits{.max_records = 1});
        index::ScanOptions options;
        options.reverse = reverse;
        if (scan_limit) {
          options.limiter = &limiter;
        } else {
          options.row_limit = 4;
        }
        auto scan = store->ScanRecords(TupleRange::Prefix(Tuple::Of(2, 5)), continuation, options);
        ASSERT_TRUE(scan.ok()) << scan.status();
        while (true) {
          StatusOr<CursorResult<StoredRecord>> result = (*scan)->Next();
          ASSERT_TRUE(result.ok()) << result.status();
          continuation = result->continuation();
          if (!result->has_value()) {
            if (!continuation.is_end()) {
              EXPECT_EQ(result->no_next_reason(), scan_limit ? NoNextReason::kScanLimitReached
                                                             : NoNextReason::kReturnLimitReached);
            }
            break;
          }
          seen.push_back(result->value().primary_key.ToString());
          if (result->value().primary_key == Tuple::Of(2, 5, 3)) {
            EXPECT_EQ(result->value().message->GetReflection()->GetString(
                          *result->value().message,
                          result->value().message->GetDescriptor()->FindFieldByName("note")),
                      big);
          }
        }
      }
      Strings expected{"(2, 5, 1)", "(2, 5, 2)", "(2, 5, 3)", "(2, 5, 4)", "(2, 5, 5)",
                       "(2, 5, 6)"};
      if (reverse) std::reverse(expected.begin(), expected.end());
      EXPECT_EQ(seen, expected) << "reverse " << reverse << " scan limit " << scan_limit;
      // Under the scan limit each page holds one record; the last one finds the end.
      EXPECT_EQ(pages, scan_limit ? 7 : 2);
    }
  }
}

TEST_F(RecordStoreTest, DeletesRecordsWhereAndAll) {
  InStore([&](RecordStore& store) {
    Save(store, "Customer", kAda);
    Save(store, "Order", kOrder);
    Save(store, "Order", R"pb(order_id: 2 customer_id: 5 total: 30 line_items { sku: "cup" })pb");
    Save(store, "Order", R"pb(order_id: 3 customer_id: 6 total: 7 line_items { sku: "pot" })pb");
  });
  InStore([&](RecordStore& store) {
    StatusOr<int64_t> deleted = store.DeleteRecordsWhere(Tuple::Of(2, 5));
    ASSERT_TRUE(deleted.ok()) << deleted.status();
    EXPECT_EQ(*deleted, 2);
  });
  EXPECT_EQ(IndexKeys("order_by_sku"), (Strings{"(\"pot\", 2, 6, 3)"}));
  InStore([&](RecordStore& store) {
    EXPECT_EQ(*store.EvaluateAggregate("records_by_type", Tuple::Of(2)), Tuple::Of(1));
    EXPECT_EQ(*store.EvaluateAggregate("revenue_by_customer", Tuple::Of(5)), Tuple::Of(0));
    ASSERT_TRUE(store.DeleteAllRecords().ok());
  });
  EXPECT_EQ(Keys(Tuple::Of(1)), Strings{});
  EXPECT_EQ(Keys(Tuple::Of(2)), Strings{});
  InStore([&](RecordStore& store) {
    EXPECT_EQ(*store.EvaluateAggregate("records_by_type", Tuple::Of(2)), Tuple::Of(0));
    EXPECT_EQ(store.header().metadata_version(), 3);
  });
}

TEST_F(RecordStoreTest, VersionIndexOrdersChangesByCommit) {
  std::vector<cursor::RecordVersion> versions;
  for (std::string_view text : {kBob, kAda}) {
    std::unique_ptr<RecordContext> context = NewContext();
    std::unique_ptr<RecordStore> store = OpenStore(*context);
    SavedRecord saved = Save(*store, "Customer", text);
    // Saved twice in one transaction: one entry, with the second local version.
    saved = Save(*store, "Customer", text);
    ASSERT_TRUE(context->Commit().ok());
    versions.push_back(*context->CompleteVersion(*saved.version));
  }
  InStore([&](RecordStore& store) {
    auto scan = store.ScanIndex("changes", TupleRange::All(), Continuation::Start());
    ASSERT_TRUE(scan.ok()) << scan.status();
    std::vector<index::IndexEntry> entries;
    while (true) {
      StatusOr<CursorResult<index::IndexEntry>> entry = (*scan)->Next();
      ASSERT_TRUE(entry.ok()) << entry.status();
      if (!entry->has_value()) break;
      entries.push_back(entry->value());
    }
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].key, Tuple::Of(versions[0].ToVersionstamp(), 1, 6));
    EXPECT_EQ(entries[1].key, Tuple::Of(versions[1].ToVersionstamp(), 1, 5));
    EXPECT_EQ(versions[0].local_version(), 1);
    auto loaded = store.LoadRecord(Tuple::Of(1, 5));
    EXPECT_EQ((*loaded)->version, versions[1]);
    // Deleting removes the committed entry.
    ASSERT_TRUE(*store.DeleteRecord(Tuple::Of(1, 6)));
  });
  EXPECT_EQ(IndexKeys("changes").size(), 1u);
}

TEST_F(RecordStoreTest, ScansSeeRecordsSavedInTheSameTransaction) {
  std::unique_ptr<RecordContext> context = NewContext();
  std::unique_ptr<RecordStore> store = OpenStore(*context);
  SavedRecord ada = Save(*store, "Customer", kAda);
  auto scan = store->ScanRecords(TupleRange::All(), Continuation::Start());
  ASSERT_TRUE(scan.ok());
  StatusOr<CursorResult<StoredRecord>> first = (*scan)->Next();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ(first->value().version, ada.version);
}

TEST_F(RecordStoreTest, NewIndexesAreBuiltOnUpgrade) {
  InStore([&](RecordStore& store) {
    Save(store, "Customer", kAda);
    Save(store, "Customer", kBob);
  });
  metadata::proto::RecordMetaData next = ShopProtoWithChanges();
  next.set_version(4);
  *next.add_indexes() = ParseText<metadata::proto::Index>(R"pb(
    name: "customer_by_name"
    type: "value"
    root { field { name: "name" } }
    record_types: "Customer"
    added_version: 4
    last_modified_version: 4
  )pb");
  RecordMetaData v4 = metadata::BuildOrDie(next);
  // A small store builds the index as it opens.
  {
    std::unique_ptr<RecordContext> context = NewContext();
    std::unique_ptr<RecordStore> store = OpenStore(*context, {}, &v4);
    EXPECT_EQ(store->GetIndexState("customer_by_name"), IndexState::kReadable);
    EXPECT_EQ(store->header().metadata_version(), 4);
    // Not committed: the next open upgrades again.
  }
  RecordStoreOptions large;
  large.inline_build_record_limit = 1;
  std::unique_ptr<RecordContext> context = NewContext();
  std::unique_ptr<RecordStore> store = OpenStore(*context, large, &v4);
  EXPECT_EQ(store->GetIndexState("customer_by_name"), IndexState::kWriteOnly);
  ASSERT_TRUE(context->Commit().ok());
  EXPECT_EQ(IndexKeys("customer_by_name"), Strings{});

  // Nothing is built yet: writers leave it to the online indexer, until a range is built.
  context = NewContext();
  store = OpenStore(*context, {}, &v4);
  Save(*store, "Customer", R"pb(customer_id: 8 name: "Di")pb");
  const std::string cy = Tuple::Of(1, 7).Pack();
  ASSERT_TRUE(store->IndexBuiltRanges("customer_by_name")
                  .InsertRange(context->txn(), cy, cy + "\xff")
                  .ok());
  Save(*store, "Customer", R"pb(customer_id: 7 name: "Cy")pb");
  ASSERT_TRUE(context->Commit().ok());
  EXPECT_EQ(IndexKeys("customer_by_name"), Strings{"(\"Cy\", 1, 7)"});
  EXPECT_EQ(Keys(Tuple::Of(6, "customer_by_name")).size(), 1u);

  // Dropping it again clears what it had, built ranges included.
  next.set_version(5);
  next.mutable_indexes()->RemoveLast();
  auto* former = next.add_former_indexes();
  former->set_name("customer_by_name");
  former->set_added_version(4);
  former->set_removed_version(5);
  RecordMetaData v5 = metadata::BuildOrDie(next);
  context = NewContext();
  store = OpenStore(*context, {}, &v5);
  ASSERT_TRUE(context->Commit().ok());
  EXPECT_EQ(IndexKeys("customer_by_name"), Strings{});
  EXPECT_EQ(Keys(Tuple::Of(5)), Strings{});
  EXPECT_EQ(Keys(Tuple::Of(6)), Strings{});

  // A refused evolution names its rule.
  metadata::proto::RecordMetaData bad = ShopProtoWithChanges();
  bad.set_version(6);
  bad.mutable_record_types(0)->mutable_primary_key()->mutable_then()->mutable_children()->RemoveLast();
  RecordMetaData v6 = metadata::BuildOrDie(bad);
  context = NewContext();
  StatusOr<std::unique_ptr<RecordStore>> refused = RecordStore::Open(*context, kStore, v6);
  EXPECT_EQ(refused.status().message(),
            "invalid_argument (8001): metadata evolution refused: record type Customer changed "
            "primary key from (record_type(), customer_id) to (record_type()); former index "
            "customer_by_name was dropped");
}

TEST_F(RecordStoreTest, ConcurrentWritersShareAggregatesWithoutConflicts) {
  InStore([](RecordStore&) {});
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::unique_ptr<RecordContext> context = NewContext();
        auto store = RecordStore::Open(*context, kStore, metadata_);
        if (!store.ok()) {
          ++failures;
          continue;
        }
        auto order = MakeRecord(metadata_, "Order",
                                "customer_id: 5 total: 2 order_id: " +
                                    std::to_string(t * 1000 + i));
        if (!(*store)->SaveRecord(*order).ok() || !context->Commit().ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  InStore([&](RecordStore& store) {
    EXPECT_EQ(*store.EvaluateAggregate("records_by_type", Tuple::Of(2)),
              Tuple::Of(kThreads * kPerThread));
    EXPECT_EQ(*store.EvaluateAggregate("revenue_by_customer", Tuple::Of(5)),
              Tuple::Of(2 * kThreads * kPerThread));
  });
}

class FixedKeys : public KeyProvider {
 public:
  StatusOr<DataKey> CurrentKey() const override { return key_; }
  StatusOr<DataKey> KeyById(uint32_t id) const override {
    if (id != key_.id) return MakeError(ErrorCode::kNotFound, "unknown key");
    return key_;
  }

 private:
  DataKey key_{7, {1, 2, 3}};
};

TEST_F(RecordStoreTest, EncryptedRecordsAreUnreadableRawAndCorruptionIsCaught) {
  RecordStoreOptions options;
  options.serializer.encrypt = true;
  options.serializer.compression = Compression::kZstd;
  options.keys = std::make_shared<FixedKeys>();
  InStore([&](RecordStore& store) { Save(store, "Customer", kAda); }, options);
  {
    std::unique_ptr<kv::Transaction> txn = db_->CreateTransaction();
    std::optional<std::string> raw = *txn->Get(kStore.Pack(Tuple::Of(1, 1, 5, 0)));
    ASSERT_TRUE(raw.has_value());
    EXPECT_EQ(raw->find("Ada"), std::string::npos);
  }
  InStore(
      [&](RecordStore& store) {
        auto loaded = store.LoadRecord(Tuple::Of(1, 5));
        ASSERT_TRUE(loaded.ok() && loaded->has_value()) << loaded.status();
        EXPECT_EQ((*loaded)->message->ShortDebugString(),
                  Record("Customer", kAda)->ShortDebugString());
      },
      options);
  // Without the key: a clear error, not garbage.
  InStore([&](RecordStore& store) {
    EXPECT_TRUE(HasErrorCode(store.LoadRecord(Tuple::Of(1, 5)).status(), ErrorCode::kUnsupported));
  });
  // Bytes that are not a record.
  {
    std::unique_ptr<kv::Transaction> txn = db_->CreateTransaction();
    txn->Set(kStore.Pack(Tuple::Of(1, 1, 6, 0)), std::string("\x01\x00\x0a\x03" "abc", 7));
    ASSERT_TRUE(txn->Commit().ok());
  }
  InStore([&](RecordStore& store) {
    EXPECT_EQ(store.LoadRecord(Tuple::Of(1, 6)).status().message(),
              "data_corruption (8004): record (1, 6): it does not parse as Customer");
  });
}

// A stored record of a type with required fields is refused when one is missing, as a save
// of it is.
TEST_F(RecordStoreTest, StoredRecordsMissingRequiredFieldsAreCorrupt) {
  auto proto = ParseText<metadata::proto::RecordMetaData>(R"pb(
    version: 1
    record_types {
      name: "Item"
      primary_key { field { name: "id" } }
    }
  )pb");
  *proto.mutable_files() = *metadata::ParseProtoFiles({{"legacy.proto", R"(
syntax = "proto2";
message Item { optional int64 id = 1; required string sku = 2; }
message RecordTypeUnion { optional Item _Item = 1; }
)"}});
  RecordMetaData legacy = metadata::BuildOrDie(proto);
  {
    std::unique_ptr<RecordContext> context = NewContext();
    std::unique_ptr<RecordStore> store = OpenStore(*context, {}, &legacy);
    ASSERT_TRUE(store->SaveRecord(*MakeRecord(legacy, "Item", R"pb(id: 1 sku: "cup")pb")).ok());
    // Format 1, uncompressed; the union's field 1 (Item) holding id 2 and no sku.
    context->txn().Set(kStore.Pack(Tuple::Of(1, 2, 0)), std::string("\x01\x00\x0a\x02\x08\x02", 6));
    ASSERT_TRUE(context->Commit().ok());
  }
  std::unique_ptr<RecordContext> context = NewContext();
  std::unique_ptr<RecordStore> store = OpenStore(*context, {}, &legacy);
  auto complete = store->LoadRecord(Tuple::Of(1));
  ASSERT_TRUE(complete.ok() && complete->has_value()) << complete.status();
  EXPECT_EQ((*complete)->message->ShortDebugString(), "id: 1 sku: \"cup\"");
  EXPECT_EQ(store->LoadRecord(Tuple::Of(2)).status().message(),
            "data_corruption (8004): record (2): it does not parse as Item");
}

TEST_F(RecordStoreTest, LoadsSerializedRecordsWithoutParsingThem) {
  std::optional<cursor::RecordVersion> version;
  {
    std::unique_ptr<RecordContext> context = NewContext();
    std::unique_ptr<RecordStore> store = OpenStore(*context);
    SavedRecord ada = Save(*store, "Customer", kAda);
    ASSERT_TRUE(context->Commit().ok());
    version = *context->CompleteVersion(*ada.version);
  }
  InStore([&](RecordStore& store) {
    auto loaded = store.LoadSerializedRecord(Tuple::Of(1, 5));
    ASSERT_TRUE(loaded.ok() && loaded->has_value()) << loaded.status();
    EXPECT_EQ((*loaded)->type->name(), "Customer");
    EXPECT_EQ((*loaded)->bytes, Record("Customer", kAda)->SerializeAsString());
    EXPECT_EQ((*loaded)->version, version);
    EXPECT_FALSE(store.LoadSerializedRecord(Tuple::Of(1, 6))->has_value());
  });
  // The bytes are handed out unparsed; a union field that is no record type is corruption.
  {
    std::unique_ptr<kv::Transaction> txn = db_->CreateTransaction();
    txn->Set(kStore.Pack(Tuple::Of(1, 1, 6, 0)), std::string("\x01\x00\x0a\x03" "abc", 7));
    txn->Set(kStore.Pack(Tuple::Of(1, 1, 7, 0)), std::string("\x01\x00\x7a\x03" "abc", 7));
    ASSERT_TRUE(txn->Commit().ok());
  }
  InStore([&](RecordStore& store) {
    auto unparsed = store.LoadSerializedRecord(Tuple::Of(1, 6));
    ASSERT_TRUE(unparsed.ok() && unparsed->has_value()) << unparsed.status();
    EXPECT_EQ((*unparsed)->bytes, "abc");
    EXPECT_EQ(store.LoadSerializedRecord(Tuple::Of(1, 7)).status().message(),
              "data_corruption (8004): record (1, 7): its union field 15 is not a record type "
              "of the metadata");
  });
}

}  // namespace
}  // namespace recordstore::store
