// recordstore_bench query: the query engine (PlanQuery + ExecuteQuery on a RecordStore over
// rocksdb://) against SQLite with the same indexes, on the same generated shop orders, in
// the same process; and, as the floor for any record layer on RocksDB, the same queries
// written by hand against raw RocksDB (system rocksdb, QueryRawRocksDb below).
//
// Data: --records shop.Order records (default 200,000), generated from a seeded generator per
// record: customer_id in [1, 50,000], 1-4 line items, total = sum of quantity x price (cents),
// status 0-2, shipping.zip a 5-digit string (absent for 1 order in 10), a note for 1 in 5.
// Indexes, the same on both sides:
//   order_by_status_total   (status, total)    SQLite: (status, total) on a WITHOUT ROWID
//                                              table keyed (customer_id, order_id), so the
//                                              index holds the primary key, as ours does
//   order_by_total          (total)
//   order_by_zip            (shipping.zip)
// Workloads (each query one read transaction on our side: open the store, plan, execute,
// decode every record; SQLite: one prepared statement, bound and stepped, every row decoded):
//   range_100       status = s AND total >= a AND total < b, the bounds chosen so that
//                   exactly 100 orders match; whole records
//   or_two_indexes  total = t OR shipping.zip = z (a union of two index scans; SQLite's
//                   multi-index OR); whole records
//   in_join         shipping.zip IN (10 zips) (one index scan per value); whole records
//   covering        the range_100 filter with required fields customer_id, order_id, total:
//                   answered from order_by_status_total alone (SQLite: a covering index)
// The constants of each query are drawn from the data with a seeded generator, the same
// sequence for both systems. SQLite: WAL, synchronous=NORMAL, 256 MB page cache, like the
// store suite's baseline. Our side plans every query (plans hold their constants; SQLite's
// statements are prepared once): planning is part of our figure.
//
// Flags (defaults): --records=200000 --queries=20000 (per workload and system)
// --rounds=5 (rounds alternate which system goes first) --data-dir=<system temp dir>
// --schema-dir=<source tree>/src/metadata/testdata/shop.
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
#include <vector>

#include "bench/bench.h"
#include "cursor/record_context.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/text_format.h"
#include "kv/engine/engine_database.h"
#include "kv/rocksdb/rocksdb_storage.h"
#include "metadata/metadata.pb.h"
#include "metadata/proto_source.h"
#include "metadata/record_metadata.h"
#include "query/planner.h"
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

constexpr char kQueryMetadataText[] = R"pb(
  version: 1
  record_types {
    name: "Customer"
    primary_key { then { children { record_type_key {} } children { field { name: "customer_id" } } } }
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
    primary_key { then { children { record_type_key {} } children { field { name: "sku" } } } }
    record_type_key_string: "product"
  }
  indexes {
    name: "order_by_status_total"
    type: "value"
    root { then { children { field { name: "status" } } children { field { name: "total" } } } }
    record_types: "Order"
    added_version: 1
    last_modified_version: 1
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
    name: "order_by_zip"
    type: "value"
    root { nest { parent { name: "shipping" } child { field { name: "zip" } } } }
    record_types: "Order"
    added_version: 1
    last_modified_version: 1
  }
)pb";

constexpr int kRangeRows = 100;
constexpr const char* kSystems[] = {"recordstore", "sqlite", "rocksdb"};
constexpr int kInValues = 10;

[[noreturn]] void QFail(const std::string& message) {
  std::fprintf(stderr, "query bench: %s\n", message.c_str());
  std::exit(1);
}

void QCheck(const Status& s, const char* what) {
  if (!s.ok()) QFail(std::string(what) + ": " + s.ToString());
}

int64_t query_sink = 0;

// --- Records ---

struct Item {
  std::string sku;
  int32_t quantity = 0;
  int64_t price = 0;
};

struct Order {
  int64_t order_id = 0;
  int64_t customer_id = 0;
  std::vector<Item> items;
  std::string street, city, country;
  std::optional<std::string> zip;
  int64_t total = 0;
  std::optional<std::string> note;
  int32_t status = 0;
};

class SplitMix {
 public:
  explicit SplitMix(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  int64_t Uniform(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Next() % static_cast<uint64_t>(hi - lo + 1));
  }

 private:
  uint64_t state_;
};

constexpr const char* kCityNames[] = {"Paris", "Lyon", "Berlin", "Madrid", "Rome", "Oslo",
                                      "Vienna", "Prague", "Lisbon", "Dublin"};

std::string Zip(int64_t n) {
  char zip[8];
  std::snprintf(zip, sizeof(zip), "%05lld", static_cast<long long>(n));
  return zip;
}

Order MakeQueryOrder(int64_t i) {
  SplitMix rng(0xb0b0000ULL + static_cast<uint64_t>(i) * 0x100000001b3ULL);
  Order o;
  o.order_id = i + 1;
  o.customer_id = rng.Uniform(1, 50'000);
  for (int k = static_cast<int>(rng.Uniform(1, 4)); k > 0; --k) {
    Item item;
    char sku[16];
    std::snprintf(sku, sizeof(sku), "SKU-%05lld", static_cast<long long>(rng.Uniform(0, 9'999)));
    item.sku = sku;
    item.quantity = static_cast<int32_t>(rng.Uniform(1, 5));
    item.price = rng.Uniform(199, 49'999);
    o.total += item.quantity * item.price;
    o.items.push_back(std::move(item));
  }
  o.street = std::to_string(rng.Uniform(1, 999)) + " Main Street";
  o.city = kCityNames[rng.Next() % std::size(kCityNames)];
  o.country = "EU";
  if (rng.Uniform(0, 9) != 0) o.zip = Zip(rng.Uniform(10'000, 99'999));
  if (rng.Uniform(0, 4) == 0) o.note = "leave at the door";
  o.status = static_cast<int32_t>(rng.Uniform(0, 2));
  return o;
}

void FillQueryOrder(const Order& o, Message& m) {
  const auto* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  r->SetInt64(&m, d->FindFieldByName("order_id"), o.order_id);
  r->SetInt64(&m, d->FindFieldByName("customer_id"), o.customer_id);
  for (const Item& item : o.items) {
    Message* li = r->AddMessage(&m, d->FindFieldByName("line_items"));
    const auto* ld = li->GetDescriptor();
    li->GetReflection()->SetString(li, ld->FindFieldByName("sku"), item.sku);
    li->GetReflection()->SetInt32(li, ld->FindFieldByName("quantity"), item.quantity);
    li->GetReflection()->SetInt64(li, ld->FindFieldByName("price"), item.price);
  }
  Message* ship = r->MutableMessage(&m, d->FindFieldByName("shipping"));
  const auto* sd = ship->GetDescriptor();
  const Reflection* sr = ship->GetReflection();
  sr->SetString(ship, sd->FindFieldByName("street"), o.street);
  sr->SetString(ship, sd->FindFieldByName("city"), o.city);
  if (o.zip) sr->SetString(ship, sd->FindFieldByName("zip"), *o.zip);
  sr->SetString(ship, sd->FindFieldByName("country"), o.country);
  r->SetInt64(&m, d->FindFieldByName("total"), o.total);
  if (o.note) r->SetString(&m, d->FindFieldByName("note"), *o.note);
  r->SetEnumValue(&m, d->FindFieldByName("status"), o.status);
}

// What the queries draw their constants from.
struct QueryData {
  std::vector<int64_t> totals_by_status[3];  // sorted
  std::vector<int64_t> totals;               // by record
  std::vector<std::string> zips;             // present ones, by record
};

// --- Queries ---

struct RangeParams {
  int32_t status;
  int64_t low, high;  // [low, high)
  int64_t rows;       // how many orders match
};

RangeParams RandomRange(const QueryData& data, std::mt19937_64& rng) {
  while (true) {
    int32_t status = static_cast<int32_t>(rng() % 3);
    const auto& t = data.totals_by_status[status];
    size_t i = rng() % (t.size() - kRangeRows - 1);
    RangeParams p{status, t[i], t[i + kRangeRows], 0};
    p.rows = std::lower_bound(t.begin(), t.end(), p.high) - std::lower_bound(t.begin(), t.end(), p.low);
    if (p.rows == kRangeRows) return p;
  }
}

struct OrParams {
  int64_t total;
  std::string zip;
};

OrParams RandomOr(const QueryData& data, std::mt19937_64& rng) {
  return {data.totals[rng() % data.totals.size()], data.zips[rng() % data.zips.size()]};
}

std::vector<std::string> RandomZips(const QueryData& data, std::mt19937_64& rng) {
  std::vector<std::string> zips;
  for (int k = 0; k < kInValues; ++k) zips.push_back(data.zips[rng() % data.zips.size()]);
  return zips;
}

// --- Record-Store ---

class QueryStoreSystem {
 public:
  QueryStoreSystem(const std::string& dir, const metadata::RecordMetaData& metadata)
      : metadata_(metadata), subspace_(Tuple::Of("shop")) {
    kv::DatabaseOptions options;
    options.sync_commits = false;
    auto storage = kv::OpenRocksDbStorage(dir);
    QCheck(storage.status(), "open recordstore storage");
    auto opened = kv::EngineDatabase::Open(*std::move(storage), options);
    QCheck(opened.status(), "start recordstore");
    db_ = *std::move(opened);
    order_type_ = metadata_.FindRecordType("Order");
    const google::protobuf::Descriptor& order = order_type_->descriptor();
    for (const char* name : {"order_id", "customer_id", "total"}) {
      read_fields_.push_back(order.FindFieldByName(name));
    }
    line_items_ = order.FindFieldByName("line_items");
  }

  void Load(int64_t records) {
    const int64_t batch = 500;
    for (int64_t i = 0; i < records; i += batch) {
      cursor::RecordContext context(db_->CreateTransaction(kv::TransactionOptions()));
      auto store = OpenStore(context, store::OpenMode::kCreateOrOpen);
      for (int64_t j = i; j < std::min(records, i + batch); ++j) {
        auto message = metadata_.NewRecord(*order_type_);
        FillQueryOrder(MakeQueryOrder(j), *message);
        QCheck(store->SaveRecord(*message, store::SaveMode::kInsert).status(), "save");
      }
      QCheck(context.Commit(), "commit");
    }
    QCheck(db_->CompactStorage(), "compact");
  }

  // Plans and runs `query` in a new transaction; returns the rows, every record decoded.
  int64_t Run(const query::RecordQuery& query, std::string* explain = nullptr) {
    cursor::RecordContext context(db_->CreateTransaction(kv::TransactionOptions()));
    auto store = OpenStore(context, store::OpenMode::kOpenExisting);
    auto plan = query::PlanQuery(*store, query);
    QCheck(plan.status(), "plan");
    if (explain != nullptr) *explain = (*plan)->Explain();
    auto cursor = query::ExecuteQuery(*store, **plan, cursor::Continuation::Start());
    QCheck(cursor.status(), "execute");
    int64_t rows = 0;
    while (true) {
      auto result = (*cursor)->Next();
      QCheck(result.status(), "next");
      if (!result->has_value()) break;
      // The fields the SQLite side reads from each row (Drain): the record itself is decoded
      // whole by the query, so reading them is all the consumer adds. A covering row has no
      // line items, and SQLite's covering rows read only the three columns.
      const google::protobuf::Message& record = *result->value().message;
      const google::protobuf::Reflection& reflection = *record.GetReflection();
      for (const google::protobuf::FieldDescriptor* field : read_fields_) {
        query_sink += reflection.GetInt64(record, field);
      }
      if (query.required_fields.empty()) query_sink += reflection.FieldSize(record, line_items_);
      ++rows;
    }
    return rows;
  }

 private:
  std::unique_ptr<store::RecordStore> OpenStore(cursor::RecordContext& context,
                                                store::OpenMode mode) {
    store::RecordStoreOptions options;
    options.open_mode = mode;
    auto store = store::RecordStore::Open(context, subspace_, metadata_, options);
    QCheck(store.status(), "open store");
    return *std::move(store);
  }

  const metadata::RecordMetaData& metadata_;
  Subspace subspace_;
  const metadata::RecordType* order_type_;
  // What each result row's consumer reads (order_id, customer_id, total; line_items' size).
  std::vector<const google::protobuf::FieldDescriptor*> read_fields_;
  const google::protobuf::FieldDescriptor* line_items_ = nullptr;
  std::unique_ptr<kv::EngineDatabase> db_;
};

query::RecordQuery RangeQuery(const RangeParams& p, bool covering) {
  using namespace query;  // NOLINT(google-build-using-namespace): the builders read as prose
  RecordQuery q;
  q.record_types = {"Order"};
  q.filter = And(Field("status").Equals(int64_t{p.status}), Field("total").GreaterThanOrEquals(p.low),
                 Field("total").LessThan(p.high));
  if (covering) q.required_fields = {"customer_id", "order_id", "total"};
  return q;
}

query::RecordQuery OrQuery(const OrParams& p) {
  using namespace query;  // NOLINT(google-build-using-namespace)
  RecordQuery q;
  q.record_types = {"Order"};
  q.filter = Or(Field("total").Equals(p.total), Nested("shipping", Field("zip").Equals(p.zip)));
  return q;
}

query::RecordQuery InQuery(const std::vector<std::string>& zips) {
  using namespace query;  // NOLINT(google-build-using-namespace)
  RecordQuery q;
  q.record_types = {"Order"};
  std::vector<TupleElement> values(zips.begin(), zips.end());
  q.filter = Nested("shipping", Field("zip").In(std::move(values)));
  return q;
}

// --- SQLite ---

void PutStr(std::string& out, const std::string& s) {
  uint32_t n = static_cast<uint32_t>(s.size());
  out.append(reinterpret_cast<const char*>(&n), sizeof(n));
  out.append(s);
}

class QuerySqlite {
 public:
  explicit QuerySqlite(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                                SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
      QFail("open sqlite");
    }
    Exec("PRAGMA journal_mode=WAL");
    Exec("PRAGMA synchronous=NORMAL");
    Exec("PRAGMA cache_size=-262144");
    Exec(
        "CREATE TABLE orders (customer_id INTEGER NOT NULL, order_id INTEGER NOT NULL,"
        " line_items BLOB, ship_street TEXT, ship_city TEXT, ship_zip TEXT, ship_country TEXT,"
        " total INTEGER NOT NULL, note TEXT, status INTEGER NOT NULL,"
        " PRIMARY KEY (customer_id, order_id)) WITHOUT ROWID");
    Exec("CREATE INDEX order_by_status_total ON orders(status, total)");
    Exec("CREATE INDEX order_by_total ON orders(total)");
    Exec("CREATE INDEX order_by_zip ON orders(ship_zip)");
  }
  ~QuerySqlite() {
    for (sqlite3_stmt* s : statements_) sqlite3_finalize(s);
    sqlite3_close(db_);
  }

  void Load(int64_t records) {
    sqlite3_stmt* insert = Prepare(
        "INSERT INTO orders VALUES (?,?,?,?,?,?,?,?,?,?)");
    for (int64_t i = 0; i < records; i += 500) {
      Exec("BEGIN");
      for (int64_t j = i; j < std::min(records, i + 500); ++j) {
        Order o = MakeQueryOrder(j);
        std::string items;
        for (const Item& item : o.items) {
          PutStr(items, item.sku);
          items.append(reinterpret_cast<const char*>(&item.quantity), sizeof(item.quantity));
          items.append(reinterpret_cast<const char*>(&item.price), sizeof(item.price));
        }
        sqlite3_bind_int64(insert, 1, o.customer_id);
        sqlite3_bind_int64(insert, 2, o.order_id);
        sqlite3_bind_blob(insert, 3, items.data(), static_cast<int>(items.size()), SQLITE_TRANSIENT);
        sqlite3_bind_text(insert, 4, o.street.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(insert, 5, o.city.c_str(), -1, SQLITE_TRANSIENT);
        if (o.zip) {
          sqlite3_bind_text(insert, 6, o.zip->c_str(), -1, SQLITE_TRANSIENT);
        } else {
          sqlite3_bind_null(insert, 6);
        }
        sqlite3_bind_text(insert, 7, o.country.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(insert, 8, o.total);
        if (o.note) {
          sqlite3_bind_text(insert, 9, o.note->c_str(), -1, SQLITE_TRANSIENT);
        } else {
          sqlite3_bind_null(insert, 9);
        }
        sqlite3_bind_int(insert, 10, o.status);
        if (sqlite3_step(insert) != SQLITE_DONE) QFail(sqlite3_errmsg(db_));
        sqlite3_reset(insert);
      }
      Exec("COMMIT");
    }
    Exec("ANALYZE");
    Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }

  // Steps `s` to the end, decoding each row as whole records (or the covering columns).
  int64_t Drain(sqlite3_stmt* s, bool whole) {
    int64_t rows = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      if (whole) {
        Order o = ReadOrder(s);
        query_sink += o.total + static_cast<int64_t>(o.items.size());
      } else {
        query_sink += sqlite3_column_int64(s, 0) + sqlite3_column_int64(s, 1) +
                      sqlite3_column_int64(s, 2);
      }
      ++rows;
    }
    if (rc != SQLITE_DONE) QFail(sqlite3_errmsg(db_));
    sqlite3_reset(s);
    return rows;
  }

  sqlite3_stmt* Prepare(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
      QFail("prepare " + sql + ": " + sqlite3_errmsg(db_));
    }
    statements_.push_back(s);
    return s;
  }

  std::string QueryPlan(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db_, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &s, nullptr);
    std::string plan;
    while (s != nullptr && sqlite3_step(s) == SQLITE_ROW) {
      if (!plan.empty()) plan += "; ";
      plan += reinterpret_cast<const char*>(sqlite3_column_text(s, 3));
    }
    sqlite3_finalize(s);
    return plan;
  }

 private:
  static std::string Text(sqlite3_stmt* s, int i) {
    const unsigned char* p = sqlite3_column_text(s, i);
    return p == nullptr ? std::string()
                        : std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s, i));
  }
  static Order ReadOrder(sqlite3_stmt* s) {
    Order o;
    o.customer_id = sqlite3_column_int64(s, 0);
    o.order_id = sqlite3_column_int64(s, 1);
    const char* p = static_cast<const char*>(sqlite3_column_blob(s, 2));
    const char* end = p + sqlite3_column_bytes(s, 2);
    while (p != nullptr && p < end) {
      Item item;
      uint32_t n;
      std::memcpy(&n, p, 4);
      item.sku.assign(p + 4, n);
      p += 4 + n;
      std::memcpy(&item.quantity, p, 4);
      std::memcpy(&item.price, p + 4, 8);
      p += 12;
      o.items.push_back(std::move(item));
    }
    o.street = Text(s, 3);
    o.city = Text(s, 4);
    if (sqlite3_column_type(s, 5) != SQLITE_NULL) o.zip = Text(s, 5);
    o.country = Text(s, 6);
    o.total = sqlite3_column_int64(s, 7);
    if (sqlite3_column_type(s, 8) != SQLITE_NULL) o.note = Text(s, 8);
    o.status = sqlite3_column_int(s, 9);
    return o;
  }
  void Exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      std::string message = error ? error : "?";
      sqlite3_free(error);
      QFail(sql + ": " + message);
    }
  }

  sqlite3* db_ = nullptr;
  std::vector<sqlite3_stmt*> statements_;
};

// --- Raw RocksDB: the floor ---

// What any store on RocksDB has to do for these queries, written by hand with nothing
// between the query and RocksDB: no transaction layer, tuples, planner, cursors or
// continuations. Keys (integers 8 bytes big-endian, signed ones order-preserving):
//   r customer_id order_id                        the Order, serialized (the same message)
//   a status(1 byte) total customer_id order_id   order_by_status_total
//   t total customer_id order_id                  order_by_total
//   z zip \0 customer_id order_id                 order_by_zip (orders that have a zip)
// A query takes a snapshot (as a read transaction must), scans its index ranges with one
// iterator, fetches the records with one MultiGet and parses each into one reused message;
// a covering query reads its three fields from the index keys. Those are the cheapest
// RocksDB calls for each shape, with RocksDbTunedOptions() as our engine uses them, so this
// system's ratio to SQLite bounds what a record layer on RocksDB can reach.
class QueryRawRocksDb {
 public:
  QueryRawRocksDb(const std::string& dir, const metadata::RecordMetaData& metadata) {
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(kv::RocksDbTunedOptions(), dir, &db);
    if (!s.ok()) QFail("open raw rocksdb: " + s.ToString());
    db_.reset(db);
    const metadata::RecordType* order = metadata.FindRecordType("Order");
    record_ = metadata.NewRecord(*order);
    for (const char* name : {"order_id", "customer_id", "total"}) {
      read_fields_.push_back(order->descriptor().FindFieldByName(name));
    }
    line_items_ = order->descriptor().FindFieldByName("line_items");
  }

  void Load(const metadata::RecordMetaData& metadata, int64_t records) {
    const metadata::RecordType& order = *metadata.FindRecordType("Order");
    rocksdb::WriteOptions write;
    write.sync = false;
    for (int64_t i = 0; i < records; i += 500) {
      rocksdb::WriteBatch batch;
      for (int64_t j = i; j < std::min(records, i + 500); ++j) {
        Order o = MakeQueryOrder(j);
        auto message = metadata.NewRecord(order);
        FillQueryOrder(o, *message);
        std::string pk;
        AppendBigEndian(pk, Ordered(o.customer_id));
        AppendBigEndian(pk, Ordered(o.order_id));
        Check(batch.Put("r" + pk, message->SerializePartialAsString()));
        Check(batch.Put(StatusTotalKey(o.status, o.total) + pk, ""));
        Check(batch.Put(TotalKey(o.total) + pk, ""));
        if (o.zip) Check(batch.Put(ZipKey(*o.zip) + pk, ""));
      }
      Check(db_->Write(write, &batch));
    }
    rocksdb::CompactRangeOptions compact;
    compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    Check(db_->CompactRange(compact, nullptr, nullptr));
  }

  int64_t Range(const RangeParams& p, bool covering) {
    Snapshot snapshot(*db_);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(snapshot.options()));
    const std::string end = StatusTotalKey(p.status, p.high);
    if (covering) {
      int64_t rows = 0;
      for (it->Seek(StatusTotalKey(p.status, p.low)); it->Valid(); it->Next()) {
        rocksdb::Slice key = it->key();
        if (key.compare(end) >= 0) break;
        // (customer_id, order_id, total), as the SQLite side sums them.
        query_sink += FromOrdered(ReadBigEndian({key.data() + 10, 8})) +
                      FromOrdered(ReadBigEndian({key.data() + 18, 8})) +
                      FromOrdered(ReadBigEndian({key.data() + 2, 8}));
        ++rows;
      }
      Check(it->status());
      return rows;
    }
    std::vector<std::string> record_keys;
    ScanIndex(*it, StatusTotalKey(p.status, p.low), end, record_keys);
    return FetchAndConsume(snapshot, record_keys);
  }

  // total = t OR zip = z: both index ranges, then the union of their primary keys.
  int64_t Or(const OrParams& p) {
    Snapshot snapshot(*db_);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(snapshot.options()));
    std::vector<std::string> record_keys;
    ScanIndex(*it, TotalKey(p.total), TotalKey(p.total + 1), record_keys);
    ScanIndex(*it, ZipKey(p.zip), ZipEnd(p.zip), record_keys);
    Dedupe(record_keys);
    return FetchAndConsume(snapshot, record_keys);
  }

  // zip IN (zips): one index range per distinct value.
  int64_t In(std::vector<std::string> zips) {
    Dedupe(zips);
    Snapshot snapshot(*db_);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(snapshot.options()));
    std::vector<std::string> record_keys;
    for (const std::string& zip : zips) ScanIndex(*it, ZipKey(zip), ZipEnd(zip), record_keys);
    return FetchAndConsume(snapshot, record_keys);
  }

 private:
  // A consistent view for one query, released at its end.
  class Snapshot {
   public:
    explicit Snapshot(rocksdb::DB& db) : db_(db), snapshot_(db.GetSnapshot()) {
      options_.snapshot = snapshot_;
    }
    ~Snapshot() { db_.ReleaseSnapshot(snapshot_); }
    Snapshot(const Snapshot&) = delete;
    Snapshot& operator=(const Snapshot&) = delete;
    const rocksdb::ReadOptions& options() const { return options_; }

   private:
    rocksdb::DB& db_;
    const rocksdb::Snapshot* snapshot_;
    rocksdb::ReadOptions options_;
  };

  static void Check(const rocksdb::Status& s) {
    if (!s.ok()) QFail("raw rocksdb: " + s.ToString());
  }
  static std::string StatusTotalKey(int32_t status, int64_t total) {
    std::string key = "a";
    key.push_back(static_cast<char>(status));
    AppendBigEndian(key, Ordered(total));
    return key;
  }
  static std::string TotalKey(int64_t total) {
    std::string key = "t";
    AppendBigEndian(key, Ordered(total));
    return key;
  }
  static std::string ZipKey(const std::string& zip) { return "z" + zip + '\0'; }
  static std::string ZipEnd(const std::string& zip) { return "z" + zip + '\1'; }
  static void Dedupe(std::vector<std::string>& values) {
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
  }

  // Appends the record key of every index entry in [begin, end): "r" + the entry's last 16
  // bytes (customer_id, order_id).
  static void ScanIndex(rocksdb::Iterator& it, const std::string& begin, const std::string& end,
                        std::vector<std::string>& record_keys) {
    for (it.Seek(begin); it.Valid(); it.Next()) {
      rocksdb::Slice key = it.key();
      if (key.compare(end) >= 0) break;
      std::string record_key = "r";
      record_key.append(key.data() + key.size() - 16, 16);
      record_keys.push_back(std::move(record_key));
    }
    Check(it.status());
  }

  // One MultiGet for every record, each parsed into the reused message and read as the other
  // systems' consumers read their rows.
  int64_t FetchAndConsume(const Snapshot& snapshot, const std::vector<std::string>& record_keys) {
    const size_t n = record_keys.size();
    std::vector<rocksdb::Slice> keys(record_keys.begin(), record_keys.end());
    std::vector<rocksdb::PinnableSlice> values(n);
    std::vector<rocksdb::Status> statuses(n);
    db_->MultiGet(snapshot.options(), db_->DefaultColumnFamily(), n, keys.data(), values.data(),
                  statuses.data());
    const google::protobuf::Reflection& reflection = *record_->GetReflection();
    for (size_t i = 0; i < n; ++i) {
      Check(statuses[i]);
      if (!record_->ParsePartialFromArray(values[i].data(), static_cast<int>(values[i].size()))) {
        QFail("raw rocksdb: a record does not parse");
      }
      for (const google::protobuf::FieldDescriptor* field : read_fields_) {
        query_sink += reflection.GetInt64(*record_, field);
      }
      query_sink += reflection.FieldSize(*record_, line_items_);
    }
    return static_cast<int64_t>(n);
  }

  std::unique_ptr<rocksdb::DB> db_;
  std::unique_ptr<Message> record_;  // reused by every fetch
  std::vector<const google::protobuf::FieldDescriptor*> read_fields_;
  const google::protobuf::FieldDescriptor* line_items_ = nullptr;
};

constexpr char kAll[] =
    "SELECT customer_id, order_id, line_items, ship_street, ship_city, ship_zip, ship_country,"
    " total, note, status FROM orders ";

std::string ReadQueryFile(const std::string& path) {
  std::ifstream in(path);
  if (!in.good()) QFail("cannot read " + path + " (set --schema-dir)");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

metadata::RecordMetaData QueryMetadata(const std::string& schema_dir) {
  auto files = metadata::ParseProtoFiles(
      {{"shop/common.proto", ReadQueryFile(schema_dir + "/common.proto")},
       {"shop/shop.proto", ReadQueryFile(schema_dir + "/shop.proto")}});
  QCheck(files.status(), "parse shop protos");
  metadata::proto::RecordMetaData proto;
  if (!google::protobuf::TextFormat::ParseFromString(kQueryMetadataText, &proto)) {
    QFail("metadata text does not parse");
  }
  *proto.mutable_files() = *std::move(files);
  auto built = metadata::RecordMetaData::Build(proto);
  QCheck(built.status(), "build metadata");
  return *std::move(built);
}

int RunQueryBench(const Options& options, Reporter& reporter) {
  const int64_t records = options.GetInt("records", 200'000);
  const int64_t queries = options.GetInt("queries", 20'000);
  const int rounds = static_cast<int>(options.GetInt("rounds", 5));
  const std::string data_dir =
      options.Get("data-dir", std::filesystem::temp_directory_path().string());
  const std::string schema_dir = options.Get("schema-dir", RS_SHOP_SCHEMA_DIR);
  if (records < 10 * kRangeRows || queries <= 0 || rounds <= 0) {
    std::fprintf(stderr, "need records >= %d, positive queries and rounds\n", 10 * kRangeRows);
    return 2;
  }
  std::filesystem::path root =
      std::filesystem::path(data_dir) / ("recordstore_bench_query_" + std::to_string(::getpid()));
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root / "recordstore");
  metadata::RecordMetaData metadata = QueryMetadata(schema_dir);

  QueryData data;
  for (int64_t i = 0; i < records; ++i) {
    Order o = MakeQueryOrder(i);
    data.totals_by_status[o.status].push_back(o.total);
    data.totals.push_back(o.total);
    if (o.zip) data.zips.push_back(*o.zip);
  }
  for (auto& t : data.totals_by_status) std::sort(t.begin(), t.end());
  {
    QueryStoreSystem ours((root / "recordstore").string(), metadata);
    QuerySqlite sqlite((root / "orders.sqlite").string());
    QueryRawRocksDb raw((root / "rocksdb").string(), metadata);
    Progress("loading " + std::to_string(records) + " orders into each system (untimed), under " +
             root.string());
    ours.Load(records);
    sqlite.Load(records);
    raw.Load(metadata, records);

    const std::string range_where = "WHERE status = ? AND total >= ? AND total < ?";
    sqlite3_stmt* range = sqlite.Prepare(kAll + range_where);
    sqlite3_stmt* covering =
        sqlite.Prepare("SELECT customer_id, order_id, total FROM orders " + range_where);
    sqlite3_stmt* either = sqlite.Prepare(std::string(kAll) + "WHERE total = ? OR ship_zip = ?");
    std::string marks;
    for (int k = 0; k < kInValues; ++k) marks += k ? ",?" : "?";
    sqlite3_stmt* in = sqlite.Prepare(std::string(kAll) + "WHERE ship_zip IN (" + marks + ")");

    struct Workload {
      const char* name;
      std::string sqlite_sql;
    };
    const Workload workloads[] = {
        {"range_100", kAll + range_where},
        {"or_two_indexes", std::string(kAll) + "WHERE total = ? OR ship_zip = ?"},
        {"in_join", std::string(kAll) + "WHERE ship_zip IN (" + marks + ")"},
        {"covering", "SELECT customer_id, order_id, total FROM orders " + range_where},
    };
    for (const Workload& w : workloads) {
      const std::string name = w.name;
      // One query of system 0 (recordstore), 1 (sqlite) or 2 (rocksdb); with the same
      // generator state, the systems run the same queries and must return the same rows.
      auto run = [&](int system, std::mt19937_64& rng, std::string* explain) -> int64_t {
        if (name == "range_100" || name == "covering") {
          RangeParams p = RandomRange(data, rng);
          int64_t rows;
          if (system == 0) {
            rows = ours.Run(RangeQuery(p, name == "covering"), explain);
          } else if (system == 2) {
            rows = raw.Range(p, name == "covering");
          } else {
            sqlite3_stmt* s = name == "covering" ? covering : range;
            sqlite3_bind_int(s, 1, p.status);
            sqlite3_bind_int64(s, 2, p.low);
            sqlite3_bind_int64(s, 3, p.high);
            rows = sqlite.Drain(s, name != "covering");
          }
          if (rows != p.rows) {
            QFail(name + ": " + kSystems[system] + " returned " +
                  std::to_string(rows) + " rows, expected " + std::to_string(p.rows));
          }
          return rows;
        }
        if (name == "or_two_indexes") {
          OrParams p = RandomOr(data, rng);
          if (system == 0) return ours.Run(OrQuery(p), explain);
          if (system == 2) return raw.Or(p);
          sqlite3_bind_int64(either, 1, p.total);
          sqlite3_bind_text(either, 2, p.zip.c_str(), -1, SQLITE_TRANSIENT);
          return sqlite.Drain(either, true);
        }
        std::vector<std::string> zips = RandomZips(data, rng);
        if (system == 0) return ours.Run(InQuery(zips), explain);
        if (system == 2) return raw.In(zips);
        for (int k = 0; k < kInValues; ++k) {
          sqlite3_bind_text(in, k + 1, zips[k].c_str(), -1, SQLITE_TRANSIENT);
        }
        return sqlite.Drain(in, true);
      };
      // Plans, once, and a check that both systems agree on a sample.
      {
        std::string explain;
        std::mt19937_64 a(1), b(1), c(1);
        for (int k = 0; k < 200; ++k) {
          int64_t ours_rows = run(0, a, k == 0 ? &explain : nullptr);
          int64_t sqlite_rows = run(1, b, nullptr);
          int64_t raw_rows = run(2, c, nullptr);
          if (ours_rows != sqlite_rows || raw_rows != sqlite_rows) {
            QFail(name + ": recordstore returned " + std::to_string(ours_rows) + " rows, sqlite " +
                  std::to_string(sqlite_rows) + ", rocksdb " + std::to_string(raw_rows));
          }
        }
        Progress(name + ": recordstore plan:\n" + explain + "  sqlite plan: " +
                 sqlite.QueryPlan(w.sqlite_sql));
      }
      LatencyRecorder latencies[3];
      double seconds[3] = {0, 0, 0};
      int64_t rows[3] = {0, 0, 0};
      std::mt19937_64 rng[3] = {std::mt19937_64(42), std::mt19937_64(42), std::mt19937_64(42)};
      for (int r = 0; r < rounds; ++r) {
        const int64_t count = queries * (r + 1) / rounds - queries * r / rounds;
        for (int k = 0; k < 3; ++k) {
          const int system = (r + k) % 3;
          const double start = NowSeconds();
          for (int64_t i = 0; i < count; ++i) {
            const double t0 = NowSeconds();
            rows[system] += run(system, rng[system], nullptr);
            latencies[system].Record((NowSeconds() - t0) * 1e6);
          }
          seconds[system] += NowSeconds() - start;
        }
      }
      if (rows[0] != rows[1] || rows[2] != rows[1]) {
        QFail(name + ": the systems returned different row counts");
      }
      for (int s = 0; s < 3; ++s) {
        Result result = MakeResult(name, kSystems[s], static_cast<uint64_t>(queries), seconds[s],
                                   latencies[s]);
        char per_query[32];
        std::snprintf(per_query, sizeof(per_query), "%.1f",
                      static_cast<double>(rows[s]) / static_cast<double>(queries));
        result.params = {{"rows", per_query}, {"records", std::to_string(records)}};
        reporter.Add(result);
      }
      reporter.PrintRatio(name, "recordstore", "sqlite");
      reporter.PrintRatio(name, "rocksdb", "sqlite", "the floor on RocksDB");
      reporter.PrintRatio(name, "recordstore", "rocksdb");
    }
  }
  std::filesystem::remove_all(root);
  return query_sink == 0 ? 1 : 0;
}

RS_BENCH_SUITE(query,
               "the query engine vs SQLite with the same indexes: range_100, or_two_indexes, "
               "in_join, covering (--records, --queries, --rounds, --data-dir)",
               RunQueryBench);

}  // namespace
}  // namespace recordstore::bench
