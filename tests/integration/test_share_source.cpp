// The dealer's share stream (dealer/share_source.cpp) on a batch of several 4 MiB database
// chunks, in process against real databases: the pieces it hands to gRPC are exactly the
// stored share masked with the batch's seed, including the element that straddles each chunk
// boundary (a boolean one here, an arithmetic one at the next boundary); a stream resumed at
// such an element or in the middle of a chunk gives the same bytes; the stored share itself
// is left untouched by the in-place masking. Then the delivery rule against the real dealer.
#include <doctest/doctest.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <thread>

#include "crypto/prg.hpp"
#include "db/chunks.hpp"
#include "db_servers.hpp"
#include "dealer/dealer_store.hpp"
#include "dealer/share_source.hpp"
#include "deployment.hpp"
#include "fixture_loader.hpp"
#include "material/conversion.hpp"
#include "material/layout.hpp"
#include "net/json_call.hpp"
#include "proto/shares.grpc.pb.h"

using namespace ppi;
using namespace std::chrono_literals;

namespace {

// Elements from `first` to the end, asked for in messages of `per_message` elements, as the
// service does; the pieces are concatenated.
Bytes stream_from(dealer::DealerShareSource& source, const std::string& batch_id,
                  std::uint64_t first, std::uint64_t per_message) {
  auto reader = source.open(batch_id, "model_owner", first);
  Bytes out;
  for (std::uint64_t e = first; e < reader->total_elements(); e += per_message) {
    std::vector<grpcsvc::PairsPiece> pieces;
    const std::uint64_t n = std::min(per_message, reader->total_elements() - e);
    reader->read(e, n, pieces);
    for (const auto& piece : pieces) out.insert(out.end(), piece.bytes.begin(), piece.bytes.end());
    reader->sent(e + n);  // as the service does after each Write: later streams may resume
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
    auto [sd_db, dealer_dbs] = test::fixture_databases(dialect, "m");  // a group has >= 3

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
    store.end_shares(batch.batch_id, bound.stream_token, 0);  // frees the lease it took
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

// Issue 15 item 4, against the real dealer executable: "delivered" is decided once, atomically,
// and means every element was written. One stream of a batch at a time (the second is ABORTED
// while the first runs); of 20 concurrent streams exactly one delivers the batch whole; a
// stream cut off early leaves the batch fetchable whole again; a resume at element_count, or
// anywhere past what was sent, is refused and marks nothing.
namespace {

struct StreamOutcome {
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string message;
  std::uint64_t elements = 0;  // received in this stream
  std::uint64_t total = 0;
  bool key_share = false;  // the first message carried the masked MAC-key share
};

class RawShares {
 public:
  RawShares(const test::Deployment& d, const std::string& endpoint) {
    auto read = [&](const std::string& name) {
      std::ifstream in(d.certs().dir() / name);
      return std::string(std::istreambuf_iterator<char>(in), {});
    };
    grpc::SslCredentialsOptions tls{read("ca.pem"), read("model_owner.key"),
                                    read("model_owner.pem")};
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(grpcsvc::kMaxMessageBytes);
    stub_ = shares::v1::ShareDealer::NewStub(
        grpc::CreateCustomChannel(endpoint, grpc::SslCredentials(tls), args));
  }

  // One stream from `resume`; `after_first` runs once the first message arrived.
  StreamOutcome stream(const std::string& batch_id, std::uint64_t resume,
                       const std::function<void()>& after_first = {}) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 120s);
    shares::v1::GetSharesRequest request;
    request.set_batch_id(batch_id);
    request.set_resume_from_element(resume);
    request.set_chunk_elements(4096);
    auto reader = stub_->GetShares(&context, request);
    StreamOutcome out;
    shares::v1::ShareChunk chunk;
    for (bool first = true; reader->Read(&chunk); first = false) {
      if (first) out.key_share = chunk.masked_mac_key_share().size() == 16;
      out.total = chunk.total_elements();
      out.elements += chunk.pairs().size() / 32;
      if (first && after_first) after_first();
    }
    const grpc::Status status = reader->Finish();
    out.code = status.error_code();
    out.message = status.error_message();
    return out;
  }
  // Reads the first message of a stream, then cancels it.
  StreamOutcome cut_off(const std::string& batch_id) {
    grpc::ClientContext context;
    shares::v1::GetSharesRequest request;
    request.set_batch_id(batch_id);
    request.set_chunk_elements(4096);
    auto reader = stub_->GetShares(&context, request);
    shares::v1::ShareChunk chunk;
    StreamOutcome out;
    if (reader->Read(&chunk)) out.elements = chunk.pairs().size() / 32;
    context.TryCancel();
    out.code = reader->Finish().error_code();
    return out;
  }

 private:
  std::unique_ptr<shares::v1::ShareDealer::Stub> stub_;
};

struct ShareColumns {
  bool delivered = false;
  bool leased = false;
  std::int64_t sent_through = 0;
  std::string state;
};

ShareColumns share_columns(test::Deployment& d, const std::string& batch_id) {
  auto s = d.open(d.dealer("dealer-1").db_url)->acquire();
  auto r = s.exec(
      "SELECT shares_completed_at, shares_stream_token, shares_sent_through, state FROM batches "
      "WHERE batch_id = ?",
      {batch_id});
  REQUIRE(r.rows.size() == 1);
  return {!r.rows[0].is_null(0), !r.rows[0].is_null(1), r.rows[0].get_int(2),
          r.rows[0].get_string(3)};
}

// Polls (never a fixed sleep) until no stream holds the batch's lease.
void wait_unleased(test::Deployment& d, const std::string& batch_id) {
  for (int i = 0; i < 600 && share_columns(d, batch_id).leased; ++i)
    std::this_thread::sleep_for(50ms);
  REQUIRE_FALSE(share_columns(d, batch_id).leased);
}

void run_exactly_once_case(db::Dialect dialect) {
  test::Deployment d(dialect, 3);
  // 200000 elements (6.4 MB per dealer share, 49 messages of 4096): long enough that
  // concurrent streams overlap and flow control holds a paused one.
  const auto plan = material::MaterialPlan::parse(R"([{"type": "TRIPLE", "count": 200000}])");
  const std::uint64_t n = plan.element_count();
  std::string out;
  REQUIRE_MESSAGE(d.register_model("m", plan, out) == 0, out);
  const auto batches = d.load_batches("m", plan, d.dealer_ids(), 5);
  dealer::DealerStore store(d.open(d.dealer("dealer-1").db_url));
  for (const auto& b : batches) store.bind(b, "model_owner", "client", 3600);
  std::string endpoint;
  auto registry = net::call_json(d.certs().client("operator"), net::http::verb::get,
                                 d.super_dealer.url + "/v1/dealers");
  for (const auto& e : registry.at("dealers"))
    if (e.at("dealer_id") == "dealer-1") endpoint = e.at("grpc_endpoint");
  REQUIRE_FALSE(endpoint.empty());
  RawShares shares(d, endpoint);

  {  // a second stream while one runs is ABORTED; the first delivers it whole, once
    const std::string& batch = batches[0];
    StreamOutcome second;
    const StreamOutcome first = shares.stream(batch, 0, [&] { second = shares.stream(batch, 0); });
    CHECK(second.code == grpc::StatusCode::ABORTED);
    CHECK(second.message.find("another stream") != std::string::npos);
    CHECK(second.elements == 0);
    CHECK(first.code == grpc::StatusCode::OK);
    CHECK(first.elements == n);
    CHECK(share_columns(d, batch).delivered);
    const StreamOutcome again = shares.stream(batch, 0);
    CHECK(again.code == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(again.elements == 0);
  }

  {  // 20 concurrent streams: exactly one delivers the batch whole
    const std::string& batch = batches[1];
    std::vector<std::future<StreamOutcome>> streams;
    for (int i = 0; i < 20; ++i)
      streams.push_back(std::async(std::launch::async, [&] { return shares.stream(batch, 0); }));
    int whole = 0;
    for (auto& f : streams) {
      const StreamOutcome o = f.get();
      CAPTURE(o.message);
      if (o.code == grpc::StatusCode::OK) {
        CHECK(o.elements == n);
        ++whole;
      } else {
        // Refused while the winner ran, or after it delivered: nothing sent either way.
        CHECK((o.code == grpc::StatusCode::ABORTED ||
               o.code == grpc::StatusCode::FAILED_PRECONDITION));
        CHECK(o.elements == 0);
      }
    }
    CHECK(whole == 1);
    CHECK(share_columns(d, batch).delivered);
    auto s = d.open(d.dealer("dealer-1").db_url)->acquire();
    CHECK(s.exec("SELECT COUNT(*) FROM releases WHERE batch_id = ? AND kind = 'shares'", {batch})
              .rows[0]
              .get_int(0) >= 1);
  }

  {  // a stream cut off early: not delivered, and a retry fetches it whole
    const std::string& batch = batches[2];
    // On a channel of its own: flow control's window has not grown yet, so the dealer is still
    // far from the last element when the cancel reaches it.
    const StreamOutcome cut = RawShares(d, endpoint).cut_off(batch);
    CHECK(cut.code == grpc::StatusCode::CANCELLED);
    wait_unleased(d, batch);
    const ShareColumns after_cut = share_columns(d, batch);
    CHECK_FALSE(after_cut.delivered);
    CHECK(after_cut.state == "bound");
    CHECK(after_cut.sent_through < static_cast<std::int64_t>(n));
    // Past what was sent: refused, so no stream can count as delivering what nobody sent.
    const StreamOutcome skip = shares.stream(batch, after_cut.sent_through + 1);
    CHECK(skip.code == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(skip.message.find("have been sent") != std::string::npos);
    CHECK_FALSE(share_columns(d, batch).delivered);
    const StreamOutcome retry = shares.stream(batch, 0);
    CHECK(retry.code == grpc::StatusCode::OK);
    CHECK(retry.elements == n);
    CHECK(share_columns(d, batch).delivered);
  }

  {  // a resume at element_count sends nothing and is refused; the share stays fetchable
    const std::string& batch = batches[3];
    const StreamOutcome empty = shares.stream(batch, n);
    CHECK(empty.code == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(empty.elements == 0);
    CHECK_FALSE(share_columns(d, batch).delivered);
    const StreamOutcome beyond = shares.stream(batch, n + 1);
    CHECK(beyond.code == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_FALSE(share_columns(d, batch).delivered);
    const StreamOutcome whole = shares.stream(batch, 0);
    CHECK(whole.code == grpc::StatusCode::OK);
    CHECK(whole.elements == n);
    CHECK(share_columns(d, batch).delivered);
  }

  {  // a resume at element_count after an unmarked full send is the one that marks it
    // As left by a stream whose last Write succeeded but whose marking did not happen.
    const std::string& batch = batches[4];
    d.open(d.dealer("dealer-1").db_url)
        ->acquire()
        .exec("UPDATE batches SET shares_sent_through = element_count WHERE batch_id = ?", {batch});
    const StreamOutcome end = shares.stream(batch, n);
    CHECK(end.code == grpc::StatusCode::OK);
    CHECK(end.elements == 0);
    CHECK(end.total == n);
    CHECK(end.key_share);
    CHECK(share_columns(d, batch).delivered);
    CHECK(shares.stream(batch, n).code == grpc::StatusCode::FAILED_PRECONDITION);
  }
}

}  // namespace

TEST_CASE(
    "GetShares delivered exactly once: concurrent streams, cut-off, empty resume (PostgreSQL)") {
  run_exactly_once_case(db::Dialect::postgresql);
}

TEST_CASE("GetShares delivered exactly once: the same on MariaDB") {
  run_exactly_once_case(db::Dialect::mysql);
}
