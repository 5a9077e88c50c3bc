//===- Compile.cpp - coil IR -> compiled artifact ---------------*- C++ -*-===//
//
// Stages map onto the registered pipelines (compiler/Pipelines) and the back
// end (compiler/Target).
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver/Compile.h"

#include "compiler/Conversion/Passes.h"
#include "compiler/Pipelines/Pipelines.h"
#include "compiler/Target/SharedLibrary.h"
#include "compiler/Transforms/Passes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Pass/PassManager.h"
#include "runtime/include/coil/abi.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <unistd.h>

using namespace mlir;
using llvm::Error;

std::string mlir::coil::compilerVersion() {
  return "coilc 0.3 (model ABI " + std::to_string(COIL_MODEL_ABI_VERSION) +
         ", LLVM " LLVM_VERSION_STRING ")";
}

llvm::StringRef mlir::coil::weightDtypeName(WeightDtype dtype) {
  switch (dtype) {
  case WeightDtype::F32:
    return "f32";
  case WeightDtype::BF16:
    return "bf16";
  case WeightDtype::F16:
    return "f16";
  case WeightDtype::Int8:
    return "int8";
  case WeightDtype::Int4:
    return "int4";
  }
  return "f32";
}

Error mlir::coil::setWeightDtype(ModuleOp module, WeightDtype dtype) {
  if (dtype == WeightDtype::F32)
    return Error::success();
  PassManager pm(module.getContext());
  pm.addPass(createCoilWeightDtypePass(
      CoilWeightDtypePassOptions{weightDtypeName(dtype).str()}));
  if (failed(pm.run(module)))
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "cannot store the weights as " +
                                       weightDtypeName(dtype) +
                                       " (see the diagnostics above)");
  return Error::success();
}

Error mlir::coil::compileModel(
    ModuleOp module, Stage stage, llvm::StringRef outputPath,
    const std::function<void(PassManager &)> &configure,
    const CompileOptions &options) {
  PassManager pm(module.getContext());
  if (configure)
    configure(pm);
  if (stage >= Stage::Kernels)
    buildKernelsPipeline(pm);
  if (stage >= Stage::Loops) {
    buildLoopsPipeline(pm, PipelineOptions{options.targetCpu});
    if (options.profile)
      pm.addPass(createCoilInstrumentKernelsPass());
  }
  if (stage >= Stage::LLVM)
    buildLLVMPipeline(pm);
  if (failed(pm.run(module)))
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "compilation failed (see the diagnostics "
                                   "above)");
  if (stage <= Stage::Loops)
    return llvm::writeToOutput(outputPath, [&](llvm::raw_ostream &os) {
      module.print(os);
      return Error::success();
    });

  llvm::LLVMContext context;
  llvm::Expected<std::unique_ptr<llvm::Module>> llvmModule =
      translateAndOptimize(module, context);
  if (!llvmModule)
    return llvmModule.takeError();
  if (stage == Stage::LLVM && outputPath == "-") {
    (*llvmModule)->print(llvm::outs(), nullptr);
    return Error::success();
  }
  if (outputPath == "-" && stage != Stage::Assembly)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "binary output needs -o FILE");
  ArtifactKind kind = stage == Stage::LLVM       ? ArtifactKind::LLVMIR
                      : stage == Stage::Assembly ? ArtifactKind::Assembly
                      : stage == Stage::Object   ? ArtifactKind::Object
                                                 : ArtifactKind::SharedLibrary;
  if (outputPath == "-") {
    llvm::SmallString<128> temp;
    // Assembly to stdout: write to a temporary file and copy it out.
    if (std::error_code ec =
            llvm::sys::fs::createTemporaryFile("coil-model", "s", temp))
      return llvm::createStringError(ec, "cannot create a temporary file");
    llvm::FileRemover remove(temp);
    if (Error e = writeArtifact(**llvmModule, kind, temp))
      return e;
    auto buffer = llvm::MemoryBuffer::getFile(temp);
    if (!buffer)
      return llvm::createStringError(buffer.getError(),
                                     "cannot read back " + temp);
    llvm::outs() << (*buffer)->getBuffer();
    return Error::success();
  }
  return writeArtifact(**llvmModule, kind, outputPath);
}

std::string mlir::coil::cacheDirectory() {
  if (const char *dir = std::getenv("COIL_CACHE_DIR"))
    return dir;
  llvm::SmallString<256> path;
  if (const char *xdg = std::getenv("XDG_CACHE_HOME")) {
    path = xdg;
  } else {
    llvm::sys::path::home_directory(path);
    llvm::sys::path::append(path, ".cache");
  }
  llvm::sys::path::append(path, "coil");
  return std::string(path);
}

namespace {

/// The content hash of the file at `path` as 16 hex digits; empty when it
/// cannot be read.
std::string contentHash(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return "";
  return llvm::utohexstr(llvm::xxh3_64bits((*buffer)->getBuffer()), true, 16);
}

/// The first line of the file at `path`; empty when it cannot be read.
std::string readLine(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return "";
  return (*buffer)->getBuffer().split('\n').first.trim().str();
}

/// A fresh file `<path>.tmp-XXXXXX` next to `path` (so a rename onto `path`
/// stays in one file system), created now: no other writer uses its name.
llvm::Expected<std::string> createTemporaryBeside(llvm::StringRef path) {
  int fd;
  llvm::SmallString<256> temp;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueFile(path + ".tmp-%%%%%%%%", fd, temp))
    return llvm::createStringError(ec, "cannot create a file beside " + path +
                                           ": " + ec.message());
  llvm::sys::Process::SafelyCloseFileDescriptor(fd);
  return std::string(temp);
}

/// Compiles `module` into the cache folder `dir` as `name` with its content
/// hash beside it (`name.xxh3`). Both are written under unique temporary
/// names and renamed into place, so readers never see a partial entry and
/// concurrent writers of the same entry (whose contents are identical) both
/// succeed.
llvm::Error compileEntry(ModuleOp module, bool profile, llvm::StringRef dir,
                         llvm::StringRef name) {
  std::string path = (dir + "/" + name).str();
  llvm::Expected<std::string> temp = createTemporaryBeside(path);
  if (!temp)
    return temp.takeError();
  llvm::FileRemover removeTemp(*temp);
  OwningOpRef<ModuleOp> copy(module.clone());
  if (llvm::Error e = mlir::coil::compileModel(
          *copy, mlir::coil::Stage::SharedLibrary, *temp, nullptr,
          mlir::coil::CompileOptions{profile, "host"}))
    return e;
  std::string hash = contentHash(*temp);
  llvm::Expected<std::string> hashTemp = createTemporaryBeside(path + ".xxh3");
  if (!hashTemp)
    return hashTemp.takeError();
  llvm::FileRemover removeHashTemp(*hashTemp);
  if (llvm::Error e =
          llvm::writeToOutput(*hashTemp, [&](llvm::raw_ostream &os) {
            os << hash << "\n";
            return llvm::Error::success();
          }))
    return e;
  if (std::error_code ec = llvm::sys::fs::rename(*temp, path))
    return llvm::createStringError(ec, "cannot rename " + *temp + " to " +
                                           path + ": " + ec.message());
  if (std::error_code ec = llvm::sys::fs::rename(*hashTemp, path + ".xxh3"))
    return llvm::createStringError(ec, "cannot rename " + *hashTemp + ": " +
                                           ec.message());
  return llvm::Error::success();
}

/// True when `dir` exists (or can be created) and a file can be created in
/// it.
bool isWritableFolder(llvm::StringRef dir, std::string &why) {
  if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
    why = ec.message();
    return false;
  }
  llvm::Expected<std::string> probe =
      createTemporaryBeside((dir + "/probe").str());
  if (!probe) {
    why = llvm::toString(probe.takeError());
    return false;
  }
  llvm::sys::fs::remove(*probe);
  return true;
}

} // namespace

llvm::Expected<std::string> mlir::coil::compileCached(ModuleOp module,
                                                      bool profile) {
  std::string text;
  llvm::raw_string_ostream os(text);
  module.print(os);
  os << compilerVersion() << hostTargetDescription()
     << (profile ? " profile" : "");
  std::string self = llvm::sys::fs::getMainExecutable(nullptr, nullptr);
  if (auto binary = llvm::MemoryBuffer::getFile(self))
    os << llvm::xxh3_64bits((*binary)->getBuffer());
  std::string key = llvm::utohexstr(llvm::xxh3_64bits(text), true, 16);
  std::string name = "model-" + key + ".so";

  std::string dir = cacheDirectory();
  std::string why;
  if (!isWritableFolder(dir, why)) {
    // A read-only or full cache costs a compile per run, never a failure.
    llvm::SmallString<256> fallback;
    llvm::sys::path::system_temp_directory(/*ErasedOnReboot=*/true, fallback);
    llvm::sys::path::append(fallback,
                            "coil-cache-" + std::to_string(::getuid()));
    static bool warned = false;
    if (!warned)
      llvm::errs() << "coil: warning: cannot write the compile cache " << dir
                   << " (" << why << "); using " << fallback << " instead\n";
    warned = true;
    dir = std::string(fallback);
    if (!isWritableFolder(dir, why))
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "cannot write the compile cache or " +
                                         dir + ": " + why);
  }

  std::string path = dir + "/" + name;
  if (llvm::sys::fs::exists(path)) {
    std::string expected = readLine(path + ".xxh3");
    if (!expected.empty() && expected == contentHash(path))
      return path;
    // Truncated, replaced or half-copied: reported, then rebuilt over.
    llvm::errs() << "coil: warning: the compile cache entry " << path
                 << (expected.empty() ? " has no content hash"
                                      : " does not match its content hash")
                 << "; compiling it again\n";
  }
  if (llvm::Error e = compileEntry(module, profile, dir, name))
    return std::move(e);
  return path;
}
