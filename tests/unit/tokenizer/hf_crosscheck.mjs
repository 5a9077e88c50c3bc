// Encodes and decodes texts with Hugging Face's tokenizers.js, for
// TokenizerTest's cross-check: node hf_crosscheck.mjs MODULE_DIR
// TOKENIZER_JSON TEXTS_JSON prints one JSON array with, per text, the ids
// with and without special tokens and the decoded text with and without
// them.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { join } from "node:path";

const [moduleDir, tokenizerPath, textsPath] = process.argv.slice(2);
const { Tokenizer } = await import(
  pathToFileURL(join(moduleDir, "dist", "tokenizers.mjs")).href);
const tokenizer = new Tokenizer(
  JSON.parse(readFileSync(tokenizerPath, "utf8")), {});
const texts = JSON.parse(readFileSync(textsPath, "utf8"));
const results = texts.map((text) => {
  const ids = tokenizer.encode(text).ids;
  const plain = tokenizer.encode(text, { add_special_tokens: false }).ids;
  const options = { clean_up_tokenization_spaces: false };
  return {
    ids,
    plain,
    text: tokenizer.decode(ids, { ...options, skip_special_tokens: false }),
    skipped: tokenizer.decode(ids, { ...options, skip_special_tokens: true }),
  };
});
process.stdout.write(JSON.stringify(results));
