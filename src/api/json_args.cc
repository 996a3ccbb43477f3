#include "api/json_args.h"

#include <charconv>

namespace kissvdb::api {

Result<Json> ObjectBody(const http::Request& req) {
  auto body = req.JsonBody();
  if (!body.ok()) return body.status();
  if (!body->is_object()) return Status::InvalidArgument("the request body must be a JSON object");
  return body;
}

Result<std::optional<uint64_t>> OptionalU64(const Json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::optional<uint64_t>();
  if (it->is_number_unsigned()) return std::optional<uint64_t>(it->get<uint64_t>());
  if (it->is_number_integer() && it->get<int64_t>() >= 0) {
    return std::optional<uint64_t>(static_cast<uint64_t>(it->get<int64_t>()));
  }
  return Status::InvalidArgument(std::string(field) + " must be a non-negative integer");
}

Result<std::optional<bool>> OptionalBool(const Json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean()) return Status::InvalidArgument(std::string(field) + " must be true or false");
  return std::optional<bool>(it->get<bool>());
}

Result<std::string> RequiredString(const Json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end() || !it->is_string()) {
    return Status::InvalidArgument(std::string(field) + " is required and must be a string");
  }
  return it->get<std::string>();
}

Result<uint64_t> QueryU64(const http::Request& req, const std::string& name, uint64_t fallback) {
  auto it = req.query.find(name);
  if (it == req.query.end() || it->second.empty()) return fallback;
  const std::string& s = it->second;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) {
    return Status::InvalidArgument("query parameter " + name + " must be a non-negative integer");
  }
  return v;
}

Status CheckJsonSize(const Json& value, uint64_t limit, size_t hint, const char* what) {
  if (hint <= limit) return Status::OK();
  size_t size = value.dump().size();
  if (size <= limit) return Status::OK();
  return Status(Code::kPayloadTooLarge, std::string(what) + " is " + std::to_string(size) +
                                            " bytes serialized; the limit is " + std::to_string(limit));
}

}  // namespace kissvdb::api
