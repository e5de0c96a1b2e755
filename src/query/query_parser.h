// The text syntax of queries: a small SQL-like SELECT, for people and the CLI, parsed into a
// RecordQuery and its ExecuteProperties. docs/query.md is the reference; in brief:
//
//   SELECT * FROM Order WHERE customer_id = 42 AND total > 100 ORDER BY created_at DESC LIMIT 50
//   SELECT sku, price FROM Product WHERE ANY(tags) = 'garden' AND price <= 1000
//   SELECT COUNT(*) FROM Order WHERE ANY(line_items WHERE sku = 'pot' AND quantity > 1)
//
// Parsing is purely syntactic: names are not looked up and literals keep the type they are
// written in (42 is an integer, 'ORDER_STATUS_PLACED' a string). Binding the query to a
// schema (QueryComponent::Bind, the planner) checks names and types and converts values.
//
// Thread-safety: ParseQuery is a pure function; call it from any thread.
#ifndef RECORDSTORE_QUERY_QUERY_PARSER_H_
#define RECORDSTORE_QUERY_QUERY_PARSER_H_

#include <string_view>

#include "query/record_query.h"
#include "recordstore/status.h"

namespace recordstore::query {

// One parsed SELECT: what to return (query) and how much of it (properties: row_limit from
// LIMIT, skip from OFFSET; every other property keeps its default).
struct Statement {
  RecordQuery query;
  ExecuteProperties properties;
};

// Parentheses, NOT and ANY(... WHERE ...) nest at most this deep, so that hostile input
// cannot exhaust the stack.
inline constexpr int kMaxQueryNestingDepth = 64;

// Parses one SELECT statement (an optional trailing ';' is allowed).
//
// Fails with kInvalidArgument on any syntax error. The message names the position and what
// was expected, then shows the offending line with a caret under the column (columns count
// characters, from 1):
//
//   invalid_argument (8001): syntax error at line 1, column 35: expected a value after '>',
//   found 'ORDER'
//     SELECT * FROM Order WHERE total > ORDER BY total
//                                       ^
// (the first line is one line in the message; the text line and the caret line are indented
// by two spaces; tabs in the text are kept in the caret line so that the caret aligns).
StatusOr<Statement> ParseQuery(std::string_view text);

}  // namespace recordstore::query

#endif  // RECORDSTORE_QUERY_QUERY_PARSER_H_
