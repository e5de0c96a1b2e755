#include <algorithm>

#include "recordstore/kv.h"

namespace recordstore::kv {

RangeReader::RangeReader(Transaction& txn, RangeEndpoint begin, RangeEndpoint end,
                         RangeOptions options, RangeBatching batching)
    : txn_(txn),
      begin_(std::move(begin)),
      end_(std::move(end)),
      options_(options),
      batching_(batching),
      next_batch_rows_(std::max(1, batching.first_batch_rows)) {}

StatusOr<const KeyValue*> RangeReader::Next() {
  while (position_ == batch_.rows.size()) {
    if (exhausted_) return nullptr;
    if (options_.limit > 0 && rows_returned_ >= options_.limit) return nullptr;
    RangeOptions batch_options = options_;
    batch_options.limit = next_batch_rows_;
    if (options_.limit > 0) {
      batch_options.limit =
          static_cast<int>(std::min<int64_t>(batch_options.limit, options_.limit - rows_returned_));
    }
    StatusOr<RangeResult> fetched = txn_.GetRange(begin_, end_, batch_options);
    if (!fetched.ok()) return fetched.status();
    ++batches_fetched_;
    batch_ = *std::move(fetched);
    position_ = 0;
    next_batch_rows_ = std::min(next_batch_rows_ * 2, std::max(1, batching_.max_batch_rows));
    if (!batch_.more) {
      exhausted_ = true;
    } else {
      // Resume after the last row: the next batch starts (or, in reverse, ends) there.
      const std::string& last = batch_.rows.back().key;
      if (options_.reverse) {
        end_ = RangeEndpoint::Exclusive(last);
      } else {
        begin_ = RangeEndpoint::Exclusive(last);
      }
    }
  }
  ++rows_returned_;
  return &batch_.rows[position_++];
}

}  // namespace recordstore::kv
