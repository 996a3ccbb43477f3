// Transactions' mutation (docs/transactions.md): checks, then ops or
// on_failure, emitted as one atomic unit by the engine's write request.
#pragma once

#include "engine/write_context.h"
#include "kissvdb/config.h"
#include "kissvdb/tx.h"

namespace kissvdb::tx_ops {

// Everything that does not need the current state: shapes, names, sizes,
// event types, the op limit. InvalidArgument names the check or op.
Status Validate(const TxRequest& tx, const Limits& limits);

// On the commit thread: a known idempotency key answers with the stored
// result (no events; Conflict if it was used for another request). Else
// the checks are evaluated against the state as of now, then the ops (or
// on_failure) run in order, each seeing the ones before; a failing op fails
// the whole transaction (its Status names the op). With an idempotency key
// a last `_sys.tx_committed` event records the result.
Status Run(WriteContext& ctx, const TxRequest& tx, const Limits& limits, TxOutcome* out);

}  // namespace kissvdb::tx_ops
