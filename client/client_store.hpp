#pragma once
// The client's database: per inference, the n dealers' seeds and MAC-key masks (never the
// expanded material: it is re-derived from the seeds when needed), and per (model, dealer
// group) the F = W - B of a model's weights held outside the batches.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "crypto/csprng.hpp"
#include "db/database.hpp"
#include "ring/z2k.hpp"

namespace ppi::client {

struct DealerSeed {
  std::string dealer_id;
  Seed128 shares_seed;
  u128 mac_key_mask = 0;
};

struct Conversion {
  std::string batch_id, model_id, model_owner_url;
  std::uint64_t element_count = 0;
  std::vector<DealerSeed> seeds;
};

// The F = W - B a model owner sent for one (model, dealer group) (docs/protocol.md 6.2): every
// matrix's, in session order, as 8-byte little-endian words.
struct HeldWeights {
  std::string weights_id;
  Bytes words;  // wiped on destruction
  HeldWeights() = default;
  HeldWeights(std::string id, Bytes w) : weights_id(std::move(id)), words(std::move(w)) {}
  HeldWeights(HeldWeights&&) = default;
  HeldWeights& operator=(HeldWeights&&) = default;
  ~HeldWeights() { cleanse(words); }
};

class ClientStore {
 public:
  explicit ClientStore(std::shared_ptr<db::Database> db) : db_(std::move(db)) {}
  // The inference and all its seeds in one transaction.
  void save(const Conversion& c);
  // An inference that could not get all its seeds: recorded, with none of them.
  void save_failed(const std::string& batch_id, const std::string& model_id,
                   const std::string& model_owner_url);
  Conversion load(const std::string& batch_id);

  // Claims a converted batch for its online phase, once: its state moves from 'ready' to
  // 'online' in one transaction. Error(not_found) for a batch this client never converted,
  // Error(conflict) for one already used or failed.
  Conversion begin_online(const std::string& batch_id);
  // The online phase ended: the result (JSON) is kept, the seeds are deleted either way (a
  // batch is one-time material).
  void finish_online(const std::string& batch_id, const std::string& result_json);
  void fail_online(const std::string& batch_id, const std::string& reason);

  // What this client keeps of (model, group), if anything.
  std::optional<std::string> held_weights_id(const std::string& model_id,
                                             const std::string& group_id);
  // The held F named `weights_id` (Error(not_found) when it is not held any more).
  HeldWeights held_weights(const std::string& weights_id);
  // Keeps F for (model, group) under `weights_id`, replacing what was held, in one
  // transaction. `write` is called once with a function that takes F's bytes in order.
  void hold_weights(const std::string& model_id, const std::string& group_id,
                    const std::string& weights_id, std::uint64_t word_count,
                    const std::function<void(const std::function<void(ByteView)>&)>& write);

 private:
  std::shared_ptr<db::Database> db_;
};

}  // namespace ppi::client
