#include "cursor/continuation.h"

#include <utility>

#include "cursor/continuation.pb.h"

namespace recordstore::cursor {
namespace {

Status Invalid(std::string_view why) { return MakeError(ErrorCode::kInvalidContinuation, why); }

void ToProto(const Continuation& c, proto::CursorState* out) {
  if (c.is_start()) return;
  if (c.is_end()) {
    out->set_end(true);
    return;
  }
  out->set_kind(static_cast<proto::CursorKind>(c.kind()));
  out->set_key(c.key());
  out->set_number(c.number());
  out->set_check(c.check());
  for (const Continuation& child : c.children()) ToProto(child, out->add_children());
}

bool HasUnknownFields(const google::protobuf::Message& message) {
  return message.GetReflection()->GetUnknownFields(message).field_count() != 0;
}

StatusOr<Continuation> FromProto(const proto::CursorState& state) {
  if (HasUnknownFields(state)) return Invalid("the cursor state has unknown fields");
  bool has_position_fields = !state.key().empty() || state.number() != 0 || state.check() != 0 ||
                             state.children_size() != 0;
  if (state.kind() == proto::CURSOR_KIND_UNSPECIFIED) {
    if (has_position_fields) return Invalid("a start or end position carries position fields");
    return state.end() ? Continuation::End() : Continuation::Start();
  }
  if (state.end()) return Invalid("a position is marked both as a cursor kind and as the end");
  if (!proto::CursorKind_IsValid(state.kind())) {
    return Invalid("unknown cursor kind " + std::to_string(state.kind()));
  }
  std::vector<Continuation> children;
  children.reserve(state.children_size());
  for (const proto::CursorState& child : state.children()) {
    StatusOr<Continuation> parsed = FromProto(child);
    if (!parsed.ok()) return parsed.status();
    children.push_back(*std::move(parsed));
  }
  return Continuation::At(static_cast<CursorKind>(state.kind()), state.key(), state.number(),
                          state.check(), std::move(children));
}

std::string Serialize(const google::protobuf::Message& message) {
  std::string out;
  message.SerializeToString(&out);
  return out;
}

}  // namespace

std::string_view CursorKindName(CursorKind kind) {
  switch (kind) {
    case CursorKind::kKeyValue:
      return "key_value";
    case CursorKind::kLimit:
      return "limit";
    case CursorKind::kSkip:
      return "skip";
    case CursorKind::kUnion:
      return "union";
    case CursorKind::kIntersection:
      return "intersection";
    case CursorKind::kConcat:
      return "concat";
    case CursorKind::kFlatMap:
      return "flat_map";
  }
  return "unknown";
}

uint64_t Fingerprint64(std::string_view bytes, uint64_t seed) {
  uint64_t hash = seed;
  for (char c : bytes) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

Continuation Continuation::End() {
  Continuation c;
  c.position_ = Position::kEnd;
  return c;
}

std::string Continuation::ToBytes() const {
  if (is_start()) return "";
  proto::CursorState state;
  ToProto(*this, &state);
  proto::ContinuationEnvelope envelope;
  envelope.set_format_version(kContinuationFormatVersion);
  envelope.set_state(Serialize(state));
  envelope.set_checksum(Fingerprint64(envelope.state()));
  return Serialize(envelope);
}

StatusOr<Continuation> Continuation::FromBytes(std::string_view bytes) {
  if (bytes.empty()) return Start();
  proto::ContinuationEnvelope envelope;
  if (!envelope.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Invalid("the bytes are not a continuation envelope");
  }
  // Only the exact bytes ToBytes writes are accepted: this refuses unknown fields, repeated
  // or reordered fields and any other encoding that parses but was not written by us.
  if (HasUnknownFields(envelope) || Serialize(envelope) != bytes) {
    return Invalid("the bytes are not in the form continuations are written in");
  }
  if (envelope.format_version() != kContinuationFormatVersion) {
    return Invalid("format version " + std::to_string(envelope.format_version()) +
                   " is not the supported version " + std::to_string(kContinuationFormatVersion));
  }
  if (envelope.checksum() != Fingerprint64(envelope.state())) {
    return Invalid("checksum mismatch: the continuation was altered or truncated");
  }
  proto::CursorState state;
  if (!state.ParseFromString(envelope.state()) || Serialize(state) != envelope.state()) {
    return Invalid("the cursor state does not parse");
  }
  if (state.kind() == proto::CURSOR_KIND_UNSPECIFIED && !state.end()) {
    return Invalid("an envelope holds the start position, which is written as no bytes");
  }
  return FromProto(state);
}

Status Continuation::ExpectKind(CursorKind kind, size_t children) const {
  if (is_start() || is_end()) return absl::OkStatus();
  if (kind_ != kind) {
    return Invalid("a " + std::string(CursorKindName(kind_)) + " continuation was given to a " +
                   std::string(CursorKindName(kind)) + " cursor");
  }
  if (children_.size() != children) {
    return Invalid("a " + std::string(CursorKindName(kind)) + " continuation has " +
                   std::to_string(children_.size()) + " inputs where the cursor has " +
                   std::to_string(children));
  }
  return absl::OkStatus();
}

}  // namespace recordstore::cursor
