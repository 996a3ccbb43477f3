#include "engine/wal/record.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>

#include "engine/wal/format.h"
#include "util/crc32c.h"

namespace kissvdb::wal {

namespace {

// CRC of the record's length field followed by its body.
uint32_t RecordCrc(const char* record, size_t body_size) {
  const uint32_t crc = crc32c::Value(record, 4);
  return crc32c::Extend(crc, record + kRecordHeaderSize, body_size);
}

static_assert(std::endian::native == std::endian::little, "the log's floats are little-endian");

// Moves data["vector"] into *floats when it is an array of numbers that are
// all float32 values (so nothing is lost), as older versions logged them.
void MoveVectorToFloats(Json* data, std::vector<float>* floats) {
  if (!data->is_object()) return;
  auto it = data->find("vector");
  if (it == data->end() || !it->is_array() || it->empty()) return;
  std::vector<float> out;
  out.reserve(it->size());
  for (const Json& x : *it) {
    if (!x.is_number()) return;
    const double d = x.get<double>();
    if (!std::isfinite(d) || std::fabs(d) > std::numeric_limits<float>::max()) return;
    const float f = static_cast<float>(d);
    if (static_cast<double>(f) != d) return;
    out.push_back(f);
  }
  data->erase(it);
  *floats = std::move(out);
}

}  // namespace

RecordEncoder::RecordEncoder(std::string* out, uint32_t version)
    : out_(out), version_(version), serializer_(nlohmann::detail::output_adapter<char, std::string>(*out), ' ') {}

Status RecordEncoder::Append(const Event& event) {
  if (event.type.size() > kMaxTypeSize) {
    return Status::InvalidArgument("event type longer than " + std::to_string(kMaxTypeSize) +
                                   " bytes");
  }
  if (event.data.is_discarded()) return Status::InvalidArgument("event data is a discarded value");
  uint32_t unit = 0;
  if (event.tx != 0) {
    if (event.tx > event.offset || event.offset - event.tx > kUnitIndexMask) {
      return Status::InvalidArgument("event " + std::to_string(event.offset) + " names unit " +
                                     std::to_string(event.tx));
    }
    unit = static_cast<uint32_t>(event.offset - event.tx);
  }
  if (event.tx_more) unit |= kUnitMore;
  if (event.floats.size() > kMaxRecordBodySize / sizeof(float)) {
    return Status(Code::kPayloadTooLarge, "event record exceeds the log's limit");
  }
  const bool binary_floats = version_ >= 3;

  const size_t fixed_size = FixedBodySize(version_);
  const size_t start = out_->size();
  out_->append(kRecordHeaderSize + fixed_size, '\0');
  char* fixed = out_->data() + start + kRecordHeaderSize;
  EncodeFixed64(fixed, event.offset);
  EncodeFixed64(fixed + 8, event.ts_ms);
  if (version_ != 1) EncodeFixed32(fixed + 16, unit);
  if (binary_floats) EncodeFixed32(fixed + 20, static_cast<uint32_t>(event.floats.size()));
  EncodeFixed16(fixed + fixed_size - 2, static_cast<uint16_t>(event.type.size()));
  out_->append(event.type);
  if (binary_floats) {
    out_->append(reinterpret_cast<const char*>(event.floats.data()), event.floats.size() * sizeof(float));
  }
  try {
    // Same arguments as Json::dump(): compact, UTF-8 kept, strict on bad UTF-8.
    if (binary_floats || event.floats.empty()) {
      serializer_.dump(event.data, /*pretty_print=*/false, /*ensure_ascii=*/false,
                       /*indent_step=*/0);
    } else {
      serializer_.dump(event.ClientData(), /*pretty_print=*/false, /*ensure_ascii=*/false,
                       /*indent_step=*/0);
    }
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

RecordStatus DecodeRecord(const char* data, size_t n, uint32_t version, RecordView* rec) {
  if (n < kRecordHeaderSize) return RecordStatus::kIncomplete;
  const size_t fixed_size = FixedBodySize(version);
  const uint32_t body_size = DecodeFixed32(data);
  if (body_size < fixed_size || body_size > kMaxRecordBodySize) {
    return RecordStatus::kBadLength;
  }
  if (n - kRecordHeaderSize < body_size) return RecordStatus::kIncomplete;
  if (UnmaskCrc(DecodeFixed32(data + 4)) != RecordCrc(data, body_size)) {
    return RecordStatus::kBadChecksum;
  }
  const char* body = data + kRecordHeaderSize;
  const size_t type_size = DecodeFixed16(body + fixed_size - 2);
  if (fixed_size + type_size > body_size) return RecordStatus::kBadLayout;
  rec->offset = DecodeFixed64(body);
  rec->ts_ms = DecodeFixed64(body + 8);
  rec->unit = version == 1 ? 0 : DecodeFixed32(body + 16);
  if ((rec->unit & kUnitIndexMask) >= rec->offset && rec->unit != 0) return RecordStatus::kBadLayout;
  const uint64_t float_bytes = version >= 3 ? uint64_t{DecodeFixed32(body + 20)} * sizeof(float) : 0;
  if (fixed_size + type_size + float_bytes > body_size) return RecordStatus::kBadLayout;
  rec->type = std::string_view(body + fixed_size, type_size);
  rec->floats = std::string_view(body + fixed_size + type_size, float_bytes);
  const size_t json_at = fixed_size + type_size + float_bytes;
  rec->payload = std::string_view(body + json_at, body_size - json_at);
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
  const uint32_t index = rec.unit & kUnitIndexMask;
  event->tx_more = (rec.unit & kUnitMore) != 0;
  event->tx = index > 0 || event->tx_more ? rec.offset - index : 0;
  event->type.assign(rec.type);
  event->data = std::move(data);
  event->floats.resize(rec.floats.size() / sizeof(float));
  if (!rec.floats.empty()) std::memcpy(event->floats.data(), rec.floats.data(), rec.floats.size());
  if (event->floats.empty() && event_type::CarriesVector(event->type)) {
    MoveVectorToFloats(&event->data, &event->floats);
  }
  return Status::OK();
}

}  // namespace kissvdb::wal
