// Differential tests of the query engine against SQLite: random records and random queries
// over every filter operator, run through our planner (PlanQuery + ExecuteQuery, page by page
// under small scan limits, each page in a new transaction resumed from the continuation's
// bytes) and through SQLite on the same data; the result multisets must be identical, and
// sorted queries must return the same sequence (ties broken by primary key on both sides).
//
// Two schemas: the shop (Order records: nulls through optional fields, negative totals,
// repeated line items with skus, nested shipping.city, enum status, repeated coupons) and a
// schema of this test (difftest.Thing) with every protobuf scalar type, optional and not,
// repeated scalars and repeated messages whose elements have optional fields. Both get value
// indexes on most fields so that the planner's index scans, unions, intersections, IN-joins
// and covering scans all take part.
//
// The SQLite side is derived from the message descriptors: the main table `r` has one row per
// record (its packed primary key in `pk`, a BLOB, whose memcmp order is the tuple order) and
// columns for every singular scalar field reachable through singular messages
// (shipping.city -> shipping__city; null when a message on the way is absent, or the field
// has explicit presence and is unset); every repeated field has a child table c_<field>
// (rid, idx, columns of the element). Each protobuf value becomes columns whose lexicographic
// order (an SQL row value) is exactly the tuple order our comparisons use:
//   integers of every width, enums   (hi, lo): hi = 1 and lo = v - 2^63 for v >= 2^63, else
//                                    hi = 0 and lo = v; so int64 and uint64 beyond 2^63 compare
//                                    as the integers they hold (int64 fields store only lo,
//                                    hi is the constant 0)
//   float, double                    (nan, val, zs): nan = 1 for NaN (SQLite would store NaN
//                                    as NULL) with val = 0; zs = 0 for -0.0, else 1 (the tuple
//                                    order puts -0.0 below 0.0). Only positive NaN is generated
//                                    (the tuple order puts negative NaN below -inf).
//   bool                             0 / 1
//   string                           TEXT (BINARY collation: memcmp of the UTF-8 bytes)
//   bytes                            BLOB (memcmp)
// A filter translates to SQL with the same three-valued logic: a comparison with a null field
// is NULL (CASE WHEN <field> IS NULL THEN NULL ELSE <row value comparison> END: a bare row
// value comparison could decide on the first column alone), STARTS WITH is a byte prefix test
// (substr of the value cast to BLOB), AND / OR / NOT are SQL's (Kleene, like ours), and
// ANY(...) is true when an element matches, unknown when none does but one is unknown, false
// otherwise (two EXISTS subqueries). The test translates the filter as bound by
// QueryComponent::Bind, so constants are those Bind converted (an integer for a float field,
// an enum name).
#include <sqlite3.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/text_format.h"
#include "metadata/metadata_test_util.h"
#include "metadata/proto_source.h"
#include "query/planner.h"
#include "recordstore/kv.h"
#include "tuple/big_integer.h"

namespace recordstore::query {
namespace {

using cursor::Continuation;
using cursor::RecordContext;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using metadata::ParseText;
using metadata::RecordMetaData;
using store::RecordStore;
using store::StoredRecord;
namespace key = metadata::key;

const Subspace kStore(Tuple::Of("diff"));

// ---------------------------------------------------------------------------------------
// Schemas.

metadata::proto::RecordMetaData ShopWithIndexes() {
  metadata::proto::RecordMetaData proto = metadata::ShopProto();
  for (std::string_view text : {
           R"pb(name: "order_by_customer_total" type: "value"
                root { then { children { field { name: "customer_id" } }
                              children { field { name: "total" } } } }
                record_types: "Order" added_version: 3 last_modified_version: 3)pb",
           R"pb(name: "order_by_total" type: "value" root { field { name: "total" } }
                record_types: "Order" added_version: 3 last_modified_version: 3)pb",
           R"pb(name: "order_by_status" type: "value" root { field { name: "status" } }
                record_types: "Order" added_version: 3 last_modified_version: 3)pb",
           R"pb(name: "order_by_note" type: "value" root { field { name: "note" } }
                record_types: "Order" added_version: 3 last_modified_version: 3)pb",
           R"pb(name: "order_by_city" type: "value"
                root { nest { parent { name: "shipping" } child { field { name: "city" } } } }
                record_types: "Order" added_version: 3 last_modified_version: 3)pb",
           R"pb(name: "order_by_coupon" type: "value"
                root { field { name: "coupons" fan_type: FAN_TYPE_FAN_OUT } }
                record_types: "Order" added_version: 3 last_modified_version: 3)pb",
           R"pb(name: "order_by_status_total" type: "value"
                root { then { children { field { name: "status" } }
                              children { field { name: "total" } } } }
                record_types: "Order" added_version: 3 last_modified_version: 3)pb",
       }) {
    *proto.add_indexes() = ParseText<metadata::proto::Index>(text);
  }
  return proto;
}

constexpr char kThingProto[] = R"(
syntax = "proto3";
package difftest;
enum Color { COLOR_NONE = 0; COLOR_RED = 1; COLOR_GREEN = 2; COLOR_BLUE = 3; }
message Inner {
  optional int64 n = 1;
  optional string s = 2;
  double d = 3;
}
message Element {
  optional int32 a = 1;
  optional string s = 2;
  optional bytes b = 3;
  optional uint64 u = 4;
  float f = 5;
}
message Thing {
  int64 id = 1;
  optional int32 i32 = 2;
  optional int64 i64 = 3;
  optional uint32 u32 = 4;
  optional uint64 u64 = 5;
  optional sint64 s64 = 6;
  optional fixed64 f64 = 7;
  optional sfixed32 sf32 = 8;
  optional float flt = 9;
  optional double dbl = 10;
  optional bool flag = 11;
  optional string str = 12;
  optional bytes raw = 13;
  optional Color color = 14;
  uint64 plain_u64 = 15;
  float plain_flt = 16;
  string plain_str = 17;
  bytes plain_raw = 18;
  Inner inner = 19;
  repeated int64 nums = 20;
  repeated string words = 21;
  repeated bytes blobs = 22;
  repeated double reals = 23;
  repeated uint64 bigs = 24;
  repeated Element elements = 25;
}
message RecordTypeUnion { Thing _Thing = 1; }
)";

metadata::proto::RecordMetaData ThingMetadata() {
  auto proto = ParseText<metadata::proto::RecordMetaData>(R"pb(
    version: 1
    record_types {
      name: "Thing"
      primary_key { then { children { record_type_key {} } children { field { name: "id" } } } }
    }
  )pb");
  auto files = metadata::ParseProtoFiles({{"difftest/thing.proto", kThingProto}});
  EXPECT_TRUE(files.ok()) << files.status();
  if (files.ok()) *proto.mutable_files() = *files;
  auto add = [&](const std::string& name, const std::string& root) {
    *proto.add_indexes() = ParseText<metadata::proto::Index>(
        "name: \"" + name + "\" type: \"value\" root { " + root +
        " } record_types: \"Thing\" added_version: 1 last_modified_version: 1");
  };
  for (const char* field : {"i32", "i64", "u64", "flt", "dbl", "flag", "str", "raw", "color",
                            "plain_u64", "plain_flt", "f64"}) {
    add(std::string("thing_by_") + field, std::string("field { name: \"") + field + "\" }");
  }
  add("thing_by_color_u64",
      R"(then { children { field { name: "color" } } children { field { name: "u64" } } })");
  add("thing_by_str_dbl",
      R"(then { children { field { name: "str" } } children { field { name: "dbl" } } })");
  add("thing_by_inner_n", R"(nest { parent { name: "inner" } child { field { name: "n" } } })");
  add("thing_by_word", R"(field { name: "words" fan_type: FAN_TYPE_FAN_OUT })");
  add("thing_by_big", R"(field { name: "bigs" fan_type: FAN_TYPE_FAN_OUT })");
  add("thing_by_element_s",
      R"(nest { parent { name: "elements" fan_type: FAN_TYPE_FAN_OUT }
                child { field { name: "s" } } })");
  return proto;
}

// ---------------------------------------------------------------------------------------
// Values.

using Rng = std::mt19937_64;

template <typename T>
const T& Pick(Rng& random, const std::vector<T>& values) {
  return values[random() % values.size()];
}

constexpr uint64_t kTwo63 = uint64_t{1} << 63;

std::vector<TupleElement> WideIntegers() {
  return {TupleElement(std::numeric_limits<int64_t>::min()),
          TupleElement(int64_t{-1} << 40),
          TupleElement(int64_t{-70000}),
          TupleElement(int64_t{-5}),
          TupleElement(int64_t{-1}),
          TupleElement(int64_t{0}),
          TupleElement(int64_t{1}),
          TupleElement(int64_t{2}),
          TupleElement(int64_t{3}),
          TupleElement(int64_t{42}),
          TupleElement(int64_t{std::numeric_limits<int32_t>::max()}),
          TupleElement(int64_t{std::numeric_limits<uint32_t>::max()}),
          TupleElement(std::numeric_limits<int64_t>::max()),
          TupleElement(kTwo63),
          TupleElement(kTwo63 + 1),
          TupleElement(std::numeric_limits<uint64_t>::max() - 1),
          TupleElement(std::numeric_limits<uint64_t>::max())};
}

std::vector<double> SpecialDoubles() {
  const double inf = std::numeric_limits<double>::infinity();
  return {-inf, -1e300, -2.5, -1.0, -0.0, 0.0, 5e-324, 1e-10, 0.5, 1.0, 2.5, 3.0, 1e300,
          inf, std::numeric_limits<double>::quiet_NaN()};
}

std::vector<float> SpecialFloats() {
  const float inf = std::numeric_limits<float>::infinity();
  return {-inf, -3.4e38f, -2.5f, -1.0f, -0.0f, 0.0f, 1e-45f, 0.1f, 0.5f, 1.0f, 2.5f, 3.0f,
          3.4e38f, inf, std::numeric_limits<float>::quiet_NaN()};
}

std::vector<std::string> Strings() {
  return {"",      "a",          "ab",           "abc",    "b",        "Pa",
          "Paris", "Pau",        "Lyon",         "\xc3\xa9" /* é */,   "e\xcc\x81",
          "\xef\xbf\xbf" /* U+FFFF */,           "\xf0\x9f\x98\x80" /* U+1F600 */,
          "z",     "zz",         "\xef\xbf\xbd" /* U+FFFD */};
}

std::vector<std::string> Bytes() {
  return {std::string(), std::string("\0", 1), std::string("\0\0", 2), std::string("\0\xff", 2),
          "\x01", "\x7f", "\x80", "\xff", "\xff\xff", "\xff\x01", "a", "ab"};
}

// A value a record may hold in `field` (a scalar field; for repeated ones, an element).
// Shop fields draw from small domains so that filters hit.
TupleElement DataValue(const FieldDescriptor& field, Rng& random) {
  const std::string& name = field.full_name();
  if (name == "shop.Order.customer_id") return TupleElement(int64_t(random() % 8));
  if (name == "shop.Order.total") return TupleElement(int64_t(random() % 400) - 100);
  if (name == "shop.Order.note") return TupleElement(Pick(random, std::vector<std::string>{
                                         "n", "n1", "n12", "n2", "", "\xc3\xa9t\xc3\xa9"}));
  if (name == "shop.LineItem.sku") {
    return TupleElement(Pick(random, std::vector<std::string>{"pot", "pan", "cup", "mug", "p"}));
  }
  if (name == "shop.LineItem.quantity") return TupleElement(int64_t(random() % 5) - 1);
  if (name == "shop.LineItem.price") return TupleElement(int64_t(random() % 50) * 10);
  if (name == "shop.Address.city") {
    return TupleElement(Pick(random, std::vector<std::string>{"Paris", "Pau", "Lyon", "", "P"}));
  }
  if (name == "shop.Address.zip") {
    return TupleElement(Pick(random, std::vector<std::string>{"75001", "64000", "69001"}));
  }
  if (name == "shop.Address.country" || name == "shop.Address.street") {
    return TupleElement(Pick(random, std::vector<std::string>{"FR", "DE", ""}));
  }
  if (name == "shop.Order.coupons" || name == "shop.LineItem.options") {
    return TupleElement(Pick(random, std::vector<std::string>{"A", "B", "AB", "C"}));
  }
  if (name == "shop.Order.order_id") return TupleElement(int64_t(random() % 1000));
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      std::vector<int64_t> values = {std::numeric_limits<int32_t>::min(), -5, -1, 0, 1, 2, 3, 42,
                                     std::numeric_limits<int32_t>::max()};
      return TupleElement(Pick(random, values));
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      std::vector<int64_t> values = {0, 1, 2, 3, 42, std::numeric_limits<uint32_t>::max()};
      return TupleElement(Pick(random, values));
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      std::vector<int64_t> values = {std::numeric_limits<int64_t>::min(), -70000, -5, -1, 0, 1,
                                     2, 3, 42, std::numeric_limits<int64_t>::max()};
      return TupleElement(Pick(random, values));
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      std::vector<uint64_t> values = {0,     1,         2,           3,
                                      42,    kTwo63 - 1, kTwo63,     kTwo63 + 1,
                                      std::numeric_limits<uint64_t>::max()};
      return TupleElement(Pick(random, values));
    }
    case FieldDescriptor::CPPTYPE_FLOAT:
      return TupleElement(Pick(random, SpecialFloats()));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return TupleElement(Pick(random, SpecialDoubles()));
    case FieldDescriptor::CPPTYPE_BOOL:
      return TupleElement(random() % 2 == 0);
    case FieldDescriptor::CPPTYPE_ENUM:
      return TupleElement(
          int64_t(field.enum_type()->value(random() % field.enum_type()->value_count())->number()));
    case FieldDescriptor::CPPTYPE_STRING:
      if (field.type() == FieldDescriptor::TYPE_BYTES) {
        return TupleElement(ByteString{Pick(random, Bytes())});
      }
      return TupleElement(Pick(random, Strings()));
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return TupleElement();
}

// A constant to compare `field` with: mostly a value records hold, sometimes one of the
// type's edge values (integers beyond the field's width, an integer for a float field, an
// enum value's name).
TupleElement ConstantFor(const FieldDescriptor& field, Rng& random) {
  if (random() % 4 != 0) return DataValue(field, random);
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT64:
      return Pick(random, WideIntegers());
    case FieldDescriptor::CPPTYPE_FLOAT:
      if (random() % 3 == 0) return TupleElement(int64_t(random() % 5) - 2);
      if (random() % 2 == 0) return TupleElement(Pick(random, SpecialDoubles()));  // Bind: float
      return TupleElement(Pick(random, SpecialFloats()));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      if (random() % 3 == 0) return TupleElement(int64_t(random() % 5) - 2);
      if (random() % 2 == 0) return TupleElement(static_cast<double>(Pick(random, SpecialFloats())));
      return TupleElement(Pick(random, SpecialDoubles()));
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* value = field.enum_type()->value(random() % field.enum_type()->value_count());
      if (random() % 2 == 0) return TupleElement(value->name());
      return Pick(random, WideIntegers());
    }
    case FieldDescriptor::CPPTYPE_STRING:
      if (field.type() == FieldDescriptor::TYPE_BYTES) {
        return TupleElement(ByteString{Pick(random, Bytes())});
      }
      return TupleElement(Pick(random, Strings()));
    default:
      return DataValue(field, random);
  }
}

void SetValue(Message& message, const FieldDescriptor& field, const TupleElement& value) {
  const Reflection& r = *message.GetReflection();
  const bool repeated = field.is_repeated();
  auto integer = [&]() -> int64_t { return *value.AsInt64(); };
  auto unsigned_integer = [&]() -> uint64_t {
    if (auto v = value.AsInt64()) return static_cast<uint64_t>(*v);
    uint64_t out = 0;
    for (unsigned char byte : value.get_if<BigInteger>()->magnitude()) out = out << 8 | byte;
    return out;
  };
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      repeated ? r.AddInt32(&message, &field, static_cast<int32_t>(integer()))
               : r.SetInt32(&message, &field, static_cast<int32_t>(integer()));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      repeated ? r.AddUInt32(&message, &field, static_cast<uint32_t>(integer()))
               : r.SetUInt32(&message, &field, static_cast<uint32_t>(integer()));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      repeated ? r.AddInt64(&message, &field, integer()) : r.SetInt64(&message, &field, integer());
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      repeated ? r.AddUInt64(&message, &field, unsigned_integer())
               : r.SetUInt64(&message, &field, unsigned_integer());
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      repeated ? r.AddFloat(&message, &field, *value.get_if<float>())
               : r.SetFloat(&message, &field, *value.get_if<float>());
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      repeated ? r.AddDouble(&message, &field, *value.get_if<double>())
               : r.SetDouble(&message, &field, *value.get_if<double>());
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      repeated ? r.AddBool(&message, &field, *value.get_if<bool>())
               : r.SetBool(&message, &field, *value.get_if<bool>());
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      repeated ? r.AddEnumValue(&message, &field, static_cast<int>(integer()))
               : r.SetEnumValue(&message, &field, static_cast<int>(integer()));
      break;
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string text = field.type() == FieldDescriptor::TYPE_BYTES
                             ? value.get_if<ByteString>()->data
                             : *value.get_if<std::string>();
      repeated ? r.AddString(&message, &field, text) : r.SetString(&message, &field, text);
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
}

// Fills `message` at random: optional fields and nested messages are absent a fifth of the
// time, repeated fields hold 0 to 3 elements.
void FillRandom(Message& message, Rng& random, int depth = 0) {
  const Descriptor& type = *message.GetDescriptor();
  const Reflection& r = *message.GetReflection();
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    if (depth == 0 && i == 0) continue;  // the id, set by the caller
    if (field.is_repeated()) {
      for (uint64_t n = random() % 4; n > 0; --n) {
        if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          FillRandom(*r.AddMessage(&message, &field), random, depth + 1);
        } else {
          SetValue(message, field, DataValue(field, random));
        }
      }
      continue;
    }
    if (field.has_presence() && random() % 5 == 0) continue;
    if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      FillRandom(*r.MutableMessage(&message, &field), random, depth + 1);
    } else {
      SetValue(message, field, DataValue(field, random));
    }
  }
}

// ---------------------------------------------------------------------------------------
// The SQL model.

// One SQL parameter.
struct SqlValue {
  enum class Kind { kNull, kInteger, kReal, kText, kBlob } kind = Kind::kNull;
  int64_t integer = 0;
  double real = 0;
  std::string text;
};

SqlValue SqlInteger(int64_t v) { return {SqlValue::Kind::kInteger, v, 0, {}}; }
SqlValue SqlReal(double v) { return {SqlValue::Kind::kReal, 0, v, {}}; }
SqlValue SqlText(std::string v) { return {SqlValue::Kind::kText, 0, 0, std::move(v)}; }
SqlValue SqlBlob(std::string v) { return {SqlValue::Kind::kBlob, 0, 0, std::move(v)}; }

enum class SqlKind { kInteger, kReal, kBool, kText, kBlob };

SqlKind KindOf(const FieldDescriptor& field) {
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_FLOAT:
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return SqlKind::kReal;
    case FieldDescriptor::CPPTYPE_BOOL:
      return SqlKind::kBool;
    case FieldDescriptor::CPPTYPE_STRING:
      return field.type() == FieldDescriptor::TYPE_BYTES ? SqlKind::kBlob : SqlKind::kText;
    default:
      return SqlKind::kInteger;
  }
}

bool IsUint64(const FieldDescriptor& field) {
  return field.cpp_type() == FieldDescriptor::CPPTYPE_UINT64;
}

// The SQL columns of one scalar value named `name` (see the file comment).
std::vector<std::string> ColumnNames(const FieldDescriptor& field, const std::string& name) {
  switch (KindOf(field)) {
    case SqlKind::kInteger:
      if (IsUint64(field)) return {name + "_hi", name + "_lo"};
      return {name};
    case SqlKind::kReal:
      return {name + "_nan", name + "_val", name + "_zs"};
    default:
      return {name};
  }
}

// A value's columns (a null value: NULL in each).
std::vector<SqlValue> Encode(const FieldDescriptor& field, const TupleElement& value) {
  const size_t width = ColumnNames(field, "x").size();
  if (value.is_null()) return std::vector<SqlValue>(width);
  switch (KindOf(field)) {
    case SqlKind::kInteger: {
      int64_t hi = 0;
      int64_t lo = 0;
      if (auto v = value.AsInt64()) {
        lo = *v;
      } else {
        uint64_t u = 0;
        for (unsigned char byte : value.get_if<BigInteger>()->magnitude()) u = u << 8 | byte;
        hi = 1;
        lo = static_cast<int64_t>(u - kTwo63);
      }
      if (IsUint64(field)) return {SqlInteger(hi), SqlInteger(lo)};
      EXPECT_EQ(hi, 0);
      return {SqlInteger(lo)};
    }
    case SqlKind::kReal: {
      double v = value.get_if<float>() != nullptr ? *value.get_if<float>()
                                                  : *value.get_if<double>();
      if (std::isnan(v)) return {SqlInteger(1), SqlReal(0), SqlInteger(1)};
      return {SqlInteger(0), SqlReal(v == 0 ? 0.0 : v), SqlInteger(v == 0 && std::signbit(v) ? 0 : 1)};
    }
    case SqlKind::kBool:
      return {SqlInteger(*value.get_if<bool>() ? 1 : 0)};
    case SqlKind::kText:
      return {SqlText(*value.get_if<std::string>())};
    case SqlKind::kBlob:
      return {SqlBlob(value.get_if<ByteString>()->data)};
  }
  return {};
}

// A constant compared with `field`: integers always as (hi, lo).
std::vector<SqlValue> EncodeConstant(const FieldDescriptor& field, const TupleElement& value) {
  if (KindOf(field) != SqlKind::kInteger) return Encode(field, value);
  if (auto v = value.AsInt64()) return {SqlInteger(0), SqlInteger(*v)};
  const BigInteger& big = *value.get_if<BigInteger>();
  EXPECT_FALSE(big.negative());
  EXPECT_LE(big.magnitude().size(), 8u);
  uint64_t u = 0;
  for (unsigned char byte : big.magnitude()) u = u << 8 | byte;
  return {SqlInteger(1), SqlInteger(static_cast<int64_t>(u - kTwo63))};
}

// A field's value expressions in a comparison (integers as (hi, lo)), and its null test.
struct FieldSql {
  std::vector<std::string> order;
  std::string null_column;
};

FieldSql FieldColumns(const FieldDescriptor& field, const std::string& qualified) {
  std::vector<std::string> columns = ColumnNames(field, qualified);
  FieldSql sql;
  sql.null_column = columns[0];
  if (KindOf(field) == SqlKind::kInteger && !IsUint64(field)) {
    sql.order = {"0", columns[0]};
  } else {
    sql.order = columns;
  }
  return sql;
}

// The value of a singular scalar field reached from `message` through `path` (singular
// messages then the field), as our key expressions see it: null under an absent message or
// for an unset field with explicit presence.
TupleElement ReadValue(const Message* message, const std::vector<const FieldDescriptor*>& path) {
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    if (message == nullptr || !message->GetReflection()->HasField(*message, path[i])) {
      return TupleElement();
    }
    message = &message->GetReflection()->GetMessage(*message, path[i]);
  }
  const FieldDescriptor& field = *path.back();
  const Reflection& r = *message->GetReflection();
  if (field.has_presence() && !r.HasField(*message, &field)) return TupleElement();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return TupleElement(r.GetInt32(*message, &field));
    case FieldDescriptor::CPPTYPE_UINT32:
      return TupleElement(r.GetUInt32(*message, &field));
    case FieldDescriptor::CPPTYPE_INT64:
      return TupleElement(r.GetInt64(*message, &field));
    case FieldDescriptor::CPPTYPE_UINT64:
      return TupleElement(r.GetUInt64(*message, &field));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return TupleElement(r.GetFloat(*message, &field));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return TupleElement(r.GetDouble(*message, &field));
    case FieldDescriptor::CPPTYPE_BOOL:
      return TupleElement(r.GetBool(*message, &field));
    case FieldDescriptor::CPPTYPE_ENUM:
      return TupleElement(int64_t{r.GetEnumValue(*message, &field)});
    case FieldDescriptor::CPPTYPE_STRING:
      if (field.type() == FieldDescriptor::TYPE_BYTES) {
        return TupleElement(ByteString{r.GetString(*message, &field)});
      }
      return TupleElement(r.GetString(*message, &field));
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return TupleElement();
}

TupleElement ReadRepeated(const Message& message, const FieldDescriptor& field, int i) {
  const Reflection& r = *message.GetReflection();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return TupleElement(r.GetRepeatedInt32(message, &field, i));
    case FieldDescriptor::CPPTYPE_UINT32:
      return TupleElement(r.GetRepeatedUInt32(message, &field, i));
    case FieldDescriptor::CPPTYPE_INT64:
      return TupleElement(r.GetRepeatedInt64(message, &field, i));
    case FieldDescriptor::CPPTYPE_UINT64:
      return TupleElement(r.GetRepeatedUInt64(message, &field, i));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return TupleElement(r.GetRepeatedFloat(message, &field, i));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return TupleElement(r.GetRepeatedDouble(message, &field, i));
    case FieldDescriptor::CPPTYPE_BOOL:
      return TupleElement(r.GetRepeatedBool(message, &field, i));
    case FieldDescriptor::CPPTYPE_ENUM:
      return TupleElement(int64_t{r.GetRepeatedEnumValue(message, &field, i)});
    case FieldDescriptor::CPPTYPE_STRING:
      if (field.type() == FieldDescriptor::TYPE_BYTES) {
        return TupleElement(ByteString{r.GetRepeatedString(message, &field, i)});
      }
      return TupleElement(r.GetRepeatedString(message, &field, i));
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return TupleElement();
}

// The singular scalar fields reachable from `type` through singular messages, with their
// column name prefixes ("shipping__city").
struct ScalarPath {
  std::vector<const FieldDescriptor*> path;
  std::string name;
};

void CollectScalars(const Descriptor& type, std::vector<const FieldDescriptor*> prefix,
                    const std::string& name_prefix, std::vector<ScalarPath>& out) {
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor* field = type.field(i);
    if (field->is_repeated()) continue;
    std::vector<const FieldDescriptor*> path = prefix;
    path.push_back(field);
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      CollectScalars(*field->message_type(), path, name_prefix + field->name() + "__", out);
    } else {
      out.push_back({path, name_prefix + field->name()});
    }
  }
}

class Sqlite {
 public:
  Sqlite() {
    EXPECT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
  }
  ~Sqlite() { sqlite3_close(db_); }

  void Exec(const std::string& sql) {
    char* error = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
    EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (error ? error : "");
    sqlite3_free(error);
  }

  // Runs `sql` with `params`; each row's first column (a BLOB) is returned.
  std::vector<std::string> Query(const std::string& sql, const std::vector<SqlValue>& params) {
    sqlite3_stmt* statement = nullptr;
    std::vector<std::string> rows;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "sqlite prepare: " << sqlite3_errmsg(db_) << "\n" << sql;
      return rows;
    }
    Bind(statement, params);
    int rc;
    while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
      rows.emplace_back(static_cast<const char*>(sqlite3_column_blob(statement, 0)),
                        sqlite3_column_bytes(statement, 0));
    }
    EXPECT_EQ(rc, SQLITE_DONE) << sqlite3_errmsg(db_) << "\n" << sql;
    sqlite3_finalize(statement);
    return rows;
  }

  void Insert(const std::string& table, const std::vector<std::string>& columns,
              const std::vector<SqlValue>& values) {
    std::string key = table;
    for (const auto& c : columns) key += "," + c;
    sqlite3_stmt*& statement = inserts_[key];
    if (statement == nullptr) {
      std::string sql = "INSERT INTO " + table + " (";
      std::string marks;
      for (size_t i = 0; i < columns.size(); ++i) {
        sql += (i ? ", " : "") + columns[i];
        marks += i ? ", ?" : "?";
      }
      sql += ") VALUES (" + marks + ")";
      ASSERT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr), SQLITE_OK)
          << sqlite3_errmsg(db_) << " " << sql;
    }
    Bind(statement, values);
    ASSERT_EQ(sqlite3_step(statement), SQLITE_DONE) << sqlite3_errmsg(db_);
    sqlite3_reset(statement);
  }

  void FinalizeInserts() {
    for (auto& [key, statement] : inserts_) sqlite3_finalize(statement);
    inserts_.clear();
  }

 private:
  static void Bind(sqlite3_stmt* statement, const std::vector<SqlValue>& params) {
    sqlite3_reset(statement);
    sqlite3_clear_bindings(statement);
    for (size_t i = 0; i < params.size(); ++i) {
      const int index = static_cast<int>(i) + 1;
      const SqlValue& v = params[i];
      switch (v.kind) {
        case SqlValue::Kind::kNull:
          sqlite3_bind_null(statement, index);
          break;
        case SqlValue::Kind::kInteger:
          sqlite3_bind_int64(statement, index, v.integer);
          break;
        case SqlValue::Kind::kReal:
          sqlite3_bind_double(statement, index, v.real);
          break;
        case SqlValue::Kind::kText:
          sqlite3_bind_text(statement, index, v.text.data(), static_cast<int>(v.text.size()),
                            SQLITE_TRANSIENT);
          break;
        case SqlValue::Kind::kBlob:
          // A zero-length blob, not NULL, for empty bytes.
          sqlite3_bind_blob(statement, index, v.text.empty() ? "" : v.text.data(),
                            static_cast<int>(v.text.size()), SQLITE_TRANSIENT);
          break;
      }
    }
  }

  sqlite3* db_ = nullptr;
  std::map<std::string, sqlite3_stmt*> inserts_;
};

std::string SqlType(const FieldDescriptor& field) {
  switch (KindOf(field)) {
    case SqlKind::kText:
      return "TEXT";
    case SqlKind::kBlob:
      return "BLOB";
    default:
      return "";  // integers and reals by column (see ColumnNames)
  }
}

std::string ColumnDefinitions(const FieldDescriptor& field, const std::string& name) {
  std::string out;
  for (const std::string& column : ColumnNames(field, name)) {
    std::string type = SqlType(field);
    if (type.empty()) type = column.ends_with("_val") ? "REAL" : "INTEGER";
    out += ", " + column + " " + type;
  }
  return out;
}

// The tables of record type `type` (see the file comment).
void CreateTables(Sqlite& sqlite, const Descriptor& type) {
  std::vector<ScalarPath> scalars;
  CollectScalars(type, {}, "", scalars);
  std::string main = "CREATE TABLE r (rid INTEGER PRIMARY KEY, pk BLOB NOT NULL UNIQUE";
  for (const ScalarPath& s : scalars) main += ColumnDefinitions(*s.path.back(), s.name);
  sqlite.Exec(main + ")");
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    if (!field.is_repeated()) continue;
    std::string sql = "CREATE TABLE c_" + field.name() + " (rid INTEGER NOT NULL, idx INTEGER";
    if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      std::vector<ScalarPath> element;
      CollectScalars(*field.message_type(), {}, "", element);
      for (const ScalarPath& s : element) sql += ColumnDefinitions(*s.path.back(), s.name);
    } else {
      sql += ColumnDefinitions(field, "v");
    }
    sqlite.Exec(sql + ")");
    sqlite.Exec("CREATE INDEX c_" + field.name() + "_rid ON c_" + field.name() + "(rid)");
  }
}

void InsertRow(Sqlite& sqlite, const std::string& table, int64_t rid, std::optional<int64_t> idx,
               const std::string* pk, const Message& message) {
  std::vector<std::string> columns = {"rid"};
  std::vector<SqlValue> values = {SqlInteger(rid)};
  if (idx.has_value()) {
    columns.push_back("idx");
    values.push_back(SqlInteger(*idx));
  }
  if (pk != nullptr) {
    columns.push_back("pk");
    values.push_back(SqlBlob(*pk));
  }
  std::vector<ScalarPath> scalars;
  CollectScalars(*message.GetDescriptor(), {}, "", scalars);
  for (const ScalarPath& s : scalars) {
    for (const std::string& c : ColumnNames(*s.path.back(), s.name)) columns.push_back(c);
    for (SqlValue& v : Encode(*s.path.back(), ReadValue(&message, s.path))) {
      values.push_back(std::move(v));
    }
  }
  sqlite.Insert(table, columns, values);
}

void InsertRecord(Sqlite& sqlite, int64_t rid, const std::string& pk, const Message& record) {
  InsertRow(sqlite, "r", rid, std::nullopt, &pk, record);
  const Descriptor& type = *record.GetDescriptor();
  const Reflection& r = *record.GetReflection();
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    if (!field.is_repeated()) continue;
    const std::string table = "c_" + field.name();
    for (int k = 0; k < r.FieldSize(record, &field); ++k) {
      if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        InsertRow(sqlite, table, rid, k, nullptr, r.GetRepeatedMessage(record, &field, k));
      } else {
        std::vector<std::string> columns = {"rid", "idx"};
        for (const std::string& c : ColumnNames(field, "v")) columns.push_back(c);
        std::vector<SqlValue> values = {SqlInteger(rid), SqlInteger(k)};
        for (SqlValue& v : Encode(field, ReadRepeated(record, field, k))) {
          values.push_back(std::move(v));
        }
        sqlite.Insert(table, columns, values);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Filters to SQL.

// Where a component is evaluated: a table alias, the column name prefix of the singular
// messages entered so far, and the message type.
struct Scope {
  std::string alias;
  std::string prefix;
  const Descriptor* type;
  int depth;
};

std::string ComparisonSql(const Comparison& comparison, const FieldDescriptor& field,
                          const FieldSql& columns, std::vector<SqlValue>& params) {
  auto row = [](const std::vector<std::string>& parts) {
    std::string out = "(";
    for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
    return out + ")";
  };
  auto constant = [&](const TupleElement& value) {
    std::vector<std::string> marks;
    for (SqlValue& v : EncodeConstant(field, value)) {
      params.push_back(std::move(v));
      marks.push_back("?");
    }
    return row(marks);
  };
  auto guarded = [&](const std::string& test) {
    return "(CASE WHEN " + columns.null_column + " IS NULL THEN NULL ELSE (" + test + ") END)";
  };
  const std::string value = row(columns.order);
  switch (comparison.type()) {
    case ComparisonType::kIsNull:
      return "(" + columns.null_column + " IS NULL)";
    case ComparisonType::kNotNull:
      return "(" + columns.null_column + " IS NOT NULL)";
    case ComparisonType::kEquals:
      return guarded(value + " = " + constant(comparison.value()));
    case ComparisonType::kNotEquals:
      return guarded(value + " <> " + constant(comparison.value()));
    case ComparisonType::kLessThan:
      return guarded(value + " < " + constant(comparison.value()));
    case ComparisonType::kLessThanOrEquals:
      return guarded(value + " <= " + constant(comparison.value()));
    case ComparisonType::kGreaterThan:
      return guarded(value + " > " + constant(comparison.value()));
    case ComparisonType::kGreaterThanOrEquals:
      return guarded(value + " >= " + constant(comparison.value()));
    case ComparisonType::kIn: {
      std::string test;
      for (const TupleElement& v : comparison.values()) {
        test += (test.empty() ? "" : " OR ") + value + " = " + constant(v);
      }
      return guarded(test);
    }
    case ComparisonType::kStartsWith: {
      const TupleElement& prefix = comparison.value();
      std::string bytes = prefix.get_if<std::string>() != nullptr ? *prefix.get_if<std::string>()
                                                                  : prefix.get_if<ByteString>()->data;
      // substr() of an empty BLOB is NULL (not an empty BLOB) whatever the length asked:
      // shorter values are refused first, and the empty prefix is spelled out.
      if (bytes.empty()) return guarded("1");
      params.push_back(SqlBlob(bytes));
      const std::string blob = "CAST(" + columns.null_column + " AS BLOB)";
      const std::string n = std::to_string(bytes.size());
      return guarded("CASE WHEN length(" + blob + ") < " + n + " THEN 0 ELSE substr(" + blob +
                     ", 1, " + n + ") = ? END");
    }
  }
  return "NULL";
}

// ANY(...): true when an element satisfies `test`, else unknown when one gives unknown.
std::string AnySql(const std::string& table, const Scope& outer, const std::string& alias,
                   const std::string& test) {
  const std::string from = "SELECT 1 FROM " + table + " " + alias + " WHERE " + alias +
                           ".rid = " + outer.alias + ".rid AND ";
  return "(CASE WHEN EXISTS (" + from + "(" + test + ")) THEN 1 WHEN EXISTS (" + from + "(" +
         test + ") IS NULL) THEN NULL ELSE 0 END)";
}

std::string FilterSql(const QueryComponent& component, const Scope& scope,
                      std::vector<SqlValue>& params) {
  switch (component.kind()) {
    case QueryComponent::Kind::kField: {
      const auto& c = static_cast<const FieldComponent&>(component);
      const FieldDescriptor& field = *scope.type->FindFieldByName(c.field());
      return ComparisonSql(c.comparison(), field,
                           FieldColumns(field, scope.alias + "." + scope.prefix + c.field()),
                           params);
    }
    case QueryComponent::Kind::kNested: {
      const auto& c = static_cast<const NestedComponent&>(component);
      const FieldDescriptor& field = *scope.type->FindFieldByName(c.field());
      Scope inner{scope.alias, scope.prefix + c.field() + "__", field.message_type(), scope.depth};
      return FilterSql(c.child(), inner, params);
    }
    case QueryComponent::Kind::kOneOfThem: {
      const auto& c = static_cast<const OneOfThemComponent&>(component);
      EXPECT_EQ(scope.depth, 0) << "repeated fields are only queried at the top";
      const FieldDescriptor& field = *scope.type->FindFieldByName(c.field());
      const std::string alias = "e" + std::to_string(scope.depth + 1);
      std::string test =
          ComparisonSql(c.comparison(), field, FieldColumns(field, alias + ".v"), params);
      // The test's parameters appear twice in AnySql.
      std::vector<SqlValue> copy(params.end() - std::count(test.begin(), test.end(), '?'),
                                 params.end());
      params.insert(params.end(), copy.begin(), copy.end());
      return AnySql("c_" + c.field(), scope, alias, test);
    }
    case QueryComponent::Kind::kOneOfThemMatches: {
      const auto& c = static_cast<const OneOfThemMatchesComponent&>(component);
      EXPECT_EQ(scope.depth, 0) << "repeated fields are only queried at the top";
      EXPECT_TRUE(scope.prefix.empty());
      const FieldDescriptor& field = *scope.type->FindFieldByName(c.field());
      Scope element{"e" + std::to_string(scope.depth + 1), "", field.message_type(),
                    scope.depth + 1};
      const size_t before = params.size();
      std::string test = FilterSql(c.child(), element, params);
      std::vector<SqlValue> copy(params.begin() + before, params.end());
      params.insert(params.end(), copy.begin(), copy.end());
      return AnySql("c_" + c.field(), scope, element.alias, test);
    }
    case QueryComponent::Kind::kAnd:
    case QueryComponent::Kind::kOr: {
      const auto& c = static_cast<const BooleanComponent&>(component);
      std::string out = "(";
      for (size_t i = 0; i < c.children().size(); ++i) {
        if (i > 0) out += component.kind() == QueryComponent::Kind::kAnd ? " AND " : " OR ";
        out += FilterSql(*c.children()[i], scope, params);
      }
      return out + ")";
    }
    case QueryComponent::Kind::kNot: {
      const auto& c = static_cast<const NotComponent&>(component);
      return "(NOT " + FilterSql(c.child(), scope, params) + ")";
    }
  }
  return "NULL";
}

// ---------------------------------------------------------------------------------------
// Random queries.

ComparisonType RandomComparisonType(Rng& random, const FieldDescriptor& field, bool element) {
  std::vector<ComparisonType> types = {
      ComparisonType::kEquals,      ComparisonType::kNotEquals,
      ComparisonType::kLessThan,    ComparisonType::kLessThanOrEquals,
      ComparisonType::kGreaterThan, ComparisonType::kGreaterThanOrEquals,
      ComparisonType::kIn,          ComparisonType::kEquals};
  if (KindOf(field) == SqlKind::kText || KindOf(field) == SqlKind::kBlob) {
    types.push_back(ComparisonType::kStartsWith);
    types.push_back(ComparisonType::kStartsWith);
  }
  if (!element) {
    types.push_back(ComparisonType::kIsNull);
    types.push_back(ComparisonType::kNotNull);
  }
  return Pick(random, types);
}

Comparison RandomComparison(Rng& random, const FieldDescriptor& field, bool element) {
  ComparisonType type = RandomComparisonType(random, field, element);
  switch (type) {
    case ComparisonType::kIsNull:
    case ComparisonType::kNotNull:
      return Comparison::Unary(type);
    case ComparisonType::kIn: {
      std::vector<TupleElement> values;
      for (uint64_t n = 1 + random() % 3; n > 0; --n) values.push_back(ConstantFor(field, random));
      return Comparison::In(std::move(values));
    }
    case ComparisonType::kStartsWith: {
      TupleElement value = ConstantFor(field, random);
      // Short prefixes match more often.
      if (random() % 2 == 0) {
        if (auto* text = value.get_if<std::string>()) {
          value = TupleElement(text->substr(0, random() % 2));
        } else if (auto* bytes = value.get_if<ByteString>()) {
          value = TupleElement(ByteString{bytes->data.substr(0, random() % 2)});
        }
      }
      return Comparison::Binary(type, std::move(value));
    }
    default:
      return Comparison::Binary(type, ConstantFor(field, random));
  }
}

ComponentPtr RandomFilter(Rng& random, const Descriptor& type, int depth, bool top);

// One leaf (or a nested / ANY component around a smaller filter) on a field of `type`.
ComponentPtr RandomAtom(Rng& random, const Descriptor& type, bool top) {
  while (true) {
    const FieldDescriptor& field = *type.field(random() % type.field_count());
    if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field.is_repeated()) {
        if (!top) continue;
        return Field(field.name())
            .OneOfThemMatches(RandomFilter(random, *field.message_type(), 2, false));
      }
      return Nested(field.name(), RandomFilter(random, *field.message_type(), 2, false));
    }
    if (field.is_repeated()) {
      if (!top) continue;
      return std::make_unique<OneOfThemComponent>(field.name(),
                                                  RandomComparison(random, field, true));
    }
    return std::make_unique<FieldComponent>(field.name(), RandomComparison(random, field, false));
  }
}

ComponentPtr RandomFilter(Rng& random, const Descriptor& type, int depth, bool top) {
  const uint64_t choice = random() % 10;
  if (depth >= 3 || choice < 4) return RandomAtom(random, type, top);
  if (choice == 9) return Not(RandomFilter(random, type, depth + 1, top));
  std::vector<ComponentPtr> children;
  for (uint64_t n = 2 + random() % 2; n > 0; --n) {
    children.push_back(RandomFilter(random, type, depth + 1, top));
  }
  return choice < 7 ? And(std::move(children)) : Or(std::move(children));
}

// ---------------------------------------------------------------------------------------
// The fixture.

struct SortChoice {
  std::vector<std::string> path;  // dotted path, one element per message level
  // True when every index that can provide this order breaks ties by primary key (only
  // single-column indexes and the primary key lead with it). Otherwise an index on (field,
  // other) returns ties in `other` order, which is as sorted as the query asked: the check is
  // then the same sequence of sort keys over records that match.
  bool ties_by_primary_key = true;
};

class QuerySqliteDifferentialTest : public testing::Test {
 protected:
  void SetUpStore(metadata::proto::RecordMetaData proto, std::string record_type,
                  std::vector<SortChoice> sorts) {
    metadata_ = std::make_unique<RecordMetaData>(metadata::BuildOrDie(proto));
    record_type_ = std::move(record_type);
    sorts_ = std::move(sorts);
    type_ = metadata_->FindRecordType(record_type_);
    ASSERT_NE(type_, nullptr);
    auto db = kv::Database::Open("memory://");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    CreateTables(sqlite_, type_->descriptor());
  }

  void Populate(Rng& random, int records) {
    RecordContext context(db_->CreateTransaction());
    auto store = RecordStore::Open(context, kStore, *metadata_);
    ASSERT_TRUE(store.ok()) << store.status();
    sqlite_.Exec("BEGIN");
    const FieldDescriptor& id = *type_->descriptor().field(0);
    for (int i = 0; i < records; ++i) {
      std::unique_ptr<Message> record = metadata_->NewRecord(*type_);
      FillRandom(*record, random);
      // Unique primary keys: the id is the record's number (the shop's order_id).
      SetValue(*record, id, TupleElement(int64_t{i}));
      auto saved = (*store)->SaveRecord(*record);
      ASSERT_TRUE(saved.ok()) << saved.status();
      InsertRecord(sqlite_, i, saved->primary_key.Pack(), *record);
      records_[saved->primary_key.Pack()] = std::move(record);
    }
    sqlite_.Exec("COMMIT");
    sqlite_.FinalizeInserts();
    ASSERT_TRUE(context.Commit().ok());
  }

  // Runs `rounds` random queries; returns how many ran (planned and compared).
  void RunQueries(uint64_t seed, Rng& random, int rounds) {
    int planned = 0, in_memory = 0, pages_total = 0, rows_total = 0, sorted = 0;
    std::map<std::string, int> plan_kinds;
    for (int round = 0; round < rounds; ++round) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " (replay: RS_QUERY_DIFF_SEED=" +
                   std::to_string(seed) + ") round " + std::to_string(round));
      RecordQuery query;
      query.record_types = {record_type_};
      query.filter = RandomFilter(random, type_->descriptor(), 0, true);
      // Half the queries lead with a comparison on an indexed field (or an OR of two), so
      // that index scans, unions, intersections and IN-joins answer them, not only filters.
      if (random() % 2 == 0) {
        auto indexed = [&] {
          const SortChoice& on = Pick(random, sorts_);
          const Descriptor* message = &type_->descriptor();
          for (size_t i = 0; i + 1 < on.path.size(); ++i) {
            message = message->FindFieldByName(on.path[i])->message_type();
          }
          ComponentPtr leaf = std::make_unique<FieldComponent>(
              on.path.back(),
              RandomComparison(random, *message->FindFieldByName(on.path.back()), false));
          for (size_t i = on.path.size() - 1; i > 0; --i) leaf = Nested(on.path[i - 1], std::move(leaf));
          return leaf;
        };
        switch (random() % 3) {
          case 0:
            query.filter = indexed();
            break;
          case 1:
            query.filter = And(indexed(), std::move(query.filter));
            break;
          default:
            query.filter = Or(indexed(), indexed());
            break;
        }
      }
      const SortChoice* sort = nullptr;
      if (random() % 3 == 0) {
        sort = &Pick(random, sorts_);
        std::unique_ptr<metadata::KeyExpression> expression = key::Field(sort->path.back());
        for (size_t i = sort->path.size() - 1; i > 0; --i) {
          expression = key::Nest(sort->path[i - 1], std::move(expression));
        }
        query.sort = std::move(expression);
        query.sort_descending = random() % 2 == 0;
        ++sorted;
      }
      ExecuteProperties properties;
      switch (random() % 4) {
        case 0:
          properties.scan_limits.max_records = 1 + static_cast<int64_t>(random() % 4);
          break;
        case 1:
        case 2:
          properties.scan_limits.max_records = 5 + static_cast<int64_t>(random() % 40);
          break;
        default:
          break;
      }
      if (sort != nullptr && random() % 2 == 0) {
        properties.skip = static_cast<int64_t>(random() % 4);
        properties.row_limit = 1 + static_cast<int64_t>(random() % 12);
      }
      SCOPED_TRACE("query: " + query.ToString());
      StatusOr<PlanPtr> plan = PlanQuery(*OpenStore(), query, properties);
      if (!plan.ok() &&
          plan.status().message().find("no index provides ORDER BY") != std::string::npos) {
        // Sorted in memory: one page holding the whole (bounded) answer.
        properties.allow_in_memory_sort = true;
        if (properties.row_limit == 0) properties.row_limit = 100000;
        properties.scan_limits = {};
        plan = PlanQuery(*OpenStore(), query, properties);
        ++in_memory;
      }
      ASSERT_TRUE(plan.ok()) << plan.status();
      ++planned;
      const std::string explain = (*plan)->Explain();
      SCOPED_TRACE("plan:\n" + explain + "scan limit " +
                   std::to_string(properties.scan_limits.max_records) + ", skip " +
                   std::to_string(properties.skip) + ", row limit " +
                   std::to_string(properties.row_limit));
      ++plan_kinds[explain.substr(0, explain.find_first_of(" \n"))];

      // Ours: page by page, each page in a new transaction, resumed from bytes.
      std::vector<std::string> got;
      std::string continuation_bytes;
      for (int page = 0;; ++page) {
        ASSERT_LT(page, 100000);
        RecordContext context(db_->CreateTransaction());
        auto store = RecordStore::Open(context, kStore, *metadata_);
        ASSERT_TRUE(store.ok());
        auto continuation = Continuation::FromBytes(continuation_bytes);
        ASSERT_TRUE(continuation.ok()) << continuation.status();
        auto cursor = ExecuteQuery(**store, **plan, *continuation, properties);
        ASSERT_TRUE(cursor.ok()) << cursor.status();
        bool done = false;
        while (true) {
          auto result = (*cursor)->Next();
          ASSERT_TRUE(result.ok()) << result.status();
          if (!result->has_value()) {
            // The row limit counts over the whole query: reaching it ends the query, though
            // its continuation is not End (resuming it stops again at once).
            done = result->continuation().is_end() ||
                   result->no_next_reason() == cursor::NoNextReason::kReturnLimitReached;
            continuation_bytes = result->continuation().ToBytes();
            break;
          }
          got.push_back(result->value().primary_key.Pack());
        }
        ++pages_total;
        if (done) break;
      }
      rows_total += static_cast<int>(got.size());

      // SQLite.
      ComponentPtr bound = *query.filter->Bind(type_->descriptor());
      std::vector<SqlValue> params;
      std::string sql = "SELECT r.pk FROM r WHERE " +
                        FilterSql(*bound, Scope{"r", "", &type_->descriptor(), 0}, params);
      const std::string direction = query.sort_descending ? " DESC" : "";
      if (sort != nullptr) {
        const Descriptor* message = &type_->descriptor();
        std::string name;
        const FieldDescriptor* field = nullptr;
        for (const std::string& part : sort->path) {
          field = message->FindFieldByName(part);
          name += (name.empty() ? "" : "__") + part;
          message = field->message_type();
        }
        sql += " ORDER BY ";
        for (const std::string& column : ColumnNames(*field, "r." + name)) {
          sql += column + direction + ", ";
        }
        sql += "r.pk" + direction;
        if (properties.row_limit > 0 || properties.skip > 0) {
          sql += " LIMIT " + std::to_string(properties.row_limit > 0 ? properties.row_limit : -1) +
                 " OFFSET " + std::to_string(properties.skip);
        }
      }
      SCOPED_TRACE("sql: " + sql);
      std::vector<std::string> want = sqlite_.Query(sql, params);
      if (sort != nullptr && !sort->ties_by_primary_key) {
        auto keys = [&](const std::vector<std::string>& pks) {
          std::vector<std::string> out;
          for (const std::string& pk : pks) {
            out.push_back((*query.sort->Evaluate(*records_.at(pk)))[0].ToString());
          }
          return out;
        };
        ASSERT_EQ(keys(got), keys(want));
        std::set<std::string> unique(got.begin(), got.end());
        ASSERT_EQ(unique.size(), got.size()) << "duplicates";
        std::vector<std::string> all = sqlite_.Query(sql.substr(0, sql.find(" ORDER BY")), params);
        std::set<std::string> matching(all.begin(), all.end());
        for (const std::string& pk : got) {
          ASSERT_TRUE(matching.contains(pk)) << Tuple::Unpack(pk)->ToString() << " does not match";
        }
        continue;
      }
      if (sort == nullptr) {
        std::sort(got.begin(), got.end());
        std::sort(want.begin(), want.end());
      }
      if (got != want && sort == nullptr) {
        // Which records differ, and what the filter says of them.
        std::vector<std::string> only_ours, only_sqlite;
        std::set_difference(got.begin(), got.end(), want.begin(), want.end(),
                            std::back_inserter(only_ours));
        std::set_difference(want.begin(), want.end(), got.begin(), got.end(),
                            std::back_inserter(only_sqlite));
        for (const auto* side : {&only_ours, &only_sqlite}) {
          for (size_t i = 0; i < side->size() && i < 2; ++i) {
            const Message& record = *records_.at((*side)[i]);
            std::optional<bool> value = bound->Evaluate(&record);
            ADD_FAILURE() << (side == &only_ours ? "only ours: " : "only sqlite: ")
                          << record.ShortDebugString() << " (filter evaluates to "
                          << (value.has_value() ? (*value ? "true" : "false") : "unknown")
                          << ")";
          }
        }
      }
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_EQ(got[i], want[i]) << "row " << i << ": ours " << Tuple::Unpack(got[i])->ToString()
                                   << ", sqlite " << Tuple::Unpack(want[i])->ToString();
      }
    }
    std::string kinds;
    for (const auto& [kind, count] : plan_kinds) kinds += " " + kind + "=" + std::to_string(count);
    std::printf("%s: %d queries (%d sorted, %d sorted in memory), %d pages, %d rows; plans:%s\n",
                record_type_.c_str(), planned, sorted, in_memory, pages_total, rows_total,
                kinds.c_str());
    EXPECT_EQ(planned, rounds);
  }

  std::unique_ptr<RecordStore> OpenStore() {
    planning_context_ = std::make_unique<RecordContext>(db_->CreateTransaction());
    auto store = RecordStore::Open(*planning_context_, kStore, *metadata_);
    EXPECT_TRUE(store.ok()) << store.status();
    return *std::move(store);
  }

  std::unique_ptr<RecordMetaData> metadata_;
  std::string record_type_;
  const metadata::RecordType* type_ = nullptr;
  std::vector<SortChoice> sorts_;
  std::map<std::string, std::unique_ptr<Message>> records_;  // by packed primary key
  std::unique_ptr<kv::Database> db_;
  std::unique_ptr<RecordContext> planning_context_;
  Sqlite sqlite_;
};

// gtest's random seed (--gtest_shuffle --gtest_random_seed=N; 0 without --gtest_shuffle), or
// RS_QUERY_DIFF_SEED when set, to replay a failure.
uint64_t Seed() {
  if (const char* seed = std::getenv("RS_QUERY_DIFF_SEED")) return std::strtoull(seed, nullptr, 10);
  return testing::UnitTest::GetInstance()->random_seed();
}

TEST_F(QuerySqliteDifferentialTest, ShopOrders) {
  SetUpStore(ShopWithIndexes(), "Order",
             {{{"total"}},
              {{"note"}},
              {{"status"}, false},
              {{"shipping", "city"}},
              {{"customer_id"}, false},
              {{"order_id"}}});
  const uint64_t seed = Seed();
  Rng random(seed);
  Populate(random, 150);
  RunQueries(seed, random, 2000);
}

TEST_F(QuerySqliteDifferentialTest, EveryScalarType) {
  SetUpStore(ThingMetadata(), "Thing",
             {{{"i64"}},
              {{"u64"}},
              {{"flt"}},
              {{"dbl"}},
              {{"str"}, false},
              {{"raw"}},
              {{"color"}, false},
              {{"plain_u64"}},
              {{"f64"}},
              {{"s64"}},
              {{"inner", "n"}}});
  const uint64_t seed = Seed();
  Rng random(seed ^ 0x7e57);
  Populate(random, 150);
  RunQueries(seed, random, 2000);
}

}  // namespace
}  // namespace recordstore::query
