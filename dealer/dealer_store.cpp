#include "dealer/dealer_store.hpp"

#include <chrono>
#include <cstring>

#include "core/clock.hpp"
#include "db/chunks.hpp"
#include "dealer/batch_state.hpp"
#include "grpc/share_service.hpp"
#include "obs/log.hpp"

namespace ppi::dealer {
namespace {

constexpr db::ChunkTable kChunks{"batch_chunks", "batch_id"};

// The batch row, locked for the rest of the transaction.
struct LockedBatch {
  BatchState state = BatchState::generating;
  std::string model_owner, client;
  std::optional<std::int64_t> expires_at;
  bool shares_completed = false, seed_released = false;
  std::uint64_t element_count = 0, sent_through = 0;
  std::string plan, kind;
  Bytes seed, mask;
  std::optional<std::string> stream_token;
  std::int64_t stream_until = 0;
};

LockedBatch lock_batch(db::Session& s, const std::string& batch_id) {
  auto r = s.exec(
      "SELECT state, model_owner_identity, client_identity, expires_at_unix, "
      "shares_completed_at, seed_released_at, element_count, shares_seed, mac_key_mask, plan, "
      "kind, shares_sent_through, shares_stream_token, shares_stream_until FROM batches WHERE "
      "batch_id = ? FOR UPDATE",
      {batch_id});
  if (r.rows.empty()) throw Error(Errc::not_found, "unknown batch " + batch_id);
  const auto& row = r.rows[0];
  LockedBatch b;
  b.state = kBatches.parse(row.get_string(0));
  if (!row.is_null(1)) b.model_owner = row.get_string(1);
  if (!row.is_null(2)) b.client = row.get_string(2);
  if (!row.is_null(3)) b.expires_at = row.get_int(3);
  b.shares_completed = !row.is_null(4);
  b.seed_released = !row.is_null(5);
  b.element_count = static_cast<std::uint64_t>(row.get_int(6));
  if (!row.is_null(7)) b.seed = row.get_bytes(7);
  if (!row.is_null(8)) b.mask = row.get_bytes(8);
  b.plan = row.get_string(9);
  b.kind = row.get_string(10);
  b.sent_through = static_cast<std::uint64_t>(row.get_int(11));
  if (!row.is_null(12)) b.stream_token = row.get_string(12);
  if (!row.is_null(13)) b.stream_until = row.get_int(13);
  return b;
}

// Deletes a finished batch's secrets and material, recorded as material_deleted; the row, its
// releases and its events stay.
void delete_material(db::Session& s, const std::string& batch_id) {
  s.exec("UPDATE batches SET shares_seed = NULL, mac_key_mask = NULL WHERE batch_id = ?",
         {batch_id});
  db::delete_chunks(s, kChunks, batch_id);
  ledger::append(s, batch_id, ledger::Event::material_deleted, "");
}

// Ends a batch for good (consumed or expired): its state, then its secrets and material go.
void retire(db::Session& s, const std::string& batch_id, BatchState state, ledger::Event event) {
  kBatches.move(s, batch_id, state, event, "");
  delete_material(s, batch_id);
}

// Checks that `caller` may receive `what` of batch `b` now; an expired batch is retired
// (committed) before the error is thrown.
void check_release(db::Session& s, db::Transaction& tx, LockedBatch& b, const std::string& batch_id,
                   const std::string& caller, const std::string& party, const char* what) {
  if (caller.empty()) {
    throw Error(Errc::unauthenticated, std::string(what) + " need an mTLS client certificate");
  }
  if (b.state == BatchState::available || b.state == BatchState::generating ||
      b.state == BatchState::prepared) {
    throw Error(Errc::conflict, "batch " + batch_id + " is not bound");
  }
  if (caller != party) {
    log::warn("release_refused", {{"batch_id", batch_id}, {"what", what}, {"caller", caller}});
    throw Error(Errc::permission_denied,
                std::string(what) + " of batch " + batch_id + " are not for '" + caller + "'");
  }
  if (b.state == BatchState::bound && b.expires_at && unix_now() > *b.expires_at) {
    retire(s, batch_id, BatchState::expired, ledger::Event::expired);
    tx.commit();
    b.state = BatchState::expired;
  }
  if (b.state == BatchState::expired) throw Error(Errc::gone, "batch " + batch_id + " has expired");
  if (b.state != BatchState::bound) {
    throw Error(Errc::conflict,
                "batch " + batch_id + " is " + kBatches.name(b.state) + " and is not served again");
  }
}

BoundBatch bound_batch(const std::string& batch_id, const LockedBatch& b) {
  if (b.seed.size() != 16 || b.mask.size() != 16) {
    throw Error(Errc::internal, "batch " + batch_id + " is bound but has no secrets");
  }
  BoundBatch out;
  out.batch_id = batch_id;
  out.element_count = b.element_count;
  out.plan = b.plan;
  std::memcpy(out.shares_seed.bytes.data(), b.seed.data(), 16);
  out.mac_key_mask = load_u128_le(b.mask.data());
  return out;
}

// How long a share stream's lease lasts without renewal; a running stream renews it as it
// writes (MaskedShareReader), so only a stream stalled this long loses it.
constexpr std::int64_t kShareLeaseSeconds = 60;

void record_release(db::Session& s, const std::string& batch_id, const char* kind,
                    const std::string& caller, std::uint64_t bytes, nlohmann::json details) {
  s.exec("INSERT INTO releases (batch_id, kind, recipient_identity, bytes) VALUES (?, ?, ?, ?)",
         {batch_id, std::string(kind), caller, static_cast<std::int64_t>(bytes)});
  details["bytes"] = bytes;
  ledger::append(s, batch_id,
                 std::string_view(kind) == "seed" ? ledger::Event::seeds_released
                                                  : ledger::Event::shares_released,
                 caller, details);
}

}  // namespace

void check_batch_kind(const std::string& kind) {
  if (kind != kBatch && kind != kMaskSet) {
    throw Error(Errc::invalid_argument, "kind must be 'batch' or 'mask_set'");
  }
}

DealerStore::DealerStore(std::shared_ptr<db::Database> db)
    : db_(std::move(db)), chunk_size_(db::kDefaultChunkSize) {}

std::int64_t DealerStore::expire_due() {
  auto s = db_->acquire();
  db::Transaction tx(s);
  // SKIP LOCKED: a batch being released right now is left to its own transaction, which retires
  // it itself when its time is up.
  auto r = s.exec(
      "SELECT batch_id FROM batches WHERE state = ? AND expires_at_unix IS NOT NULL AND "
      "expires_at_unix < ? FOR UPDATE SKIP LOCKED",
      {kBatches.name(BatchState::bound), unix_now()});
  for (const auto& row : r.rows) {
    const std::string batch_id = row.get_string(0);
    retire(s, batch_id, BatchState::expired, ledger::Event::expired);
    log::info("batch_expired", {{"batch_id", batch_id}});
  }
  // A batch failed by whatever path (a generation aborted half-way, a crash) keeps no material
  // or secrets (issue 15 item 3): whatever a path left behind goes on this sweep.
  auto failed = s.exec(
      "SELECT batch_id FROM batches WHERE state = ? AND (shares_seed IS NOT NULL OR "
      "mac_key_mask IS NOT NULL OR batch_id IN (SELECT batch_id FROM batch_chunks)) "
      "FOR UPDATE SKIP LOCKED",
      {kBatches.name(BatchState::failed)});
  for (const auto& row : failed.rows) {
    const std::string batch_id = row.get_string(0);
    delete_material(s, batch_id);
    log::info("failed_batch_material_deleted", {{"batch_id", batch_id}});
  }
  tx.commit();
  return static_cast<std::int64_t>(r.rows.size());
}

void DealerStore::store_batch(const std::string& batch_id, const std::string& model_id,
                              const std::string& dealer_group, const material::MaterialPlan& plan,
                              ByteView share) {
  const std::uint64_t element_count = plan.element_count();
  if (share.size() != 16 + 32 * element_count) {
    throw Error(Errc::invalid_argument, "share blob size does not match the element count");
  }
  auto s = db_->acquire();
  db::Transaction tx(s);
  s.exec(
      "INSERT INTO batches (batch_id, model_id, dealer_group, state, element_count, plan) "
      "VALUES (?, ?, ?, ?, ?, ?)",
      {batch_id, model_id, dealer_group, kBatches.name(BatchState::available),
       static_cast<std::int64_t>(element_count), plan.canonical()});
  db::write_chunks(s, kChunks, batch_id, share, chunk_size_);
  ledger::append(s, batch_id, ledger::Event::available, "",
                 {{"model_id", model_id}, {"group", dealer_group}, {"source", "fixture"}});
  tx.commit();
}

void DealerStore::bind(const std::string& batch_id, const std::string& model_owner,
                       const std::string& client, std::int64_t ttl_seconds, const std::string& kind,
                       const std::string& peer) {
  check_batch_kind(kind);
  auto s = db_->acquire();
  db::Transaction tx(s);
  LockedBatch b = lock_batch(s, batch_id);
  if (b.kind != kind) {
    throw Error(Errc::conflict, "batch " + batch_id + " is a " + b.kind + ", not a " + kind);
  }
  if (b.state == BatchState::bound && b.model_owner == model_owner && b.client == client) {
    return;  // the super dealer's retry of the same binding
  }
  // 'prepared' is a generated batch whose every share is stored: the super dealer, which
  // coordinates the two phases, binds only batches it has seen prepared on every member.
  if (b.state != BatchState::available && b.state != BatchState::prepared) {
    throw Error(Errc::conflict,
                "batch " + batch_id + " is " + kBatches.name(b.state) + ", not available");
  }
  // Fresh per-batch secrets, drawn here and only here: a resumed stream reuses them.
  Seed128 seed = random_seed();
  Bytes seed_bytes(seed.bytes.begin(), seed.bytes.end());
  Bytes mask(16);
  random_bytes(mask);
  // A mask set is long-lived: the model owner may fetch it whenever it first needs it.
  const bool mask_set = kind == kMaskSet;
  const std::int64_t expires_at = unix_now() + ttl_seconds;  // not for a mask set
  s.exec(
      "UPDATE batches SET model_owner_identity = ?, client_identity = ?, shares_seed = ?, "
      "mac_key_mask = ?, bound_at = CURRENT_TIMESTAMP, expires_at_unix = ? WHERE batch_id = ?",
      {model_owner, mask_set ? db::Value(nullptr) : db::Value(client), seed_bytes, mask,
       mask_set ? db::Value(nullptr) : db::Value(expires_at), batch_id});
  nlohmann::json details = {{"model_owner", model_owner}, {"kind", kind}};
  if (!mask_set) {
    details["client"] = client;
    details["expires_at_unix"] = expires_at;
  }
  kBatches.move(s, batch_id, BatchState::bound, ledger::Event::bound, peer, details);
  cleanse(seed_bytes);
  cleanse(mask);
  tx.commit();
  log::info(
      "batch_bound",
      {{"batch_id", batch_id}, {"kind", kind}, {"model_owner", model_owner}, {"client", client}});
}

void DealerStore::withdraw(const std::string& batch_id, const std::string& reason,
                           const std::string& peer) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  const LockedBatch b = lock_batch(s, batch_id);
  if (b.state == BatchState::failed) return;
  const bool released =
      b.seed_released || b.shares_completed || b.sent_through > 0 ||
      s.exec("SELECT COUNT(*) FROM releases WHERE batch_id = ?", {batch_id}).rows.at(0).get_int(0) >
          0;
  if (b.state == BatchState::consumed || b.state == BatchState::expired ||
      (b.state == BatchState::bound && released)) {
    throw Error(Errc::conflict, "batch " + batch_id + " is " + kBatches.name(b.state) +
                                    (released ? " and was released" : "") +
                                    ": it is not failed now");
  }
  const std::string why = reason.substr(0, 1000);
  s.exec("UPDATE batches SET generation_error = ? WHERE batch_id = ?", {why, batch_id});
  kBatches.move(s, batch_id, BatchState::failed, ledger::Event::failed, peer, {{"reason", why}});
  // A generating batch holds nothing yet (its share is written with 'prepared').
  if (b.state != BatchState::generating) delete_material(s, batch_id);
  tx.commit();
  log::info("batch_withdrawn", {{"batch_id", batch_id}, {"was", kBatches.name(b.state)}});
}

BoundBatch DealerStore::release_seed(const std::string& batch_id, const std::string& caller) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  LockedBatch b = lock_batch(s, batch_id);
  if (b.kind == kMaskSet) {
    // Its seeds would unmask the MACs of B, which the model owner holds in the clear.
    log::warn("release_refused", {{"batch_id", batch_id}, {"what", "seeds"}, {"caller", caller}});
    throw Error(Errc::permission_denied,
                "batch " + batch_id + " is a mask set: its seeds are never released");
  }
  check_release(s, tx, b, batch_id, caller, b.client, "seeds");
  if (b.seed_released) {
    throw Error(Errc::conflict, "the seed of batch " + batch_id + " was already released");
  }
  BoundBatch out = bound_batch(batch_id, b);
  s.exec("UPDATE batches SET seed_released_at = CURRENT_TIMESTAMP WHERE batch_id = ?", {batch_id});
  record_release(s, batch_id, "seed", caller, 32, nlohmann::json::object());
  consume_if_done(s, batch_id);
  tx.commit();
  cleanse(b.seed);
  cleanse(b.mask);
  return out;
}

BoundBatch DealerStore::open_shares(const std::string& batch_id, const std::string& caller,
                                    std::uint64_t first_element) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  LockedBatch b = lock_batch(s, batch_id);
  check_release(s, tx, b, batch_id, caller, b.model_owner, "shares");
  if (b.shares_completed) {
    throw Error(Errc::conflict, "the shares of batch " + batch_id + " were already released");
  }
  const std::int64_t now = unix_now();
  if (b.stream_token && b.stream_until >= now) {
    throw grpcsvc::ShareStreamBusy("another stream of batch " + batch_id +
                                   " is running; retry once it has ended");
  }
  if (first_element > b.sent_through) {
    throw Error(Errc::invalid_argument, "cannot resume batch " + batch_id + " at element " +
                                            std::to_string(first_element) + ": only its first " +
                                            std::to_string(b.sent_through) +
                                            " elements have been sent");
  }
  BoundBatch out = bound_batch(batch_id, b);
  out.stream_token = to_hex(random_seed().bytes);
  s.exec("UPDATE batches SET shares_stream_token = ?, shares_stream_until = ? WHERE batch_id = ?",
         {out.stream_token, now + kShareLeaseSeconds, batch_id});
  record_release(s, batch_id, "shares", caller, 16 + 32 * (b.element_count - first_element),
                 {{"first_element", first_element}, {"stream", out.stream_token.substr(0, 8)}});
  tx.commit();
  cleanse(b.seed);
  cleanse(b.mask);
  return out;
}

void DealerStore::renew_shares(const std::string& batch_id, const std::string& token,
                               std::uint64_t sent_through) {
  auto s = db_->acquire();
  auto r = s.exec(
      "UPDATE batches SET shares_sent_through = GREATEST(shares_sent_through, ?), "
      "shares_stream_until = ? WHERE batch_id = ? AND shares_stream_token = ?",
      {static_cast<std::int64_t>(sent_through), unix_now() + kShareLeaseSeconds, batch_id, token});
  if (r.affected != 1) {
    throw Error(Errc::conflict, "the share stream of batch " + batch_id + " lost its lease");
  }
}

void DealerStore::complete_shares(const std::string& batch_id, const std::string& token) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  // The one place shares become delivered: a stream wins only while it holds the lease, the
  // batch is bound and nobody completed it before.
  auto r = s.exec(
      "UPDATE batches SET shares_completed_at = CURRENT_TIMESTAMP, "
      "shares_sent_through = element_count, shares_stream_token = NULL, "
      "shares_stream_until = NULL WHERE batch_id = ? AND state = ? AND "
      "shares_completed_at IS NULL AND shares_stream_token = ?",
      {batch_id, kBatches.name(BatchState::bound), token});
  if (r.affected != 1) {
    throw Error(Errc::conflict, "the share stream of batch " + batch_id +
                                    " lost its lease or the batch is no longer bound");
  }
  auto who = s.exec("SELECT model_owner_identity FROM batches WHERE batch_id = ?", {batch_id});
  ledger::append(s, batch_id, ledger::Event::shares_delivered, who.rows.at(0).get_string(0),
                 {{"stream", token.substr(0, 8)}});
  consume_if_done(s, batch_id);
  tx.commit();
}

void DealerStore::end_shares(const std::string& batch_id, const std::string& token,
                             std::uint64_t sent_through) {
  auto s = db_->acquire();
  s.exec(
      "UPDATE batches SET shares_sent_through = GREATEST(shares_sent_through, ?), "
      "shares_stream_token = NULL, shares_stream_until = NULL WHERE batch_id = ? AND "
      "shares_stream_token = ?",
      {static_cast<std::int64_t>(sent_through), batch_id, token});
}

std::int64_t DealerStore::clear_share_leases() {
  auto s = db_->acquire();
  return static_cast<std::int64_t>(
      s.exec("UPDATE batches SET shares_stream_token = NULL, shares_stream_until = NULL WHERE "
             "shares_stream_token IS NOT NULL")
          .affected);
}

void DealerStore::consume_if_done(db::Session& s, const std::string& batch_id) {
  auto r = s.exec(
      "SELECT COUNT(*) FROM batches WHERE batch_id = ? AND shares_completed_at IS NOT NULL "
      "AND (seed_released_at IS NOT NULL OR kind = ?)",
      {batch_id, std::string(kMaskSet)});
  if (r.rows.at(0).get_int(0) == 1) {
    retire(s, batch_id, BatchState::consumed, ledger::Event::consumed);
    log::info("batch_consumed", {{"batch_id", batch_id}});
  }
}

db::Blob DealerStore::read_chunk(const std::string& batch_id, std::int64_t seq) {
  auto s = db_->acquire();
  auto chunk =
      s.read_blob("SELECT data FROM batch_chunks WHERE batch_id = ? AND seq = ?", {batch_id, seq});
  if (!chunk) throw Error(Errc::not_found, "material of batch " + batch_id + " is gone");
  return std::move(*chunk);
}

}  // namespace ppi::dealer
