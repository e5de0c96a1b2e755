#include "auth/world.h"

#include <algorithm>

#include "auth/error.h"
#include "common/status_macros.h"

namespace recordstore::auth {
namespace {

bool IsTrusted(const Origin& origin, const TrustedOrigins& trusted) {
  return std::all_of(origin.begin(), origin.end(),
                     [&](uint64_t id) { return trusted.contains(id); });
}

Origin Union(const Origin& a, const Origin& b) {
  Origin out;
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

// Binds the variables of `pattern` against the ground `value`; false on mismatch.
bool Unify(const Term& pattern, const Term& value, Bindings* bindings) {
  if (pattern.kind != TermKind::kVariable) {
    return pattern == value;
  }
  auto [it, inserted] = bindings->emplace(pattern.text, value);
  return inserted || it->second == value;
}

Term Substitute(const Term& term, const Bindings& bindings) {
  if (term.kind == TermKind::kVariable) {
    auto it = bindings.find(term.text);
    return it == bindings.end() ? term : it->second;
  }
  return term;
}

}  // namespace

TrustedOrigins ComputeTrustedOrigins(const std::vector<Scope>& rule_scopes,
                                     const std::vector<Scope>& block_scopes, uint64_t block_id,
                                     const KeyToBlocks& keys) {
  TrustedOrigins trusted = {block_id, kAuthorizerBlockId};
  const std::vector<Scope>& scopes = rule_scopes.empty() ? block_scopes : rule_scopes;
  if (scopes.empty()) {
    trusted.insert(0);
    return trusted;
  }
  for (const Scope& scope : scopes) {
    switch (scope.kind) {
      case Scope::Kind::kAuthority:
        trusted.insert(0);
        break;
      case Scope::Kind::kPrevious:
        if (block_id != kAuthorizerBlockId) {
          for (uint64_t id = 0; id <= block_id; ++id) {
            trusted.insert(id);
          }
        }
        break;
      case Scope::Kind::kPublicKey: {
        auto it = keys.find(scope.key);
        if (it != keys.end()) {
          trusted.insert(it->second.begin(), it->second.end());
        }
        break;
      }
    }
  }
  return trusted;
}

void World::AddFact(const Origin& origin, Predicate fact) {
  if (facts_[origin].insert(std::move(fact)).second) {
    ++fact_count_;
  }
}

void World::AddRule(uint64_t block_id, const Rule& rule, TrustedOrigins trusted) {
  rules_.push_back(TaggedRule{block_id, &rule, std::move(trusted)});
}

Status World::Run(const RunLimits& limits) {
  deadline_ = std::chrono::steady_clock::now() + limits.max_time;
  for (size_t iteration = 0;; ++iteration) {
    if (iteration >= limits.max_iterations) {
      return MakeAuthError(wire::AuthErrorDetail::RUN_LIMIT, "TooManyIterations");
    }
    std::map<Origin, std::set<Predicate>> fresh;
    size_t fresh_count = 0;
    for (const TaggedRule& tagged : rules_) {
      const Rule& rule = *tagged.rule;
      auto derive = [&](const Bindings& bindings, const Origin& premises) -> StatusOr<bool> {
        ASSIGN_OR_RETURN(bool holds, ExpressionsHold(rule, bindings));
        if (!holds) {
          return true;
        }
        Predicate head{rule.head.name, {}};
        for (const Term& t : rule.head.terms) {
          head.terms.push_back(Substitute(t, bindings));
        }
        Origin origin = Union(premises, {tagged.block_id});
        auto existing = facts_.find(origin);
        if (existing == facts_.end() || !existing->second.contains(head)) {
          fresh_count += fresh[origin].insert(std::move(head)).second;
          if (fact_count_ + fresh_count >= limits.max_facts) {
            return MakeAuthError(wire::AuthErrorDetail::RUN_LIMIT, "TooManyFacts");
          }
        }
        return true;
      };
      RETURN_IF_ERROR(ForEachMatch(rule, tagged.trusted, derive));
    }
    bool grew = false;
    for (auto& [origin, set] : fresh) {
      for (const Predicate& fact : set) {
        size_t before = fact_count_;
        AddFact(origin, fact);
        grew |= fact_count_ != before;
      }
    }
    if (fact_count_ >= limits.max_facts) {
      return MakeAuthError(wire::AuthErrorDetail::RUN_LIMIT, "TooManyFacts");
    }
    if (std::chrono::steady_clock::now() > deadline_) {
      return MakeAuthError(wire::AuthErrorDetail::RUN_LIMIT, "Timeout");
    }
    if (!grew) {
      return Status();
    }
  }
}

Status World::ForEachMatch(const Rule& rule, const TrustedOrigins& trusted,
                           const MatchVisitor& visit) const {
  // Candidate facts per body predicate, already filtered by origin, name and arity.
  std::vector<std::vector<std::pair<const Origin*, const Predicate*>>> candidates(rule.body.size());
  for (size_t i = 0; i < rule.body.size(); ++i) {
    const Predicate& pattern = rule.body[i];
    for (const auto& [origin, set] : facts_) {
      if (!IsTrusted(origin, trusted)) {
        continue;
      }
      for (const Predicate& fact : set) {
        if (fact.name != pattern.name || fact.terms.size() != pattern.terms.size()) {
          continue;
        }
        candidates[i].emplace_back(&origin, &fact);
      }
    }
    if (candidates[i].empty()) {
      return Status();
    }
  }
  bool stop = false;
  uint32_t steps = 0;
  std::function<Status(size_t, const Bindings&, const Origin&)> descend =
      [&](size_t index, const Bindings& bindings, const Origin& origin) -> Status {
    if (++steps % kClockStride == 0 && std::chrono::steady_clock::now() > deadline_) {
      return MakeAuthError(wire::AuthErrorDetail::RUN_LIMIT, "Timeout");
    }
    if (index == rule.body.size()) {
      ASSIGN_OR_RETURN(bool keep_going, visit(bindings, origin));
      stop = !keep_going;
      return Status();
    }
    const Predicate& pattern = rule.body[index];
    for (const auto& [fact_origin, fact] : candidates[index]) {
      Bindings next = bindings;
      bool matches = true;
      for (size_t t = 0; t < pattern.terms.size() && matches; ++t) {
        matches = Unify(pattern.terms[t], fact->terms[t], &next);
      }
      if (!matches) {
        continue;
      }
      RETURN_IF_ERROR(descend(index + 1, next, Union(origin, *fact_origin)));
      if (stop) {
        return Status();
      }
    }
    return Status();
  };
  return descend(0, Bindings(), Origin());
}

StatusOr<bool> World::ExpressionsHold(const Rule& rule, const Bindings& bindings) const {
  for (const Expression& expression : rule.expressions) {
    ASSIGN_OR_RETURN(Term result, EvaluateExpression(expression, bindings, externs_));
    if (result.kind != TermKind::kBool) {
      return MakeAuthError(wire::AuthErrorDetail::EXECUTION, "InvalidType");
    }
    if (!result.boolean()) {
      return false;
    }
  }
  return true;
}

StatusOr<bool> World::QueryMatches(const Rule& query, const TrustedOrigins& trusted) const {
  bool found = false;
  auto visit = [&](const Bindings& bindings, const Origin&) -> StatusOr<bool> {
    ASSIGN_OR_RETURN(found, ExpressionsHold(query, bindings));
    return !found;  // stop at the first match
  };
  RETURN_IF_ERROR(ForEachMatch(query, trusted, visit));
  return found;
}

StatusOr<bool> World::QueryMatchesAll(const Rule& query, const TrustedOrigins& trusted) const {
  bool any = false;
  bool all = true;
  auto visit = [&](const Bindings& bindings, const Origin&) -> StatusOr<bool> {
    any = true;
    ASSIGN_OR_RETURN(all, ExpressionsHold(query, bindings));
    return all;  // stop at the first counterexample
  };
  RETURN_IF_ERROR(ForEachMatch(query, trusted, visit));
  return any && all;
}

}  // namespace recordstore::auth
