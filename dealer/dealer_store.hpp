#pragma once
// The dealer's database: its batches (material shares in chunks), their binding to one model
// owner and one client, the per-batch secrets drawn at binding, and the record of every
// release. Every state change is one transaction with the batch row locked, so concurrent
// requests for one batch are served at most once.

#include <cstdint>
#include <optional>
#include <string>

#include "core/bytes.hpp"
#include "crypto/csprng.hpp"
#include "db/database.hpp"
#include "material/plan.hpp"
#include "ring/z2k.hpp"

namespace ppi::dealer {

// A batch row holds per-inference material (kBatch) or a model's mask set (kMaskSet): its
// weight masks B for the group, bound to the model owner alone, with no expiry; its shares go
// to that model owner once and its seeds to nobody (PROTOCOL.md section 5).
inline constexpr const char* kBatch = "batch";
inline constexpr const char* kMaskSet = "mask_set";
// Error(invalid_argument) unless `kind` is kBatch or kMaskSet.
void check_batch_kind(const std::string& kind);

// What a dealer knows of a bound batch when it releases something.
struct BoundBatch {
  std::string batch_id;
  std::uint64_t element_count = 0;
  std::string plan;  // the batch's material plan, canonical JSON (material/plan.hpp)
  Seed128 shares_seed;
  u128 mac_key_mask = 0;
  std::string stream_token;  // open_shares only: the stream's lease on the batch
};

class DealerStore {
 public:
  explicit DealerStore(std::shared_ptr<db::Database> db);
  const std::shared_ptr<db::Database>& database() const { return db_; }

  // Retires every bound batch whose batch.ttl_seconds have passed, without waiting for someone to
  // ask for it (issue 14 item 4): state 'expired', its secrets and material deleted, its row and
  // releases kept. Returns how many. Also deletes the material and secrets that failed batches
  // still hold (issue 15 item 3).
  std::int64_t expire_due();

  // Stores this dealer's share of a batch laid out by `plan` (16-byte alpha_i, then 32 bytes
  // per element, docs/material-layout.md) and makes it available, in one transaction. Used by
  // the test fixture loader.
  void store_batch(const std::string& batch_id, const std::string& model_id,
                   const std::string& dealer_group, const material::MaterialPlan& plan,
                   ByteView share);

  // Binds an available batch to (model owner, client) and draws its fresh shares_seed and
  // mac_key_mask. Repeating the same binding is accepted (the super dealer may retry); another
  // binding is Error(conflict). A mask set (kind kMaskSet) is bound with no client and no
  // expiry; a kind other than the row's is Error(conflict). `peer`: who asked (the super
  // dealer), for the ledger.
  void bind(const std::string& batch_id, const std::string& model_owner, const std::string& client,
            std::int64_t ttl_seconds, const std::string& kind = kBatch,
            const std::string& peer = "");

  // The super dealer failed the batch (its binding could not reach every dealer, or its
  // generation failed): this dealer's copy is failed too and its material and secrets are
  // deleted in the same transaction, so no failed batch keeps material on any dealer (issue 15
  // item 3). Accepted for a batch generating, prepared, available, or bound with nothing
  // released yet; again for a failed one (the super dealer retries until every dealer took
  // it). A batch something was released of, or consumed or expired, is Error(conflict): it was
  // served (or ended) and is not failed after the fact. `peer`: who asked, for the ledger.
  void withdraw(const std::string& batch_id, const std::string& reason,
                const std::string& peer = "");

  // The seed and MAC-key mask, once, to the bound client. Throws not_found, permission_denied
  // (another caller, or a mask set: its seeds are never released), gone (expired) or conflict
  // (released already, consumed, failed, not bound).
  BoundBatch release_seed(const std::string& batch_id, const std::string& caller);

  // Opens a masked-share stream for the bound model owner from first_element, until one stream
  // has completed, and records the release attempt. The stream takes the batch's lease
  // (BoundBatch::stream_token): while another stream holds it, grpcsvc::ShareStreamBusy. A
  // resume past the elements some stream has already written (shares_sent_through) is
  // Error(invalid_argument): "delivered" must mean every element was sent (docs/protocol.md).
  BoundBatch open_shares(const std::string& batch_id, const std::string& caller,
                         std::uint64_t first_element);
  // The stream holding `token` has written elements [.., sent_through): records it and renews
  // the lease. Error(conflict) when the stream lost its lease (it expired and another took it).
  void renew_shares(const std::string& batch_id, const std::string& token,
                    std::uint64_t sent_through);
  // The stream holding `token` wrote the last element: marks the shares delivered and drops
  // the lease, with one conditional UPDATE that only one stream can win, and consumes the
  // batch when its seeds are gone too. Error(conflict) when this stream did not win.
  void complete_shares(const std::string& batch_id, const std::string& token);
  // The stream holding `token` ended without completing: records its progress, drops the lease.
  void end_shares(const std::string& batch_id, const std::string& token,
                  std::uint64_t sent_through);
  // Drops every stream lease: called at start-up, when no stream of this dealer can be running
  // (one dealer process per database), so a retry after a crash is not refused for a lease.
  std::int64_t clear_share_leases();

  // Chunk `seq` of this dealer's stored share blob (chunk_size() bytes, the last one shorter).
  db::Blob read_chunk(const std::string& batch_id, std::int64_t seq);
  std::size_t chunk_size() const { return chunk_size_; }

 private:
  // Both releases done (a mask set's shares alone): the batch is consumed, its material and
  // secrets are deleted.
  void consume_if_done(db::Session& s, const std::string& batch_id);

  std::shared_ptr<db::Database> db_;
  std::size_t chunk_size_;
};

}  // namespace ppi::dealer
