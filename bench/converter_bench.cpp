// The converter's throughput (issue 3): 3 dealers, each reading its share from its own
// database (PostgreSQL or MariaDB, started by the test harness) and streaming it masked over
// loopback gRPC with mTLS; the model owner sums the streams into its 2PC share, in memory or
// persisted in chunks to its own database. Also the client's seed expansion. JSON lines only.
//   bench_converter [--database postgresql|mysql] [--mode in_memory|persisted]
//                   [--chunk-elements N] [--db-socket] [--repeat N] [ELEMENTS...]
// Defaults: both databases, both modes, the collector's default message size, every actor
// connected to its database over TCP, one run of each, 100000 1000000 10000000 elements.
// --db-socket connects the actors to their databases over the servers' Unix-domain sockets.
#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "app/malloc_tuning.hpp"
#include "bench_util.hpp"
#include "db/chunks.hpp"
#include "db_servers.hpp"
#include "dealer/dealer_store.hpp"
#include "dealer/share_source.hpp"
#include "fixture_loader.hpp"
#include "grpc/share_collector.hpp"
#include "grpc/share_service.hpp"
#include "material/conversion.hpp"
#include "model_owner/mo_store.hpp"

namespace fs = std::filesystem;
using namespace ppi;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kDealers = 3;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Certs {
  fs::path dir = fs::temp_directory_path() / ("ppi-bench-" + std::to_string(::getpid()));
  Certs() {
    std::string cmd = std::string(PPI_SOURCE_DIR) + "/scripts/make-certs.sh " + dir.string() +
                      " model_owner dealer-1 dealer-2 dealer-3 > /dev/null";
    if (std::system(cmd.c_str()) != 0) throw Error(Errc::internal, "make-certs.sh failed");
  }
  ~Certs() { fs::remove_all(dir); }
  net::TlsOptions of(const std::string& name) const {
    return {(dir / (name + ".pem")).string(), (dir / (name + ".key")).string(),
            (dir / "ca.pem").string(), true};
  }
};

struct Options {
  std::vector<std::uint64_t> sizes;
  std::vector<db::Dialect> databases{db::Dialect::postgresql, db::Dialect::mysql};
  std::vector<bool> persisted{false, true};
  std::uint32_t chunk_elements = 0;
  bool db_socket = false;
  int repeat = 1;
};

// A fresh database on server for one actor, over TCP or the server's socket as asked.
std::string database_url(test::DbServer& server, const char* actor, const Options& opts) {
  const std::string url = server.create_database(actor);
  return opts.db_socket ? server.socket_url(url) : url;
}

// Three dealers in this process: their stores on their own databases, their gRPC services.
struct InProcessDealers {
  std::map<std::string, std::shared_ptr<db::Database>> dbs;
  std::vector<std::unique_ptr<dealer::DealerStore>> stores;
  std::vector<std::unique_ptr<dealer::DealerShareSource>> sources;
  std::vector<std::unique_ptr<grpcsvc::ShareDealerService>> services;
  std::vector<std::unique_ptr<grpcsvc::GrpcServer>> servers;
  std::vector<grpcsvc::DealerEndpoint> endpoints;

  InProcessDealers(test::DbServer& server, const Certs& certs, const Options& opts) {
    for (int i = 1; i <= kDealers; ++i) {
      std::string id = "dealer-" + std::to_string(i);
      auto database = db::Database::open({.url = database_url(server, "dealer", opts)});
      db::migrate(*database, "dealer");
      dbs[id] = database;
      stores.push_back(std::make_unique<dealer::DealerStore>(database));
      sources.push_back(std::make_unique<dealer::DealerShareSource>(*stores.back()));
      services.push_back(std::make_unique<grpcsvc::ShareDealerService>(*sources.back()));
      servers.push_back(std::make_unique<grpcsvc::GrpcServer>(
          "127.0.0.1", 0, certs.of(id), std::vector<grpc::Service*>{services.back().get()}));
      endpoints.push_back({id, "127.0.0.1:" + std::to_string(servers.back()->port())});
    }
  }
};

void print(const nlohmann::json& line) {
  std::cout << line.dump() << std::endl;
}

void run_database(db::Dialect dialect, const Options& opts, const Certs& certs) {
  auto& server = test::test_databases().server(dialect);
  InProcessDealers dealers(server, certs, opts);
  auto sd_db = db::Database::open({.url = database_url(server, "super_dealer", opts)});
  db::migrate(*sd_db, "super_dealer");
  auto mo_db = db::Database::open({.url = database_url(server, "model_owner", opts)});
  db::migrate(*mo_db, "model_owner");
  model_owner::ModelOwnerStore mo_store(mo_db);
  {
    auto s = sd_db->acquire();
    s.exec("INSERT INTO models (model_id) VALUES ('bench')");
  }
  grpcsvc::CollectOptions options;
  options.tls = certs.of("model_owner");
  options.chunk_elements = opts.chunk_elements;
  const std::string dialect_name(db::dialect_name(dialect));
  const char* transport = opts.db_socket ? "unix" : "tcp";

  for (std::uint64_t elements : opts.sizes) {
    // 10^k = 3 (10^k - 4) / 3 + 4: triples and two daBits, `elements` elements in all.
    auto plan = material::MaterialPlan::from_json(nlohmann::json::array(
        {{{"type", "TRIPLE"}, {"count", (elements - 4) / 3}}, {{"type", "DABIT"}, {"count", 2}}}));
    const material::BatchLayout layout(plan);
    // Each mode --repeat times; "run" counts from 1 per size and mode, and run 1 of the first
    // size includes the process's warm-up (heap growth, first reads on fresh connections).
    for (int run = 1; run <= opts.repeat; ++run)
      for (bool persisted : opts.persisted) {
        auto load_start = Clock::now();
        auto batch = test::load_fixture_batches(*sd_db, dealers.dbs, "bench", plan, 1).at(0);
        double load_seconds = seconds_since(load_start);
        for (auto& store : dealers.stores)
          store->bind(batch.batch_id, "model_owner", "client", 3600);
        if (!persisted) {
          // One dealer reading its stored share, alone: the database's part of the stream.
          auto read_start = Clock::now();
          std::uint64_t read_bytes = 0;
          auto& store = *dealers.stores.front();
          for (std::int64_t seq = 0; read_bytes < 16 + 32 * elements; ++seq) {
            read_bytes += store.read_chunk(batch.batch_id, seq).size();
          }
          double read_secs = seconds_since(read_start);
          print({{"bench", "converter"},
                 {"op", "dealer_database_read"},
                 {"database", dialect_name},
                 {"db_transport", transport},
                 {"run", run},
                 {"elements", elements},
                 {"bytes", read_bytes},
                 {"seconds", read_secs},
                 {"mb_per_s", static_cast<double>(read_bytes) / read_secs / 1e6}});
        }

        Bytes share;
        auto start = Clock::now();
        double busy_start = bench::machine_busy_seconds();
        double own_start = bench::process_cpu_seconds();
        grpcsvc::CollectResult result{};
        if (persisted) {
          mo_store.begin_inference(batch.batch_id, "bench", "client", "dealer-1,dealer-2,dealer-3");
          auto session = mo_db->acquire();
          db::Transaction tx(session);
          db::ChunkWriter writer(session, {"share_chunks", "batch_id"}, batch.batch_id);
          result =
              grpcsvc::collect_shares(dealers.endpoints, batch.batch_id, layout, options,
                                      [&](std::uint64_t, ByteView pairs) { writer.write(pairs); });
          writer.finish();
          tx.commit();
        } else {
          // Allocated and touched before the clock starts: first-touch page faults cost about
          // 250 MB/s on this VM and are not part of the protocol.
          share.assign(32 * elements, 0);
          start = Clock::now();
          busy_start = bench::machine_busy_seconds();
          own_start = bench::process_cpu_seconds();
          result =
              grpcsvc::collect_shares(dealers.endpoints, batch.batch_id, layout, options,
                                      [&](std::uint64_t first, ByteView pairs) {
                                        std::copy(pairs.begin(), pairs.end(),
                                                  share.begin() + static_cast<long>(32 * first));
                                      });
        }
        double secs = seconds_since(start);
        const double busy = bench::machine_busy_seconds() - busy_start;
        const double own = bench::process_cpu_seconds() - own_start;
        double ingested = static_cast<double>(result.bytes_received);
        print(
            {{"bench", "converter"},
             {"op", persisted ? "model_owner_collect_persisted" : "model_owner_collect_in_memory"},
             {"database", dialect_name},
             {"db_transport", transport},
             {"run", run},
             {"dealers", kDealers},
             {"elements", elements},
             {"chunk_elements", opts.chunk_elements},
             {"masked_bytes_ingested", result.bytes_received},
             {"seconds", secs},
             {"elements_per_s", static_cast<double>(elements) / secs},
             {"mb_per_s", ingested / secs / 1e6},
             {"machine_cpu_seconds", busy},
             {"actors_cpu_seconds", own},  // dealers and model owner (this process)
             {"cpu_ns_per_byte", busy / ingested * 1e9},
             {"fixture_load_seconds", load_seconds}});
        // As in a deployment once the client has its seeds too: the dealers delete the batch's
        // material, and the model owner its share after the online phase. Otherwise every run
        // leaves 3 x 32 bytes per element behind and the later runs read past the cache.
        // PostgreSQL's autovacuum would then free the space for the next batches; VACUUM does
        // it at once, so each run starts from the same cache (MariaDB purges by itself).
        auto discard = [&](db::Database& database, std::string_view table, const std::string& id) {
          auto session = database.acquire();
          db::delete_chunks(session, {table}, id);
          if (dialect == db::Dialect::postgresql) session.exec_ddl("VACUUM " + std::string(table));
        };
        for (auto& [id, database] : dealers.dbs) discard(*database, "batch_chunks", batch.batch_id);
        discard(*mo_db, "share_chunks", batch.batch_id);
      }
  }
}

void run_expansion(const std::vector<std::uint64_t>& sizes) {
  for (std::uint64_t elements : sizes) {
    std::vector<Seed128> seeds;
    std::vector<u128> masks;
    for (int i = 0; i < kDealers; ++i) {
      seeds.push_back(random_seed());
      masks.push_back(random_u128());
    }
    material::ClientShareExpander expander(seeds, masks);
    const auto layout = material::BatchLayout::all_arithmetic(elements);
    Bytes chunk(4 << 20);
    auto start = Clock::now();
    for (std::uint64_t e = 0; e < elements;) {
      std::uint64_t n = std::min<std::uint64_t>(chunk.size() / 32, elements - e);
      expander.expand(layout, e, std::span<std::uint8_t>(chunk.data(), 32 * n));
      e += n;
    }
    double secs = seconds_since(start);
    print({{"bench", "converter"},
           {"op", "client_seed_expansion"},
           {"dealers", kDealers},
           {"elements", elements},
           {"seconds", secs},
           {"elements_per_s", static_cast<double>(elements) / secs},
           {"mb_per_s", 32.0 * static_cast<double>(elements) / secs / 1e6}});
  }
}

}  // namespace

int main(int argc, char** argv) {
  app::tune_malloc_for_streaming();  // as the dealer and model owner executables do
  Options opts;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      const bool has_value = i + 1 < argc;
      if (arg == "--database" && has_value) {
        const std::string v = argv[++i];
        if (v != "postgresql" && v != "mysql") throw Error(Errc::config, "unknown database " + v);
        opts.databases = {v == "postgresql" ? db::Dialect::postgresql : db::Dialect::mysql};
      } else if (arg == "--mode" && has_value) {
        const std::string v = argv[++i];
        if (v != "in_memory" && v != "persisted") throw Error(Errc::config, "unknown mode " + v);
        opts.persisted = {v == "persisted"};
      } else if (arg == "--db-socket") {
        opts.db_socket = true;
      } else if (arg == "--repeat" && has_value) {
        opts.repeat = std::max(1, std::stoi(argv[++i]));
      } else if (arg == "--chunk-elements" && has_value) {
        opts.chunk_elements = static_cast<std::uint32_t>(std::stoul(argv[++i]));
      } else {
        opts.sizes.push_back(std::stoull(arg));
      }
    }
    if (opts.sizes.empty()) opts.sizes = {100000, 1000000, 10000000};
    Certs certs;
    run_expansion(opts.sizes);
    for (auto dialect : opts.databases) run_database(dialect, opts, certs);
  } catch (const std::exception& e) {
    std::cerr << "bench_converter: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
