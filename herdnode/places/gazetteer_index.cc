#include "herdnode/places/gazetteer_index.h"

#include <array>
#include <cstdio>
#include <fstream>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "herdnode/places/file_bytes.h"

namespace herd::places {
namespace {

constexpr std::string_view kMagic("HERDGAZ\0", 8);
constexpr size_t kHeaderBytes = 32;
constexpr size_t kRecordBytes = 20;

// FNV-1a, 64 bit: enough to catch a damaged or truncated-and-padded file,
// which is all the checksum is for.
uint64_t Fnv1a64(std::string_view bytes) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

void PutU32(std::string& out, uint32_t v) {
  for (int shift = 0; shift < 32; shift += 8) {
    out.push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

void PutU64(std::string& out, uint64_t v) {
  PutU32(out, static_cast<uint32_t>(v));
  PutU32(out, static_cast<uint32_t>(v >> 32));
}

uint32_t GetU32(std::string_view in, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) {
    v = (v << 8) | static_cast<unsigned char>(in[at + static_cast<size_t>(i)]);
  }
  return v;
}

uint64_t GetU64(std::string_view in, size_t at) {
  return GetU32(in, at) | (static_cast<uint64_t>(GetU32(in, at + 4)) << 32);
}

// Interns strings into the table so that repeated admin1 names and country
// codes are stored once.
class StringTable {
 public:
  uint32_t Intern(const std::string& s) {
    auto [it, inserted] =
        offsets_.try_emplace(s, static_cast<uint32_t>(bytes_.size()));
    if (inserted) {
      bytes_.append(s);
      bytes_.push_back('\0');
    }
    return it->second;
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::unordered_map<std::string, uint32_t> offsets_;
  std::string bytes_;
};

}  // namespace

absl::Status WriteGazetteerIndex(const std::vector<GazetteerEntry>& entries,
                                 const std::string& path) {
  StringTable strings;
  std::string payload;
  payload.reserve(entries.size() * kRecordBytes);
  for (const GazetteerEntry& e : entries) {
    PutU32(payload, static_cast<uint32_t>(e.latitude_e6));
    PutU32(payload, static_cast<uint32_t>(e.longitude_e6));
    PutU32(payload, strings.Intern(e.name));
    PutU32(payload, strings.Intern(e.admin1));
    PutU32(payload, strings.Intern(e.country));
  }
  payload.append(strings.bytes());

  std::string file(kMagic);
  PutU32(file, kGazetteerFormatVersion);
  PutU32(file, static_cast<uint32_t>(entries.size()));
  PutU32(file, static_cast<uint32_t>(strings.bytes().size()));
  PutU32(file, 0);
  PutU64(file, Fnv1a64(payload));
  file.append(payload);

  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(file.data(), static_cast<std::streamsize>(file.size()));
    if (!out.flush()) {
      return absl::InternalError(absl::StrCat("cannot write ", tmp));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<Gazetteer> Gazetteer::Load(const std::string& path) {
  absl::StatusOr<std::string> file = ReadFileBytes(path);
  if (!file.ok()) {
    return absl::Status(
        file.status().code(),
        absl::StrCat("gazetteer index ", file.status().message()));
  }
  const std::string_view bytes = *file;
  auto corrupt = [&path](std::string_view why) {
    return absl::DataLossError(
        absl::StrCat("gazetteer index ", path, ": ", std::string(why)));
  };

  if (bytes.size() < kHeaderBytes || bytes.substr(0, 8) != kMagic) {
    return corrupt("not a herd gazetteer index (bad magic)");
  }
  const uint32_t version = GetU32(bytes, 8);
  if (version != kGazetteerFormatVersion) {
    return corrupt(absl::StrCat("format version ", version, ", expected ",
                                kGazetteerFormatVersion,
                                " (rebuild the index)"));
  }
  const uint64_t count = GetU32(bytes, 12);
  const uint64_t string_bytes = GetU32(bytes, 16);
  const uint64_t expected_size =
      kHeaderBytes + count * kRecordBytes + string_bytes;
  if (bytes.size() != expected_size) {
    return corrupt(absl::StrCat("size ", bytes.size(), " bytes, header says ",
                                expected_size));
  }
  if (Fnv1a64(bytes.substr(kHeaderBytes)) != GetU64(bytes, 24)) {
    return corrupt("checksum mismatch");
  }

  Gazetteer g;
  const size_t strings_at = kHeaderBytes + count * kRecordBytes;
  g.strings_.assign(bytes.substr(strings_at));
  if (!g.strings_.empty() && g.strings_.back() != '\0') {
    return corrupt("string table not NUL-terminated");
  }
  g.records_.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const size_t at = kHeaderBytes + i * kRecordBytes;
    Record r{static_cast<int32_t>(GetU32(bytes, at)),
             static_cast<int32_t>(GetU32(bytes, at + 4)), GetU32(bytes, at + 8),
             GetU32(bytes, at + 12), GetU32(bytes, at + 16)};
    if (r.latitude_e6 < -90'000'000 || r.latitude_e6 > 90'000'000 ||
        r.longitude_e6 < -180'000'000 || r.longitude_e6 > 180'000'000) {
      return corrupt(
          absl::StrCat("record ", i, " has coordinates out of range"));
    }
    for (const uint32_t offset : {r.name, r.admin1, r.country}) {
      if (offset >= string_bytes) {
        return corrupt(absl::StrCat("record ", i, " has a bad string offset"));
      }
    }
    g.records_.push_back(r);
  }
  return g;
}

}  // namespace herd::places
