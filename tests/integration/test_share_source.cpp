// The dealer's share stream (dealer/share_source.cpp) on a batch of several 4 MiB database
// chunks, in process against real databases: the pieces it hands to gRPC are exactly the
// stored share masked with the batch's seed, including the element that straddles each chunk
// boundary (a boolean one here, an arithmetic one at the next boundary); a stream resumed at
// such an element or in the middle of a chunk gives the same bytes; the stored share itself
// is left untouched by the in-place masking.
#include <doctest/doctest.h>

#include <map>

#include "crypto/prg.hpp"
#include "db/chunks.hpp"
#include "db_servers.hpp"
#include "dealer/dealer_store.hpp"
#include "dealer/share_source.hpp"
#include "fixture_loader.hpp"
#include "material/conversion.hpp"
#include "material/layout.hpp"

using namespace ppi;

namespace {

// Elements from `first` to the end, asked for in messages of `per_message` elements, as the
// service does; the pieces are concatenated.
Bytes stream_from(dealer::DealerShareSource& source, const std::string& batch_id,
                  std::uint64_t first, std::uint64_t per_message) {
  auto reader = source.open(batch_id, "model_owner", first);
  Bytes out;
  for (std::uint64_t e = first; e < reader->total_elements(); e += per_message) {
    std::vector<grpcsvc::PairsPiece> pieces;
    reader->read(e, std::min(per_message, reader->total_elements() - e), pieces);
    for (const auto& piece : pieces) out.insert(out.end(), piece.bytes.begin(), piece.bytes.end());
  }
  return out;
}

Bytes stored_share(db::Database& database, const std::string& batch_id) {
  auto session = database.acquire();
  Bytes blob;
  db::read_chunks(session, {"batch_chunks"}, batch_id,
                  [&](ByteView chunk) { blob.insert(blob.end(), chunk.begin(), chunk.end()); });
  return blob;
}

}  // namespace

TEST_CASE("dealer share stream: several chunks, straddling elements, resumes, store untouched") {
  for (auto dialect : {db::Dialect::postgresql, db::Dialect::mysql}) {
    CAPTURE(db::dialect_name(dialect));
    auto& server = test::test_databases().server(dialect);
    std::map<std::string, std::shared_ptr<db::Database>> dealer_dbs;  // a group has >= 3
    for (const char* id : {"dealer-1", "dealer-2", "dealer-3"}) {
      dealer_dbs[id] = db::Database::open({.url = server.create_database("dealer")});
      db::migrate(*dealer_dbs[id], "dealer");
    }
    auto sd_db = db::Database::open({.url = server.create_database("super_dealer")});
    db::migrate(*sd_db, "super_dealer");
    sd_db->acquire().exec("INSERT INTO models (model_id) VALUES ('m')");

    // Chunk boundaries split elements 131071 and 262143 (16 + 32 e = k * 4 MiB - 16): the
    // first lies among bit triples, the second among triples.
    const auto plan = material::MaterialPlan::parse(
        R"([{"type": "TRIPLE", "count": 43000}, {"type": "BIT_TRIPLE", "count": 2000},
            {"type": "TRIPLE", "count": 60000}])");
    const material::BatchLayout layout(plan);
    REQUIRE(layout.element_count() == 315000);
    auto domain_at = [&](std::uint64_t e) {
      material::Domain d{};
      layout.for_each(e, 1, [&](const material::Segment& seg) { d = seg.domain; });
      return d;
    };
    REQUIRE(domain_at(131071) == material::Domain::boolean);
    REQUIRE(domain_at(262143) == material::Domain::arithmetic);
    const auto batch = test::load_fixture_batches(*sd_db, dealer_dbs, "m", plan, 1).at(0);
    dealer::DealerStore store(dealer_dbs["dealer-1"]);
    store.bind(batch.batch_id, "model_owner", "client", 3600);
    dealer::DealerShareSource source(store);

    const Bytes stored = stored_share(*dealer_dbs["dealer-1"], batch.batch_id);
    REQUIRE(stored.size() == 16 + 32 * layout.element_count());
    const dealer::BoundBatch bound = store.open_shares(batch.batch_id, "model_owner", 0);
    Bytes expected(stored.size() - 16);
    Prg prg(bound.shares_seed);
    material::mask_pairs(layout, prg, 0, ByteView(stored).subspan(16), expected);

    CHECK(stream_from(source, batch.batch_id, 0, 32768) == expected);
    for (std::uint64_t resume : {131071ULL, 131072ULL, 200001ULL, 262143ULL, 314999ULL}) {
      CAPTURE(resume);
      const Bytes tail(expected.begin() + static_cast<long>(32 * resume), expected.end());
      CHECK(stream_from(source, batch.batch_id, resume, 7777) == tail);
    }
    auto reader = source.open(batch.batch_id, "model_owner", 0);
    CHECK(reader->masked_mac_key_share() ==
          material::mask_mac_key(load_u128_le(stored.data()), bound.mac_key_mask));
    CHECK(stored_share(*dealer_dbs["dealer-1"], batch.batch_id) == stored);
  }
}
