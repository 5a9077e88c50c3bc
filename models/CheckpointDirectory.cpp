//===- CheckpointDirectory.cpp - Writing a checkpoint directory -----------===//

#include "models/CheckpointDirectory.h"

#include "runtime/src/weights/FileChecks.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

using namespace llvm;
namespace weights = ::coil::weights;

namespace {

Error fail(const Twine &message) {
  return createStringError(inconvertibleErrorCode(), message);
}

} // namespace

Error mlir::coil::models::checkOutputDirectory(StringRef outDirName) {
  StringRef outDir = outDirName.rtrim('/');
  if (outDir.empty())
    return fail("the output directory cannot be /");
  if (!sys::fs::exists(outDir))
    return Error::success();
  std::error_code ec;
  sys::fs::directory_iterator first(outDir, ec);
  if (!sys::fs::is_directory(outDir) || ec ||
      first != sys::fs::directory_iterator())
    return fail(outDir + " exists and is not an empty directory; refusing "
                         "to write into it");
  return Error::success();
}

Expected<std::string> mlir::coil::models::readConfigText(StringRef sourceDir) {
  SmallString<256> configPath(sourceDir);
  sys::path::append(configPath, "config.json");
  if (std::string problem = weights::checkInputFile(configPath.str().str(),
                                                    weights::kMaxJsonFileBytes);
      !problem.empty())
    return fail(problem);
  ErrorOr<std::unique_ptr<MemoryBuffer>> source =
      MemoryBuffer::getFile(configPath, /*IsText=*/true);
  if (!source)
    return fail("cannot read " + configPath + ": " +
                source.getError().message());
  return (*source)->getBuffer().str();
}

Error mlir::coil::models::writeCheckpointDirectory(
    StringRef sourceDir, StringRef outDirName, StringRef configText,
    function_ref<Error(StringRef path)> writeWeights) {
  // "out/" names the directory "out": its staging sibling is "out.tmp.*".
  StringRef outDir = outDirName.rtrim('/');
  if (Error e = checkOutputDirectory(outDir))
    return e;

  // A fresh sibling directory, renamed over outDir once complete.
  std::string pattern = (outDir + ".tmp.XXXXXX").str();
  if (!mkdtemp(pattern.data()))
    return fail("cannot create a directory next to " + outDir + ": " +
                std::strerror(errno));
  std::string staging = pattern;
  // mkdtemp makes it private; a checkpoint is shared like any other output.
  sys::fs::setPermissions(staging, sys::fs::perms(0755));
  bool done = false;
  auto cleanup = make_scope_exit([&] {
    if (!done)
      sys::fs::remove_directories(staging);
  });
  auto inStaging = [&](StringRef file) {
    SmallString<256> p(staging);
    sys::path::append(p, file);
    return p.str().str();
  };

  {
    std::error_code ec;
    raw_fd_ostream os(inStaging("config.json"), ec);
    if (ec)
      return fail("cannot write " + inStaging("config.json") + ": " +
                  ec.message());
    os << configText;
    os.close();
    if (os.has_error())
      return fail("cannot write " + inStaging("config.json") + ": " +
                  os.error().message());
  }
  if (Error e = writeWeights(inStaging("model.safetensors")))
    return e;
  // The files that describe tokens and generation, not weights.
  for (StringRef file :
       {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
        "added_tokens.json", "generation_config.json", "vocab.json",
        "merges.txt", "tokenizer.model"}) {
    SmallString<256> from(sourceDir);
    sys::path::append(from, file);
    if (!sys::fs::is_regular_file(from))
      continue;
    if (std::error_code ec = sys::fs::copy_file(from, inStaging(file)))
      return fail("cannot copy " + from + ": " + ec.message());
  }
  if (std::error_code ec = sys::fs::rename(staging, outDir))
    return fail("cannot rename " + staging + " to " + outDir + ": " +
                ec.message());
  done = true;
  return Error::success();
}
