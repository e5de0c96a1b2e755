#include "auth/world.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

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

// Binds the variables of `pattern` against the ground `value`, recording new bindings in
// `bound` so that the caller can undo them; false on mismatch.
bool Unify(const Term& pattern, const Term& value, Bindings* bindings,
           std::vector<std::string>* bound) {
  if (pattern.kind != TermKind::kVariable) {
    return pattern == value;
  }
  auto [it, inserted] = bindings->emplace(pattern.text, value);
  if (inserted) {
    bound->push_back(pattern.text);
    return true;
  }
  return it->second == value;
}

void Unbind(const std::vector<std::string>& bound, Bindings* bindings) {
  for (const std::string& name : bound) {
    bindings->erase(name);
  }
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
  // Trusted facts by predicate name, so that each body predicate scans only its own.
  std::map<std::string_view, std::vector<std::pair<const Origin*, const Predicate*>>> by_name;
  for (const auto& [origin, set] : facts_) {
    if (!IsTrusted(origin, trusted)) {
      continue;
    }
    for (const Predicate& fact : set) {
      by_name[fact.name].emplace_back(&origin, &fact);
    }
  }
  static const std::vector<std::pair<const Origin*, const Predicate*>> kNone;
  std::vector<const std::vector<std::pair<const Origin*, const Predicate*>>*> candidates;
  for (const Predicate& pattern : rule.body) {
    auto it = by_name.find(pattern.name);
    candidates.push_back(it == by_name.end() ? &kNone : &it->second);
  }

  // Depth-first search without recursion (a token controls the body length) and with one
  // shared binding map whose entries each frame undoes when it is popped.
  struct Frame {
    size_t next = 0;                 // next candidate to try for body[depth]
    std::vector<std::string> bound;  // variables bound when this frame was entered
    Origin origin;                   // union of the origins of the facts matched so far
  };
  Bindings bindings;
  std::vector<Frame> stack(1);
  uint32_t steps = 0;
  while (!stack.empty()) {
    if (++steps % kClockStride == 0 && std::chrono::steady_clock::now() > deadline_) {
      return MakeAuthError(wire::AuthErrorDetail::RUN_LIMIT, "Timeout");
    }
    const size_t depth = stack.size() - 1;
    if (depth == rule.body.size()) {
      ASSIGN_OR_RETURN(bool keep_going, visit(bindings, stack.back().origin));
      if (!keep_going) {
        return Status();
      }
      Unbind(stack.back().bound, &bindings);
      stack.pop_back();
      continue;
    }
    Frame& frame = stack.back();
    const auto& list = *candidates[depth];
    if (frame.next == list.size()) {
      Unbind(frame.bound, &bindings);
      stack.pop_back();
      continue;
    }
    const auto [fact_origin, fact] = list[frame.next++];
    const Predicate& pattern = rule.body[depth];
    if (fact->terms.size() != pattern.terms.size()) {
      continue;
    }
    Frame child;
    bool matches = true;
    for (size_t t = 0; t < pattern.terms.size() && matches; ++t) {
      matches = Unify(pattern.terms[t], fact->terms[t], &bindings, &child.bound);
    }
    if (!matches) {
      Unbind(child.bound, &bindings);
      continue;
    }
    child.origin = Union(frame.origin, *fact_origin);
    stack.push_back(std::move(child));  // invalidates `frame`
  }
  return Status();
}

StatusOr<bool> World::ExpressionsHold(const Rule& rule, const Bindings& bindings) const {
  for (const Expression& expression : rule.expressions) {
    ASSIGN_OR_RETURN(Term result, EvaluateExpression(expression, bindings, externs_, deadline_));
    if (result.kind != TermKind::kBool) {
      return MakeAuthError(wire::AuthErrorDetail::EXECUTION, "InvalidType");
    }
    if (!result.boolean()) {
      return false;
    }
  }
  return true;
}

StatusOr<std::set<Predicate>> World::Derive(const Rule& rule, const TrustedOrigins& trusted) const {
  std::set<Predicate> derived;
  auto visit = [&](const Bindings& bindings, const Origin&) -> StatusOr<bool> {
    ASSIGN_OR_RETURN(bool holds, ExpressionsHold(rule, bindings));
    if (holds) {
      Predicate head{rule.head.name, {}};
      for (const Term& t : rule.head.terms) {
        head.terms.push_back(Substitute(t, bindings));
      }
      derived.insert(std::move(head));
    }
    return true;
  };
  RETURN_IF_ERROR(ForEachMatch(rule, trusted, visit));
  return derived;
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
