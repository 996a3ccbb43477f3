#include "http/auth.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <random>

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/string.hpp>
#include <spdlog/spdlog.h>

#include "util/file_util.h"

namespace kissvdb::http {

namespace {

constexpr std::string_view kBearer = "Bearer ";

Status Unauthorized(std::string message) { return Status(Code::kUnauthorized, std::move(message)); }

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// 32 random bytes as 64 hex digits, from the kernel's CSPRNG.
std::string RandomToken() {
  unsigned char bytes[32];
  size_t got = 0;
  const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    while (got < sizeof(bytes)) {
      const ssize_t n = ::read(fd, bytes + got, sizeof(bytes) - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    ::close(fd);
  }
  if (got < sizeof(bytes)) {  // no /dev/urandom (chroot): random_device is getrandom() on Linux
    std::random_device rd;
    for (auto& b : bytes) b = static_cast<unsigned char>(rd());
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  token.reserve(64);
  for (unsigned char b : bytes) {
    token.push_back(kHex[b >> 4]);
    token.push_back(kHex[b & 15]);
  }
  return token;
}

}  // namespace

bool ConstantTimeEquals(std::string_view given, std::string_view secret) {
  // Walks `given` once; compares against `secret` cyclically so that no
  // branch or index depends on the secret's content or where they differ.
  unsigned diff = given.size() != secret.size() ? 1u : 0u;
  if (secret.empty()) return false;
  const size_t n = secret.size();
  size_t j = 0;
  for (size_t i = 0; i < given.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i]) ^ static_cast<unsigned char>(secret[j]);
    j = (j + 1 == n) ? 0 : j + 1;
  }
  return diff == 0;
}

Authenticator::Authenticator(std::string bootstrap_key) : bootstrap_key_(std::move(bootstrap_key)) {}

Status Authenticator::Authenticate(const BeastRequest& req,
                                   const std::map<std::string, std::string>& query,
                                   Principal* principal) const {
  namespace bhttp = boost::beast::http;
  auto auth = req.find(bhttp::field::authorization);
  if (auth != req.end()) {
    const std::string_view value = auth->value();
    // The scheme name is case-insensitive (RFC 9110 11.1: "bearer" and
    // "BEARER" are "Bearer"); the token after it is compared exactly.
    if (!boost::beast::iequals(value.substr(0, kBearer.size()), kBearer)) {
      return Unauthorized("invalid authorization header format");
    }
    return Check(value.substr(kBearer.size()), principal);
  }
  auto api_key = req.find("X-API-Key");
  if (api_key != req.end()) return Check(api_key->value(), principal);
  auto q = query.find("api_key");
  if (q != query.end()) return Check(q->second, principal);
  return Unauthorized("missing authorization header");
}

Status Authenticator::Check(std::string_view token, Principal* principal) const {
  if (ConstantTimeEquals(token, bootstrap_key_)) {
    principal->key_id = "bootstrap";
    principal->role = "admin";
    return Status::OK();
  }
  if (lookup_ && !token.empty()) {
    Result<std::optional<Principal>> found = lookup_(token);
    if (!found.ok()) {
      spdlog::error("api key lookup failed: {}", found.status().ToString());
      return Status::Internal("internal error");
    }
    if (found.value().has_value()) {
      *principal = std::move(*found.value());
      return Status::OK();
    }
  }
  return Unauthorized("invalid api key");
}

bool IsLoopbackAddress(std::string_view bind) {
  if (bind == "localhost") return true;
  std::string text(bind);
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(text, ec);
  if (ec) return false;
  if (addr.is_v4()) return addr.to_v4().is_loopback();
  const auto v6 = addr.to_v6();
  if (v6.is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).is_loopback();
  }
  return v6.is_loopback();
}

Status CheckBindPolicy(const Config& config) {
  if (IsLoopbackAddress(config.bind) || config.api_key_explicit) return Status::OK();
  return Status::InvalidArgument(
      "refusing to bind " + config.bind +
      " (not a loopback address) without an explicit API key; set --api-key or KISSVDB_API_KEY");
}

std::string ApiKeyPath(const std::string& data_dir) {
  if (!data_dir.empty() && data_dir.back() == '/') return data_dir + "api_key";
  return data_dir + "/api_key";
}

Result<std::string> ResolveApiKey(const Config& config, KeySource* source) {
  if (!config.api_key.empty()) {
    *source = KeySource::kConfig;
    return config.api_key;
  }
  const std::string path = ApiKeyPath(config.data_dir);
  Result<std::string> existing = file_util::ReadFile(path);
  if (existing.ok()) {
    const std::string_view key = TrimSpace(existing.value());
    if (!key.empty()) {
      struct stat st;
      if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
        spdlog::warn("{} is readable by other users; chmod 600 it", path);
      }
      *source = KeySource::kFile;
      return std::string(key);
    }
  } else if (existing.status().code() != Code::kNotFound) {
    return existing.status();
  }
  KISSVDB_RETURN_IF_ERROR(file_util::CreateDirs(config.data_dir));
  std::string key = RandomToken();
  KISSVDB_RETURN_IF_ERROR(file_util::AtomicWriteFile(path, key + "\n", 0600));
  *source = KeySource::kGenerated;
  return key;
}

}  // namespace kissvdb::http
