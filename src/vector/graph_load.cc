#include "vector/graph_load.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "util/crc32c.h"
#include "util/file_util.h"

namespace kissvdb::vector {

namespace {

using Index = hnswlib::HierarchicalNSW<float>;

// Sequential reads through a 1 MiB buffer; large reads go straight to their
// destination. Every byte read is added to the CRC.
class FileReader {
 public:
  FileReader(int fd, const std::string& path, uint64_t size) : fd_(fd), path_(path), left_(size), buf_(1 << 20) {}

  uint64_t left() const { return left_ + (end_ - pos_); }
  uint32_t crc() const { return crc_; }
  const Status& status() const { return status_; }

  // False at the end of the file or on an error (status()).
  bool Read(void* dst, size_t n) {
    char* out = static_cast<char*>(dst);
    if (n > left()) return false;
    const size_t buffered = std::min(n, end_ - pos_);
    std::memcpy(out, buf_.data() + pos_, buffered);
    pos_ += buffered;
    out += buffered;
    n -= buffered;
    if (n >= buf_.size()) return Fill(out, n);
    if (n > 0) {
      const size_t chunk = static_cast<size_t>(std::min<uint64_t>(buf_.size(), left_));
      if (!Fill(buf_.data(), chunk)) return false;
      pos_ = 0;
      end_ = chunk;
      std::memcpy(out, buf_.data(), n);
      pos_ = n;
    }
    return true;
  }
  template <typename T>
  bool Pod(T* v) {
    return Read(v, sizeof(T));
  }

 private:
  // Reads exactly n bytes of the file into dst (n <= left_).
  bool Fill(char* dst, size_t n) {
    const size_t want = n;
    char* at = dst;
    while (n > 0) {
      const ssize_t got = ::read(fd_, at, n);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) {
        status_ = file_util::ErrnoStatus("read", path_, errno);
        return false;
      }
      if (got == 0) {
        status_ = Status::Corruption(path_ + ": shorter than the manifest says");
        return false;
      }
      at += got;
      n -= static_cast<size_t>(got);
    }
    crc_ = crc32c::Extend(crc_, dst, want);
    left_ -= want;
    return true;
  }

  const int fd_;
  const std::string& path_;
  uint64_t left_;  // not yet read from the file
  std::vector<char> buf_;
  size_t pos_ = 0, end_ = 0;
  uint32_t crc_ = 0;
  Status status_;
};

}  // namespace

Status LoadGraph(const std::string& path, hnswlib::SpaceInterface<float>* space, const GraphFileExpectation& expect,
                 std::unique_ptr<Index>* out) {
  auto corrupt = [&](const std::string& what) { return Status::Corruption(path + ": " + what); };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return corrupt("missing");
    return file_util::ErrnoStatus("open", path, errno);
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return file_util::ErrnoStatus("stat", path, errno);
  if (static_cast<uint64_t>(st.st_size) != expect.size) return corrupt("size differs from the manifest");
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);

  FileReader r(fd, path, expect.size);
  auto truncated = [&] { return r.status().ok() ? corrupt("truncated graph") : r.status(); };
  auto index = std::make_unique<Index>(space);
  Index& g = *index;

  // The header, in saveIndex's order.
  size_t max_elements_saved = 0, count = 0;
  if (!r.Pod(&g.offsetLevel0_) || !r.Pod(&max_elements_saved) || !r.Pod(&count) ||
      !r.Pod(&g.size_data_per_element_) || !r.Pod(&g.label_offset_) || !r.Pod(&g.offsetData_) ||
      !r.Pod(&g.maxlevel_) || !r.Pod(&g.enterpoint_node_) || !r.Pod(&g.maxM_) || !r.Pod(&g.maxM0_) ||
      !r.Pod(&g.M_) || !r.Pod(&g.mult_) || !r.Pod(&g.ef_construction_)) {
    return truncated();
  }
  g.data_size_ = space->get_data_size();
  g.fstdistfunc_ = space->get_dist_func();
  g.dist_func_param_ = space->get_dist_func_param();
  g.size_links_per_element_ = g.maxM_ * sizeof(hnswlib::tableint) + sizeof(hnswlib::linklistsizeint);
  g.size_links_level0_ = g.maxM0_ * sizeof(hnswlib::tableint) + sizeof(hnswlib::linklistsizeint);
  // Everything the sizes derive from must be what this collection writes.
  if (count != expect.slots || g.M_ != expect.m || g.maxM_ != expect.m || g.maxM0_ != 2 * expect.m ||
      g.offsetLevel0_ != 0 || g.offsetData_ != g.size_links_level0_ ||
      g.label_offset_ != g.offsetData_ + g.data_size_ ||
      g.size_data_per_element_ != g.label_offset_ + sizeof(hnswlib::labeltype) || g.maxlevel_ < -1 ||
      (count > 0 && g.enterpoint_node_ >= count) || !(g.mult_ > 0)) {
    return corrupt("graph does not match the manifest");
  }
  if (count * g.size_data_per_element_ > r.left()) return truncated();

  const size_t capacity = std::max(expect.capacity, count);
  g.max_elements_ = capacity;
  g.data_level0_memory_ = static_cast<char*>(malloc(capacity * g.size_data_per_element_));
  g.linkLists_ = static_cast<char**>(calloc(capacity, sizeof(void*)));
  if (g.data_level0_memory_ == nullptr || g.linkLists_ == nullptr) return Status::Internal("out of memory loading " + path);
  g.element_levels_.assign(capacity, 0);
  if (!r.Read(g.data_level0_memory_, count * g.size_data_per_element_)) return truncated();

  std::vector<std::mutex>(capacity).swap(g.link_list_locks_);
  std::vector<std::mutex>(Index::MAX_LABEL_OPERATION_LOCKS).swap(g.label_op_locks_);
  g.visited_list_pool_ = std::make_unique<hnswlib::VisitedListPool>(1, capacity);
  g.revSize_ = 1.0 / g.mult_;
  g.ef_ = 10;
  g.label_lookup_.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    // cur_element_count counts the elements clear() frees on the way out.
    g.label_lookup_[g.getExternalLabel(static_cast<hnswlib::tableint>(i))] = static_cast<hnswlib::tableint>(i);
    uint32_t size = 0;
    if (!r.Pod(&size)) return truncated();
    if (size == 0) continue;
    if (size % g.size_links_per_element_ != 0 || size > r.left()) return corrupt("bad link list " + std::to_string(i));
    g.linkLists_[i] = static_cast<char*>(malloc(size));
    if (g.linkLists_[i] == nullptr) return Status::Internal("out of memory loading " + path);
    g.element_levels_[i] = static_cast<int>(size / g.size_links_per_element_);
    g.cur_element_count = i + 1;
    if (!r.Read(g.linkLists_[i], size)) return truncated();
  }
  g.cur_element_count = count;
  if (r.left() != 0) return corrupt("trailing bytes after the graph");
  if (r.crc() != expect.crc) return corrupt("checksum mismatch");
  for (size_t i = 0; i < count; ++i) {
    if (g.isMarkedDeleted(static_cast<hnswlib::tableint>(i))) g.num_deleted_ += 1;
  }
  *out = std::move(index);
  return Status::OK();
}

}  // namespace kissvdb::vector
