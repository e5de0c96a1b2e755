// The Datalog engine: an origin-tagged fact set, rules tagged with the block that defined
// them and the origins they trust, evaluation to a fixpoint under run limits, and queries
// (checks and policies) over the result. Semantics follow SPECIFICATIONS.md, "Datalog fact
// generation" and "Scopes": a rule only sees facts whose origin is a subset of its trusted
// origins, and a generated fact's origin is the union of its premises' origins and the
// rule's block.
//
// Thread-safety: not thread-safe; a World is used by one authorization at a time.
#ifndef RECORDSTORE_AUTH_WORLD_H_
#define RECORDSTORE_AUTH_WORLD_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <vector>

#include "auth/datalog.h"
#include "auth/expression.h"

namespace recordstore::auth {

// Sorted, unique block ids (kAuthorizerBlockId for the authorizer).
using Origin = std::vector<uint64_t>;
using TrustedOrigins = std::set<uint64_t>;

struct RunLimits {
  // Fixpoint evaluation fails with RUN_LIMIT/TooManyFacts once the world holds this many.
  size_t max_facts = 1000;
  // ... with RUN_LIMIT/TooManyIterations after this many rounds of rule application.
  size_t max_iterations = 100;
  // ... with RUN_LIMIT/Timeout when evaluation (the fixpoint, then the checks and policies)
  // takes longer than this.
  std::chrono::microseconds max_time{1000};
};

// Block ids carrying an external signature by each public key (for `trusting <key>`).
using KeyToBlocks = std::map<PublicKey, std::vector<uint64_t>>;

// The origins a rule, check or policy of block `block_id` trusts: its own scopes, or
// `block_scopes` when it has none, plus its own block and the authorizer.
TrustedOrigins ComputeTrustedOrigins(const std::vector<Scope>& rule_scopes,
                                     const std::vector<Scope>& block_scopes, uint64_t block_id,
                                     const KeyToBlocks& keys);

class World {
 public:
  explicit World(const ExternFunctions& externs) : externs_(externs) {}

  void AddFact(const Origin& origin, Predicate fact);
  // REQUIRES: RuleVariablesAreBound(rule); expressions well-formed. `rule` must outlive
  // the World.
  void AddRule(uint64_t block_id, const Rule& rule, TrustedOrigins trusted);

  // Applies the rules until no new fact appears. Errors: RUN_LIMIT, EXECUTION.
  // Starts the clock of `limits.max_time`, which also bounds the queries that follow.
  Status Run(const RunLimits& limits);

  // The facts `rule` derives from the current facts in one application (no fixpoint).
  // Errors: EXECUTION, RUN_LIMIT/Timeout.
  StatusOr<std::set<Predicate>> Derive(const Rule& rule, const TrustedOrigins& trusted) const;
  // True when some combination of trusted facts satisfies the body and all expressions.
  StatusOr<bool> QueryMatches(const Rule& query, const TrustedOrigins& trusted) const;
  // True when at least one combination satisfies the body and every such combination
  // satisfies all expressions (`check all`).
  StatusOr<bool> QueryMatchesAll(const Rule& query, const TrustedOrigins& trusted) const;

  const std::map<Origin, std::set<Predicate>>& facts() const { return facts_; }
  size_t fact_count() const { return fact_count_; }

 private:
  struct TaggedRule {
    uint64_t block_id;
    const Rule* rule;
    TrustedOrigins trusted;
  };
  // Called for each body match with the bindings and the union of the premises' origins;
  // returns false to stop the enumeration.
  using MatchVisitor = std::function<StatusOr<bool>(const Bindings&, const Origin&)>;

  // Enumerates the combinations of trusted facts matching `rule.body` (expressions are not
  // evaluated here).
  Status ForEachMatch(const Rule& rule, const TrustedOrigins& trusted,
                      const MatchVisitor& visit) const;
  StatusOr<bool> ExpressionsHold(const Rule& rule, const Bindings& bindings) const;

  // How many body matches are enumerated between two looks at the clock.
  static constexpr uint32_t kClockStride = 256;

  const ExternFunctions& externs_;
  std::map<Origin, std::set<Predicate>> facts_;
  size_t fact_count_ = 0;
  std::vector<TaggedRule> rules_;
  // Set by Run(); a body enumeration past it fails with RUN_LIMIT/Timeout, so that one huge
  // join cannot outlive the time limit.
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
};

}  // namespace recordstore::auth

#endif  // RECORDSTORE_AUTH_WORLD_H_
