// Engine: transactions across models (docs/transactions.md). The whole
// transaction is one write request, so its checks and ops run back to back
// on the commit thread and its events are one atomic unit in the log.
#include "engine/engine_impl.h"
#include "engine/tx_ops.h"

namespace kissvdb {

void EngineImpl::Transact(TxRequest tx, Callback<TxOutcome> done) {
  Status st = tx_ops::Validate(tx, config_.limits);
  if (!st.ok()) return done(st);
  auto request = std::make_shared<TxRequest>(std::move(tx));
  auto outcome = std::make_shared<TxOutcome>();
  committer_->Submit(WriteRequest{
      [request, outcome, limits = &config_.limits](WriteContext& ctx) {
        return tx_ops::Run(ctx, *request, *limits, outcome.get());
      },
      [outcome, done = std::move(done)](Status st) {
        if (st.ok()) {
          done(std::move(*outcome));
        } else {
          done(st);
        }
      }});
}

}  // namespace kissvdb
