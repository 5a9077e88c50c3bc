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
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

using namespace mlir;
using llvm::Error;

std::string mlir::coil::compilerVersion() {
  return "coilc 0.2 (model ABI 3, LLVM " LLVM_VERSION_STRING ")";
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
  std::string dir = cacheDirectory();
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return llvm::createStringError(ec, "cannot create the cache directory " +
                                           dir + ": " + ec.message());
  std::string path = dir + "/model-" + key + ".so";
  if (llvm::sys::fs::exists(path))
    return path;
  OwningOpRef<ModuleOp> copy(module.clone());
  if (Error e = compileModel(*copy, Stage::SharedLibrary, path, nullptr,
                             CompileOptions{profile, "host"}))
    return std::move(e);
  return path;
}
