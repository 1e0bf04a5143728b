#include "client/client_store.hpp"

#include <cstring>

#include "client/inference_state.hpp"
#include "db/chunks.hpp"

namespace ppi::client {

void ClientStore::save(const Conversion& c) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  std::string dealers;
  for (const auto& d : c.seeds) dealers += (dealers.empty() ? "" : ",") + d.dealer_id;
  s.exec(
      "INSERT INTO inferences (batch_id, model_id, model_owner_url, state, element_count, "
      "dealers) VALUES (?, ?, ?, ?, ?, ?)",
      {c.batch_id, c.model_id, c.model_owner_url, kInferences.name(InferenceState::ready),
       static_cast<std::int64_t>(c.element_count), dealers});
  ledger::append(
      s, c.batch_id, ledger::Event::converted, "",
      {{"model_id", c.model_id}, {"model_owner_url", c.model_owner_url}, {"dealers", dealers}});
  for (const auto& d : c.seeds) {
    Bytes seed(d.shares_seed.bytes.begin(), d.shares_seed.bytes.end());
    Bytes mask(16);
    store_u128_le(mask.data(), d.mac_key_mask);
    s.exec("INSERT INTO seeds (batch_id, dealer_id, shares_seed, mac_key_mask) VALUES (?, ?, ?, ?)",
           {c.batch_id, d.dealer_id, seed, mask});
    cleanse(seed);
    cleanse(mask);
  }
  tx.commit();
}

void ClientStore::save_failed(const std::string& batch_id, const std::string& model_id,
                              const std::string& model_owner_url) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  s.exec(
      "INSERT INTO inferences (batch_id, model_id, model_owner_url, state) "
      "VALUES (?, ?, ?, ?)",
      {batch_id, model_id, model_owner_url, kInferences.name(InferenceState::failed)});
  ledger::append(s, batch_id, ledger::Event::failed, "",
                 {{"model_id", model_id}, {"reason", "the conversion did not complete"}});
  tx.commit();
}

namespace {

// The batch's seeds are one-time material: deleted when it ends, recorded as material_deleted.
void delete_seeds(db::Session& s, const std::string& batch_id) {
  if (s.exec("DELETE FROM seeds WHERE batch_id = ?", {batch_id}).affected > 0) {
    ledger::append(s, batch_id, ledger::Event::material_deleted, "");
  }
}

std::vector<DealerSeed> load_seeds(db::Session& s, const std::string& batch_id) {
  std::vector<DealerSeed> seeds;
  for (auto& row : s.exec("SELECT dealer_id, shares_seed, mac_key_mask FROM seeds "
                          "WHERE batch_id = ? ORDER BY dealer_id",
                          {batch_id})
                       .rows) {
    DealerSeed d;
    d.dealer_id = row.get_string(0);
    Bytes seed = row.take_bytes(1), mask = row.take_bytes(2);
    if (seed.size() != 16 || mask.size() != 16) throw Error(Errc::database, "corrupt seed row");
    std::memcpy(d.shares_seed.bytes.data(), seed.data(), 16);
    d.mac_key_mask = load_u128_le(mask.data());
    cleanse(seed);
    cleanse(mask);
    seeds.push_back(std::move(d));
  }
  return seeds;
}

// The inference in `state` with its seeds; Error(not_found) when there is none.
Conversion read_conversion(db::Session& s, const std::string& batch_id, const std::string& state) {
  auto r = s.exec(
      "SELECT model_id, model_owner_url, element_count FROM inferences "
      "WHERE batch_id = ? AND state = ?",
      {batch_id, std::string(state)});
  if (r.rows.empty()) {
    throw Error(Errc::not_found, "no " + std::string(state) + " inference for batch " + batch_id);
  }
  Conversion c{batch_id,
               r.rows[0].get_string(0),
               r.rows[0].get_string(1),
               static_cast<std::uint64_t>(r.rows[0].get_int(2)),
               {}};
  c.seeds = load_seeds(s, batch_id);
  return c;
}

}  // namespace

Conversion ClientStore::load(const std::string& batch_id) {
  auto s = db_->acquire();
  return read_conversion(s, batch_id, kInferences.name(InferenceState::ready));
}

Conversion ClientStore::begin_online(const std::string& batch_id) {
  {
    auto s = db_->acquire();
    db::Transaction tx(s);
    auto r = s.exec("SELECT state FROM inferences WHERE batch_id = ? FOR UPDATE", {batch_id});
    if (r.rows.empty()) {
      throw Error(Errc::not_found, "this client holds no batch " + batch_id);
    }
    const InferenceState state = kInferences.parse(r.rows[0].get_string(0));
    if (state != InferenceState::ready) {
      throw Error(Errc::conflict,
                  "batch " + batch_id + " cannot run an online phase: it is " +
                      (state == InferenceState::online || state == InferenceState::done
                           ? std::string("already used")
                           : kInferences.name(state)));
    }
    kInferences.move(s, batch_id, InferenceState::online, ledger::Event::online_started, "");
    tx.commit();
  }
  auto s = db_->acquire();
  return read_conversion(s, batch_id, kInferences.name(InferenceState::online));
}

void ClientStore::finish_online(const std::string& batch_id, const std::string& result_json) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  s.exec(
      "UPDATE inferences SET result = ?, online_finished_at = CURRENT_TIMESTAMP WHERE batch_id = ?",
      {result_json, batch_id});
  kInferences.move(s, batch_id, InferenceState::done, ledger::Event::consumed, "");
  delete_seeds(s, batch_id);
  tx.commit();
}

void ClientStore::fail_online(const std::string& batch_id, const std::string& reason) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  s.exec(
      "UPDATE inferences SET failure = ?, online_finished_at = CURRENT_TIMESTAMP WHERE "
      "batch_id = ?",
      {reason.substr(0, 1000), batch_id});
  kInferences.move(s, batch_id, InferenceState::failed, ledger::Event::failed, "",
                   {{"reason", reason.substr(0, 1000)}});
  delete_seeds(s, batch_id);
  tx.commit();
}

namespace {

constexpr db::ChunkTable kHeldChunks{"held_weight_chunks", "weights_id"};

}  // namespace

std::optional<std::string> ClientStore::held_weights_id(const std::string& model_id,
                                                        const std::string& group_id) {
  auto s = db_->acquire();
  auto r = s.exec("SELECT weights_id FROM held_weights WHERE model_id = ? AND group_id = ?",
                  {model_id, group_id});
  if (r.rows.empty()) return std::nullopt;
  return r.rows[0].get_string(0);
}

HeldWeights ClientStore::held_weights(const std::string& weights_id) {
  auto s = db_->acquire();
  auto r = s.exec("SELECT word_count FROM held_weights WHERE weights_id = ?", {weights_id});
  if (r.rows.empty()) throw Error(Errc::not_found, "no held weights " + weights_id);
  HeldWeights out(weights_id, {});
  out.words.reserve(8 * static_cast<std::size_t>(r.rows[0].get_int(0)));
  db::read_chunks(s, kHeldChunks, weights_id, [&](ByteView chunk) {
    out.words.insert(out.words.end(), chunk.begin(), chunk.end());
  });
  if (out.words.size() != 8 * static_cast<std::size_t>(r.rows[0].get_int(0))) {
    throw Error(Errc::internal, "held weights " + weights_id + " are incomplete");
  }
  return out;
}

void ClientStore::hold_weights(
    const std::string& model_id, const std::string& group_id, const std::string& weights_id,
    std::uint64_t word_count,
    const std::function<void(const std::function<void(ByteView)>&)>& write) {
  auto s = db_->acquire();
  db::Transaction tx(s);
  // The chunks go with the row (ON DELETE CASCADE).
  s.exec("DELETE FROM held_weights WHERE (model_id = ? AND group_id = ?) OR weights_id = ?",
         {model_id, group_id, weights_id});
  s.exec(
      "INSERT INTO held_weights (model_id, group_id, weights_id, word_count) VALUES (?, ?, ?, ?)",
      {model_id, group_id, weights_id, static_cast<std::int64_t>(word_count)});
  db::ChunkWriter writer(s, kHeldChunks, weights_id);
  std::uint64_t bytes = 0;
  write([&](ByteView data) {
    writer.write(data);
    bytes += data.size();
  });
  if (bytes != 8 * word_count) {
    throw Error(Errc::internal, "held weights " + weights_id + ": " + std::to_string(bytes) +
                                    " bytes for " + std::to_string(word_count) + " words");
  }
  writer.finish();
  tx.commit();
}

}  // namespace ppi::client
