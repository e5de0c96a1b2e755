// The metadata evolution validator: which changes from one RecordMetaData to the next a
// record store can accept without rewriting or misreading the data it already holds.
//
// Rules (each violation names its rule and the element, e.g. "field Order.total (3) changed
// type from int64 to string"):
//   version         the new version is above the old one; an equal version is accepted only
//                   with identical metadata;
//   record types    none removed; record type keys and primary keys unchanged;
//   fields          (of every record type and every message reachable from it, compared by
//                   field number) none removed, renumbered (same name, other number) or
//                   renamed (same number, other name: index definitions refer to names); no
//                   label change (optional, required, repeated); no type change except the
//                   widenings int32 -> int64, sint32 -> sint64 and uint32 -> uint64, which
//                   read old data as the same values and encode into the same tuple
//                   integers. float -> double is refused: the two have different wire types,
//                   so stored floats would not parse. No new field may be required;
//   indexes         an index that is new has added_version above the old metadata version;
//                   an index whose definition (type, root, record types, options,
//                   added_version) changed has last_modified_version above it; a removed
//                   index is listed in former_indexes with removed_version above it and its
//                   added_version; former indexes are never dropped.
//
// Thread-safety: a pure function.
#ifndef RECORDSTORE_METADATA_EVOLUTION_H_
#define RECORDSTORE_METADATA_EVOLUTION_H_

#include <string>
#include <string_view>
#include <vector>

#include "metadata/record_metadata.h"
#include "recordstore/status.h"

namespace recordstore::metadata {

enum class EvolutionRule {
  kVersionNotIncreased,
  kRecordTypeRemoved,
  kRecordTypeKeyChanged,
  kPrimaryKeyChanged,
  kFieldRemoved,
  kFieldRenumbered,
  kFieldRenamed,
  kFieldTypeChanged,
  kFieldLabelChanged,
  kRequiredFieldAdded,
  kIndexAddedWithOldVersion,
  kIndexChangedWithOldVersion,
  kIndexRemovedWithoutFormerIndex,
  kFormerIndexMismatch,
  kFormerIndexDropped,
};

// "version_not_increased", "field_type_changed", ...
std::string_view EvolutionRuleName(EvolutionRule rule);

struct EvolutionViolation {
  EvolutionRule rule;
  std::string message;
};

struct EvolutionReport {
  // Every violation found, in a stable order: version, then record types and their fields
  // in union order, then indexes in old then new proto order, then former indexes.
  std::vector<EvolutionViolation> violations;

  bool ok() const { return violations.empty(); }
  // OK, or kInvalidArgument "metadata evolution refused: <message>; <message>...".
  Status ToStatus() const;
};

// Checks the change from `old_metadata` to `new_metadata` against every rule above.
EvolutionReport ValidateEvolution(const RecordMetaData& old_metadata,
                                  const RecordMetaData& new_metadata);

}  // namespace recordstore::metadata

#endif  // RECORDSTORE_METADATA_EVOLUTION_H_
