//===- Profiler.cpp - Timing the kernels of a session -----------*- C++ -*-===//
//
// Summaries merge the tiles' events: each tile records the steps it ran in
// the order they ran, so its events are sorted by (call, step) and hold one
// event per (call, step) at most. Walking all tiles' arrays together, the
// smallest (call, step) at their heads is the next step run; its wall time
// runs from the earliest start to the latest end among the tiles that
// recorded it.
//
// Traces are streamed: one complete ("X") event per recorded event, then one
// thread_name metadata event per tile, with the dropped count under
// "otherData".
//
//===----------------------------------------------------------------------===//

#include "runtime/src/Profiler.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

namespace coil::runtime {

Profiler::Profiler(int tiles)
    : numTiles(tiles), tileState(new Tile[static_cast<size_t>(tiles)]) {
  origin = now();
}

Status Profiler::enable() {
  if (!calls) {
    // Left uninitialized: pages are only touched as events are recorded.
    std::unique_ptr<Call[]> records(new (std::nothrow)
                                        Call[static_cast<size_t>(kMaxCalls)]);
    if (!records)
      return Status::error(COIL_OUT_OF_MEMORY,
                           "cannot allocate the profiler's call records");
    for (int tile = 0; tile < numTiles; ++tile) {
      if (tileState[tile].events)
        continue;
      tileState[tile].events.reset(
          new (std::nothrow) Event[static_cast<size_t>(kEventsPerTile)]);
      if (!tileState[tile].events)
        return Status::error(COIL_OUT_OF_MEMORY,
                             "cannot allocate the profiler's events of tile " +
                                 std::to_string(tile));
    }
    calls = std::move(records);
  }
  on.store(true, std::memory_order_relaxed);
  return Status::ok();
}

void Profiler::clear() {
  for (int tile = 0; tile < numTiles; ++tile) {
    tileState[tile].count = 0;
    tileState[tile].dropped = 0;
  }
  numCalls = 0;
  currentCall = kNoCall;
  origin = now();
}

void Profiler::beginCall(int entry, int64_t batch, int64_t tokens,
                         double context, double attended) {
  if (!calls || numCalls == kMaxCalls) {
    currentCall = kNoCall;
    return;
  }
  calls[numCalls] = Call{entry, batch, tokens, context, attended};
  currentCall = static_cast<uint32_t>(numCalls++);
}

int64_t Profiler::dropped() const {
  int64_t total = 0;
  for (int tile = 0; tile < numTiles; ++tile)
    total += tileState[tile].dropped;
  return total;
}

double Profiler::costOf(const double (&cost)[kCostTerms], bool perSequence,
                        const Call &call) {
  double batch = static_cast<double>(call.batch);
  double processed = perSequence ? batch : batch * call.tokens;
  return cost[0] + cost[1] * processed + cost[2] * processed * call.attended +
         cost[3] * batch + cost[4] * batch * call.context;
}

void Profiler::summary(const Metadata &meta,
                       const ProfiledEntry (&entries)[kNumEntries],
                       std::vector<coil_profile_entry_t> &out) const {
  out.clear();
  // Per entry and step: calls, nanoseconds, flops, bytes.
  struct Totals {
    int64_t calls = 0;
    int64_t nanoseconds = 0;
    int64_t barriers = 0;
    double flops = 0;
    double bytes = 0;
  };
  std::vector<Totals> totals[kNumEntries];
  for (int e = 0; e < kNumEntries; ++e)
    totals[e].resize(entries[e].spec ? entries[e].spec->steps.size() : 0);

  std::vector<int64_t> cursor(static_cast<size_t>(numTiles), 0);
  auto keyAt = [&](int tile) {
    const Event &event = tileState[tile].events[cursor[tile]];
    return (static_cast<uint64_t>(event.call) << 32) | event.step;
  };
  for (;;) {
    bool any = false;
    uint64_t next = 0;
    for (int tile = 0; tile < numTiles; ++tile) {
      if (cursor[tile] == tileState[tile].count)
        continue;
      uint64_t key = keyAt(tile);
      if (!any || key < next)
        next = key;
      any = true;
    }
    if (!any)
      break;
    int64_t start = 0, end = 0, barriers = 0;
    bool first = true;
    for (int tile = 0; tile < numTiles; ++tile) {
      if (cursor[tile] == tileState[tile].count || keyAt(tile) != next)
        continue;
      const Event &event = tileState[tile].events[cursor[tile]++];
      start = first ? event.start : std::min(start, event.start);
      end = first ? event.end : std::max(end, event.end);
      barriers += event.barriers;
      first = false;
    }
    const Call &call = calls[next >> 32];
    auto step = static_cast<size_t>(next & 0xffffffffu);
    if (call.entry < 0 || call.entry >= kNumEntries ||
        step >= totals[call.entry].size())
      continue;
    const StepSpec &spec = entries[call.entry].spec->steps[step];
    Totals &sum = totals[call.entry][step];
    ++sum.calls;
    sum.nanoseconds += end - start;
    sum.barriers += barriers;
    sum.flops += costOf(spec.flops, spec.perSequence, call);
    sum.bytes += costOf(spec.bytes, spec.perSequence, call);
  }

  for (int e = 0; e < kNumEntries; ++e) {
    for (size_t step = 0; step < totals[e].size(); ++step) {
      const Totals &sum = totals[e][step];
      if (sum.calls == 0)
        continue;
      const StepSpec &spec = entries[e].spec->steps[step];
      coil_profile_entry_t entry;
      entry.kernel = meta.kernels[spec.kernel].name.c_str();
      entry.kernel_index = spec.kernel;
      entry.step = static_cast<int64_t>(step);
      entry.entry = entries[e].name;
      entry.layer = spec.layer;
      entry.calls = sum.calls;
      entry.total_seconds = static_cast<double>(sum.nanoseconds) * 1e-9;
      entry.flops = sum.flops;
      entry.bytes = sum.bytes;
      entry.barriers = sum.barriers;
      out.push_back(entry);
    }
  }
}

namespace {

/// A FILE that is closed when it dies, unless released.
struct FileCloser {
  void operator()(std::FILE *file) const { std::fclose(file); }
};

Status ioError(const std::string &path, const std::string &what, int err) {
  return Status::error(COIL_IO_ERROR, "cannot write the trace " + path + ": " +
                                          what + ": " + std::strerror(err));
}

} // namespace

Status Profiler::writeTrace(const char *path, const Metadata &meta,
                            const ProfiledEntry (&entries)[kNumEntries]) const {
  std::string target = path;
  std::string temporary = target + ".tmp-XXXXXX";
  int fd = ::mkstemp(temporary.data());
  if (fd < 0)
    return ioError(target, "creating " + temporary, errno);
  ::fchmod(fd, 0644);
  std::unique_ptr<std::FILE, FileCloser> file(::fdopen(fd, "w"));
  if (!file) {
    int err = errno;
    ::close(fd);
    ::unlink(temporary.c_str());
    return ioError(target, "opening " + temporary, err);
  }

  // Kernel names as JSON strings.
  std::vector<std::string> names;
  for (const KernelSpec &kernel : meta.kernels)
    names.push_back(
        nlohmann::json(kernel.name)
            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  std::string unknown = "\"?\"";

  std::FILE *out = file.get();
  std::fputs("{\"traceEvents\":[", out);
  bool first = true;
  for (int tile = 0; tile < numTiles; ++tile) {
    const Tile &state = tileState[tile];
    for (int64_t i = 0; i < state.count; ++i) {
      const Event &event = state.events[i];
      const Call &call = calls[event.call];
      const StepSpec *step = nullptr;
      if (call.entry >= 0 && call.entry < kNumEntries &&
          entries[call.entry].spec &&
          event.step < entries[call.entry].spec->steps.size())
        step = &entries[call.entry].spec->steps[event.step];
      const std::string &name =
          event.kernel >= 0 && event.kernel < static_cast<int64_t>(names.size())
              ? names[event.kernel]
              : unknown;
      std::fprintf(
          out,
          "%s\n{\"name\":%s,\"cat\":\"kernel\",\"ph\":\"X\",\"pid\":1,"
          "\"tid\":%d,\"ts\":%.3f,\"dur\":%.3f,\"args\":{\"entry\":\"%s\","
          "\"step\":%u,\"layer\":%lld,\"batch\":%lld,\"tokens\":%lld,"
          "\"flops\":%.17g,\"bytes\":%.17g}}",
          first ? "" : ",", name.c_str(), tile,
          static_cast<double>(event.start - origin) / 1e3,
          static_cast<double>(event.end - event.start) / 1e3,
          step ? entries[call.entry].name : "?", event.step,
          static_cast<long long>(step ? step->layer : -1),
          static_cast<long long>(call.batch),
          static_cast<long long>(call.tokens),
          step ? costOf(step->flops, step->perSequence, call) : 0.0,
          step ? costOf(step->bytes, step->perSequence, call) : 0.0);
      first = false;
    }
  }
  for (int tile = 0; tile < numTiles; ++tile) {
    std::fprintf(out,
                 "%s\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,"
                 "\"tid\":%d,\"args\":{\"name\":\"tile %d\"}}",
                 first ? "" : ",", tile, tile);
    first = false;
  }
  std::fprintf(out,
               "\n],\"displayTimeUnit\":\"ms\",\"otherData\":{\"dropped\":"
               "%lld}}\n",
               static_cast<long long>(dropped()));

  bool failed = std::ferror(out) != 0;
  int err = errno;
  if (std::fclose(file.release()) != 0 && !failed) {
    failed = true;
    err = errno;
  }
  if (failed) {
    ::unlink(temporary.c_str());
    return ioError(target, "writing " + temporary, err);
  }
  if (std::rename(temporary.c_str(), target.c_str()) != 0) {
    err = errno;
    ::unlink(temporary.c_str());
    return ioError(target, "renaming " + temporary, err);
  }
  return Status::ok();
}

} // namespace coil::runtime
