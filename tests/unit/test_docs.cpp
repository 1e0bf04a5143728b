// The documentation routes (app/docs.hpp): the compiled-in OpenAPI documents, the Swagger UI
// page, and the allow-listed asset server (with a directory of fake assets standing in for
// swagger-ui-dist).
#include <doctest/doctest.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "app/docs.hpp"
#include "core/error.hpp"

namespace fs = std::filesystem;
using namespace ppi;
using net::http::status;
using net::http::verb;

namespace {

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_text(const fs::path& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  REQUIRE(out.good());
}

net::Response get(const net::Router& router, std::string target, verb method = verb::get) {
  net::Request request{method, target, 11};
  net::RequestContext context;
  return router.handle(request, context);
}

std::string content_type(const net::Response& res) {
  return std::string(res[net::http::field::content_type]);
}

// A directory holding fake Swagger UI assets, and files that must never be served.
struct FakeSwaggerUi {
  fs::path root = fs::temp_directory_path() / ("ppi-docs-test-" + std::to_string(::getpid()));
  fs::path dir = root / "swagger-ui-dist";
  const std::string png{"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16};
  FakeSwaggerUi() {
    fs::create_directories(dir);
    write_text(dir / "swagger-ui-bundle.js", "/* fake bundle */ var SwaggerUIBundle = 1;\n");
    write_text(dir / "swagger-ui.css", "body { color: black; }\n");
    write_text(dir / "favicon-32x32.png", png);
    write_text(dir / "index.html", "<html>petstore</html>\n");
    write_text(dir / "secret.txt", "not an asset\n");
    write_text(root / "outside.txt", "outside the directory\n");
  }
  ~FakeSwaggerUi() { fs::remove_all(root); }
};

}  // namespace

TEST_CASE("docs: /openapi.yaml is the actor's document from openapi/, byte for byte") {
  for (std::string actor : {"super_dealer", "dealer", "model_owner", "client"}) {
    CAPTURE(actor);
    net::Router router;
    app::add_docs_routes(router, actor, "/nonexistent");
    auto res = get(router, "/openapi.yaml");
    CHECK(res.result() == status::ok);
    CHECK(content_type(res) == "application/yaml");
    CHECK(res.body() == read_text(fs::path(PPI_SOURCE_DIR) / "openapi" / (actor + ".yaml")));
  }
}

TEST_CASE("docs: an actor without a document is a programming error") {
  net::Router router;
  CHECK_THROWS_AS(app::add_docs_routes(router, "no_such_actor", "/nonexistent"), Error);
}

TEST_CASE("docs: without Swagger UI installed, /docs says how to install it") {
  net::Router router;
  app::add_docs_routes(router, "dealer", "/nonexistent/swagger-ui-dist");
  for (std::string target : {"/docs", "/docs/swagger-ui-bundle.js"}) {
    CAPTURE(target);
    auto res = get(router, target);
    CHECK(res.result() == status::service_unavailable);
    CHECK(content_type(res) == "application/problem+json");
    auto doc = nlohmann::json::parse(res.body());
    CHECK(doc["code"] == "unavailable");
    CHECK(doc["status"] == 503);
    CHECK(doc["detail"].get<std::string>().find("scripts/setup.sh") != std::string::npos);
  }
  // The document itself does not need Swagger UI.
  CHECK(get(router, "/openapi.yaml").result() == status::ok);
}

TEST_CASE("docs: the Swagger UI page and its allow-listed assets") {
  FakeSwaggerUi ui;
  net::Router router;
  app::add_docs_routes(router, "super_dealer", ui.dir.string());

  SUBCASE("the page loads Swagger UI from /docs/ and shows /openapi.yaml") {
    // "/docs/" is not an alias: it redirects to the one spelling (issue 14 item 6).
    const auto alias = get(router, "/docs/");
    CHECK(alias.result() == status::permanent_redirect);
    CHECK(alias[net::http::field::location] == "/docs");
    for (std::string target : {"/docs"}) {
      CAPTURE(target);
      auto res = get(router, target);
      CHECK(res.result() == status::ok);
      CHECK(content_type(res) == "text/html; charset=utf-8");
      CHECK(res.body().find("url: '/openapi.yaml'") != std::string::npos);
      CHECK(res.body().find("src=\"/docs/swagger-ui-bundle.js\"") != std::string::npos);
      CHECK(res.body().find("href=\"/docs/swagger-ui.css\"") != std::string::npos);
      CHECK(res.body().find("petstore") == std::string::npos);
    }
  }

  SUBCASE("allowed assets are served with their content types") {
    auto css = get(router, "/docs/swagger-ui.css");
    CHECK(css.result() == status::ok);
    CHECK(content_type(css) == "text/css; charset=utf-8");
    CHECK(css.body() == read_text(ui.dir / "swagger-ui.css"));

    auto js = get(router, "/docs/swagger-ui-bundle.js");
    CHECK(js.result() == status::ok);
    CHECK(content_type(js) == "text/javascript; charset=utf-8");
    CHECK(js.body() == read_text(ui.dir / "swagger-ui-bundle.js"));

    auto png = get(router, "/docs/favicon-32x32.png");
    CHECK(png.result() == status::ok);
    CHECK(content_type(png) == "image/png");
    CHECK(png.body() == ui.png);
    CHECK(png[net::http::field::content_length] == std::to_string(ui.png.size()));
  }

  SUBCASE("an allowed name missing from the directory is 404") {
    CHECK(get(router, "/docs/favicon-16x16.png").result() == status::not_found);
  }

  SUBCASE("names off the list and traversal attempts are 404") {
    for (std::string target :
         {"/docs/secret.txt", "/docs/index.html", "/docs/swagger-ui.css.map",
          "/docs/..%2Foutside.txt", "/docs/..%2F..%2Fetc%2Fpasswd", "/docs/%2E%2E%2Foutside.txt",
          "/docs/../outside.txt", "/docs/..", "/docs/./swagger-ui.css", "/docs/swagger-ui.css/..",
          "/docs/%73ecret.txt", "/docs/swagger-ui.css%00"}) {
      CAPTURE(target);
      auto res = get(router, target);
      CHECK(res.result() == status::not_found);
      CHECK(content_type(res) == "application/problem+json");
      CHECK(res.body().find("outside the directory") == std::string::npos);
      CHECK(res.body().find("not an asset") == std::string::npos);
    }
  }

  SUBCASE("only GET") {
    CHECK(get(router, "/docs", verb::post).result() == status::method_not_allowed);
    CHECK(get(router, "/openapi.yaml", verb::delete_).result() == status::method_not_allowed);
  }
}
