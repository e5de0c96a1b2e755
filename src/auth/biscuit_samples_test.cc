// Conformance against the official Biscuit samples (testdata/samples.json and the
// testNNN_*.bc tokens, copied from the Biscuit specification repository; see
// testdata/LICENSE). For every validation of every sample, the token is parsed and verified
// with the sample root key, the validation's authorizer code is run against it, and the test
// compares with what samples.json records: the result (Ok with the policy index, or the error
// class and its structured detail), the world (facts per origin, rules, checks, policies) and
// the revocation ids. Everything is computed from the token bytes; samples.json only supplies
// expectations.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "auth/biscuit.h"
#include "auth/error.h"
#include "auth/parser.h"

namespace recordstore::auth {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

const Struct& Samples() {
  static const Struct* samples = [] {
    auto* parsed = new Struct();
    auto status = google::protobuf::util::JsonStringToMessage(
        ReadFile(std::string(RS_AUTH_TESTDATA) + "/samples.json"), parsed);
    if (!status.ok()) {
      ADD_FAILURE() << "cannot parse samples.json: " << status.ToString();
    }
    return parsed;
  }();
  return *samples;
}

struct Case {
  std::string name;  // "<file stem>/<validation index>", a stable id for the failure list
  std::string filename;
  std::string validation;
  const Struct* expected = nullptr;
};

// Names the case in gtest output instead of dumping its bytes.
void PrintTo(const Case& c, std::ostream* out) { *out << c.name; }

std::vector<Case> AllCases() {
  std::vector<Case> cases;
  for (const Value& testcase : Samples().fields().at("testcases").list_value().values()) {
    const auto& fields = testcase.struct_value().fields();
    std::string filename = fields.at("filename").string_value();
    std::string stem = filename.substr(0, filename.find('.'));
    // samples.json keeps validations in an object; protobuf's Struct map is unordered, so
    // sort by validation name for stable test names.
    std::vector<std::string> names;
    for (const auto& [name, value] : fields.at("validations").struct_value().fields()) {
      names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    for (size_t i = 0; i < names.size(); ++i) {
      cases.push_back(
          Case{stem + "_v" + std::to_string(i), filename, names[i],
               &fields.at("validations").struct_value().fields().at(names[i]).struct_value()});
    }
  }
  return cases;
}

// Validations that do not pass yet. Each must still fail (so that the list cannot rot) and
// the report explains why.
const std::set<std::string>& ExpectedFailures() {
  static const std::set<std::string> failures = {};
  return failures;
}

uint64_t OriginId(const Value& value) {
  if (value.kind_case() == Value::kNullValue) {
    return kAuthorizerBlockId;
  }
  double number = value.number_value();
  return number >= 1.8e19 ? kAuthorizerBlockId : static_cast<uint64_t>(number);
}

const char* KindName(AuthErrorKind kind) { return wire::AuthErrorDetail::Kind_Name(kind).c_str(); }

// Appends to `problems` how the failed checks differ from the expected list.
void CompareFailedChecks(const ListValue& expected, const wire::AuthErrorDetail& actual,
                         std::vector<std::string>* problems) {
  std::vector<std::string> want, got;
  for (const Value& check : expected.values()) {
    const auto& fields = check.struct_value().fields();
    if (fields.contains("Block")) {
      const auto& block = fields.at("Block").struct_value().fields();
      want.push_back(
          "block " + std::to_string(static_cast<int>(block.at("block_id").number_value())) +
          " check " + std::to_string(static_cast<int>(block.at("check_id").number_value())) + ": " +
          block.at("rule").string_value());
    } else {
      const auto& authorizer = fields.at("Authorizer").struct_value().fields();
      want.push_back("authorizer check " +
                     std::to_string(static_cast<int>(authorizer.at("check_id").number_value())) +
                     ": " + authorizer.at("rule").string_value());
    }
  }
  for (const auto& check : actual.failed_checks()) {
    got.push_back((check.has_block_id() ? "block " + std::to_string(check.block_id()) + " check "
                                        : std::string("authorizer check ")) +
                  std::to_string(check.check_id()) + ": " + check.rule());
  }
  if (want != got) {
    std::string message = "failed checks differ; expected:";
    for (const auto& w : want) {
      message += "\n    " + w;
    }
    message += "\n  got:";
    for (const auto& g : got) {
      message += "\n    " + g;
    }
    problems->push_back(message);
  }
}

// Compares an error status with the expected "Err" object.
void CompareError(const Struct& expected_err, const Status& status,
                  std::vector<std::string>* problems) {
  auto detail = GetAuthErrorDetail(status);
  if (!detail.has_value()) {
    problems->push_back("error without AuthErrorDetail: " + status.ToString());
    return;
  }
  const auto& err = expected_err.fields();
  auto want_kind = [&](AuthErrorKind kind) {
    if (detail->kind() != kind) {
      problems->push_back(std::string("expected ") + KindName(kind) + ", got " + status.ToString());
      return false;
    }
    return true;
  };
  if (err.contains("Format")) {
    const Value& format = err.at("Format");
    std::string what = format.kind_case() == Value::kStringValue
                           ? format.string_value()
                           : format.struct_value().fields().begin()->first;
    if (what == "Signature") {
      const auto& signature = format.struct_value().fields().at("Signature");
      std::string inner = signature.kind_case() == Value::kStringValue
                              ? signature.string_value()
                              : signature.struct_value().fields().begin()->first;
      want_kind(inner == "InvalidSignatureGeneration"
                    ? wire::AuthErrorDetail::FORMAT_SIGNATURE_DESERIALIZATION
                    : wire::AuthErrorDetail::FORMAT_INVALID_SIGNATURE);
    } else if (what == "BlockSignatureDeserializationError" ||
               what == "SignatureDeserializationError" || what == "InvalidKey" ||
               what == "InvalidKeySize" || what == "InvalidSignatureSize") {
      want_kind(wire::AuthErrorDetail::FORMAT_SIGNATURE_DESERIALIZATION);
    } else if (what == "Version") {
      want_kind(wire::AuthErrorDetail::FORMAT_VERSION);
    } else {
      want_kind(wire::AuthErrorDetail::FORMAT_DESERIALIZATION);
    }
  } else if (err.contains("Execution")) {
    if (want_kind(wire::AuthErrorDetail::EXECUTION) &&
        detail->detail() != err.at("Execution").string_value()) {
      problems->push_back("expected Execution " + err.at("Execution").string_value() + ", got " +
                          detail->detail());
    }
  } else if (err.contains("RunLimit")) {
    want_kind(wire::AuthErrorDetail::RUN_LIMIT);
  } else if (err.contains("FailedLogic")) {
    const auto& logic = err.at("FailedLogic").struct_value().fields();
    if (logic.contains("Unauthorized")) {
      if (!want_kind(wire::AuthErrorDetail::UNAUTHORIZED)) {
        return;
      }
      const auto& unauthorized = logic.at("Unauthorized").struct_value().fields();
      const auto& policy = unauthorized.at("policy").struct_value().fields();
      bool allow = policy.contains("Allow");
      uint32_t index = static_cast<uint32_t>(policy.begin()->second.number_value());
      if (detail->policy_is_allow() != allow || detail->policy_index() != index) {
        problems->push_back("matched policy differs");
      }
      CompareFailedChecks(unauthorized.at("checks").list_value(), *detail, problems);
    } else if (logic.contains("NoMatchingPolicy")) {
      if (!want_kind(wire::AuthErrorDetail::NO_MATCHING_POLICY)) {
        return;
      }
      CompareFailedChecks(
          logic.at("NoMatchingPolicy").struct_value().fields().at("checks").list_value(), *detail,
          problems);
    } else if (logic.contains("InvalidBlockRule")) {
      if (!want_kind(wire::AuthErrorDetail::INVALID_BLOCK_RULE)) {
        return;
      }
      // The reference implementation reports block id 0 whatever the block; we report the
      // real block, so only the rule text is compared.
      const auto& values = logic.at("InvalidBlockRule").list_value().values();
      if (detail->rule() != values[1].string_value()) {
        problems->push_back("invalid rule differs: " + detail->rule());
      }
    } else {
      problems->push_back("unknown FailedLogic class in samples.json");
    }
  } else {
    problems->push_back("unknown error class in samples.json");
  }
}

void CompareWorld(const Struct& expected, const WorldSnapshot& actual,
                  std::vector<std::string>* problems) {
  const auto& fields = expected.fields();
  std::map<Origin, std::set<std::string>> want_facts;
  for (const Value& group : fields.at("facts").list_value().values()) {
    const auto& g = group.struct_value().fields();
    Origin origin;
    for (const Value& id : g.at("origin").list_value().values()) {
      origin.push_back(OriginId(id));
    }
    std::sort(origin.begin(), origin.end());
    for (const Value& fact : g.at("facts").list_value().values()) {
      want_facts[origin].insert(fact.string_value());
    }
  }
  if (want_facts != actual.facts) {
    std::string message = "facts differ; got:";
    for (const auto& [origin, facts] : actual.facts) {
      message += "\n  origin";
      for (uint64_t id : origin) {
        message.append(" ").append(std::to_string(id));
      }
      for (const auto& f : facts) {
        message.append("\n    ").append(f);
      }
    }
    problems->push_back(message);
  }
  auto tagged = [](const ListValue& groups, const char* key) {
    std::multiset<std::pair<uint64_t, std::string>> out;
    for (const Value& group : groups.values()) {
      const auto& g = group.struct_value().fields();
      for (const Value& text : g.at(key).list_value().values()) {
        out.emplace(OriginId(g.at("origin")), text.string_value());
      }
    }
    return out;
  };
  auto as_set = [](const std::vector<std::pair<uint64_t, std::string>>& v) {
    return std::multiset<std::pair<uint64_t, std::string>>(v.begin(), v.end());
  };
  auto describe = [](const std::multiset<std::pair<uint64_t, std::string>>& items) {
    std::string out;
    for (const auto& [origin, text] : items) {
      out += "\n    " + std::to_string(origin) + ": " + text;
    }
    return out;
  };
  auto want_rules = tagged(fields.at("rules").list_value(), "rules");
  if (want_rules != as_set(actual.rules)) {
    problems->push_back("rules differ; expected:" + describe(want_rules) +
                        "\n  got:" + describe(as_set(actual.rules)));
  }
  auto want_checks = tagged(fields.at("checks").list_value(), "checks");
  if (want_checks != as_set(actual.checks)) {
    problems->push_back("checks differ; expected:" + describe(want_checks) +
                        "\n  got:" + describe(as_set(actual.checks)));
  }
  std::vector<std::string> want_policies;
  for (const Value& p : fields.at("policies").list_value().values()) {
    want_policies.push_back(p.string_value());
  }
  if (want_policies != actual.policies) {
    problems->push_back("policies differ");
  }
}

// Host function for test035: `x.extern::test()` returns x, `a.extern::test(b)` says whether
// two strings are equal.
StatusOr<Term> ExternTest(const Term& left, const Term* right) {
  if (right == nullptr) {
    return left;
  }
  if (left.kind == TermKind::kString && right->kind == TermKind::kString) {
    return Term::String(left.text == right->text ? "equal strings" : "different strings");
  }
  return MakeError(ErrorCode::kInvalidArgument, "extern::test expects strings");
}

// Runs one validation and returns every difference from samples.json.
std::vector<std::string> RunCase(const Case& c) {
  std::vector<std::string> problems;
  const auto& expected = c.expected->fields();
  const std::string root_hex = Samples().fields().at("root_public_key").string_value();
  auto root_bytes = HexDecode(root_hex);
  if (!root_bytes.ok()) {
    return {"bad root key in samples.json"};
  }
  PublicKey root{Algorithm::kEd25519, *root_bytes};

  const auto& result = expected.at("result").struct_value().fields();
  std::vector<std::string> revocation_ids;
  StatusOr<Biscuit> token =
      Biscuit::FromBytes(ReadFile(std::string(RS_AUTH_TESTDATA) + "/" + c.filename), root);
  if (!token.ok()) {
    if (!result.contains("Err")) {
      return {"token rejected: " + token.status().ToString()};
    }
    CompareError(result.at("Err").struct_value(), token.status(), &problems);
  } else {
    for (const std::string& id : token->RevocationIds()) {
      revocation_ids.push_back(HexEncode(id));
    }
    Authorizer authorizer;
    authorizer.SetToken(*token);
    authorizer.RegisterExtern("test", ExternTest);
    // The reference limits, with more time: this machine is shared and the check is about
    // semantics, not speed.
    authorizer.SetLimits(RunLimits{.max_time = std::chrono::seconds(5)});
    Status added = authorizer.AddCode(expected.at("authorizer_code").string_value());
    if (!added.ok()) {
      return {"authorizer code rejected: " + added.ToString()};
    }
    StatusOr<size_t> outcome = authorizer.Authorize();
    if (result.contains("Ok")) {
      if (!outcome.ok()) {
        problems.push_back("expected Ok, got " + outcome.status().ToString());
      } else if (*outcome != static_cast<size_t>(result.at("Ok").number_value())) {
        problems.push_back("matched a different allow policy: " + std::to_string(*outcome));
      }
    } else if (outcome.ok()) {
      problems.push_back("expected an error, got Ok");
    } else {
      CompareError(result.at("Err").struct_value(), outcome.status(), &problems);
    }
    if (expected.at("world").kind_case() == Value::kStructValue) {
      CompareWorld(expected.at("world").struct_value(), authorizer.snapshot(), &problems);
    }
  }
  std::vector<std::string> want_ids;
  for (const Value& id : expected.at("revocation_ids").list_value().values()) {
    want_ids.push_back(id.string_value());
  }
  if (want_ids != revocation_ids) {
    problems.push_back("revocation ids differ");
  }
  return problems;
}

class BiscuitSamplesTest : public testing::TestWithParam<Case> {};

TEST_P(BiscuitSamplesTest, MatchesSample) {
  const Case& c = GetParam();
  std::vector<std::string> problems = RunCase(c);
  std::string report;
  for (const auto& p : problems) {
    report += "\n  " + p;
  }
  if (ExpectedFailures().contains(c.name)) {
    EXPECT_FALSE(problems.empty()) << c.name << " now passes: remove it from ExpectedFailures()";
  } else {
    EXPECT_TRUE(problems.empty()) << c.filename << " validation '" << c.validation
                                  << "':" << report;
  }
}

INSTANTIATE_TEST_SUITE_P(Samples, BiscuitSamplesTest, testing::ValuesIn(AllCases()),
                         [](const testing::TestParamInfo<Case>& info) { return info.param.name; });

// For every sample token that verifies, each block decodes to what samples.json lists: its
// Datalog printed in canonical form, its version, symbols, public keys and external key; and
// parsing that code back and printing it again gives the same text. Tokens whose verification
// must fail (test002..test006) are covered by MatchesSample instead.
TEST(BiscuitSampleTokens, BlocksDecodeAndPrintAsListed) {
  auto root_bytes = HexDecode(Samples().fields().at("root_public_key").string_value());
  ASSERT_TRUE(root_bytes.ok());
  PublicKey root{Algorithm::kEd25519, *root_bytes};
  size_t verified = 0;
  for (const Value& testcase : Samples().fields().at("testcases").list_value().values()) {
    const auto& fields = testcase.struct_value().fields();
    const std::string filename = fields.at("filename").string_value();
    SCOPED_TRACE(filename);
    StatusOr<Biscuit> token =
        Biscuit::FromBytes(ReadFile(std::string(RS_AUTH_TESTDATA) + "/" + filename), root);
    if (!token.ok()) {
      continue;
    }
    ++verified;
    const auto& blocks = fields.at("token").list_value().values();
    ASSERT_EQ(token->blocks().size(), static_cast<size_t>(blocks.size()));
    for (int i = 0; i < blocks.size(); ++i) {
      SCOPED_TRACE("block " + std::to_string(i));
      const auto& want = blocks[i].struct_value().fields();
      const TokenBlock& got = token->blocks()[i];
      const std::string code = want.at("code").string_value();
      EXPECT_EQ(ToString(got.content), code);
      EXPECT_EQ(got.version, static_cast<uint32_t>(want.at("version").number_value()));
      std::vector<std::string> symbols;
      for (const Value& s : want.at("symbols").list_value().values()) {
        symbols.push_back(s.string_value());
      }
      EXPECT_EQ(got.symbols, symbols);
      std::vector<std::string> keys;
      for (const Value& k : want.at("public_keys").list_value().values()) {
        keys.push_back(k.string_value());
      }
      std::vector<std::string> got_keys;
      for (const PublicKey& k : got.public_keys) {
        got_keys.push_back(k.ToString());
      }
      EXPECT_EQ(got_keys, keys);
      const Value& external = want.at("external_key");
      if (external.kind_case() == Value::kNullValue) {
        EXPECT_FALSE(got.external_key.has_value());
      } else {
        ASSERT_TRUE(got.external_key.has_value());
        EXPECT_EQ(got.external_key->ToString(), external.string_value());
      }
      StatusOr<BlockContent> reparsed = ParseBlock(code);
      const bool invents_variables =
          std::any_of(got.content.rules.begin(), got.content.rules.end(),
                      [](const Rule& rule) { return !RuleVariablesAreBound(rule); });
      if (invents_variables) {
        // test018 carries such a rule on purpose; our parser refuses to write one.
        EXPECT_TRUE(HasAuthErrorKind(reparsed.status(), wire::AuthErrorDetail::PARSE));
        continue;
      }
      ASSERT_TRUE(reparsed.ok()) << reparsed.status();
      EXPECT_EQ(ToString(*reparsed), code);
    }
  }
  // 38 tokens, of which test002..test006 must fail verification.
  EXPECT_EQ(verified, 33u);
}

// Guards against losing cases: samples.json holds 38 tokens and 50 validations.
TEST(BiscuitSamplesCoverage, EveryValidationIsRun) {
  EXPECT_EQ(Samples().fields().at("testcases").list_value().values_size(), 38);
  EXPECT_EQ(AllCases().size(), 50u);
  size_t passing = 0;
  for (const Case& c : AllCases()) {
    passing += RunCase(c).empty();
  }
  EXPECT_EQ(passing, AllCases().size() - ExpectedFailures().size());
  std::cout << "Biscuit samples passing: " << passing << "/" << AllCases().size() << "\n";
}

}  // namespace
}  // namespace recordstore::auth
