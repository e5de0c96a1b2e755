#include "query/record_query.h"

#include "absl/strings/str_join.h"

namespace recordstore::query {

RecordQuery RecordQuery::Clone() const {
  RecordQuery copy;
  copy.record_types = record_types;
  if (filter != nullptr) copy.filter = filter->Clone();
  if (sort != nullptr) copy.sort = *metadata::KeyExpression::FromProto(sort->ToProto());
  copy.sort_descending = sort_descending;
  copy.required_fields = required_fields;
  copy.aggregate = aggregate;
  return copy;
}

std::string RecordQuery::ToString() const {
  std::string text = "SELECT ";
  if (aggregate.has_value()) {
    switch (aggregate->function) {
      case AggregateFunction::kCount:
        text += "COUNT(*)";
        break;
      case AggregateFunction::kSum:
        text += "SUM(" + aggregate->field + ")";
        break;
      case AggregateFunction::kMin:
        text += "MIN(" + aggregate->field + ")";
        break;
      case AggregateFunction::kMax:
        text += "MAX(" + aggregate->field + ")";
        break;
    }
  } else {
    text += required_fields.empty() ? "*" : absl::StrJoin(required_fields, ", ");
  }
  text += " FROM " + (record_types.empty() ? std::string("*") : absl::StrJoin(record_types, ", "));
  if (filter != nullptr) text += " WHERE " + filter->ToString();
  if (sort != nullptr) text += " ORDER BY " + sort->ToString() + (sort_descending ? " DESC" : "");
  return text;
}

}  // namespace recordstore::query
