// The storage suite, run unchanged against PostgreSQL and MariaDB (test names end in
// <postgresql> / <mariadb>). Each test case gets a fresh database.

#include <atomic>
#include <latch>
#include <limits>
#include <random>
#include <thread>

#include "db/chunks.hpp"
#include "db_test_util.hpp"

namespace ppi::db {
namespace {

using testing::code_of;
using testing::count_rows;
using testing::error_of;
using testing::fresh_db;
using testing::MariaDb;
using testing::Postgres;

#define PPI_BACKENDS Postgres, MariaDb

TEST_CASE_TEMPLATE("migrations apply in version order, once", B, PPI_BACKENDS) {
  auto db = fresh_db(B::dialect, /*migrated=*/false);
  CHECK(migrate(*db, "test") == 2);
  CHECK(migrate(*db, "test") == 0);
  auto s = db->acquire();
  const Result r = s.exec("SELECT version, name, checksum FROM schema_migrations ORDER BY version");
  REQUIRE(r.rows.size() == 2);
  CHECK(r.rows[0].get_int(0) == 1);
  CHECK(r.rows[0].get_string(1) == "001_init");
  CHECK(r.rows[1].get_string(1) == "002_tags");
  CHECK(r.rows[0].get_string(2) == migrations_for(B::dialect, "test")[0].checksum());
  // Both migrations' tables exist: 002 references 001.
  s.exec("INSERT INTO items (id, name) VALUES (?, ?)", {std::int64_t{1}, std::string("a")});
  CHECK(s.exec("INSERT INTO tags (item_id, tag) VALUES (?, ?)", {std::int64_t{1}, std::string("t")})
            .affected == 1);
}

TEST_CASE_TEMPLATE("a changed or unknown applied migration is refused", B, PPI_BACKENDS) {
  auto db = fresh_db(B::dialect);
  auto changed = migrations_for(B::dialect, "test");
  changed[0].sql += "\n-- edited after release\n";
  const auto e = error_of([&] { migrate(*db, "test", changed); });
  REQUIRE(e);
  CHECK(e->code() == Errc::database);
  CHECK(std::string(e->what()).find("001_init") != std::string::npos);
  CHECK(std::string(e->what()).find("changed after it was applied") != std::string::npos);

  // A database migrated by a newer program: refuse rather than run against an unknown schema.
  auto s = db->acquire();
  s.exec("INSERT INTO schema_migrations (version, name, checksum) VALUES (?, ?, ?)",
         {std::int64_t{99}, std::string("099_future"), std::string(64, '0')});
  CHECK(code_of([&] { migrate(*db, "test"); }) == Errc::database);
}

TEST_CASE_TEMPLATE("every actor's schema applies, and re-applies nothing", B, PPI_BACKENDS) {
  for (const std::string actor : {"super_dealer", "dealer", "model_owner", "client"}) {
    CAPTURE(actor);
    auto db = fresh_db(B::dialect, false);
    CHECK(migrate(*db, actor) == static_cast<int>(migrations_for(B::dialect, actor).size()));
    CHECK(migrate(*db, actor) == 0);
    if (actor != "dealer") continue;
    // The dealer's chunk table takes UUID keys and cascades from batches; seeds are 16 bytes.
    auto s = db->acquire();
    const std::string id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    s.exec(
        "INSERT INTO batches (batch_id, model_id, shares_seed, mac_key_mask) VALUES (?, ?, ?, ?)",
        {id, std::string("m"), Bytes(16, 1), Bytes(16, 2)});
    CHECK(write_chunks(s, {"batch_chunks"}, id, Bytes(10, 7), 4) == 3);
    CHECK(code_of([&] {
            s.exec("UPDATE batches SET shares_seed = ? WHERE batch_id = ?", {Bytes(15, 1), id});
          }) == Errc::invalid_argument);
    CHECK(code_of([&] {
            s.exec("UPDATE batches SET state = ? WHERE batch_id = ?", {std::string("lost"), id});
          }) == Errc::invalid_argument);
    CHECK(s.exec("DELETE FROM batches WHERE batch_id = ?", {id}).affected == 1);
    CHECK(count_rows(s, "batch_chunks") == 0);
  }
}

TEST_CASE_TEMPLATE("two processes migrating at once: the lock serialises them", B, PPI_BACKENDS) {
  auto db = fresh_db(B::dialect, false);
  std::atomic<int> applied{0}, failures{0};
  std::latch start(2);
  auto run = [&] {
    start.arrive_and_wait();
    try {
      applied += migrate(*db, "test");
    } catch (const Error&) {
      ++failures;
    }
  };
  std::thread a(run), b(run);
  a.join();
  b.join();
  CHECK(failures == 0);
  CHECK(applied == 2);  // one applied both, the other found nothing to do
}

TEST_CASE_TEMPLATE("every parameter type round-trips", B, PPI_BACKENDS) {
  auto db = fresh_db(B::dialect);
  auto s = db->acquire();
  CHECK(s.dialect() == B::dialect);

  Bytes all(256);
  for (int i = 0; i < 256; ++i) all[i] = static_cast<std::uint8_t>(i);
  all.insert(all.end(), {0, 0, 0});
  const std::string unicode = "h\xC3\xA9llo \xE2\x9C\x93 \xF0\x9D\x84\x9E";  // é ✓ 𝄞
  struct Case {
    std::int64_t id;
    std::string name;
    Param score, note, payload;
  };
  const Case cases[] = {
      {std::numeric_limits<std::int64_t>::max(), unicode, 3.141592653589793, std::string("x"), all},
      {std::numeric_limits<std::int64_t>::min(), "", -1e300, std::string(""), Bytes{}},
      {0, "nulls", nullptr, nullptr, nullptr},
      {42, "tiny", 0.1, std::string(70000 / 2, 'n'), Bytes{0}},
  };
  const std::string insert =
      "INSERT INTO items (id, name, score, note, payload) VALUES (?, ?, ?, ?, ?)";
  for (const Case& c : cases) {
    CHECK(s.exec(insert, {c.id, c.name, c.score, c.note, c.payload}).affected == 1);
  }
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const Result r =
        s.exec("SELECT id, name, score, note, payload, state FROM items WHERE id = ?", {c.id});
    REQUIRE(r.rows.size() == 1);
    const Row& row = r.rows[0];
    CHECK(row.size() == 6);
    CHECK(row.get_int(0) == c.id);
    CHECK(row.get_string(1) == c.name);
    if (std::holds_alternative<std::nullptr_t>(c.score)) {
      CHECK(row.is_null(2));
      CHECK(row.is_null(3));
      CHECK(row.is_null(4));
      CHECK(code_of([&] { row.get_bytes(4); }) == Errc::database);
      continue;
    }
    CHECK(row.get_double(2) == std::get<double>(c.score));  // exact, not approximately
    CHECK(row.get_string(3) == std::get<std::string>(c.note));
    CHECK_FALSE(row.is_null(4));  // an empty blob is not NULL
    CHECK(row.get_bytes(4) == std::get<Bytes>(c.payload));
    CHECK(row.get_string(5) == "free");  // the column default
  }
  // Integers read back as integers, wherever they come from.
  CHECK(s.exec("SELECT COUNT(*), SUM(id) FROM items WHERE id > ?", {std::int64_t{0}})
            .rows[0]
            .get_int(0) == 2);

  // UPDATE counts matched rows in both dialects, even when nothing changes.
  const std::string rename = "UPDATE items SET name = ? WHERE id = ?";
  CHECK(s.exec(rename, {std::string("tiny"), std::int64_t{42}}).affected == 1);
  CHECK(s.exec(rename, {std::string("small"), std::int64_t{42}}).affected == 1);
  CHECK(s.exec(rename, {std::string("none"), std::int64_t{7}}).affected == 0);
  CHECK(s.exec("SELECT name FROM items WHERE id = ?", {std::int64_t{42}}).rows[0].get_string(0) ==
        "small");
  // INSERT ... RETURNING answers rows in both (MariaDB prepares it without result columns).
  const Result ret = s.exec("INSERT INTO items (id, name) VALUES (?, ?) RETURNING id, name",
                            {std::int64_t{9}, std::string("returned")});
  REQUIRE(ret.rows.size() == 1);
  CHECK(ret.rows[0].get_int(0) == 9);
  CHECK(ret.rows[0].get_string(1) == "returned");
  CHECK(s.exec("DELETE FROM items WHERE id <> ?", {std::int64_t{0}}).affected == 4);
  CHECK(count_rows(s, "items") == 1);

  // A wrong parameter count is a bug, caught before the server sees it.
  CHECK(code_of([&] { s.exec("SELECT ? + ?", {std::int64_t{1}}); }) == Errc::internal);
}

TEST_CASE_TEMPLATE("bad input fails with invalid_argument and stores nothing", B, PPI_BACKENDS) {
  auto db = fresh_db(B::dialect);
  auto s = db->acquire();
  const std::string insert = "INSERT INTO items (id, name, state) VALUES (?, ?, ?)";
  const std::string free = "free";

  // VARCHAR(64) counts characters: 64 four-byte characters fit, 65 ASCII ones do not.
  std::string emoji;
  for (int i = 0; i < 64; ++i) emoji += "\xF0\x9F\x98\x80";
  CHECK(s.exec(insert, {std::int64_t{1}, emoji, free}).affected == 1);

  const auto too_long = error_of([&] {
    s.exec(insert, {std::int64_t{2}, std::string(65, 'x'), free});
  });
  REQUIRE(too_long);
  CHECK(too_long->code() == Errc::invalid_argument);
  CHECK(code_of([&] {
          s.exec(insert, {std::int64_t{3}, std::string("\xff\xfe"), free});
        }) == Errc::invalid_argument);
  CHECK(code_of([&] {
          s.exec(insert, {std::int64_t{4}, std::string("a\xC3"), free});
        }) == Errc::invalid_argument);  // truncated multi-byte sequence
  CHECK(code_of([&] {
          s.exec(insert, {std::int64_t{5}, std::string("a\0b", 3), free});
        }) == Errc::invalid_argument);
  CHECK(code_of([&] {
          s.exec(insert, {std::int64_t{6}, std::string("ok"), std::string("x")});
        }) == Errc::invalid_argument);  // CHECK constraint
  CHECK(code_of([&] {
          s.exec(insert, {std::int64_t{7}, nullptr, free});
        }) == Errc::invalid_argument);  // NOT NULL

  // The emoji row is the only one; a duplicate key or name is a conflict, not bad input.
  CHECK(count_rows(s, "items") == 1);
  CHECK(s.exec("SELECT name FROM items WHERE id = ?", {std::int64_t{1}}).rows[0].get_string(0) ==
        emoji);
  CHECK(code_of([&] {
          s.exec(insert, {std::int64_t{1}, std::string("other"), free});
        }) == Errc::conflict);
  CHECK(code_of([&] { s.exec(insert, {std::int64_t{8}, emoji, free}); }) == Errc::conflict);
  CHECK(code_of([&] {
          s.exec("INSERT INTO tags (item_id, tag) VALUES (?, ?)",
                 {std::int64_t{999}, std::string("orphan")});
        }) == Errc::conflict);  // foreign key
  CHECK(count_rows(s, "items") == 1);
  // The session is still usable after all those errors.
  CHECK(s.exec("SELECT 1").rows.size() == 1);
}

TEST_CASE_TEMPLATE("transactions: rollback leaves nothing, commit keeps", B, PPI_BACKENDS) {
  auto db = fresh_db(B::dialect);
  const std::string insert = "INSERT INTO items (id, name) VALUES (?, ?)";
  {
    auto s = db->acquire();
    {
      Transaction tx(s);
      s.exec(insert, {std::int64_t{1}, std::string("rolled back")});
      s.exec(insert, {std::int64_t{2}, std::string("also rolled back")});
    }  // no commit
    CHECK_FALSE(s.in_transaction());
    CHECK(count_rows(s, "items") == 0);

    s.begin();
    s.exec(insert, {std::int64_t{3}, std::string("explicit")});
    s.rollback();
    CHECK(count_rows(s, "items") == 0);

    {
      Transaction tx(s);
      s.exec(insert, {std::int64_t{4}, std::string("kept")});
      tx.commit();
    }
    CHECK(count_rows(s, "items") == 1);

    // An error inside a transaction: the whole transaction goes.
    {
      Transaction tx(s);
      s.exec(insert, {std::int64_t{5}, std::string("before the error")});
      CHECK(code_of([&] {
              s.exec(insert, {std::int64_t{4}, std::string("dup id")});
            }) == Errc::conflict);
    }
    CHECK(count_rows(s, "items") == 1);

    // A session dropped mid-transaction is rolled back before the pool reuses it.
    s.begin();
    s.exec(insert, {std::int64_t{6}, std::string("abandoned")});
  }
  auto s = db->acquire();
  CHECK_FALSE(s.in_transaction());
  CHECK(count_rows(s, "items") == 1);
  CHECK(code_of([&] { s.commit(); }) == Errc::internal);
}

TEST_CASE_TEMPLATE("chunked blobs round-trip in bounded pieces", B, PPI_BACKENDS) {
  auto db = fresh_db(B::dialect);
  auto s = db->acquire();
  Bytes blob((9u << 20) + 123);
  std::mt19937_64 rng(7);
  for (auto& b : blob) b = static_cast<std::uint8_t>(rng());
  const ChunkTable table{"blob_chunks"};

  CHECK(write_chunks(s, table, "blob-1", blob) == 3);
  std::vector<std::size_t> sizes;
  Bytes back;
  const auto total = read_chunks(s, table, "blob-1", [&](ByteView chunk) {
    sizes.push_back(chunk.size());
    back.insert(back.end(), chunk.begin(), chunk.end());
  });
  CHECK(total == blob.size());
  CHECK(sizes == std::vector<std::size_t>{kDefaultChunkSize, kDefaultChunkSize, (1u << 20) + 123});
  CHECK(back == blob);

  // Streaming writes in odd pieces give the same chunks.
  {
    ChunkWriter w(s, table, "blob-2", 1000);
    for (std::size_t off = 0; off < 5000; off += 777) {
      w.write(ByteView(blob).subspan(off, std::min<std::size_t>(777, 5000 - off)));
    }
    CHECK(w.finish() == 5);
  }
  back.clear();
  read_chunks(s, table, "blob-2", [&](ByteView c) { back.insert(back.end(), c.begin(), c.end()); });
  CHECK(back == Bytes(blob.begin(), blob.begin() + 5000));

  CHECK(code_of([&] { write_chunks(s, table, "blob-2", blob, 1000); }) == Errc::conflict);
  CHECK(delete_chunks(s, table, "blob-1") == 3);
  CHECK(read_chunks(s, table, "blob-1", [](ByteView) { FAIL("no chunk expected"); }) == 0);
  CHECK(count_rows(s, "blob_chunks") == 5);
  CHECK(code_of([&] { write_chunks(s, {"blob_chunks; DROP TABLE items"}, "k", blob); }) ==
        Errc::invalid_argument);
  CHECK(code_of([&] {
          read_chunks(s, {"blob_chunks", "Key"}, "k", [](ByteView) {});
        }) == Errc::invalid_argument);
}

TEST_CASE_TEMPLATE("read_blob: the stored bytes without a copy, or nothing, or a clear error", B,
                   PPI_BACKENDS) {
  auto db = fresh_db(B::dialect);
  auto s = db->acquire();
  Bytes blob((4u << 20) + 77);
  std::mt19937_64 rng(11);
  for (auto& b : blob) b = static_cast<std::uint8_t>(rng());
  s.exec("INSERT INTO items (id, name, payload) VALUES (?, ?, ?)", {std::int64_t{1}, "big", blob});
  s.exec("INSERT INTO items (id, name, payload) VALUES (?, ?, ?)",
         {std::int64_t{2}, "empty", Bytes{}});
  s.exec("INSERT INTO items (id, name) VALUES (?, ?)", {std::int64_t{3}, "null"});
  const std::string by_id = "SELECT payload FROM items WHERE id = ?";

  std::optional<Blob> big = s.read_blob(by_id, {std::int64_t{1}});
  REQUIRE(big);
  CHECK(Bytes(big->view().begin(), big->view().end()) == blob);
  Blob moved = std::move(*big);  // the moved-from Blob is empty, the bytes follow
  CHECK(big->size() == 0);
  CHECK(moved.size() == blob.size());
  CHECK(moved.view()[0] == blob[0]);

  std::optional<Blob> empty = s.read_blob(by_id, {std::int64_t{2}});
  REQUIRE(empty);
  CHECK(empty->size() == 0);
  CHECK_FALSE(s.read_blob(by_id, {std::int64_t{99}}).has_value());

  CHECK(code_of([&] { s.read_blob(by_id, {std::int64_t{3}}); }) == Errc::database);
  CHECK(code_of([&] { s.read_blob("SELECT name FROM items WHERE id = ?", {std::int64_t{1}}); }) ==
        Errc::database);
  CHECK(code_of([&] {
          s.read_blob("SELECT payload FROM items WHERE id < ?", {std::int64_t{3}});
        }) == Errc::database);
  CHECK(code_of([&] {
          s.read_blob("SELECT payload, name FROM items WHERE id = ?", {std::int64_t{1}});
        }) == Errc::database);
  CHECK(code_of([&] { s.read_blob(by_id, {}); }) == Errc::internal);  // a caller's bug
}

TEST_CASE_TEMPLATE("two connections racing to claim one row: exactly one wins", B, PPI_BACKENDS) {
  auto db = fresh_db(B::dialect);
  const std::string claim_sql =
      "SELECT id FROM items WHERE state = ? ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED";
  // One claim attempt: the row id it won, or 0 when it saw no free row.
  auto claim = [&](Session& s, std::latch& go) -> std::int64_t {
    Transaction tx(s);
    go.arrive_and_wait();
    const Result r = s.exec(claim_sql, {std::string("free")});
    if (r.rows.empty()) return 0;
    const std::int64_t id = r.rows[0].get_int(0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // hold the lock a moment
    CHECK(
        s.exec("UPDATE items SET state = ? WHERE id = ?", {std::string("claimed"), id}).affected ==
        1);
    tx.commit();
    return id;
  };
  auto s1 = db->acquire();
  auto s2 = db->acquire();
  int rounds_with_one_winner = 0;
  for (std::int64_t round = 1; round <= 50; ++round) {
    s1.exec("INSERT INTO items (id, name) VALUES (?, ?)", {round, "row " + std::to_string(round)});
    std::latch go(2);
    std::int64_t a = -1, b = -1;
    std::thread ta([&] { a = claim(s1, go); });
    std::thread tb([&] { b = claim(s2, go); });
    ta.join();
    tb.join();
    CAPTURE(round);
    CHECK(((a == round && b == 0) || (a == 0 && b == round)));
    rounds_with_one_winner += (a == round) != (b == round);
  }
  CHECK(rounds_with_one_winner == 50);
  CHECK(s1.exec("SELECT COUNT(*) FROM items WHERE state = ?", {std::string("claimed")})
            .rows[0]
            .get_int(0) == 50);
}

}  // namespace
}  // namespace ppi::db
