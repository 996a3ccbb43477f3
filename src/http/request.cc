#include "http/request.h"

#include <algorithm>
#include <cctype>

#include "http/errors.h"
#include "util/json_writer.h"

namespace kissvdb::http {

namespace {

// Deeper JSON is refused before parsing: rendering a value recurses, and a
// megabyte of '[' would overflow the stack of whoever dumps it.
constexpr int kMaxJsonDepth = 256;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// application/json, or any structured "+json" type (application/merge-patch+json).
bool IsJsonMediaType(std::string_view content_type) {
  std::string_view media = Trim(content_type.substr(0, content_type.find(';')));
  if (IEquals(media, "application/json")) return true;
  return media.size() > 5 && IEquals(media.substr(media.size() - 5), "+json");
}

// Nesting depth of arrays/objects, ignoring brackets inside strings. A cheap
// pre-scan; syntax errors are left to the parser.
bool DepthWithin(std::string_view body, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

}  // namespace

std::string_view Request::header(std::string_view name) const {
  if (raw == nullptr) return {};
  auto it = raw->find(name);
  return it == raw->end() ? std::string_view() : std::string_view(it->value());
}

std::string Request::query_or(const std::string& name, const std::string& fallback) const {
  auto it = query.find(name);
  return it == query.end() ? fallback : it->second;
}

const std::string& Request::param(const std::string& name) const {
  static const std::string kEmpty;
  auto it = params.find(name);
  return it == params.end() ? kEmpty : it->second;
}

Result<Json> Request::JsonBody(bool allow_empty) const {
  if (raw != nullptr) {
    auto it = raw->find(boost::beast::http::field::content_type);
    if (it != raw->end() && !IsJsonMediaType(it->value())) {
      return Status(Code::kUnsupportedMediaType,
                    "expected Content-Type application/json, got '" +
                        std::string(it->value().substr(0, 100)) + "'");
    }
  }
  const std::string_view text = body();
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    if (allow_empty) return Json(nullptr);
    return Status::InvalidArgument("request body is empty; expected JSON");
  }
  if (!DepthWithin(text, kMaxJsonDepth)) {
    return Status::InvalidArgument("JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                                   " levels");
  }
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    return Status::InvalidArgument("invalid JSON at byte " + std::to_string(e.byte) + ": " +
                                   ShortJsonError(e.what()));
  } catch (const Json::exception& e) {  // out_of_range: a number like 1e999 overflows a double
    return Status::InvalidArgument("invalid JSON: " + ShortJsonError(e.what()));
  }
}

Response Response::Json(unsigned status, const kissvdb::Json& body) {
  Response r;
  r.status = status;
  // Invalid UTF-8 in a string (from a hostile key, say) is replaced, not thrown.
  r.body = DumpJson(body);  // nlohmann's dump(-1, ' ', false, replace), faster
  return r;
}

Response Response::Error(const Status& status) {
  kissvdb::Json body = {{"error", CodeName(status.code())}, {"message", status.message()}};
  return Json(static_cast<unsigned>(HttpStatusOf(status.code())), body);
}

Response Response::Text(unsigned status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

}  // namespace kissvdb::http
