#include "dealer/generation_store.hpp"

#include "db/chunks.hpp"
#include "obs/log.hpp"

namespace ppi::dealer {
namespace {

constexpr db::ChunkTable kChunks{"batch_chunks", "batch_id"};

}  // namespace

bool GenerationStore::begin(const std::string& batch_id, const std::string& model_id,
                            const std::string& group_id, const material::MaterialPlan& plan,
                            const std::string& mask_plan, const std::string& kind) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  auto r = s.exec(
      "SELECT model_id, dealer_group, plan, mask_plan, kind FROM batches WHERE batch_id = ? "
      "FOR UPDATE",
      {batch_id});
  if (!r.rows.empty()) {
    const auto& row = r.rows[0];
    if (row.get_string(0) == model_id && row.get_string(1) == group_id &&
        row.get_string(2) == plan.canonical() && row.get_string(3) == mask_plan &&
        row.get_string(4) == kind) {
      return false;
    }
    throw Error(Errc::conflict, "batch " + batch_id + " exists for another generation");
  }
  s.exec(
      "INSERT INTO batches (batch_id, model_id, dealer_group, state, element_count, plan, "
      "mask_plan, kind) VALUES (?, ?, ?, 'generating', ?, ?, ?, ?)",
      {batch_id, model_id, group_id, static_cast<std::int64_t>(plan.element_count()),
       plan.canonical(), mask_plan, kind});
  tx.commit();
  return true;
}

bool GenerationStore::prepare(const std::string& batch_id, ByteView share) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  auto r =
      s.exec("SELECT state, element_count FROM batches WHERE batch_id = ? FOR UPDATE", {batch_id});
  if (r.rows.empty() || r.rows[0].get_string(0) != "generating") return false;
  if (share.size() != 16 + 32 * static_cast<std::uint64_t>(r.rows[0].get_int(1))) {
    throw Error(Errc::internal, "generated share of batch " + batch_id + " has a wrong size");
  }
  db::write_chunks(s, kChunks, batch_id, share);
  s.exec("UPDATE batches SET state = 'prepared' WHERE batch_id = ?", {batch_id});
  tx.commit();
  return true;
}

void GenerationStore::fail(const std::string& batch_id, const std::string& reason) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  auto r = s.exec("SELECT state FROM batches WHERE batch_id = ? FOR UPDATE", {batch_id});
  if (r.rows.empty()) throw Error(Errc::not_found, "unknown batch " + batch_id);
  const std::string state = r.rows[0].get_string(0);
  if (state == "failed") return;
  if (state != "generating" && state != "prepared") {
    throw Error(Errc::conflict, "batch " + batch_id + " is " + state + ": it cannot be aborted");
  }
  s.exec("UPDATE batches SET state = 'failed', generation_error = ? WHERE batch_id = ?",
         {reason.substr(0, 1000), batch_id});
  db::delete_chunks(s, kChunks, batch_id);
  tx.commit();
}

std::optional<GenerationState> GenerationStore::state(const std::string& batch_id) {
  auto s = db_->acquire();
  auto r = s.exec("SELECT state, generation_error FROM batches WHERE batch_id = ?", {batch_id});
  if (r.rows.empty()) return std::nullopt;
  return GenerationState{r.rows[0].get_string(0),
                         r.rows[0].is_null(1) ? std::string() : r.rows[0].get_string(1)};
}

std::int64_t GenerationStore::discard_unfinished() {
  auto s = db_->acquire();
  // Unfinished generations hold no chunks (the share is written with 'prepared').
  auto r =
      s.exec("UPDATE batches SET state = 'failed', generation_error = ? WHERE state = 'generating'",
             {std::string("the dealer restarted during generation")});
  if (r.affected > 0) {
    log::warn("generations_discarded", {{"count", std::to_string(r.affected)}});
  }
  return static_cast<std::int64_t>(r.affected);
}

}  // namespace ppi::dealer
