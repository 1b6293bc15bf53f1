#include "herdnode/durable/durable_snapshot.h"

#include <memory>

#include "herdnode/durable/durable_files.h"
#include "herdnode/durable/record_format.h"

namespace herd {
namespace {

constexpr size_t kEntriesPerPage = 1000;
constexpr size_t kWriteChunkBytes = 1 << 20;

absl::StatusOr<uint64_t> WriteTemp(DurableEnv& env, const std::string& path,
                                   uint64_t first_live,
                                   const LocationStore& store,
                                   const std::stop_token& stop) {
  absl::StatusOr<std::unique_ptr<WritableFile>> file =
      env.OpenWritable(path, DurableEnv::OpenMode::kTruncate);
  if (!file.ok()) return file.status();
  std::string buffer = EncodeFileHeader(DurableFileKind::kSnapshot, first_live);
  uint64_t records = 0;
  uint64_t after_seq = 0;
  // Entries accepted after the scan began are in the log segments the
  // snapshot does not replace (the caller started a new segment first), so
  // the scan stops there: a steady stream of updates cannot keep it going.
  const uint64_t last_seq = store.last_seq();
  for (bool more = last_seq > 0; more;) {
    if (stop.stop_requested()) {
      return absl::CancelledError("snapshot abandoned: node stopping");
    }
    StorePage page = store.EntriesAfter(after_seq, kEntriesPerPage);
    more = page.more;
    for (const StoreEntry& entry : page.entries) {
      if (entry.seq > last_seq) {
        more = false;
        break;
      }
      // Every entry was logged once, so it fits a record.
      if (absl::Status s = AppendRecord(entry.location, buffer); !s.ok()) {
        return s;
      }
      ++records;
      after_seq = entry.seq;
    }
    if (buffer.size() >= kWriteChunkBytes) {
      if (absl::Status s = (*file)->Append(buffer); !s.ok()) return s;
      buffer.clear();
    }
  }
  buffer += EncodeSnapshotFooter(records);
  if (absl::Status s = (*file)->Append(buffer); !s.ok()) return s;
  if (absl::Status s = (*file)->Sync(); !s.ok()) return s;
  if (absl::Status s = (*file)->Close(); !s.ok()) return s;
  return records;
}

}  // namespace

absl::StatusOr<uint64_t> WriteSnapshot(DurableEnv& env,
                                       const std::string& directory,
                                       uint64_t first_live,
                                       const LocationStore& store,
                                       const std::stop_token& stop) {
  const std::string temp = SnapshotTempPath(directory);
  absl::StatusOr<uint64_t> records =
      WriteTemp(env, temp, first_live, store, stop);
  if (!records.ok()) {
    // Best effort: recovery removes a snapshot.tmp left behind anyway.
    env.Remove(temp).IgnoreError();
    return records.status();
  }
  if (absl::Status s = env.Rename(temp, SnapshotPath(directory)); !s.ok()) {
    env.Remove(temp).IgnoreError();
    return s;
  }
  if (absl::Status s = env.SyncDirectory(directory); !s.ok()) return s;
  return records;
}

}  // namespace herd
