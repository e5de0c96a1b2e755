// IndexMaintainerRegistry::Default(): every maintainer this layer has.
#include "index/aggregate_index.h"
#include "index/index_maintainer.h"
#include "index/value_index.h"

namespace recordstore::index {

const IndexMaintainerRegistry& IndexMaintainerRegistry::Default() {
  static const IndexMaintainerRegistry* const registry = [] {
    auto* built = new IndexMaintainerRegistry();
    RegisterValueMaintainers(*built);
    RegisterAggregateMaintainers(*built);
    return built;
  }();
  return *registry;
}

}  // namespace recordstore::index
