// recordstore_bench store: the record store against SQLite and against raw RocksDB, on the
// same generated shop orders, in the same process.
//
// The schema is the shop's (src/metadata/testdata/shop/*.proto, parsed at run time with
// metadata::ParseProtoFiles), with this benchmark's own metadata (kMetadataText): every record
// type's primary key starts with its record type key; Order records, key (2, customer_id,
// order_id); indexes
//   order_by_total    value  total                  one entry per order
//   order_by_city     value  shipping.city          one entry per order
//   orders_by_status  count  grouped by status      one counter per status
//
//   insert           --records orders, --batch per transaction, inserted in --rounds rounds
//                    that rotate which system goes first
//     recordstore    RecordStore::SaveRecord(kInsert) x batch + RecordContext::Commit, on the
//                    rocksdb:// engine (EngineDatabase over RocksDB storage, built directly as
//                    kv_bench does so that it can be compacted), sync_commits = false
//     sqlite         one WITHOUT ROWID table keyed like ours, the same two indexes, a counts
//                    table kept by an AFTER INSERT trigger; INSERT x batch in BEGIN..COMMIT;
//                    WAL, synchronous=NORMAL, 256 MB page cache (RocksDB's block cache size)
//     rocksdb        the key-value pairs the record store writes per record, as Puts in one
//                    WriteBatch per batch, WriteOptions.sync = false, RocksDbTunedOptions().
//                    Counted, not assumed: the record store's first 10 insert transactions run
//                    through a CountingTransaction. It writes 5 pairs per order (record,
//                    version, two index entries, the count key) in 6 mutations (the count key
//                    gets an ADD and a COMPARE_AND_CLEAR) plus one range clear (the split
//                    helper clears the record's key range before writing it); the raw side
//                    writes the 5 pairs, one Put each, and warns if the count ever differs
//   point_load       --loads random primary keys, one per (read-only) transaction, each
//                    record decoded: ours LoadRecord (a protobuf message); SQLite one SELECT
//                    into a struct (line items decoded); raw Get + ParseFromString
//   index_range_100  --scans scans from a random total in order_by_total, 100 entries, each
//                    record loaded: ours ScanIndex(row_limit 100) + LoadRecord per entry, in
//                    one transaction; SQLite SELECT ... WHERE total >= ? ORDER BY total LIMIT
//                    100; raw an iterator over 100 index keys + 100 Gets (+ parse)
// --compare-encryption adds a fourth system, recordstore_encrypted: the record store with
// encryption at rest as the server runs it (AES-256-GCM, a TenantKeyProvider over a data key
// wrapped by a master key, in the same KV store), in the same rounds as the others, and
// prints the ratio recordstore_encrypted/recordstore per workload.
// None of the three fsyncs per commit: each writes its log and leaves it to the OS (WAL +
// NORMAL syncs only at checkpoints). Between inserts and reads, both RocksDB stores are fully
// compacted and SQLite's WAL is checkpointed (TRUNCATE), so the reads start from settled data.
// Record generation is not timed. Latencies: per transaction for insert, per load, per scan.
// Ours and raw RocksDB both hold Order as a dynamic protobuf message of the parsed schema.
//
// Flags (defaults): --records=1000000 --batch=100 --loads=200000 --scans=5000 --rounds=10
// --data-dir=<system temp dir> (the stores go in a subdirectory of it, removed at the end)
// --systems=recordstore,sqlite,rocksdb (a subset, for profiling one) --schema-dir=<source
// tree>/src/metadata/testdata/shop --compare-encryption (also runs recordstore).
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "bench/bench.h"
#include "crypto/master_key.h"
#include "crypto/tenant_keys.h"
#include "cursor/record_context.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/text_format.h"
#include "kv/engine/engine_database.h"
#include "kv/rocksdb/rocksdb_storage.h"
#include "metadata/metadata.pb.h"
#include "metadata/proto_source.h"
#include "metadata/record_metadata.h"
#include "recordstore/kv.h"
#include "store/record_store.h"
#include "tuple/subspace.h"
#include "tuple/tuple.h"

#ifndef RS_SHOP_SCHEMA_DIR
#define RS_SHOP_SCHEMA_DIR "src/metadata/testdata/shop"
#endif

namespace recordstore::bench {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr char kMetadataText[] = R"pb(
  version: 1
  record_types {
    name: "Customer"
    primary_key {
      then {
        children { record_type_key {} }
        children { field { name: "customer_id" } }
      }
    }
  }
  record_types {
    name: "Order"
    primary_key {
      then {
        children { record_type_key {} }
        children { field { name: "customer_id" } }
        children { field { name: "order_id" } }
      }
    }
  }
  record_types {
    name: "Product"
    primary_key {
      then {
        children { record_type_key {} }
        children { field { name: "sku" } }
      }
    }
    record_type_key_string: "product"
  }
  indexes {
    name: "order_by_total"
    type: "value"
    root { field { name: "total" } }
    record_types: "Order"
    added_version: 1
    last_modified_version: 1
  }
  indexes {
    name: "order_by_city"
    type: "value"
    root {
      nest {
        parent { name: "shipping" }
        child { field { name: "city" } }
      }
    }
    record_types: "Order"
    added_version: 1
    last_modified_version: 1
  }
  indexes {
    name: "orders_by_status"
    type: "count"
    root {
      grouping {
        whole { field { name: "status" } }
        grouped_count: 0
      }
    }
    record_types: "Order"
    added_version: 1
    last_modified_version: 1
  }
)pb";

// The key-value pairs the raw RocksDB baseline writes per order: record, version, the two
// value index entries, the count key. Checked against what the record store is seen writing.
constexpr int kRawPairsPerRecord = 5;
// Rows per index_range_100 scan.
constexpr int kScanRows = 100;

struct StoreParams {
  int64_t records;
  int batch;
  int64_t loads;
  int64_t scans;
  int rounds;
  std::string data_dir;
  std::string schema_dir;
  // By system index (kSystems): whether it runs (--systems, for profiling one system;
  // --compare-encryption for the last).
  bool enabled[4] = {true, true, true, false};
};

void Check(const Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s failed: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

void Check(const rocksdb::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s failed: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "store bench: %s\n", message.c_str());
  std::exit(1);
}

// --- The records ---

struct LineItemRow {
  std::string sku;
  int32_t quantity = 0;
  int64_t price = 0;
  std::vector<std::string> options;
};

struct AddressRow {
  std::string street;
  std::string city;
  std::optional<std::string> zip;
  std::string country;
};

// One shop.Order as plain values: what SQLite stores and loads, and what the messages of the
// other two systems are built from.
struct OrderRow {
  int64_t order_id = 0;
  int64_t customer_id = 0;
  std::vector<LineItemRow> line_items;
  AddressRow shipping;
  int64_t total = 0;
  std::optional<std::string> note;
  int32_t status = 0;
  std::vector<std::string> coupons;
};

// splitmix64: a small seeded generator, one per record, so record i is the same whatever
// system asks for it and in whatever order.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  int64_t Uniform(int64_t lo, int64_t hi) {  // [lo, hi]
    return lo + static_cast<int64_t>(Next() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool Chance(int percent) { return static_cast<int>(Next() % 100) < percent; }

 private:
  uint64_t state_;
};

constexpr int64_t kCustomers = 100'000;

struct City {
  const char* name;
  const char* country;
};
constexpr City kCities[] = {
    {"Amsterdam", "NL"}, {"Athens", "GR"},    {"Barcelona", "ES"}, {"Berlin", "DE"},
    {"Boston", "US"},    {"Brussels", "BE"},  {"Chicago", "US"},   {"Copenhagen", "DK"},
    {"Denver", "US"},    {"Dublin", "IE"},    {"Edinburgh", "GB"}, {"Florence", "IT"},
    {"Geneva", "CH"},    {"Hamburg", "DE"},   {"Helsinki", "FI"},  {"Krakow", "PL"},
    {"Lisbon", "PT"},    {"London", "GB"},    {"Lyon", "FR"},      {"Madrid", "ES"},
    {"Marseille", "FR"}, {"Milan", "IT"},     {"Montreal", "CA"},  {"Munich", "DE"},
    {"New York", "US"},  {"Oslo", "NO"},      {"Paris", "FR"},     {"Porto", "PT"},
    {"Prague", "CZ"},    {"Rome", "IT"},      {"Seattle", "US"},   {"Stockholm", "SE"},
    {"Toronto", "CA"},   {"Vancouver", "CA"}, {"Vienna", "AT"},    {"Warsaw", "PL"},
    {"Zurich", "CH"},    {"Austin", "US"},    {"Oakland", "US"},   {"Valencia", "ES"},
};
constexpr const char* kStreets[] = {"Main",   "Oak",     "Maple", "Cedar",  "Elm",   "Pine",
                                    "Lake",   "Hill",    "Park",  "River",  "Mill",  "Church",
                                    "Bridge", "Station", "High",  "Market", "Queen", "King"};
constexpr const char* kOptions[] = {"gift-wrap",  "express", "color:red",
                                    "color:blue", "size:M",  "size:L"};
constexpr const char* kNotes[] = {"leave at the door", "call before delivery",
                                  "fragile, handle with care", "deliver after 5pm"};
constexpr const char* kCoupons[] = {"WELCOME10", "SPRING5", "FREESHIP", "LOYAL15"};

OrderRow MakeOrder(int64_t i) {
  Rng rng(0x5eed0000ULL + static_cast<uint64_t>(i) * 0x100000001b3ULL);
  OrderRow o;
  o.order_id = i + 1;
  o.customer_id = rng.Uniform(1, kCustomers);
  int items = static_cast<int>(rng.Uniform(1, 4));
  for (int k = 0; k < items; ++k) {
    LineItemRow item;
    char sku[16];
    std::snprintf(sku, sizeof(sku), "SKU-%06lld", static_cast<long long>(rng.Uniform(0, 49'999)));
    item.sku = sku;
    item.quantity = static_cast<int32_t>(rng.Uniform(1, 5));
    item.price = rng.Uniform(199, 49'999);
    int options = static_cast<int>(rng.Uniform(0, 2));
    for (int x = 0; x < options; ++x) item.options.push_back(kOptions[rng.Next() % 6]);
    o.total += item.quantity * item.price;
    o.line_items.push_back(std::move(item));
  }
  const City& city = kCities[rng.Next() % std::size(kCities)];
  o.shipping.street = std::to_string(rng.Uniform(1, 999)) + " " +
                      kStreets[rng.Next() % std::size(kStreets)] + " Street";
  o.shipping.city = city.name;
  if (rng.Chance(80)) {
    char zip[8];
    std::snprintf(zip, sizeof(zip), "%05lld", static_cast<long long>(rng.Uniform(1000, 99'999)));
    o.shipping.zip = zip;
  }
  o.shipping.country = city.country;
  if (rng.Chance(20)) o.note = kNotes[rng.Next() % std::size(kNotes)];
  o.status = rng.Chance(70) ? 1 : 2;  // PLACED, SHIPPED
  if (rng.Chance(25)) o.coupons.push_back(kCoupons[rng.Next() % std::size(kCoupons)]);
  return o;
}

// Fills `message` (a shop.Order) from `row` by reflection: the messages are dynamic, built
// from the schema parsed at run time.
void FillOrder(const OrderRow& row, Message& message) {
  const auto* d = message.GetDescriptor();
  const Reflection* r = message.GetReflection();
  auto field = [&](const google::protobuf::Descriptor* desc, const char* name) {
    const FieldDescriptor* f = desc->FindFieldByName(name);
    if (f == nullptr) Fail(std::string("shop schema has no field ") + name);
    return f;
  };
  r->SetInt64(&message, field(d, "order_id"), row.order_id);
  r->SetInt64(&message, field(d, "customer_id"), row.customer_id);
  const FieldDescriptor* items = field(d, "line_items");
  for (const LineItemRow& item : row.line_items) {
    Message* m = r->AddMessage(&message, items);
    const auto* id = m->GetDescriptor();
    const Reflection* ir = m->GetReflection();
    ir->SetString(m, field(id, "sku"), item.sku);
    ir->SetInt32(m, field(id, "quantity"), item.quantity);
    ir->SetInt64(m, field(id, "price"), item.price);
    for (const std::string& option : item.options) ir->AddString(m, field(id, "options"), option);
  }
  Message* ship = r->MutableMessage(&message, field(d, "shipping"));
  const auto* ad = ship->GetDescriptor();
  const Reflection* ar = ship->GetReflection();
  ar->SetString(ship, field(ad, "street"), row.shipping.street);
  ar->SetString(ship, field(ad, "city"), row.shipping.city);
  if (row.shipping.zip) ar->SetString(ship, field(ad, "zip"), *row.shipping.zip);
  ar->SetString(ship, field(ad, "country"), row.shipping.country);
  r->SetInt64(&message, field(d, "total"), row.total);
  if (row.note) r->SetString(&message, field(d, "note"), *row.note);
  r->SetEnumValue(&message, field(d, "status"), row.status);
  for (const std::string& c : row.coupons) r->AddString(&message, field(d, "coupons"), c);
}

// What every load does with a record, so that no load can be optimized away.
int64_t sink = 0;

// What a reader of each loaded order does on every side: total and the number of line items
// (the SQLite side reads those from its row). The orders are decoded whole before this.
void ConsumeOrder(const Message& order) {
  // One schema per run: the fields are looked up once.
  static const google::protobuf::FieldDescriptor* const total =
      order.GetDescriptor()->FindFieldByName("total");
  static const google::protobuf::FieldDescriptor* const line_items =
      order.GetDescriptor()->FindFieldByName("line_items");
  const google::protobuf::Reflection& reflection = *order.GetReflection();
  sink += reflection.GetInt64(order, total) + reflection.FieldSize(order, line_items);
}

// --- Schema and metadata ---

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in.good()) Fail("cannot read " + path + " (set --schema-dir to src/metadata/testdata/shop)");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

metadata::RecordMetaData BuildMetadata(const std::string& schema_dir) {
  std::map<std::string, std::string> sources = {
      {"shop/common.proto", ReadFile(schema_dir + "/common.proto")},
      {"shop/shop.proto", ReadFile(schema_dir + "/shop.proto")}};
  auto files = metadata::ParseProtoFiles(sources);
  Check(files.status(), "parse shop .proto files");
  metadata::proto::RecordMetaData proto;
  if (!google::protobuf::TextFormat::ParseFromString(kMetadataText, &proto)) {
    Fail("the benchmark's metadata text does not parse");
  }
  *proto.mutable_files() = *std::move(files);
  auto built = metadata::RecordMetaData::Build(proto);
  Check(built.status(), "build metadata");
  return *std::move(built);
}

// --- Bookkeeping ---

struct Tally {
  LatencyRecorder latencies;
  double seconds = 0;
  int64_t ops = 0;
};

// The records of the run: only what the read workloads need to pick keys (the rows
// themselves are generated batch by batch).
struct Dataset {
  std::vector<int64_t> customer_ids;  // by record index
  std::vector<int64_t> sorted_totals;
  int64_t status_counts[3] = {0, 0, 0};
};

Dataset MakeDataset(int64_t records) {
  Dataset data;
  data.customer_ids.reserve(records);
  data.sorted_totals.reserve(records);
  for (int64_t i = 0; i < records; ++i) {
    OrderRow row = MakeOrder(i);
    data.customer_ids.push_back(row.customer_id);
    data.sorted_totals.push_back(row.total);
    ++data.status_counts[row.status];
  }
  std::sort(data.sorted_totals.begin(), data.sorted_totals.end());
  return data;
}

// The scan starts of index_range_100: totals with at least kScanRows orders at or above them.
int64_t RandomScanStart(const Dataset& data, std::mt19937_64& rng) {
  return data.sorted_totals[rng() % (data.sorted_totals.size() - kScanRows)];
}

// --- Raw key encodings (the RocksDB baseline) ---

std::string RawRecordKey(int64_t customer_id, int64_t order_id, char suffix) {
  std::string key = "r";
  AppendBigEndian(key, Ordered(customer_id));
  AppendBigEndian(key, Ordered(order_id));
  key.push_back(suffix);
  return key;
}
std::string RawTotalKey(int64_t total) {
  std::string key = "t";
  AppendBigEndian(key, Ordered(total));
  return key;
}

// --- Counting the key-value pairs the record store writes ---

// Forwards to a transaction, counting its mutations by kind.
struct MutationCounts {
  int64_t sets = 0;
  int64_t clears = 0;
  int64_t clear_ranges = 0;
  int64_t atomic_ops = 0;
  // Of atomic_ops: SET_VERSIONSTAMPED_VALUE (record versions), ADD (counts) and
  // COMPARE_AND_CLEAR (a count's second mutation of its key: cleared when it sums to zero).
  int64_t versionstamped_values = 0;
  int64_t adds = 0;
  int64_t compare_and_clears = 0;
  int64_t records = 0;
  // Key-value pairs per record: every set, versionstamped value and add names a pair; a
  // compare-and-clear mutates a pair an add already wrote.
  double PairsPerRecord() const {
    return static_cast<double>(sets + versionstamped_values + adds) / std::max<int64_t>(1, records);
  }
  double MutationsPerRecord() const {
    return static_cast<double>(sets + clears + atomic_ops) / std::max<int64_t>(1, records);
  }
};

class CountingTransaction final : public kv::Transaction {
 public:
  CountingTransaction(std::unique_ptr<kv::Transaction> inner, MutationCounts& counts)
      : inner_(std::move(inner)), counts_(counts) {}

  StatusOr<kv::Version> GetReadVersion() override { return inner_->GetReadVersion(); }
  void SetReadVersion(kv::Version version) override { inner_->SetReadVersion(version); }
  StatusOr<std::optional<std::string>> Get(std::string_view key, bool snapshot) override {
    return inner_->Get(key, snapshot);
  }
  using kv::Transaction::GetRange;
  StatusOr<kv::RangeResult> GetRange(const kv::RangeEndpoint& begin, const kv::RangeEndpoint& end,
                                     const kv::RangeOptions& options) override {
    return inner_->GetRange(begin, end, options);
  }
  void Set(std::string_view key, std::string_view value) override {
    ++counts_.sets;
    inner_->Set(key, value);
  }
  void Clear(std::string_view key) override {
    ++counts_.clears;
    inner_->Clear(key);
  }
  void ClearRange(std::string_view begin, std::string_view end) override {
    ++counts_.clear_ranges;
    inner_->ClearRange(begin, end);
  }
  void AtomicOp(kv::MutationType type, std::string_view key, std::string_view operand) override {
    ++counts_.atomic_ops;
    if (type == kv::MutationType::kSetVersionstampedValue) ++counts_.versionstamped_values;
    if (type == kv::MutationType::kAdd) ++counts_.adds;
    if (type == kv::MutationType::kCompareAndClear) ++counts_.compare_and_clears;
    inner_->AtomicOp(type, key, operand);
  }
  void AddReadConflictRange(std::string_view begin, std::string_view end) override {
    inner_->AddReadConflictRange(begin, end);
  }
  void AddReadConflictKey(std::string_view key) override { inner_->AddReadConflictKey(key); }
  void AddWriteConflictRange(std::string_view begin, std::string_view end) override {
    inner_->AddWriteConflictRange(begin, end);
  }
  void AddWriteConflictKey(std::string_view key) override { inner_->AddWriteConflictKey(key); }
  StatusOr<std::shared_ptr<kv::Watch>> WatchKey(std::string_view key) override {
    return inner_->WatchKey(key);
  }
  StatusOr<std::optional<std::string>> GetMetadataVersion(bool snapshot) override {
    return inner_->GetMetadataVersion(snapshot);
  }
  void BumpMetadataVersion() override { inner_->BumpMetadataVersion(); }
  uint64_t database_id() const override { return inner_->database_id(); }
  Status Commit() override { return inner_->Commit(); }
  kv::Version GetCommittedVersion() const override { return inner_->GetCommittedVersion(); }
  StatusOr<std::string> GetVersionstamp() const override { return inner_->GetVersionstamp(); }
  int64_t GetApproximateSize() const override { return inner_->GetApproximateSize(); }
  Status OnError(const Status& error) override { return inner_->OnError(error); }
  void Reset() override { inner_->Reset(); }
  void Cancel() override { inner_->Cancel(); }
  void SetOptions(const kv::TransactionOptions& options) override { inner_->SetOptions(options); }

 private:
  std::unique_ptr<kv::Transaction> inner_;
  MutationCounts& counts_;
};

// --- Record-Store ---

class RecordStoreSystem {
 public:
  // `encrypted`: records sealed as the server seals them (server/encryption.h), with a data
  // key of tenant "bench" wrapped by a master key generated for the run.
  RecordStoreSystem(const std::string& dir, const metadata::RecordMetaData& metadata,
                    bool encrypted = false)
      : metadata_(metadata), subspace_(Tuple::Of("shop")) {
    kv::DatabaseOptions options;
    options.sync_commits = false;
    auto storage = kv::OpenRocksDbStorage(dir);
    Check(storage.status(), "open recordstore storage");
    auto opened = kv::EngineDatabase::Open(*std::move(storage), options);
    Check(opened.status(), "start recordstore");
    db_ = *std::move(opened);
    order_type_ = metadata_.FindRecordType("Order");
    if (order_type_ == nullptr) Fail("no Order record type");
    if (encrypted) {
      auto master = crypto::MasterKey::Generate();
      Check(master.status(), "generate master key");
      auto keys = std::make_shared<const crypto::TenantKeyStore>(Subspace(Tuple::Of("keys")),
                                                                 *std::move(master));
      auto provider = crypto::TenantKeyProvider::Open(*db_, keys, "bench");
      Check(provider.status(), "open the tenant key provider");
      keys_ = *std::move(provider);
    }
    // Create the store (header, metadata copy) outside the timed inserts.
    cursor::RecordContext context(db_->CreateTransaction(kv::TransactionOptions()));
    store::RecordStoreOptions store_options = StoreOptions();
    store_options.open_mode = store::OpenMode::kCreate;
    Check(store::RecordStore::Open(context, subspace_, metadata_, store_options).status(),
          "create record store");
    Check(context.Commit(), "commit store creation");
  }

  // With `count_mutations`, the transaction runs through a CountingTransaction.
  void Insert(const std::vector<std::unique_ptr<Message>>& batch, Tally& tally,
              bool count_mutations) {
    double t0 = NowSeconds();
    std::unique_ptr<kv::Transaction> txn = db_->CreateTransaction(kv::TransactionOptions());
    if (count_mutations) {
      txn = std::make_unique<CountingTransaction>(std::move(txn), counts_);
      counts_.records += static_cast<int64_t>(batch.size());
    }
    cursor::RecordContext context(std::move(txn));
    auto store = OpenStore(context);
    for (const auto& record : batch) {
      Check((*store).SaveRecord(*record, store::SaveMode::kInsert).status(), "save record");
    }
    Check(context.Commit(), "commit inserts");
    tally.latencies.Record((NowSeconds() - t0) * 1e6);
  }

  void PointLoad(const Tuple& primary_key) {
    cursor::RecordContext context(db_->CreateTransaction(kv::TransactionOptions()));
    auto store = OpenStore(context);
    auto record = store->LoadRecord(primary_key);
    Check(record.status(), "load record");
    if (!record->has_value()) Fail("point_load: missing record " + primary_key.ToString());
    ConsumeOrder(*(*record)->message);
  }

  int IndexRange(int64_t start) {
    cursor::RecordContext context(db_->CreateTransaction(kv::TransactionOptions()));
    auto store = OpenStore(context);
    index::ScanOptions options;
    options.row_limit = kScanRows;
    options.batching.first_batch_rows = kScanRows;
    auto cursor = store->ScanIndex(
        "order_by_total",
        index::TupleRange::Between(Tuple::Of(start), index::TupleRange::Bound::kInclusive, Tuple(),
                                   index::TupleRange::Bound::kOpen),
        cursor::Continuation::Start(), options);
    Check(cursor.status(), "scan index");
    int rows = 0;
    while (true) {
      auto entry = (*cursor)->Next();
      Check(entry.status(), "index cursor");
      if (!entry->has_value()) break;
      auto record = store->LoadRecord(entry->value().primary_key);
      Check(record.status(), "load indexed record");
      if (!record->has_value()) Fail("index_range_100: dangling index entry");
      ConsumeOrder(*(*record)->message);
      ++rows;
    }
    return rows;
  }

  // Untimed: the count index holds every order once, under its status.
  void Verify(const Dataset& data) {
    cursor::RecordContext context(db_->CreateTransaction(kv::TransactionOptions()));
    auto store = OpenStore(context);
    for (int status = 1; status <= 2; ++status) {
      auto count = store->EvaluateAggregate("orders_by_status", Tuple::Of(status));
      Check(count.status(), "evaluate orders_by_status");
      if (count->ToString() != Tuple::Of(data.status_counts[status]).ToString()) {
        Fail("orders_by_status(" + std::to_string(status) + ") = " + count->ToString() +
             ", expected " + std::to_string(data.status_counts[status]));
      }
    }
  }

  Tuple PrimaryKey(int64_t customer_id, int64_t order_id) const {
    Tuple pk;
    pk.Append(order_type_->record_type_key());
    pk.Append(customer_id);
    pk.Append(order_id);
    return pk;
  }

  std::unique_ptr<Message> NewOrder() const { return metadata_.NewRecord(*order_type_); }
  void Compact() { Check(db_->CompactStorage(), "compact recordstore"); }
  const MutationCounts& counts() const { return counts_; }

 private:
  store::RecordStoreOptions StoreOptions() const {
    store::RecordStoreOptions options;
    options.keys = keys_;
    options.serializer.encrypt = keys_ != nullptr;
    return options;
  }

  std::unique_ptr<store::RecordStore> OpenStore(cursor::RecordContext& context) {
    store::RecordStoreOptions options = StoreOptions();
    options.open_mode = store::OpenMode::kOpenExisting;
    auto store = store::RecordStore::Open(context, subspace_, metadata_, options);
    Check(store.status(), "open record store");
    return *std::move(store);
  }

  const metadata::RecordMetaData& metadata_;
  Subspace subspace_;
  const metadata::RecordType* order_type_ = nullptr;
  std::unique_ptr<kv::EngineDatabase> db_;
  // Null: records are stored in plaintext.
  std::shared_ptr<const KeyProvider> keys_;
  MutationCounts counts_;
};

// --- Raw RocksDB ---

class RawRocksDbSystem {
 public:
  RawRocksDbSystem(const std::string& dir, const metadata::RecordMetaData& metadata,
                   const metadata::RecordType& order_type)
      : metadata_(metadata), order_type_(order_type) {
    rocksdb::DB* db = nullptr;
    Check(rocksdb::DB::Open(kv::RocksDbTunedOptions(), dir, &db), "open raw rocksdb");
    db_.reset(db);
    write_options_.sync = false;
  }

  // kRawPairsPerRecord Puts per order, one WriteBatch per batch.
  void Insert(const std::vector<std::unique_ptr<Message>>& batch, const std::vector<OrderRow>& rows,
              Tally& tally) {
    double t0 = NowSeconds();
    rocksdb::WriteBatch wb;
    ++commits_;
    for (size_t j = 0; j < batch.size(); ++j) {
      const OrderRow& row = rows[j];
      std::string value;
      batch[j]->SerializeToString(&value);
      wb.Put(RawRecordKey(row.customer_id, row.order_id, 0), value);
      // A 12-byte version like the record store's: commit counter and order in the batch.
      std::string version;
      AppendBigEndian(version, commits_);
      version.append({static_cast<char>(j >> 8), static_cast<char>(j), 0, 0});
      wb.Put(RawRecordKey(row.customer_id, row.order_id, '\xff'), version);
      std::string total_key = RawTotalKey(row.total);
      AppendBigEndian(total_key, Ordered(row.customer_id));
      AppendBigEndian(total_key, Ordered(row.order_id));
      wb.Put(total_key, "");
      std::string city_key = "c" + row.shipping.city;
      city_key.push_back('\0');
      AppendBigEndian(city_key, Ordered(row.customer_id));
      AppendBigEndian(city_key, Ordered(row.order_id));
      wb.Put(city_key, "");
      int64_t count = ++status_counts_[row.status];
      std::string count_value(reinterpret_cast<const char*>(&count), sizeof(count));
      wb.Put(std::string("s") + static_cast<char>(row.status), count_value);
    }
    Check(db_->Write(write_options_, &wb), "raw write");
    tally.latencies.Record((NowSeconds() - t0) * 1e6);
  }

  void PointLoad(int64_t customer_id, int64_t order_id) {
    std::string value;
    Check(db_->Get(rocksdb::ReadOptions(), RawRecordKey(customer_id, order_id, 0), &value),
          "raw get");
    Decode(value);
  }

  int IndexRange(int64_t start) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    int rows = 0;
    std::string value;
    for (it->Seek(RawTotalKey(start)); it->Valid() && rows < kScanRows; it->Next()) {
      rocksdb::Slice key = it->key();
      if (key.size() != 25 || key[0] != 't') break;
      int64_t customer_id = FromOrdered(ReadBigEndian({key.data() + 9, 8}));
      int64_t order_id = FromOrdered(ReadBigEndian({key.data() + 17, 8}));
      Check(db_->Get(rocksdb::ReadOptions(), RawRecordKey(customer_id, order_id, 0), &value),
            "raw get indexed record");
      Decode(value);
      ++rows;
    }
    Check(it->status(), "raw iterate");
    return rows;
  }

  void Compact() {
    rocksdb::CompactRangeOptions compact;
    compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    Check(db_->CompactRange(compact, nullptr, nullptr), "compact rocksdb");
  }

  void Verify(const Dataset& data) {
    for (int status = 1; status <= 2; ++status) {
      std::string value;
      Check(db_->Get(rocksdb::ReadOptions(), std::string("s") + static_cast<char>(status), &value),
            "raw count");
      int64_t count = 0;
      std::memcpy(&count, value.data(), std::min(value.size(), sizeof(count)));
      if (count != data.status_counts[status]) Fail("raw status count mismatch");
    }
  }

 private:
  void Decode(const std::string& value) {
    std::unique_ptr<Message> message = metadata_.NewRecord(order_type_);
    // Partial: the shop types have no required fields, so the record store skips that
    // check too (a reflection walk per message).
    if (!message->ParsePartialFromString(value)) Fail("raw: record does not parse");
    ConsumeOrder(*message);
  }

  const metadata::RecordMetaData& metadata_;
  const metadata::RecordType& order_type_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::WriteOptions write_options_;
  uint64_t commits_ = 0;
  int64_t status_counts_[3] = {0, 0, 0};
};

// --- SQLite ---

// The repeated fields of an order in one BLOB each: length-prefixed strings and fixed-width
// integers, decoded on load (a normalized line_items table would cost SQLite more rows).
void PutString(std::string& out, std::string_view s) {
  uint32_t n = static_cast<uint32_t>(s.size());
  out.append(reinterpret_cast<const char*>(&n), sizeof(n));
  out.append(s);
}
template <typename T>
void PutFixed(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(v));
}

class BlobReader {
 public:
  BlobReader(const void* data, int size)
      : p_(static_cast<const char*>(data)), end_(p_ + std::max(size, 0)) {}
  template <typename T>
  T Fixed() {
    T v{};
    if (end_ - p_ < static_cast<ptrdiff_t>(sizeof(T))) Fail("sqlite: short blob");
    std::memcpy(&v, p_, sizeof(T));
    p_ += sizeof(T);
    return v;
  }
  std::string String() {
    uint32_t n = Fixed<uint32_t>();
    if (end_ - p_ < static_cast<ptrdiff_t>(n)) Fail("sqlite: short blob");
    std::string s(p_, n);
    p_ += n;
    return s;
  }
  bool done() const { return p_ == end_; }

 private:
  const char* p_;
  const char* end_;
};

std::string EncodeLineItems(const std::vector<LineItemRow>& items) {
  std::string out;
  for (const LineItemRow& item : items) {
    PutString(out, item.sku);
    PutFixed(out, item.quantity);
    PutFixed(out, item.price);
    PutFixed(out, static_cast<uint32_t>(item.options.size()));
    for (const std::string& option : item.options) PutString(out, option);
  }
  return out;
}

std::string EncodeStrings(const std::vector<std::string>& strings) {
  std::string out;
  for (const std::string& s : strings) PutString(out, s);
  return out;
}

class SqliteSystem {
 public:
  explicit SqliteSystem(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      Fail("open sqlite: " + std::string(sqlite3_errmsg(db_)));
    }
    Exec("PRAGMA journal_mode=WAL");
    Exec("PRAGMA synchronous=NORMAL");
    Exec("PRAGMA cache_size=-262144");  // 256 MB, RocksDbTunedOptions' block cache
    Exec(
        "CREATE TABLE orders ("
        "  customer_id INTEGER NOT NULL, order_id INTEGER NOT NULL,"
        "  line_items BLOB, ship_street TEXT, ship_city TEXT, ship_zip TEXT, ship_country TEXT,"
        "  total INTEGER NOT NULL, note TEXT, status INTEGER NOT NULL, coupons BLOB,"
        "  PRIMARY KEY (customer_id, order_id)) WITHOUT ROWID");
    Exec("CREATE INDEX order_by_total ON orders(total)");
    Exec("CREATE INDEX order_by_city ON orders(ship_city)");
    Exec("CREATE TABLE orders_by_status (status INTEGER PRIMARY KEY, n INTEGER NOT NULL)");
    Exec(
        "CREATE TRIGGER orders_by_status_insert AFTER INSERT ON orders BEGIN"
        "  INSERT INTO orders_by_status VALUES (NEW.status, 1)"
        "    ON CONFLICT(status) DO UPDATE SET n = n + 1;"
        " END");
    insert_ = Prepare(
        "INSERT INTO orders (customer_id, order_id, line_items, ship_street, ship_city, ship_zip,"
        " ship_country, total, note, status, coupons) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
    begin_ = Prepare("BEGIN");
    commit_ = Prepare("COMMIT");
    constexpr const char* kColumns =
        "SELECT customer_id, order_id, line_items, ship_street, ship_city, ship_zip,"
        " ship_country, total, note, status, coupons FROM orders ";
    load_ = Prepare(std::string(kColumns) + "WHERE customer_id = ? AND order_id = ?");
    range_ = Prepare(std::string(kColumns) + "WHERE total >= ? ORDER BY total LIMIT " +
                     std::to_string(kScanRows));
  }

  ~SqliteSystem() {
    for (sqlite3_stmt* s : {insert_, begin_, commit_, load_, range_}) sqlite3_finalize(s);
    sqlite3_close(db_);
  }

  void Insert(const std::vector<OrderRow>& rows, Tally& tally) {
    double t0 = NowSeconds();
    Step(begin_, SQLITE_DONE);
    for (const OrderRow& row : rows) {
      std::string items = EncodeLineItems(row.line_items);
      std::string coupons = EncodeStrings(row.coupons);
      sqlite3_bind_int64(insert_, 1, row.customer_id);
      sqlite3_bind_int64(insert_, 2, row.order_id);
      sqlite3_bind_blob(insert_, 3, items.data(), static_cast<int>(items.size()), SQLITE_STATIC);
      BindText(insert_, 4, row.shipping.street);
      BindText(insert_, 5, row.shipping.city);
      if (row.shipping.zip) {
        BindText(insert_, 6, *row.shipping.zip);
      } else {
        sqlite3_bind_null(insert_, 6);
      }
      BindText(insert_, 7, row.shipping.country);
      sqlite3_bind_int64(insert_, 8, row.total);
      if (row.note) {
        BindText(insert_, 9, *row.note);
      } else {
        sqlite3_bind_null(insert_, 9);
      }
      sqlite3_bind_int(insert_, 10, row.status);
      sqlite3_bind_blob(insert_, 11, coupons.data(), static_cast<int>(coupons.size()),
                        SQLITE_STATIC);
      Step(insert_, SQLITE_DONE);
    }
    Step(commit_, SQLITE_DONE);
    tally.latencies.Record((NowSeconds() - t0) * 1e6);
  }

  void PointLoad(int64_t customer_id, int64_t order_id) {
    sqlite3_bind_int64(load_, 1, customer_id);
    sqlite3_bind_int64(load_, 2, order_id);
    if (sqlite3_step(load_) != SQLITE_ROW) Fail("sqlite point_load: missing row");
    OrderRow row = ReadRow(load_);
    sink += row.total + static_cast<int64_t>(row.line_items.size());
    Step(load_, SQLITE_DONE);
  }

  int IndexRange(int64_t start) {
    sqlite3_bind_int64(range_, 1, start);
    int rows = 0;
    int rc;
    while ((rc = sqlite3_step(range_)) == SQLITE_ROW) {
      OrderRow row = ReadRow(range_);
      sink += row.total + static_cast<int64_t>(row.line_items.size());
      ++rows;
    }
    if (rc != SQLITE_DONE) Fail("sqlite range: " + std::string(sqlite3_errmsg(db_)));
    sqlite3_reset(range_);
    return rows;
  }

  // Moves the WAL into the database file, as RocksDB's compaction settles its stores.
  void Checkpoint() { Exec("PRAGMA wal_checkpoint(TRUNCATE)"); }

  void Verify(const Dataset& data) {
    sqlite3_stmt* s = Prepare("SELECT n FROM orders_by_status WHERE status = ?");
    for (int status = 1; status <= 2; ++status) {
      sqlite3_bind_int(s, 1, status);
      if (sqlite3_step(s) != SQLITE_ROW || sqlite3_column_int64(s, 0) != data.status_counts[status])
        Fail("sqlite status count mismatch");
      sqlite3_reset(s);
    }
    sqlite3_finalize(s);
  }

  std::string QueryPlan(const std::string& sql) {
    sqlite3_stmt* s = Prepare("EXPLAIN QUERY PLAN " + sql);
    std::string plan;
    while (sqlite3_step(s) == SQLITE_ROW) {
      if (!plan.empty()) plan += "; ";
      plan += reinterpret_cast<const char*>(sqlite3_column_text(s, 3));
    }
    sqlite3_finalize(s);
    return plan;
  }

 private:
  static void BindText(sqlite3_stmt* s, int i, const std::string& text) {
    sqlite3_bind_text(s, i, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
  }
  static std::string Text(sqlite3_stmt* s, int i) {
    const unsigned char* p = sqlite3_column_text(s, i);
    return p == nullptr ? std::string()
                        : std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s, i));
  }

  // The whole order, as OrderRow (the line items and coupons decoded).
  static OrderRow ReadRow(sqlite3_stmt* s) {
    OrderRow row;
    row.customer_id = sqlite3_column_int64(s, 0);
    row.order_id = sqlite3_column_int64(s, 1);
    BlobReader items(sqlite3_column_blob(s, 2), sqlite3_column_bytes(s, 2));
    while (!items.done()) {
      LineItemRow item;
      item.sku = items.String();
      item.quantity = items.Fixed<int32_t>();
      item.price = items.Fixed<int64_t>();
      uint32_t options = items.Fixed<uint32_t>();
      for (uint32_t k = 0; k < options; ++k) item.options.push_back(items.String());
      row.line_items.push_back(std::move(item));
    }
    row.shipping.street = Text(s, 3);
    row.shipping.city = Text(s, 4);
    if (sqlite3_column_type(s, 5) != SQLITE_NULL) row.shipping.zip = Text(s, 5);
    row.shipping.country = Text(s, 6);
    row.total = sqlite3_column_int64(s, 7);
    if (sqlite3_column_type(s, 8) != SQLITE_NULL) row.note = Text(s, 8);
    row.status = sqlite3_column_int(s, 9);
    BlobReader coupons(sqlite3_column_blob(s, 10), sqlite3_column_bytes(s, 10));
    while (!coupons.done()) row.coupons.push_back(coupons.String());
    return row;
  }

  void Exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      std::string message = error ? error : "?";
      sqlite3_free(error);
      Fail("sqlite: " + sql + ": " + message);
    }
  }
  sqlite3_stmt* Prepare(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
      Fail("sqlite prepare: " + sql + ": " + sqlite3_errmsg(db_));
    }
    return s;
  }
  void Step(sqlite3_stmt* s, int expected) {
    int rc = sqlite3_step(s);
    if (rc != expected) Fail(std::string("sqlite step: ") + sqlite3_errmsg(db_));
    sqlite3_reset(s);
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* load_ = nullptr;
  sqlite3_stmt* range_ = nullptr;
};

// --- The run ---

constexpr const char* kSystems[] = {"recordstore", "sqlite", "rocksdb", "recordstore_encrypted"};
constexpr int kSystemCount = 4;
// Whether system `s` is one of the two record stores (index 0 plain, 3 encrypted).
bool IsRecordStore(int s) { return s == 0 || s == 3; }

Result WithParams(Result r, const StoreParams& p) {
  r.params.insert(r.params.begin(),
                  {{"records", std::to_string(p.records)}, {"batch", std::to_string(p.batch)}});
  return r;
}

constexpr const char* kStoreFlags[] = {"records", "batch",      "loads",
                                       "scans",   "rounds",     "data-dir",
                                       "systems", "schema-dir", "compare-encryption"};

int RunStore(const Options& options, Reporter& reporter) {
  // A full run takes many minutes: --help, or a mistyped flag, must not start one.
  for (const auto& [flag, value] : options.flags) {
    if (std::find(std::begin(kStoreFlags), std::end(kStoreFlags), flag) == std::end(kStoreFlags)) {
      std::fprintf(stderr,
                   "usage: recordstore_bench store [--format=json] [--records=1000000] "
                   "[--batch=100] [--loads=200000] [--scans=5000] [--rounds=10] "
                   "[--data-dir=<temp dir>] [--systems=recordstore,sqlite,rocksdb] "
                   "[--schema-dir=src/metadata/testdata/shop] [--compare-encryption]\n");
      return flag == "help" ? 0 : 2;
    }
  }
  StoreParams p;
  p.records = options.GetInt("records", 1'000'000);
  p.batch = static_cast<int>(options.GetInt("batch", 100));
  p.loads = options.GetInt("loads", 200'000);
  p.scans = options.GetInt("scans", 5'000);
  p.rounds = static_cast<int>(options.GetInt("rounds", 10));
  p.data_dir = options.Get("data-dir", std::filesystem::temp_directory_path().string());
  p.schema_dir = options.Get("schema-dir", RS_SHOP_SCHEMA_DIR);
  std::string systems = options.Get("systems", "recordstore,sqlite,rocksdb");
  for (int s = 0; s < kSystemCount; ++s) {
    p.enabled[s] =
        ("," + systems + ",").find(std::string(",") + kSystems[s] + ",") != std::string::npos;
  }
  const bool compare_encryption = options.Get("compare-encryption", "false") != "false";
  if (compare_encryption) p.enabled[0] = p.enabled[3] = true;
  if (p.records <= kScanRows || p.batch <= 0 || p.loads < 0 || p.scans < 0 || p.rounds <= 0) {
    std::fprintf(stderr, "need records > %d and positive batch, rounds\n", kScanRows);
    return 2;
  }

  // The three stores live in one directory of their own under --data-dir, removed at the end.
  std::filesystem::path root =
      std::filesystem::path(p.data_dir) / ("recordstore_bench_store_" + std::to_string(::getpid()));
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root / "recordstore");
  std::filesystem::create_directories(root / "rocksdb");
  std::filesystem::create_directories(root / "recordstore_encrypted");
  Progress("stores under " + root.string());

  metadata::RecordMetaData metadata = BuildMetadata(p.schema_dir);
  const metadata::RecordType* order_type = metadata.FindRecordType("Order");
  if (order_type == nullptr) Fail("no Order record type");

  Progress("generating " + std::to_string(p.records) + " orders (untimed)");
  Dataset data = MakeDataset(p.records);
  {
    RecordStoreSystem ours((root / "recordstore").string(), metadata);
    // Opened (and its data key created) only when it runs.
    std::unique_ptr<RecordStoreSystem> ours_encrypted;
    if (p.enabled[3]) {
      ours_encrypted = std::make_unique<RecordStoreSystem>(
          (root / "recordstore_encrypted").string(), metadata, /*encrypted=*/true);
    }
    SqliteSystem sqlite((root / "orders.sqlite").string());
    RawRocksDbSystem raw((root / "rocksdb").string(), metadata, *order_type);

    // insert
    Tally insert_tally[kSystemCount];
    std::vector<OrderRow> rows;
    std::vector<std::unique_ptr<Message>> messages;
    const int64_t counted_transactions = 10;
    int64_t ours_transactions = 0;
    for (int r = 0; r < p.rounds; ++r) {
      int64_t from = p.records * r / p.rounds;
      int64_t to = p.records * (r + 1) / p.rounds;
      for (int k = 0; k < kSystemCount; ++k) {
        int system = (r + k) % kSystemCount;
        if (!p.enabled[system]) continue;
        Tally& tally = insert_tally[system];
        for (int64_t i = from; i < to; i += p.batch) {
          int64_t end = std::min(to, i + p.batch);
          rows.clear();
          messages.clear();
          for (int64_t j = i; j < end; ++j) {
            rows.push_back(MakeOrder(j));
            if (system != 1) {
              messages.push_back(metadata.NewRecord(*order_type));
              FillOrder(rows.back(), *messages.back());
            }
          }
          double start = NowSeconds();
          if (system == 0) {
            ours.Insert(messages, tally, ours_transactions++ < counted_transactions);
          } else if (system == 3) {
            ours_encrypted->Insert(messages, tally, false);
          } else if (system == 1) {
            sqlite.Insert(rows, tally);
          } else {
            raw.Insert(messages, rows, tally);
          }
          tally.seconds += NowSeconds() - start;
          tally.ops += end - i;
        }
      }
      Progress("insert: " + std::to_string(to) + " of " + std::to_string(p.records) +
               " orders in each system (round " + std::to_string(r + 1) + "/" +
               std::to_string(p.rounds) + "; so far recordstore " +
               std::to_string(static_cast<int>(insert_tally[0].seconds)) + " s, sqlite " +
               std::to_string(static_cast<int>(insert_tally[1].seconds)) + " s, rocksdb " +
               std::to_string(static_cast<int>(insert_tally[2].seconds)) + " s" +
               (p.enabled[3] ? ", recordstore_encrypted " +
                                   std::to_string(static_cast<int>(insert_tally[3].seconds)) + " s"
                             : std::string()) +
               ")");
    }
    const MutationCounts& counts = ours.counts();
    char pairs[32], mutations[32], clear_ranges[32];
    std::snprintf(pairs, sizeof(pairs), "%.2f", counts.PairsPerRecord());
    std::snprintf(mutations, sizeof(mutations), "%.2f", counts.MutationsPerRecord());
    std::snprintf(clear_ranges, sizeof(clear_ranges), "%.2f",
                  static_cast<double>(counts.clear_ranges) / std::max<int64_t>(1, counts.records));
    Progress("recordstore, first " + std::to_string(counts.records) +
             " records: " + std::to_string(counts.sets) + " sets, " +
             std::to_string(counts.versionstamped_values) + " versionstamped values, " +
             std::to_string(counts.adds) + " adds, " + std::to_string(counts.compare_and_clears) +
             " compare-and-clears, " + std::to_string(counts.clears) + " clears, " +
             std::to_string(counts.clear_ranges) + " range clears: " + pairs +
             " key-value pairs per record (" + mutations + " mutations); raw rocksdb writes " +
             std::to_string(kRawPairsPerRecord) + " pairs (Puts) per record");
    if (p.enabled[0] && counts.sets + counts.versionstamped_values + counts.adds !=
                            kRawPairsPerRecord * counts.records) {
      std::fprintf(stderr,
                   "WARNING: the record store wrote %s key-value pairs per record, the raw "
                   "baseline writes %d\n",
                   pairs, kRawPairsPerRecord);
    }
    for (int s = 0; s < kSystemCount; ++s) {
      if (!p.enabled[s]) continue;
      Result r = WithParams(MakeResult("insert", kSystems[s], insert_tally[s].ops,
                                       insert_tally[s].seconds, insert_tally[s].latencies),
                            p);
      r.params.push_back(
          {"kv_pairs_per_record", IsRecordStore(s) ? pairs : std::to_string(kRawPairsPerRecord)});
      if (s == 0) {
        r.params.push_back({"kv_mutations_per_record", mutations});
        r.params.push_back({"range_clears_per_record", clear_ranges});
      }
      reporter.Add(r);
    }
    reporter.PrintRatio("insert", "recordstore", "sqlite");
    reporter.PrintRatio("insert", "recordstore", "rocksdb");
    if (p.enabled[3]) reporter.PrintRatio("insert", "recordstore_encrypted", "recordstore");

    Progress(
        "verifying the count indexes, then settling: compacting both RocksDB stores, "
        "checkpointing SQLite's WAL");
    if (p.enabled[0]) ours.Verify(data);
    if (p.enabled[1]) sqlite.Verify(data);
    if (p.enabled[2]) raw.Verify(data);
    if (p.enabled[3]) ours_encrypted->Verify(data);
    ours.Compact();
    if (p.enabled[3]) ours_encrypted->Compact();
    raw.Compact();
    sqlite.Checkpoint();
    Progress("sqlite plans: point_load: " +
             sqlite.QueryPlan("SELECT * FROM orders WHERE customer_id = 1 AND order_id = 1") +
             "; index_range_100: " +
             sqlite.QueryPlan("SELECT * FROM orders WHERE total >= 1 ORDER BY total LIMIT 100"));

    // point_load: the same random keys, in the same order, for each system.
    Progress("point_load: " + std::to_string(p.loads) + " random loads per system");
    Tally load_tally[kSystemCount];
    std::mt19937_64 load_rng[kSystemCount] = {std::mt19937_64(7), std::mt19937_64(7),
                                              std::mt19937_64(7), std::mt19937_64(7)};
    for (int r = 0; r < p.rounds; ++r) {
      int64_t count = p.loads * (r + 1) / p.rounds - p.loads * r / p.rounds;
      for (int k = 0; k < kSystemCount; ++k) {
        int system = (r + k) % kSystemCount;
        if (!p.enabled[system]) continue;
        Tally& tally = load_tally[system];
        double start = NowSeconds();
        for (int64_t i = 0; i < count; ++i) {
          int64_t index = static_cast<int64_t>(load_rng[system]() % p.records);
          int64_t customer_id = data.customer_ids[index];
          int64_t order_id = index + 1;
          double t0 = NowSeconds();
          if (system == 0) {
            ours.PointLoad(ours.PrimaryKey(customer_id, order_id));
          } else if (system == 3) {
            ours_encrypted->PointLoad(ours.PrimaryKey(customer_id, order_id));
          } else if (system == 1) {
            sqlite.PointLoad(customer_id, order_id);
          } else {
            raw.PointLoad(customer_id, order_id);
          }
          tally.latencies.Record((NowSeconds() - t0) * 1e6);
        }
        tally.seconds += NowSeconds() - start;
        tally.ops += count;
      }
    }
    for (int s = 0; s < kSystemCount; ++s) {
      if (!p.enabled[s]) continue;
      reporter.Add(WithParams(MakeResult("point_load", kSystems[s], load_tally[s].ops,
                                         load_tally[s].seconds, load_tally[s].latencies),
                              p));
    }
    reporter.PrintRatio("point_load", "recordstore", "sqlite");
    reporter.PrintRatio("point_load", "recordstore", "rocksdb");
    // A load must at least read the record's key and parse it: raw RocksDB's ratio to SQLite
    // bounds what a record store on RocksDB reaches for point loads.
    reporter.PrintRatio("point_load", "rocksdb", "sqlite", "the floor on RocksDB");
    if (p.enabled[3]) reporter.PrintRatio("point_load", "recordstore_encrypted", "recordstore");

    // index_range_100
    Progress("index_range_100: " + std::to_string(p.scans) + " scans of " +
             std::to_string(kScanRows) + " orders per system");
    Tally scan_tally[kSystemCount];
    std::mt19937_64 scan_rng[kSystemCount] = {std::mt19937_64(9), std::mt19937_64(9),
                                              std::mt19937_64(9), std::mt19937_64(9)};
    for (int r = 0; r < p.rounds; ++r) {
      int64_t count = p.scans * (r + 1) / p.rounds - p.scans * r / p.rounds;
      for (int k = 0; k < kSystemCount; ++k) {
        int system = (r + k) % kSystemCount;
        if (!p.enabled[system]) continue;
        Tally& tally = scan_tally[system];
        double start = NowSeconds();
        for (int64_t i = 0; i < count; ++i) {
          int64_t total = RandomScanStart(data, scan_rng[system]);
          double t0 = NowSeconds();
          int rows = system == 0   ? ours.IndexRange(total)
                     : system == 1 ? sqlite.IndexRange(total)
                     : system == 2 ? raw.IndexRange(total)
                                   : ours_encrypted->IndexRange(total);
          tally.latencies.Record((NowSeconds() - t0) * 1e6);
          if (rows != kScanRows) {
            Fail(std::string("index_range_100: ") + kSystems[system] + " returned " +
                 std::to_string(rows) + " rows");
          }
        }
        tally.seconds += NowSeconds() - start;
        tally.ops += count;
      }
    }
    for (int s = 0; s < kSystemCount; ++s) {
      if (!p.enabled[s]) continue;
      Result r = WithParams(MakeResult("index_range_100", kSystems[s], scan_tally[s].ops,
                                       scan_tally[s].seconds, scan_tally[s].latencies),
                            p);
      r.params.push_back({"rows", std::to_string(kScanRows)});
      reporter.Add(r);
    }
    reporter.PrintRatio("index_range_100", "recordstore", "sqlite");
    reporter.PrintRatio("index_range_100", "recordstore", "rocksdb");
    reporter.PrintRatio("index_range_100", "rocksdb", "sqlite", "the floor on RocksDB");
    if (p.enabled[3]) {
      reporter.PrintRatio("index_range_100", "recordstore_encrypted", "recordstore");
    }
  }
  std::filesystem::remove_all(root);
  return sink == 0 ? 1 : 0;
}

RS_BENCH_SUITE(store,
               "RecordStore vs SQLite and raw RocksDB on shop orders: insert, point_load, "
               "index_range_100 (--records, --data-dir)",
               RunStore);

}  // namespace
}  // namespace recordstore::bench
