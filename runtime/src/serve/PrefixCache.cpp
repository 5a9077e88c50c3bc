//===- PrefixCache.cpp - Saved states keyed by the tokens before them -----===//

#include "runtime/src/serve/PrefixCache.h"

#include <algorithm>

namespace coil::serve {

namespace {
bool sameTokens(const std::vector<int32_t> &a, const int32_t *b, size_t n) {
  return a.size() == n && std::equal(a.begin(), a.end(), b);
}
} // namespace

const PrefixCache::Entry *PrefixCache::lookup(const int32_t *prompt,
                                              size_t limit) {
  auto best = list.end();
  for (auto it = list.begin(); it != list.end(); ++it) {
    size_t n = it->tokens.size();
    if (n > limit || (best != list.end() && n <= best->tokens.size()))
      continue;
    if (std::equal(it->tokens.begin(), it->tokens.end(), prompt))
      best = it;
  }
  if (best == list.end())
    return nullptr;
  list.splice(list.begin(), list, best);
  return &list.front();
}

bool PrefixCache::touch(const int32_t *tokens, size_t count) {
  for (auto it = list.begin(); it != list.end(); ++it)
    if (sameTokens(it->tokens, tokens, count)) {
      list.splice(list.begin(), list, it);
      return true;
    }
  return false;
}

bool PrefixCache::insert(Entry entry) {
  for (auto it = list.begin(); it != list.end(); ++it)
    if (sameTokens(it->tokens, entry.tokens.data(), entry.tokens.size())) {
      used -= it->bytes();
      list.erase(it);
      break;
    }
  size_t size = entry.bytes();
  if (size > budget)
    return false;
  while (used + size > budget) {
    used -= list.back().bytes();
    list.pop_back();
    ++evicted;
  }
  used += size;
  list.push_front(std::move(entry));
  return true;
}

} // namespace coil::serve
