#include "auth/codec.h"

#include <array>

#include "auth/error.h"
#include "common/status_macros.h"

namespace recordstore::auth {
namespace {

constexpr std::array<std::string_view, 28> kDefaultSymbols = {
    "read",  "write",   "resource",  "operation",  "right",    "time",      "role",
    "owner", "tenant",  "namespace", "user",       "team",     "service",   "admin",
    "email", "group",   "member",    "ip_address", "client",   "client_ip", "domain",
    "path",  "version", "cluster",   "node",       "hostname", "nonce",     "query",
};

Status Malformed(std::string_view what) {
  return MakeAuthError(wire::AuthErrorDetail::FORMAT_DESERIALIZATION, what);
}

class Decoder {
 public:
  Decoder(const SymbolTable& symbols, const PublicKeyTable& keys)
      : symbols_(symbols), keys_(keys) {}

  StatusOr<Term> DecodeTerm(const wire::Term& term) {
    switch (term.content_case()) {
      case wire::Term::kVariable: {
        ASSIGN_OR_RETURN(std::string name, symbols_.Lookup(term.variable()));
        return Term::Variable(std::move(name));
      }
      case wire::Term::kInteger:
        return Term::Integer(term.integer());
      case wire::Term::kString: {
        ASSIGN_OR_RETURN(std::string text, symbols_.Lookup(term.string()));
        return Term::String(std::move(text));
      }
      case wire::Term::kDate:
        return Term::Date(term.date());
      case wire::Term::kBytes:
        return Term::Bytes(term.bytes());
      case wire::Term::kBoolean:
        return Term::Bool(term.boolean());
      case wire::Term::kSet: {
        std::vector<Term> items;
        for (const wire::Term& item : term.set().items()) {
          ASSIGN_OR_RETURN(Term t, DecodeTerm(item));
          if (t.kind == TermKind::kVariable || t.kind == TermKind::kSet) {
            return Malformed("sets cannot contain variables or sets");
          }
          items.push_back(std::move(t));
        }
        return Term::Set(std::move(items));
      }
      case wire::Term::kNull:
        return Term::Null();
      case wire::Term::kArray: {
        std::vector<Term> items;
        for (const wire::Term& item : term.array().items()) {
          ASSIGN_OR_RETURN(Term t, DecodeTerm(item));
          if (t.kind == TermKind::kVariable) {
            return Malformed("arrays cannot contain variables");
          }
          items.push_back(std::move(t));
        }
        return Term::Array(std::move(items));
      }
      case wire::Term::kMap: {
        std::vector<std::pair<Term, Term>> entries;
        for (const wire::MapEntry& entry : term.map().entries()) {
          Term key;
          if (entry.key().content_case() == wire::MapKey::kInteger) {
            key = Term::Integer(entry.key().integer());
          } else if (entry.key().content_case() == wire::MapKey::kString) {
            ASSIGN_OR_RETURN(std::string text, symbols_.Lookup(entry.key().string()));
            key = Term::String(std::move(text));
          } else {
            return Malformed("map key without content");
          }
          ASSIGN_OR_RETURN(Term value, DecodeTerm(entry.value()));
          if (value.kind == TermKind::kVariable) {
            return Malformed("maps cannot hold variables");
          }
          entries.emplace_back(std::move(key), std::move(value));
        }
        return Term::Map(std::move(entries));
      }
      case wire::Term::CONTENT_NOT_SET:
        break;
    }
    return Malformed("term without content");
  }

  StatusOr<Predicate> DecodePredicate(const wire::Predicate& predicate) {
    Predicate out;
    ASSIGN_OR_RETURN(out.name, symbols_.Lookup(predicate.name()));
    for (const wire::Term& term : predicate.terms()) {
      ASSIGN_OR_RETURN(Term t, DecodeTerm(term));
      out.terms.push_back(std::move(t));
    }
    return out;
  }

  StatusOr<std::vector<Op>> DecodeOps(const google::protobuf::RepeatedPtrField<wire::Op>& ops) {
    std::vector<Op> out;
    for (const wire::Op& op : ops) {
      Op decoded;
      switch (op.content_case()) {
        case wire::Op::kValue: {
          decoded.kind = Op::Kind::kValue;
          ASSIGN_OR_RETURN(decoded.value, DecodeTerm(op.value()));
          break;
        }
        case wire::Op::kUnary: {
          decoded.kind = Op::Kind::kUnary;
          decoded.unary = static_cast<UnaryKind>(op.unary().kind());
          if (decoded.unary == UnaryKind::kFfi) {
            if (!op.unary().has_ffi_name()) {
              return Malformed("extern call without a name");
            }
            ASSIGN_OR_RETURN(decoded.ffi_name, symbols_.Lookup(op.unary().ffi_name()));
          }
          break;
        }
        case wire::Op::kBinary: {
          decoded.kind = Op::Kind::kBinary;
          decoded.binary = static_cast<BinaryKind>(op.binary().kind());
          if (decoded.binary == BinaryKind::kFfi) {
            if (!op.binary().has_ffi_name()) {
              return Malformed("extern call without a name");
            }
            ASSIGN_OR_RETURN(decoded.ffi_name, symbols_.Lookup(op.binary().ffi_name()));
          }
          break;
        }
        case wire::Op::kClosure: {
          decoded.kind = Op::Kind::kClosure;
          for (uint32_t param : op.closure().params()) {
            ASSIGN_OR_RETURN(std::string name, symbols_.Lookup(param));
            decoded.params.push_back(std::move(name));
          }
          ASSIGN_OR_RETURN(decoded.body, DecodeOps(op.closure().ops()));
          break;
        }
        case wire::Op::CONTENT_NOT_SET:
          return Malformed("expression operation without content");
      }
      out.push_back(std::move(decoded));
    }
    return out;
  }

  StatusOr<std::vector<Scope>> DecodeScopes(
      const google::protobuf::RepeatedPtrField<wire::Scope>& scopes) {
    std::vector<Scope> out;
    for (const wire::Scope& scope : scopes) {
      Scope decoded;
      if (scope.content_case() == wire::Scope::kScopeType) {
        decoded.kind = scope.scope_type() == wire::Scope::PREVIOUS ? Scope::Kind::kPrevious
                                                                   : Scope::Kind::kAuthority;
      } else if (scope.content_case() == wire::Scope::kPublicKey) {
        decoded.kind = Scope::Kind::kPublicKey;
        ASSIGN_OR_RETURN(decoded.key, keys_.Lookup(scope.public_key()));
      } else {
        return Malformed("scope without content");
      }
      out.push_back(std::move(decoded));
    }
    return out;
  }

  StatusOr<Rule> DecodeRule(const wire::Rule& rule) {
    Rule out;
    ASSIGN_OR_RETURN(out.head, DecodePredicate(rule.head()));
    for (const wire::Predicate& p : rule.body()) {
      ASSIGN_OR_RETURN(Predicate decoded, DecodePredicate(p));
      out.body.push_back(std::move(decoded));
    }
    for (const wire::Expression& e : rule.expressions()) {
      ASSIGN_OR_RETURN(Expression decoded, DecodeOps(e.ops()));
      RETURN_IF_ERROR(ValidateExpression(decoded));
      out.expressions.push_back(std::move(decoded));
    }
    ASSIGN_OR_RETURN(out.scopes, DecodeScopes(rule.scopes()));
    return out;
  }

 private:
  const SymbolTable& symbols_;
  const PublicKeyTable& keys_;
};

class Encoder {
 public:
  Encoder(SymbolTable* symbols, PublicKeyTable* keys) : symbols_(symbols), keys_(keys) {}

  void EncodeTerm(const Term& term, wire::Term* out) {
    switch (term.kind) {
      case TermKind::kVariable:
        out->set_variable(static_cast<uint32_t>(symbols_->Intern(term.text)));
        break;
      case TermKind::kInteger:
        out->set_integer(term.number);
        break;
      case TermKind::kString:
        out->set_string(symbols_->Intern(term.text));
        break;
      case TermKind::kDate:
        out->set_date(term.date());
        break;
      case TermKind::kBytes:
        out->set_bytes(term.text);
        break;
      case TermKind::kBool:
        out->set_boolean(term.boolean());
        break;
      case TermKind::kNull:
        out->mutable_null();
        break;
      case TermKind::kSet:
        for (const Term& item : term.items) {
          EncodeTerm(item, out->mutable_set()->add_items());
        }
        out->mutable_set();
        break;
      case TermKind::kArray:
        for (const Term& item : term.items) {
          EncodeTerm(item, out->mutable_array()->add_items());
        }
        out->mutable_array();
        break;
      case TermKind::kMap:
        out->mutable_map();
        for (size_t i = 0; i + 1 < term.items.size(); i += 2) {
          wire::MapEntry* entry = out->mutable_map()->add_entries();
          const Term& key = term.items[i];
          if (key.kind == TermKind::kInteger) {
            entry->mutable_key()->set_integer(key.number);
          } else {
            entry->mutable_key()->set_string(symbols_->Intern(key.text));
          }
          EncodeTerm(term.items[i + 1], entry->mutable_value());
        }
        break;
    }
  }

  void EncodePredicate(const Predicate& predicate, wire::Predicate* out) {
    out->set_name(symbols_->Intern(predicate.name));
    for (const Term& term : predicate.terms) {
      EncodeTerm(term, out->add_terms());
    }
  }

  void EncodeOps(const std::vector<Op>& ops, google::protobuf::RepeatedPtrField<wire::Op>* out) {
    for (const Op& op : ops) {
      wire::Op* encoded = out->Add();
      switch (op.kind) {
        case Op::Kind::kValue:
          EncodeTerm(op.value, encoded->mutable_value());
          break;
        case Op::Kind::kUnary:
          encoded->mutable_unary()->set_kind(static_cast<wire::UnaryOp::Kind>(op.unary));
          if (op.unary == UnaryKind::kFfi) {
            encoded->mutable_unary()->set_ffi_name(symbols_->Intern(op.ffi_name));
          }
          break;
        case Op::Kind::kBinary:
          encoded->mutable_binary()->set_kind(static_cast<wire::BinaryOp::Kind>(op.binary));
          if (op.binary == BinaryKind::kFfi) {
            encoded->mutable_binary()->set_ffi_name(symbols_->Intern(op.ffi_name));
          }
          break;
        case Op::Kind::kClosure:
          for (const std::string& param : op.params) {
            encoded->mutable_closure()->add_params(static_cast<uint32_t>(symbols_->Intern(param)));
          }
          EncodeOps(op.body, encoded->mutable_closure()->mutable_ops());
          break;
      }
    }
  }

  void EncodeScopes(const std::vector<Scope>& scopes,
                    google::protobuf::RepeatedPtrField<wire::Scope>* out) {
    for (const Scope& scope : scopes) {
      wire::Scope* encoded = out->Add();
      switch (scope.kind) {
        case Scope::Kind::kAuthority:
          encoded->set_scope_type(wire::Scope::AUTHORITY);
          break;
        case Scope::Kind::kPrevious:
          encoded->set_scope_type(wire::Scope::PREVIOUS);
          break;
        case Scope::Kind::kPublicKey:
          encoded->set_public_key(keys_->Intern(scope.key));
          break;
      }
    }
  }

  void EncodeRule(const Rule& rule, wire::Rule* out) {
    EncodePredicate(rule.head, out->mutable_head());
    for (const Predicate& p : rule.body) {
      EncodePredicate(p, out->add_body());
    }
    for (const Expression& e : rule.expressions) {
      EncodeOps(e, out->add_expressions()->mutable_ops());
    }
    EncodeScopes(rule.scopes, out->mutable_scopes());
  }

 private:
  SymbolTable* symbols_;
  PublicKeyTable* keys_;
};

}  // namespace

StatusOr<std::string> SymbolTable::Lookup(uint64_t index) const {
  if (index < kDefaultSymbols.size()) {
    return std::string(kDefaultSymbols[index]);
  }
  if (index >= kFirstCustomIndex && index - kFirstCustomIndex < custom_.size()) {
    return custom_[index - kFirstCustomIndex];
  }
  return Malformed("unknown symbol index " + std::to_string(index));
}

uint64_t SymbolTable::Intern(std::string_view symbol) {
  for (size_t i = 0; i < kDefaultSymbols.size(); ++i) {
    if (kDefaultSymbols[i] == symbol) {
      return i;
    }
  }
  for (size_t i = 0; i < custom_.size(); ++i) {
    if (custom_[i] == symbol) {
      return kFirstCustomIndex + i;
    }
  }
  custom_.emplace_back(symbol);
  return kFirstCustomIndex + custom_.size() - 1;
}

void SymbolTable::Append(const std::vector<std::string>& symbols) {
  custom_.insert(custom_.end(), symbols.begin(), symbols.end());
}

StatusOr<PublicKey> PublicKeyTable::Lookup(int64_t index) const {
  if (index < 0 || static_cast<uint64_t>(index) >= keys_.size()) {
    return Malformed("unknown public key index " + std::to_string(index));
  }
  return keys_[static_cast<size_t>(index)];
}

int64_t PublicKeyTable::Intern(const PublicKey& key) {
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) {
      return static_cast<int64_t>(i);
    }
  }
  keys_.push_back(key);
  return static_cast<int64_t>(keys_.size() - 1);
}

void PublicKeyTable::Append(const std::vector<PublicKey>& keys) {
  keys_.insert(keys_.end(), keys.begin(), keys.end());
}

PublicKey PublicKeyFromWire(const wire::PublicKey& key) {
  return PublicKey{static_cast<Algorithm>(key.algorithm()), key.key()};
}

wire::PublicKey PublicKeyToWire(const PublicKey& key) {
  wire::PublicKey out;
  out.set_algorithm(static_cast<wire::PublicKey::Algorithm>(key.algorithm));
  out.set_key(key.bytes);
  return out;
}

StatusOr<BlockContent> DecodeBlock(const wire::Block& block, const SymbolTable& symbols,
                                   const PublicKeyTable& keys) {
  uint32_t version = block.version();
  if (version < kMinDatalogVersion || version > kMaxDatalogVersion) {
    return MakeAuthError(wire::AuthErrorDetail::FORMAT_VERSION,
                         "Datalog version " + std::to_string(version) +
                             " is outside the supported range 3..6 (v3.0..v3.3)");
  }
  Decoder decoder(symbols, keys);
  BlockContent content;
  content.context = block.context();
  for (const wire::Fact& fact : block.facts()) {
    ASSIGN_OR_RETURN(Predicate p, decoder.DecodePredicate(fact.predicate()));
    for (const Term& t : p.terms) {
      if (!t.IsGround()) {
        return Malformed("facts cannot contain variables");
      }
    }
    content.facts.push_back(std::move(p));
  }
  for (const wire::Rule& rule : block.rules()) {
    ASSIGN_OR_RETURN(Rule r, decoder.DecodeRule(rule));
    content.rules.push_back(std::move(r));
  }
  for (const wire::Check& check : block.checks()) {
    // An unknown kind lands in the unknown fields (proto2); reading it as the default
    // `check if` would silently weaken the check.
    if (!check.unknown_fields().empty()) {
      return Malformed("unknown check kind");
    }
    Check c;
    switch (check.kind()) {
      case wire::Check::IF:
        c.kind = Check::Kind::kIf;
        break;
      case wire::Check::ALL:
        c.kind = Check::Kind::kAll;
        break;
      case wire::Check::REJECT:
        c.kind = Check::Kind::kReject;
        break;
    }
    for (const wire::Rule& query : check.queries()) {
      ASSIGN_OR_RETURN(Rule q, decoder.DecodeRule(query));
      c.queries.push_back(std::move(q));
    }
    content.checks.push_back(std::move(c));
  }
  ASSIGN_OR_RETURN(content.scopes, decoder.DecodeScopes(block.scopes()));
  // Features are tied to versions (e.g. `reject if` needs v3.3): a block must declare a
  // version that has everything it uses.
  const uint32_t needed = RequiredVersion(content, /*has_external_signature=*/false);
  if (version < needed) {
    return MakeAuthError(wire::AuthErrorDetail::FORMAT_VERSION,
                         "block declares Datalog version " + std::to_string(version) +
                             " but uses features of version " + std::to_string(needed));
  }
  return content;
}

wire::Block EncodeBlock(const BlockContent& content, uint32_t version, SymbolTable* symbols,
                        PublicKeyTable* keys) {
  const size_t first_symbol = symbols->custom().size();
  const size_t first_key = keys->keys().size();
  Encoder encoder(symbols, keys);
  wire::Block block;
  if (!content.context.empty()) {
    block.set_context(content.context);
  }
  block.set_version(version);
  for (const Predicate& fact : content.facts) {
    encoder.EncodePredicate(fact, block.add_facts()->mutable_predicate());
  }
  for (const Rule& rule : content.rules) {
    encoder.EncodeRule(rule, block.add_rules());
  }
  for (const Check& check : content.checks) {
    wire::Check* encoded = block.add_checks();
    switch (check.kind) {
      case Check::Kind::kIf:
        encoded->set_kind(wire::Check::IF);
        break;
      case Check::Kind::kAll:
        encoded->set_kind(wire::Check::ALL);
        break;
      case Check::Kind::kReject:
        encoded->set_kind(wire::Check::REJECT);
        break;
    }
    for (const Rule& query : check.queries) {
      encoder.EncodeRule(query, encoded->add_queries());
    }
  }
  encoder.EncodeScopes(content.scopes, block.mutable_scopes());
  for (size_t i = first_symbol; i < symbols->custom().size(); ++i) {
    block.add_symbols(symbols->custom()[i]);
  }
  for (size_t i = first_key; i < keys->keys().size(); ++i) {
    *block.add_public_keys() = PublicKeyToWire(keys->keys()[i]);
  }
  return block;
}

}  // namespace recordstore::auth
