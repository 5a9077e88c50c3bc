//===- Bpe.cpp - The byte-pair-encoding model of tokenizer.json --*- C++ -*-===//

#include "runtime/src/tokenizer/Bpe.h"

#include "runtime/src/tokenizer/Unicode.h"

#include <cstdio>
#include <queue>

namespace coil::tokenizer {

std::unique_ptr<BpeModel> BpeModel::parse(const Node &model) {
  auto bpe = std::unique_ptr<BpeModel>(new BpeModel());
  if (std::optional<Node> type = model.find("type"))
    if (type->string() != "BPE")
      type->fail("model type '" + type->string() +
                 "' is not supported (only BPE)");
  model.refuseUnless("dropout", nullptr, "BPE dropout (random merges)");
  model.refuseUnless("continuing_subword_prefix", "",
                     "a continuing-subword prefix");
  model.refuseUnless("end_of_word_suffix", "", "an end-of-word suffix");

  Node vocab = model.at("vocab");
  if (!vocab.json().is_object())
    vocab.fail("expected an object of token: id");
  for (auto it = vocab.json().begin(); it != vocab.json().end(); ++it) {
    Node entry(it.value(), vocab.path() + "." + it.key());
    int32_t id = entry.id();
    if (static_cast<size_t>(id) >= bpe->tokens.size()) {
      if (static_cast<size_t>(id) > vocab.json().size() * 2 + 1024)
        entry.fail("id " + std::to_string(id) +
                   " is far beyond the vocabulary's size");
      bpe->tokens.resize(size_t(id) + 1);
      bpe->present.resize(size_t(id) + 1);
    }
    if (bpe->present[id])
      entry.fail("id " + std::to_string(id) + " is also token '" +
                 bpe->tokens[id] + "'");
    bpe->tokens[id] = it.key();
    bpe->present[id] = true;
    bpe->vocab.emplace(it.key(), id);
  }

  Node merges = model.at("merges");
  size_t count = merges.size();
  bpe->merges.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    Node merge = merges[i];
    std::string left, right;
    if (merge.json().is_string()) {
      std::string line = merge.string();
      size_t space = line.find(' ');
      if (space == std::string::npos ||
          line.find(' ', space + 1) != std::string::npos)
        merge.fail("expected \"a b\"");
      left = line.substr(0, space);
      right = line.substr(space + 1);
    } else {
      if (merge.size() != 2)
        merge.fail("expected [a, b]");
      left = merge[0].string();
      right = merge[1].string();
    }
    int32_t a = bpe->idOf(left), b = bpe->idOf(right),
            result = bpe->idOf(left + right);
    for (const auto &[name, id] :
         {std::pair{left, a}, {right, b}, {left + right, result}})
      if (id < 0)
        merge.fail("merge names '" + name + "', which is not in model.vocab");
    // The first of repeated merges keeps its rank, as in Hugging Face.
    bpe->merges.emplace(pairKey(a, b), Merge{int32_t(i), result});
  }

  bpe->byteFallback = model.boolOr("byte_fallback", false);
  bpe->fuseUnk = model.boolOr("fuse_unk", false);
  bpe->ignoreMerges = model.boolOr("ignore_merges", false);
  if (std::optional<Node> unk = model.find("unk_token"); unk && !unk->isNull()) {
    bpe->unkId = bpe->idOf(unk->string());
    if (bpe->unkId < 0)
      unk->fail("unk_token '" + unk->string() + "' is not in model.vocab");
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    bpe->byteIds[b] = bpe->idOf(name);
  }
  return bpe;
}

int32_t BpeModel::idOf(std::string_view token) const {
  auto it = vocab.find(std::string(token));
  return it == vocab.end() ? -1 : it->second;
}

const std::string *BpeModel::tokenOf(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= tokens.size() || !present[id])
    return nullptr;
  return &tokens[id];
}

void BpeModel::tokenize(std::string_view word, std::vector<int32_t> &ids) const {
  if (word.empty())
    return;
  if (ignoreMerges)
    if (int32_t id = idOf(word); id >= 0) {
      ids.push_back(id);
      return;
    }

  // The word's symbols, linked so merges remove in O(1).
  struct Symbol {
    int32_t id;
    int32_t prev, next;
    bool alive;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  bool lastUnk = false;
  auto add = [&](int32_t id) {
    int32_t index = static_cast<int32_t>(symbols.size());
    symbols.push_back({id, index - 1, index + 1, true});
  };
  for (size_t pos = 0; pos < word.size();) {
    size_t n = validSequenceLength(word, pos);
    n = n ? n : 1;
    std::string_view ch = word.substr(pos, n);
    pos += n;
    if (int32_t id = idOf(ch); id >= 0) {
      add(id);
      lastUnk = false;
      continue;
    }
    if (byteFallback) {
      bool all = true;
      for (unsigned char b : ch)
        all = all && byteIds[b] >= 0;
      if (all) {
        for (unsigned char b : ch)
          add(byteIds[b]);
        lastUnk = false;
        continue;
      }
    }
    if (unkId < 0)
      continue; // dropped, as Hugging Face drops it without an unk token
    if (!(fuseUnk && lastUnk))
      add(unkId);
    lastUnk = true;
  }
  if (symbols.empty())
    return;
  symbols.back().next = -1;

  // Candidate merges, lowest rank first, then leftmost.
  struct Candidate {
    int32_t rank, pos, result;
    bool operator>(const Candidate &o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>,
                      std::greater<Candidate>>
      queue;
  auto consider = [&](int32_t pos) {
    if (pos < 0 || symbols[pos].next < 0)
      return;
    auto it = merges.find(pairKey(symbols[pos].id, symbols[symbols[pos].next].id));
    if (it != merges.end())
      queue.push({it->second.rank, pos, it->second.result});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols.size()); ++i)
    consider(i);
  while (!queue.empty()) {
    Candidate top = queue.top();
    queue.pop();
    Symbol &left = symbols[top.pos];
    if (!left.alive || left.next < 0)
      continue;
    Symbol &right = symbols[left.next];
    auto it = merges.find(pairKey(left.id, right.id));
    if (it == merges.end() || it->second.result != top.result)
      continue; // a stale candidate
    left.id = top.result;
    right.alive = false;
    left.next = right.next;
    if (left.next >= 0)
      symbols[left.next].prev = top.pos;
    consider(left.prev);
    consider(top.pos);
  }
  for (const Symbol &s : symbols)
    if (s.alive)
      ids.push_back(s.id);
}

} // namespace coil::tokenizer
