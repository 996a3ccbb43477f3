#include "engine/wal/record.h"

#include <exception>

#include "engine/wal/format.h"
#include "util/crc32c.h"

namespace kissvdb::wal {

namespace {

// CRC of the record's length field followed by its body.
uint32_t RecordCrc(const char* record, size_t body_size) {
  const uint32_t crc = crc32c::Value(record, 4);
  return crc32c::Extend(crc, record + kRecordHeaderSize, body_size);
}

}  // namespace

RecordEncoder::RecordEncoder(std::string* out)
    : out_(out), serializer_(nlohmann::detail::output_adapter<char, std::string>(*out), ' ') {}

Status RecordEncoder::Append(const Event& event) {
  if (event.type.size() > kMaxTypeSize) {
    return Status::InvalidArgument("event type longer than " + std::to_string(kMaxTypeSize) +
                                   " bytes");
  }
  if (event.data.is_discarded()) return Status::InvalidArgument("event data is a discarded value");

  const size_t start = out_->size();
  out_->append(kMinRecordSize, '\0');
  char* fixed = out_->data() + start + kRecordHeaderSize;
  EncodeFixed64(fixed, event.offset);
  EncodeFixed64(fixed + 8, event.ts_ms);
  EncodeFixed16(fixed + 16, static_cast<uint16_t>(event.type.size()));
  out_->append(event.type);
  try {
    // Same arguments as Json::dump(): compact, UTF-8 kept, strict on bad UTF-8.
    serializer_.dump(event.data, /*pretty_print=*/false, /*ensure_ascii=*/false,
                     /*indent_step=*/0);
  } catch (const std::exception& e) {
    out_->resize(start);
    return Status::InvalidArgument(std::string("event data cannot be serialized: ") + e.what());
  }

  const size_t body_size = out_->size() - start - kRecordHeaderSize;
  if (body_size > kMaxRecordBodySize) {
    out_->resize(start);
    return Status(Code::kPayloadTooLarge, "event record of " + std::to_string(body_size) +
                                              " bytes exceeds the log's limit");
  }
  char* record = out_->data() + start;
  EncodeFixed32(record, static_cast<uint32_t>(body_size));
  EncodeFixed32(record + 4, MaskCrc(RecordCrc(record, body_size)));
  return Status::OK();
}

const char* RecordStatusName(RecordStatus status) {
  switch (status) {
    case RecordStatus::kOk: return "ok";
    case RecordStatus::kIncomplete: return "truncated record";
    case RecordStatus::kBadLength: return "bad record length";
    case RecordStatus::kBadChecksum: return "checksum mismatch";
    case RecordStatus::kBadLayout: return "bad record layout";
  }
  return "unknown";
}

RecordStatus DecodeRecord(const char* data, size_t n, RecordView* rec) {
  if (n < kRecordHeaderSize) return RecordStatus::kIncomplete;
  const uint32_t body_size = DecodeFixed32(data);
  if (body_size < kRecordFixedBodySize || body_size > kMaxRecordBodySize) {
    return RecordStatus::kBadLength;
  }
  if (n - kRecordHeaderSize < body_size) return RecordStatus::kIncomplete;
  if (UnmaskCrc(DecodeFixed32(data + 4)) != RecordCrc(data, body_size)) {
    return RecordStatus::kBadChecksum;
  }
  const char* body = data + kRecordHeaderSize;
  const size_t type_size = DecodeFixed16(body + 16);
  if (kRecordFixedBodySize + type_size > body_size) return RecordStatus::kBadLayout;
  rec->offset = DecodeFixed64(body);
  rec->ts_ms = DecodeFixed64(body + 8);
  rec->type = std::string_view(body + kRecordFixedBodySize, type_size);
  rec->payload = std::string_view(body + kRecordFixedBodySize + type_size,
                                  body_size - kRecordFixedBodySize - type_size);
  rec->size = kRecordHeaderSize + body_size;
  return RecordStatus::kOk;
}

Status ParseEvent(const RecordView& rec, Event* event) {
  Json data;
  try {
    data = Json::parse(rec.payload.begin(), rec.payload.end(), /*cb=*/nullptr,
                       /*allow_exceptions=*/false);
  } catch (const std::exception& e) {
    return Status::Corruption("offset " + std::to_string(rec.offset) + ": " + e.what());
  }
  if (data.is_discarded()) {
    return Status::Corruption("offset " + std::to_string(rec.offset) + ": payload is not JSON");
  }
  event->offset = rec.offset;
  event->ts_ms = rec.ts_ms;
  event->type.assign(rec.type);
  event->data = std::move(data);
  return Status::OK();
}

}  // namespace kissvdb::wal
