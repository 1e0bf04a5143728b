#include "app/docs.hpp"

#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>

#include "core/error.hpp"

namespace ppi::app {
namespace detail {
// Generated from openapi/*.yaml by cmake/EmbedFiles.cmake (see CMakeLists.txt).
std::optional<std::string_view> embedded_openapi(std::string_view file_name);
}  // namespace detail

namespace {

namespace fs = std::filesystem;
using net::http::status;
using net::http::verb;

// The only files GET /docs/{file} serves: what the page below loads. Any other name is 404,
// so no request can name a path outside the directory.
struct Asset {
  std::string_view name;
  std::string_view content_type;
};
constexpr std::array<Asset, 4> kAssets{{
    {"swagger-ui.css", "text/css; charset=utf-8"},
    {"swagger-ui-bundle.js", "text/javascript; charset=utf-8"},
    {"favicon-32x32.png", "image/png"},
    {"favicon-16x16.png", "image/png"},
}};

const Asset* find_asset(std::string_view name) {
  for (const Asset& a : kAssets) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

net::Response content_response(std::string_view content_type, std::string body,
                               std::string_view cache_control) {
  net::Response res{status::ok, 11};
  res.set(net::http::field::content_type, content_type);
  res.set(net::http::field::cache_control, cache_control);
  res.set("X-Content-Type-Options", "nosniff");
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

std::string html_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Swagger UI, its assets from /docs/, showing this actor's /openapi.yaml. Absolute URLs, so the
// page works at /docs and /docs/ alike.
std::string docs_page(std::string_view actor) {
  std::string title = "ppi " + html_escape(actor) + ": REST API (v1)";
  return R"(<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>)" +
         title +
         R"(</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
  <link rel="icon" type="image/png" href="/docs/favicon-16x16.png" sizes="16x16">
  <style>body { margin: 0; }</style>
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script>
    window.addEventListener('load', function () {
      window.ui = SwaggerUIBundle({
        url: '/openapi.yaml',
        dom_id: '#swagger-ui',
        deepLinking: true,
        layout: 'BaseLayout',
        validatorUrl: null
      });
    });
  </script>
</body>
</html>
)";
}

bool installed(const std::string& dir) {
  std::error_code ec;
  return fs::is_regular_file(fs::path(dir) / "swagger-ui-bundle.js", ec);
}

net::Response not_installed(const std::string& dir) {
  return net::problem_response(status::service_unavailable, "Service Unavailable",
                               "Swagger UI is not installed in " + dir +
                                   ": run scripts/setup.sh (or scripts/install-web-deps.sh), "
                                   "or point docs.swagger_ui_dir at a swagger-ui-dist directory",
                               errc_name(Errc::unavailable));
}

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  return data;
}

}  // namespace

void add_docs_routes(net::Router& router, std::string_view actor,
                     const std::string& swagger_ui_dir) {
  std::string file_name = std::string(actor) + ".yaml";
  std::optional<std::string_view> document = detail::embedded_openapi(file_name);
  if (!document) {
    throw Error(Errc::internal, "no OpenAPI document openapi/" + file_name + " compiled in");
  }

  router.add(verb::get, "/openapi.yaml",
             [yaml = *document](const net::Request&, net::RequestContext&) {
               return content_response("application/yaml", std::string(yaml), "no-cache");
             });

  router.add(
      verb::get, "/docs",
      [page = docs_page(actor), dir = swagger_ui_dir](const net::Request&, net::RequestContext&) {
        if (!installed(dir)) return not_installed(dir);
        return content_response("text/html; charset=utf-8", page, "no-cache");
      });

  router.add(verb::get, "/docs/{file}",
             [dir = swagger_ui_dir](const net::Request&, net::RequestContext& context) {
               // The segment is matched as it came, still percent-encoded: "..%2F" or "%2E%2E"
               // are simply not on the list.
               const Asset* asset = find_asset(context.path_params.at("file"));
               if (asset == nullptr) {
                 throw Error(Errc::not_found, "no such documentation asset");
               }
               if (!installed(dir)) return not_installed(dir);
               auto data = read_file(fs::path(dir) / asset->name);
               if (!data) throw Error(Errc::not_found, "no such documentation asset");
               return content_response(asset->content_type, std::move(*data), "max-age=3600");
             });
}

}  // namespace ppi::app
