//===- PostProcessors.cpp - tokenizer.json's "post_processor" ----*- C++ -*-===//

#include "runtime/src/tokenizer/Components.h"

namespace coil::tokenizer {
namespace {

/// The "single" template: special tokens around (or before) sequence A.
class TemplateProcessor : public PostProcessor {
public:
  explicit TemplateProcessor(std::vector<std::vector<int32_t>> parts)
      : parts(std::move(parts)) {}
  void apply(std::vector<int32_t> &ids) const override {
    std::vector<int32_t> out;
    out.reserve(ids.size() + 4);
    for (const std::vector<int32_t> &part : parts)
      if (part.empty())
        out.insert(out.end(), ids.begin(), ids.end());
      else
        out.insert(out.end(), part.begin(), part.end());
    ids = std::move(out);
  }

private:
  /// The template's items in order: special token ids, or empty for A.
  std::vector<std::vector<int32_t>> parts;
};

/// Nothing to do on ids (ByteLevel only trims offsets).
class NoProcessor : public PostProcessor {
public:
  void apply(std::vector<int32_t> &) const override {}
};

class SequenceProcessor : public PostProcessor {
public:
  explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> steps)
      : steps(std::move(steps)) {}
  void apply(std::vector<int32_t> &ids) const override {
    for (const auto &step : steps)
      step->apply(ids);
  }

private:
  std::vector<std::unique_ptr<PostProcessor>> steps;
};

/// ["token", id] of Roberta/Bert processing.
int32_t pairId(const Node &node) {
  if (node.size() != 2)
    node.fail("expected [token, id]");
  node[0].string();
  return node[1].id();
}

} // namespace

std::unique_ptr<PostProcessor> parsePostProcessor(const Node &node) {
  std::string type = node.type();
  if (type == "ByteLevel")
    return std::make_unique<NoProcessor>();
  if (type == "TemplateProcessing") {
    Node single = node.at("single");
    Node specials = node.at("special_tokens");
    std::vector<std::vector<int32_t>> parts;
    for (size_t i = 0; i < single.size(); ++i) {
      Node item = single[i];
      if (std::optional<Node> seq = item.find("Sequence")) {
        std::string id = seq->at("id").string();
        if (id != "A")
          seq->at("id").fail("a single-sequence template reads only A");
        parts.emplace_back();
        continue;
      }
      Node special = item.at("SpecialToken");
      Node name = special.at("id");
      std::optional<Node> entry = specials.find(name.string());
      if (!entry)
        name.fail("special token '" + name.string() +
                  "' is not in special_tokens");
      Node ids = entry->at("ids");
      std::vector<int32_t> part;
      for (size_t j = 0; j < ids.size(); ++j)
        part.push_back(ids[j].id());
      if (part.empty())
        ids.fail("expected at least one id");
      parts.push_back(std::move(part));
    }
    return std::make_unique<TemplateProcessor>(std::move(parts));
  }
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    int32_t cls = pairId(node.at("cls")), sep = pairId(node.at("sep"));
    return std::make_unique<TemplateProcessor>(
        std::vector<std::vector<int32_t>>{{cls}, {}, {sep}});
  }
  if (type == "Sequence")
    return std::make_unique<SequenceProcessor>(
        parseEach<PostProcessor>(node, "processors", parsePostProcessor));
  node.at("type").fail("post_processor type '" + type + "' is not supported");
}

} // namespace coil::tokenizer
