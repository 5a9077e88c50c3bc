//===- PrefixCache.h - Saved states keyed by the tokens before them -*- C++
//-*-===//
//
// Maps a token prefix to a snapshot of a sequence's state after it (the blob
// of Session::saveSequence) and the logits that followed its last token, so
// a request whose prompt begins with a cached prefix restores the state and
// prefills only the rest; a prompt that is wholly cached samples its first
// token from the stored logits without running the model. For Mamba the
// snapshot is the fixed-size recurrent state at the prefix's end; for a
// Transformer it is the KV cache up to there (the blob holds only the
// prefix's rows), so an entry costs O(1) or O(prefix) bytes.
//
// Entries are kept least-recently-used within a byte budget (blob, logits and
// tokens counted). A lookup compares the prompt with every entry (length
// first, then the tokens): linear in the number of entries, which a budget
// of snapshots keeps in the hundreds.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_SERVE_PREFIXCACHE_H
#define COIL_RUNTIME_SERVE_PREFIXCACHE_H

#include <cstddef>
#include <cstdint>
#include <list>
#include <vector>

namespace coil::serve {

class PrefixCache {
public:
  struct Entry {
    std::vector<int32_t> tokens;
    std::vector<char> state;
    std::vector<float> logits;
    size_t bytes() const {
      return state.size() + logits.size() * sizeof(float) +
             tokens.size() * sizeof(int32_t) + sizeof(Entry);
    }
  };

  explicit PrefixCache(size_t budgetBytes) : budget(budgetBytes) {}

  /// The entry whose tokens are the longest prefix of `prompt` (at most
  /// `limit` of its tokens), marked as most recently used; null when none.
  const Entry *lookup(const int32_t *prompt, size_t limit);

  /// Whether an entry for exactly these tokens is held (it is then marked
  /// as most recently used), so a caller can skip saving it again.
  bool touch(const int32_t *tokens, size_t count);

  /// Adds `entry` (replacing one for the same tokens), evicting the least
  /// recently used until it fits; an entry larger than the budget is not
  /// kept. Returns whether it was kept.
  bool insert(Entry entry);

  size_t bytes() const { return used; }
  size_t entries() const { return list.size(); }
  size_t budgetBytes() const { return budget; }
  int64_t evictions() const { return evicted; }

private:
  /// Most recently used first.
  std::list<Entry> list;
  size_t budget;
  size_t used = 0;
  int64_t evicted = 0;
};

} // namespace coil::serve

#endif // COIL_RUNTIME_SERVE_PREFIXCACHE_H
