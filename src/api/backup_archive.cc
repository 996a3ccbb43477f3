#include "api/backup_archive.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "util/file_util.h"
#include "util/tar.h"

namespace fs = std::filesystem;

namespace kissvdb::api {

namespace {

// Above this many queued bytes the download waits for the client.
constexpr size_t kHighWater = 4 << 20;
constexpr size_t kChunk = 256 << 10;
constexpr auto kPoll = std::chrono::milliseconds(2);

uint64_t PaddedSize(uint64_t bytes) { return tar::kBlockSize + bytes + tar::Padding(bytes).size(); }

}  // namespace

Result<BackupArchiver::Plan> BackupArchiver::PlanFor(const std::string& name, const std::string& dir) {
  auto text = file_util::ReadFile((fs::path(dir) / "manifest.json").string());
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) return Status::NotFound("no complete backup named " + name);
    return text.status();
  }
  Json manifest = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!manifest.is_object() || !manifest.contains("files") || !manifest["files"].is_array()) {
    return Status::Corruption("backup " + name + " has an unreadable manifest.json");
  }
  Plan plan;
  plan.name = name;
  plan.dir = dir;
  for (const Json& f : manifest["files"]) {
    Member m{f.value("path", ""), f.value("bytes", uint64_t{0})};
    if (m.path.empty() || m.path.front() == '/' || m.path.find("..") != std::string::npos) {
      return Status::Corruption("backup " + name + ": the manifest lists a bad path");
    }
    std::error_code ec;
    const uint64_t actual = fs::file_size(fs::path(dir) / m.path, ec);
    if (ec || actual != m.bytes) {
      return Status::Corruption("backup " + name + ": " + m.path + " is missing or has changed since the backup");
    }
    plan.members.push_back(std::move(m));
  }
  plan.members.push_back(Member{"manifest.json", text->size()});
  // The directories, then every member, then the end marker.
  std::vector<std::string> dirs;
  plan.archive_bytes = tar::kBlockSize;  // the top-level directory
  for (const Member& m : plan.members) {
    for (size_t slash = m.path.find('/'); slash != std::string::npos; slash = m.path.find('/', slash + 1)) {
      std::string d = m.path.substr(0, slash);
      if (std::find(dirs.begin(), dirs.end(), d) == dirs.end()) dirs.push_back(std::move(d));
    }
    plan.archive_bytes += PaddedSize(m.bytes);
  }
  plan.archive_bytes += dirs.size() * tar::kBlockSize + tar::EndOfArchive().size();
  return plan;
}

bool BackupArchiver::HasRoom() {
  std::lock_guard<std::mutex> lock(mu_);
  ReapFinished();
  return !stopping_ && downloads_.size() < kMaxDownloads;
}

void BackupArchiver::Start(Plan plan, std::shared_ptr<http::StreamSink> sink) {
  std::lock_guard<std::mutex> lock(mu_);
  ReapFinished();
  Download& d = downloads_.emplace_back();
  d.thread = std::thread([this, &d, plan = std::move(plan), sink = std::move(sink)] {
    Run(plan, *sink);
    sink->Close();
    d.done = true;
  });
}

void BackupArchiver::Stop() {
  stopping_ = true;
  std::list<Download> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    all.splice(all.end(), downloads_);
  }
  for (Download& d : all) d.thread.join();
}

void BackupArchiver::ReapFinished() {
  for (auto it = downloads_.begin(); it != downloads_.end();) {
    if (it->done) {
      it->thread.join();
      it = downloads_.erase(it);
    } else {
      ++it;
    }
  }
}

void BackupArchiver::Run(const Plan& plan, http::StreamSink& sink) {
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  // Sends a chunk once the client has taken most of what is queued; false
  // when the download must end (client gone, server stopping).
  auto send = [&](std::string chunk) {
    while (sink.queued_bytes() > kHighWater) {
      if (stopping_ || sink.closed()) return false;
      std::this_thread::sleep_for(kPoll);
    }
    return !stopping_ && sink.Send(std::move(chunk));
  };
  auto fail = [&](const std::string& why) {
    // The stream ends without the end-of-archive marker: tar and restore
    // both report the archive as truncated.
    spdlog::warn("backup download {}: {}", plan.name, why);
  };

  std::vector<std::string> dirs_sent;
  auto send_dir = [&](const std::string& rel) {
    if (std::find(dirs_sent.begin(), dirs_sent.end(), rel) != dirs_sent.end()) return true;
    dirs_sent.push_back(rel);
    auto header = tar::DirHeader(rel.empty() ? plan.name : plan.name + "/" + rel, 0755, now_s);
    return header.ok() && send(std::move(header).value());
  };
  if (!send_dir("")) return fail("cannot start the archive");

  for (const Member& m : plan.members) {
    for (size_t slash = m.path.find('/'); slash != std::string::npos; slash = m.path.find('/', slash + 1)) {
      if (!send_dir(m.path.substr(0, slash))) return;
    }
    auto header = tar::FileHeader(plan.name + "/" + m.path, m.bytes, 0644, now_s);
    if (!header.ok()) return fail(header.status().message());
    if (!send(std::move(header).value())) return;

    const std::string path = (fs::path(plan.dir) / m.path).string();
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail("cannot open " + path + ": " + std::strerror(errno));
    uint64_t left = m.bytes;
    bool ok = true;
    while (ok && left > 0) {
      std::string chunk(static_cast<size_t>(std::min<uint64_t>(left, kChunk)), '\0');
      ssize_t r = ::read(fd, chunk.data(), chunk.size());
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        fail(path + " ended early or could not be read");
        ok = false;
        break;
      }
      chunk.resize(static_cast<size_t>(r));
      left -= static_cast<uint64_t>(r);
      ok = send(std::move(chunk));
    }
    ::close(fd);
    if (!ok) return;
    std::string pad = tar::Padding(m.bytes);
    if (!pad.empty() && !send(std::move(pad))) return;
  }
  send(tar::EndOfArchive());
}

}  // namespace kissvdb::api
