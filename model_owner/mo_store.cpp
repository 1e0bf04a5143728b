#include "model_owner/mo_store.hpp"

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "core/ids.hpp"
#include "crypto/sha256.hpp"
#include "db/chunks.hpp"
#include "model_owner/inference_state.hpp"
#include "obs/log.hpp"

namespace ppi::model_owner {
namespace {

// The inferences row keeps the dealers as the super dealer listed them, joined by ','.
std::vector<std::string> split_ids(const std::string& joined) {
  std::vector<std::string> out;
  for (std::size_t from = 0;;) {
    const std::size_t comma = joined.find(',', from);
    out.push_back(joined.substr(from, comma - from));
    if (comma == std::string::npos) return out;
    from = comma + 1;
  }
}

}  // namespace

const char* kind_name(ModelKind kind) {
  return kind == ModelKind::gpt2 ? "gpt2" : "mlp";
}

inference::Gpt2PassOptions gpt2_pass_options(const ModelSettings& s) {
  inference::Gpt2PassOptions o;
  o.bucket = s.bucket;
  o.output = inference::Gpt2PassOptions::Output::last;
  o.top_k = s.top_k;
  o.reveal_logits = s.reveal_logits;
  o.steps = s.max_new_tokens - 1;
  return o;
}

namespace {

// What a registration sets besides the plans, as one comparable JSON object: the change record's
// before and after.
nlohmann::json settings_json(const ModelSettings& s, const std::string& weights_sha256) {
  return {{"kind", kind_name(s.kind)},
          {"config_sha256", to_hex(sha256(as_bytes(s.config_json)))},
          {"input_rows", s.input_rows},
          {"bucket", s.bucket},
          {"top_k", s.top_k},
          {"reveal_logits", s.reveal_logits},
          {"max_new_tokens", s.max_new_tokens},
          {"weights_sha256", weights_sha256}};
}

// "reveal_logits: true -> false, ..." for the fields that differ.
std::string differences(const nlohmann::json& before, const nlohmann::json& after) {
  std::string out;
  for (const auto& [key, value] : after.items()) {
    if (before.value(key, nlohmann::json()) == value) continue;
    out += (out.empty() ? "" : ", ") + key + ": " + before.value(key, nlohmann::json()).dump() +
           " -> " + value.dump();
  }
  return out;
}

}  // namespace

void ModelOwnerStore::save_model(const std::string& model_id, const std::string& plan_json,
                                 ByteView weights, const ModelSettings& settings,
                                 const std::string& mask_plan_json, bool replace) {
  const std::string weights_sha256 = weights.empty() ? std::string() : to_hex(sha256(weights));
  const nlohmann::json after = settings_json(settings, weights_sha256);
  auto s = db_->acquire();
  db::Transaction tx(s);
  auto r = s.exec(
      "SELECT plan, mask_plan, model_kind, model_config, input_rows, bucket, top_k, "
      "reveal_logits, max_new_tokens, weights_sha256 FROM models WHERE model_id = ? FOR UPDATE",
      {model_id});
  if (!r.rows.empty()) {
    const auto& row = r.rows[0];
    if (row.get_string(0) != plan_json || row.get_string(1) != mask_plan_json) {
      throw Error(Errc::conflict, "model '" + model_id + "' exists with another plan or mask plan");
    }
    ModelSettings old;
    old.kind = row.get_string(2) == "gpt2" ? ModelKind::gpt2 : ModelKind::mlp;
    old.config_json = row.get_string(3);
    old.input_rows = static_cast<std::uint32_t>(row.get_int(4));
    old.bucket = static_cast<std::uint32_t>(row.get_int(5));
    old.top_k = static_cast<std::uint32_t>(row.get_int(6));
    old.reveal_logits = row.get_int(7) != 0;
    old.max_new_tokens = static_cast<std::uint32_t>(row.get_int(8));
    const nlohmann::json before = settings_json(old, row.get_string(9));
    if (before == after) return;  // registered again as it is
    const std::string changed = differences(before, after);
    if (!replace) {
      throw Error(Errc::conflict, "model '" + model_id + "' is registered with other settings (" +
                                      changed + "); register it with --replace to change them");
    }
    s.exec("INSERT INTO model_changes (model_id, settings_before, settings_after) VALUES (?, ?, ?)",
           {model_id, before.dump(), after.dump()});
    log::info("model_replaced", {{"model_id", model_id}, {"changed", changed}});
  } else {
    s.exec("INSERT INTO models (model_id, weights_path, plan, mask_plan) VALUES (?, '', ?, ?)",
           {model_id, plan_json, mask_plan_json});
  }
  s.exec(
      "UPDATE models SET model_kind = ?, model_config = ?, input_rows = ?, bucket = ?, top_k = ?, "
      "reveal_logits = ?, max_new_tokens = ?, weights_sha256 = ? WHERE model_id = ?",
      {std::string(kind_name(settings.kind)), settings.config_json,
       static_cast<std::int64_t>(settings.input_rows), static_cast<std::int64_t>(settings.bucket),
       static_cast<std::int64_t>(settings.top_k), std::int64_t{settings.reveal_logits ? 1 : 0},
       static_cast<std::int64_t>(settings.max_new_tokens), weights_sha256, model_id});
  db::delete_chunks(s, {"model_chunks", "model_id"}, model_id);
  if (!weights.empty()) {
    db::ChunkWriter writer(s, {"model_chunks", "model_id"}, model_id);
    writer.write(weights);
    writer.finish();
  }
  tx.commit();
}

std::vector<ModelSummary> ModelOwnerStore::runnable_models() {
  auto s = db_->acquire();
  // A model registered with its weights has chunk 0 of them.
  auto r = s.exec(
      "SELECT model_id, model_kind, input_rows, bucket, max_new_tokens FROM models WHERE "
      "EXISTS (SELECT 1 FROM model_chunks c WHERE c.model_id = models.model_id) ORDER BY "
      "model_id",
      {});
  std::vector<ModelSummary> out;
  for (const auto& row : r.rows) {
    ModelSummary m;
    m.model_id = row.get_string(0);
    m.kind = row.get_string(1) == "gpt2" ? ModelKind::gpt2 : ModelKind::mlp;
    m.input_rows = static_cast<std::uint32_t>(row.get_int(2));
    m.bucket = static_cast<std::uint32_t>(row.get_int(3));
    m.max_new_tokens = static_cast<std::uint32_t>(row.get_int(4));
    const bool runnable = m.kind == ModelKind::gpt2 ? m.bucket != 0 : m.input_rows != 0;
    if (runnable) out.push_back(std::move(m));
  }
  return out;
}

OnlineModel ModelOwnerStore::online_model(const std::string& model_id) {
  auto s = db_->acquire();
  auto r = s.exec(
      "SELECT plan, input_rows, reveal_logits, model_kind, model_config, bucket, top_k, "
      "mask_plan, max_new_tokens FROM models WHERE model_id = ?",
      {model_id});
  if (r.rows.empty()) throw Error(Errc::not_found, "unknown model '" + model_id + "'");
  OnlineModel m;
  const auto& row = r.rows[0];
  m.plan_json = row.get_string(0);
  ModelSettings& set = m.settings;
  set.input_rows = static_cast<std::uint32_t>(row.get_int(1));
  set.reveal_logits = row.get_int(2) != 0;
  const std::string kind = row.get_string(3);
  if (kind != "mlp" && kind != "gpt2") {
    throw Error(Errc::internal, "model '" + model_id + "' has an unknown kind '" + kind + "'");
  }
  set.kind = kind == "gpt2" ? ModelKind::gpt2 : ModelKind::mlp;
  set.config_json = row.get_string(4);
  set.bucket = static_cast<std::uint32_t>(row.get_int(5));
  set.top_k = static_cast<std::uint32_t>(row.get_int(6));
  m.mask_plan_json = row.get_string(7);
  set.max_new_tokens = static_cast<std::uint32_t>(row.get_int(8));
  db::read_chunks(s, {"model_chunks", "model_id"}, model_id, [&](ByteView chunk) {
    m.weights.insert(m.weights.end(), chunk.begin(), chunk.end());
  });
  const bool runnable = set.kind == ModelKind::gpt2 ? set.bucket != 0 && !set.config_json.empty()
                                                    : set.input_rows != 0;
  if (m.weights.empty() || !runnable) {
    throw Error(Errc::not_found, "model '" + model_id +
                                     "' was registered without weights: it cannot run inferences");
  }
  return m;
}

OnlineBatch ModelOwnerStore::begin_online(const std::string& batch_id, const std::string& caller) {
  auto s = db_->acquire();
  OnlineBatch out;
  {
    db::Transaction tx(s);
    auto r = s.exec(
        "SELECT model_id, client_identity, state, mac_key_share, element_count, dealers, "
        "converted_at_unix FROM inferences WHERE batch_id = ? FOR UPDATE",
        {batch_id});
    if (r.rows.empty()) throw Error(Errc::not_found, "unknown batch " + batch_id);
    if (r.rows[0].get_string(1) != caller) {
      throw Error(Errc::permission_denied, "batch " + batch_id + " is bound to another client");
    }
    InferenceState state = kInferences.parse(r.rows[0].get_string(2));
    if (state == InferenceState::ready && !r.rows[0].is_null(6) &&
        r.rows[0].get_int(6) + ttl_seconds_ < unix_now()) {
      expire(s, batch_id);
      tx.commit();
      state = InferenceState::expired;
    }
    if (state == InferenceState::expired) {
      throw Error(Errc::gone, "batch " + batch_id + " has expired: its share waited longer than " +
                                  std::to_string(ttl_seconds_) + " s for its online phase");
    }
    if (state != InferenceState::ready) {
      throw Error(Errc::conflict,
                  "batch " + batch_id + " cannot start an online phase: it is " +
                      (state == InferenceState::done || state == InferenceState::online
                           ? std::string("already used")
                           : kInferences.name(state)));
    }
    out.model_id = r.rows[0].get_string(0);
    out.group_id = group_key(check_dealer_group(split_ids(r.rows[0].get_string(5))));
    Bytes key = r.rows[0].get_bytes(3);
    out.share = {load_u128_le(key.data()), static_cast<std::uint64_t>(r.rows[0].get_int(4))};
    cleanse(key);
    s.exec("UPDATE inferences SET online_started_at = CURRENT_TIMESTAMP WHERE batch_id = ?",
           {batch_id});
    kInferences.move(s, batch_id, InferenceState::online, ledger::Event::online_started, caller);
    tx.commit();
  }
  out.elements.reserve(32 * out.share.element_count);
  db::read_chunks(s, {"share_chunks", "batch_id"}, batch_id, [&](ByteView chunk) {
    out.elements.insert(out.elements.end(), chunk.begin(), chunk.end());
  });
  return out;
}

void ModelOwnerStore::finish_online(const std::string& batch_id, std::uint64_t rounds,
                                    std::uint64_t bytes_sent, std::uint64_t bytes_received) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  s.exec(
      "UPDATE inferences SET online_finished_at = CURRENT_TIMESTAMP, online_rounds = ?, "
      "online_bytes_sent = ?, online_bytes_received = ? WHERE batch_id = ?",
      {static_cast<std::int64_t>(rounds), static_cast<std::int64_t>(bytes_sent),
       static_cast<std::int64_t>(bytes_received), batch_id});
  kInferences.move(
      s, batch_id, InferenceState::done, ledger::Event::consumed, "",
      {{"rounds", rounds}, {"bytes_sent", bytes_sent}, {"bytes_received", bytes_received}});
  delete_share(s, batch_id);
  tx.commit();
}

void ModelOwnerStore::fail_online(const std::string& batch_id, const std::string& reason) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  s.exec(
      "UPDATE inferences SET online_finished_at = CURRENT_TIMESTAMP, failure = ? WHERE "
      "batch_id = ?",
      {reason.substr(0, 1000), batch_id});
  kInferences.move(s, batch_id, InferenceState::failed, ledger::Event::failed, "",
                   {{"reason", reason.substr(0, 1000)}});
  delete_share(s, batch_id);
  tx.commit();
}

std::string ModelOwnerStore::model_mask_plan(const std::string& model_id) {
  auto s = db_->acquire();
  auto r = s.exec("SELECT mask_plan FROM models WHERE model_id = ?", {model_id});
  return r.rows.empty() ? std::string() : r.rows[0].get_string(0);
}

std::optional<MaskSetShare> ModelOwnerStore::mask_set(const std::string& model_id,
                                                      const std::string& group_id) {
  auto s = db_->acquire();
  auto r = s.exec(
      "SELECT ms.mask_set_id, ms.mac_key_share, ms.element_count, m.mask_plan FROM mask_sets ms "
      "JOIN models m ON m.model_id = ms.model_id WHERE ms.model_id = ? AND ms.group_id = ? AND "
      "ms.state = 'ready'",  // mask_sets: collecting -> ready, no other state
      {model_id, group_id});
  if (r.rows.empty()) return std::nullopt;
  MaskSetShare out;
  out.mask_set_id = r.rows[0].get_string(0);
  Bytes key = r.rows[0].get_bytes(1);
  out.mac_key_share = load_u128_le(key.data());
  cleanse(key);
  out.plan_json = r.rows[0].get_string(3);
  const auto element_count = static_cast<std::uint64_t>(r.rows[0].get_int(2));
  out.elements.reserve(32 * element_count);
  db::read_chunks(s, kMaskSetChunks, out.mask_set_id, [&](ByteView chunk) {
    out.elements.insert(out.elements.end(), chunk.begin(), chunk.end());
  });
  if (out.elements.size() != 32 * element_count) {
    throw Error(Errc::internal, "mask set " + out.mask_set_id + " is not whole");
  }
  return out;
}

bool ModelOwnerStore::holds_mask_set(const std::string& model_id, const std::string& group_id) {
  auto s = db_->acquire();
  return !s.exec(
               "SELECT mask_set_id FROM mask_sets WHERE model_id = ? AND group_id = ? AND "
               "state = 'ready'",
               {model_id, group_id})
              .rows.empty();
}

std::optional<std::string> ModelOwnerStore::model_plan(const std::string& model_id) {
  auto s = db_->acquire();
  auto r = s.exec("SELECT plan FROM models WHERE model_id = ?", {model_id});
  if (r.rows.empty()) return std::nullopt;
  return r.rows[0].get_string(0);
}

void ModelOwnerStore::begin_inference(const std::string& batch_id, const std::string& model_id,
                                      const std::string& client, const std::string& dealers) {
  auto s = db_->acquire();
  s.exec(
      "INSERT INTO inferences (batch_id, model_id, client_identity, state, dealers) "
      "VALUES (?, ?, ?, ?, ?)",
      {batch_id, model_id, client, kInferences.name(InferenceState::collecting), dealers});
}

void ModelOwnerStore::mark_converted(db::Session& s, const std::string& batch_id,
                                     std::uint64_t element_count, ByteView mac_key_share,
                                     std::uint64_t bytes_received) {
  s.exec(
      "UPDATE inferences SET element_count = ?, mac_key_share = ?, completed_at = "
      "CURRENT_TIMESTAMP, converted_at_unix = ? WHERE batch_id = ?",
      {static_cast<std::int64_t>(element_count), Bytes(mac_key_share.begin(), mac_key_share.end()),
       unix_now(), batch_id});
  auto r = s.exec("SELECT client_identity, dealers FROM inferences WHERE batch_id = ?", {batch_id});
  kInferences.move(s, batch_id, InferenceState::ready, ledger::Event::converted,
                   r.rows.at(0).get_string(0),
                   {{"dealers", r.rows.at(0).get_string(1)},
                    {"elements", element_count},
                    {"bytes", bytes_received}});
}

void ModelOwnerStore::mark_failed(const std::string& batch_id, const std::string& reason) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  s.exec("UPDATE inferences SET failure = ? WHERE batch_id = ?",
         {reason.substr(0, 1000), batch_id});
  kInferences.move(s, batch_id, InferenceState::failed, ledger::Event::failed, "",
                   {{"reason", reason.substr(0, 1000)}});
  tx.commit();
}

std::int64_t ModelOwnerStore::expire_due() {
  auto s = db_->acquire();
  db::Transaction tx(s);
  // SKIP LOCKED: an inference starting its online phase right now is left to that transaction.
  auto r = s.exec(
      "SELECT batch_id FROM inferences WHERE state = ? AND converted_at_unix < ? FOR UPDATE "
      "SKIP LOCKED",
      {kInferences.name(InferenceState::ready), unix_now() - ttl_seconds_});
  for (const auto& row : r.rows) {
    expire(s, row.get_string(0));
    log::info("inference_expired", {{"batch_id", row.get_string(0)}});
  }
  tx.commit();
  return static_cast<std::int64_t>(r.rows.size());
}

void ModelOwnerStore::expire(db::Session& s, const std::string& batch_id) {
  s.exec("UPDATE inferences SET mac_key_share = NULL WHERE batch_id = ?", {batch_id});
  kInferences.move(s, batch_id, InferenceState::expired, ledger::Event::expired, "",
                   {{"ttl_seconds", ttl_seconds_}});
  delete_share(s, batch_id);
}

void ModelOwnerStore::delete_share(db::Session& s, const std::string& batch_id) {
  if (db::delete_chunks(s, {"share_chunks", "batch_id"}, batch_id) > 0) {
    ledger::append(s, batch_id, ledger::Event::material_deleted, "");
  }
}

std::int64_t ModelOwnerStore::fail_unfinished() {
  auto s = db_->acquire();
  db::Transaction tx(s);
  auto r = s.exec(
      "SELECT batch_id, state FROM inferences WHERE state IN (?, ?) FOR UPDATE",
      {kInferences.name(InferenceState::collecting), kInferences.name(InferenceState::online)});
  for (const auto& row : r.rows) {
    const std::string batch_id = row.get_string(0);
    const std::string reason =
        "interrupted while " + row.get_string(1) + " by a restart of the model owner";
    s.exec("UPDATE inferences SET failure = ? WHERE batch_id = ?", {reason, batch_id});
    kInferences.move(s, batch_id, InferenceState::failed, ledger::Event::failed, "",
                     {{"reason", reason}});
    delete_share(s, batch_id);
    log::warn("inference_failed_at_restart",
              {{"batch_id", batch_id}, {"state", row.get_string(1)}});
  }
  tx.commit();
  return static_cast<std::int64_t>(r.rows.size());
}

StoredShare ModelOwnerStore::share(const std::string& batch_id) {
  auto s = db_->acquire();
  auto r =
      s.exec("SELECT mac_key_share, element_count FROM inferences WHERE batch_id = ? AND state = ?",
             {batch_id, kInferences.name(InferenceState::ready)});
  if (r.rows.empty()) throw Error(Errc::not_found, "no ready share for batch " + batch_id);
  Bytes key = r.rows[0].get_bytes(0);
  StoredShare out{load_u128_le(key.data()), static_cast<std::uint64_t>(r.rows[0].get_int(1))};
  cleanse(key);
  return out;
}

}  // namespace ppi::model_owner
