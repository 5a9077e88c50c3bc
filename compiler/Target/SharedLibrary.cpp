//===- SharedLibrary.cpp - LLVM dialect -> object -> shared library -*- C++
//-*-===//
//
// Uses LLVM's TargetMachine for the host (sys::getHostCPUName and its
// features), the new pass manager's O3 pipeline, and clang-19 as the linker
// driver for the shared library (-shared, -lm).
//
//===----------------------------------------------------------------------===//

#include "compiler/Target/SharedLibrary.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "runtime/include/coil/abi.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Object/ELFObjectFile.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <optional>

#include <unistd.h>

using namespace mlir;
using llvm::Error;
using llvm::Expected;

namespace {

Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

std::string hostFeatures() {
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  std::string text;
  for (const auto &f : features) {
    if (!text.empty())
      text += ",";
    text += (f.second ? "+" : "-") + f.first().str();
  }
  return text;
}

/// A target machine for `cpu` with `features` (empty: the CPU's own).
Expected<std::unique_ptr<llvm::TargetMachine>>
targetMachine(llvm::StringRef cpu, llvm::StringRef features) {
  static bool initialized = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)initialized;
  std::string triple = llvm::sys::getProcessTriple();
  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return makeError("no LLVM target for " + triple + ": " + error);
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, cpu, features, options, llvm::Reloc::PIC_, std::nullopt,
      llvm::CodeGenOptLevel::Aggressive));
  if (!machine)
    return makeError("cannot create a target machine for " + triple);
  return machine;
}

/// Runs `write(os)` into a temporary next to `path`, then renames it.
Error writeAtomically(
    llvm::StringRef path,
    llvm::function_ref<Error(llvm::raw_pwrite_stream &)> write) {
  llvm::SmallString<256> temp(path);
  temp += ".tmp%%%%%%";
  Expected<llvm::sys::fs::TempFile> file =
      llvm::sys::fs::TempFile::create(temp);
  if (!file)
    return file.takeError();
  {
    llvm::raw_fd_ostream os(file->FD, /*shouldClose=*/false);
    if (Error e = write(os)) {
      consumeError(file->discard());
      return e;
    }
    os.flush();
    if (os.has_error()) {
      consumeError(file->discard());
      return makeError("cannot write " + path);
    }
  }
  return file->keep(path);
}

} // namespace

std::string mlir::coil::hostTargetDescription() {
  // The features too: a virtual machine may hide some of a CPU's.
  return (llvm::sys::getProcessTriple() + " " + llvm::sys::getHostCPUName() +
          " " + hostFeatures())
      .str();
}

/// Writes the content checksum (coil/abi.h) into the linked library at
/// `path`: coil_abi_checksum over the file with its checksum section read as
/// zero.
Error sealLibrary(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return makeError("cannot read back " + path + ": " +
                     buffer.getError().message());
  Expected<std::unique_ptr<llvm::object::ObjectFile>> object =
      llvm::object::ObjectFile::createObjectFile((*buffer)->getMemBufferRef());
  if (!object)
    return object.takeError();
  std::optional<uint64_t> offset;
  for (const llvm::object::SectionRef &section : (*object)->sections()) {
    Expected<llvm::StringRef> name = section.getName();
    if (!name)
      return name.takeError();
    if (*name != COIL_MODEL_CHECKSUM_SECTION)
      continue;
    if (section.getSize() != sizeof(uint64_t))
      return makeError(path + ": section " COIL_MODEL_CHECKSUM_SECTION
                              " is not 8 bytes");
    offset = llvm::object::ELFSectionRef(section).getOffset();
  }
  if (!offset)
    return makeError(path + ": no " COIL_MODEL_CHECKSUM_SECTION " section");
  llvm::StringRef bytes = (*buffer)->getBuffer();
  if (*offset + sizeof(uint64_t) > bytes.size())
    return makeError(path + ": the checksum lies outside the file");
  const uint64_t zero = 0;
  uint64_t hash =
      coil_abi_checksum(COIL_MODEL_CHECKSUM_SEED, bytes.data(), *offset);
  hash = coil_abi_checksum(hash, &zero, sizeof(zero));
  hash = coil_abi_checksum(hash, bytes.data() + *offset + sizeof(zero),
                           bytes.size() - *offset - sizeof(zero));
  unsigned char little[8];
  for (int i = 0; i < 8; ++i)
    little[i] = static_cast<unsigned char>(hash >> (8 * i));
  buffer->reset();
  int fd;
  if (std::error_code ec = llvm::sys::fs::openFileForReadWrite(
          path, fd, llvm::sys::fs::CD_OpenExisting, llvm::sys::fs::OF_None))
    return makeError("cannot open " + path + ": " + ec.message());
  ssize_t written =
      ::pwrite(fd, little, sizeof(little), static_cast<off_t>(*offset));
  bool closed = ::close(fd) == 0;
  if (written != static_cast<ssize_t>(sizeof(little)) || !closed)
    return makeError("cannot write the checksum into " + path);
  return Error::success();
}

Expected<std::unique_ptr<llvm::Module>>
mlir::coil::translateAndOptimize(ModuleOp module, llvm::LLVMContext &context) {
  registerBuiltinDialectTranslation(*module.getContext());
  registerLLVMDialectTranslation(*module.getContext());
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, context, "coil-model");
  if (!llvmModule)
    return makeError("translation to LLVM IR failed");
  // The CPU --coil-cpu-select-strategy chose (coil.target), else the host.
  std::string cpu = llvm::sys::getHostCPUName().str();
  std::string features = hostFeatures();
  if (auto target = module->getAttrOfType<DictionaryAttr>("coil.target")) {
    if (auto name = target.getAs<StringAttr>("cpu"))
      cpu = name.str();
    auto list = target.getAs<StringAttr>("features");
    features = list ? list.str() : std::string();
  }
  Expected<std::unique_ptr<llvm::TargetMachine>> machine =
      targetMachine(cpu, features);
  if (!machine)
    return machine.takeError();
  llvmModule->setDataLayout((*machine)->createDataLayout());
  llvmModule->setTargetTriple((*machine)->getTargetTriple().str());
  // Every function gets the target CPU and its features, so the optimiser
  // vectorises for the widest unit it has.
  for (llvm::Function &fn : *llvmModule)
    if (!fn.isDeclaration()) {
      fn.addFnAttr("target-cpu", (*machine)->getTargetCPU());
      fn.addFnAttr("target-features", (*machine)->getTargetFeatureString());
    }

  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions tuning;
  tuning.LoopVectorization = true;
  tuning.SLPVectorization = true;
  llvm::PassBuilder pb(machine->get(), tuning);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm =
      pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  mpm.run(*llvmModule, mam);
  return llvmModule;
}

Error mlir::coil::writeArtifact(llvm::Module &module, ArtifactKind kind,
                                llvm::StringRef path) {
  if (kind == ArtifactKind::LLVMIR)
    return writeAtomically(path, [&](llvm::raw_pwrite_stream &os) {
      module.print(os, nullptr);
      return Error::success();
    });
  // The CPU translateAndOptimize gave every function.
  std::string cpu = llvm::sys::getHostCPUName().str();
  std::string features = hostFeatures();
  for (llvm::Function &fn : module)
    if (!fn.isDeclaration() && fn.hasFnAttribute("target-cpu")) {
      cpu = fn.getFnAttribute("target-cpu").getValueAsString().str();
      features = fn.getFnAttribute("target-features").getValueAsString().str();
      break;
    }
  Expected<std::unique_ptr<llvm::TargetMachine>> machine =
      targetMachine(cpu, features);
  if (!machine)
    return machine.takeError();
  auto emit = [&](llvm::raw_pwrite_stream &os,
                  llvm::CodeGenFileType type) -> Error {
    llvm::legacy::PassManager pm;
    if ((*machine)->addPassesToEmitFile(pm, os, nullptr, type))
      return makeError("the target cannot emit this file type");
    pm.run(module);
    return Error::success();
  };
  if (kind == ArtifactKind::Assembly)
    return writeAtomically(path, [&](llvm::raw_pwrite_stream &os) {
      return emit(os, llvm::CodeGenFileType::AssemblyFile);
    });
  if (kind == ArtifactKind::Object)
    return writeAtomically(path, [&](llvm::raw_pwrite_stream &os) {
      return emit(os, llvm::CodeGenFileType::ObjectFile);
    });

  // Shared library: an object in a temporary file, linked by clang.
  llvm::SmallString<128> object;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("coil-model", "o", object))
    return makeError("cannot create a temporary object file: " + ec.message());
  llvm::FileRemover removeObject(object);
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(object, ec);
    if (ec)
      return makeError("cannot write " + object + ": " + ec.message());
    if (Error e = emit(os, llvm::CodeGenFileType::ObjectFile))
      return e;
  }
  llvm::ErrorOr<std::string> clang = llvm::sys::findProgramByName("clang-19");
  if (!clang)
    clang = llvm::sys::findProgramByName("clang");
  if (!clang)
    return makeError("cannot find clang-19 to link the shared library");
  // A name of its own, so concurrent links into one folder never meet.
  llvm::SmallString<256> temp;
  {
    int fd;
    if (std::error_code ec =
            llvm::sys::fs::createUniqueFile(path + ".tmp-%%%%%%%%", fd, temp))
      return makeError("cannot create a file beside " + path + ": " +
                       ec.message());
    ::close(fd);
  }
  llvm::FileRemover removeTemp(temp);
  std::string errorText;
  llvm::SmallVector<llvm::StringRef> args{*clang, "-shared",   "-fuse-ld=lld",
                                          object, "-o",        temp,
                                          "-lm",  "-Wl,-z,now"};
  int rc = llvm::sys::ExecuteAndWait(*clang, args, std::nullopt, {}, 0, 0,
                                     &errorText);
  if (rc != 0)
    return makeError("linking " + path + " failed (" + *clang + " exited " +
                     std::to_string(rc) + ")" +
                     (errorText.empty() ? "" : ": " + errorText));
  if (Error e = sealLibrary(temp))
    return e;
  if (std::error_code ec = llvm::sys::fs::rename(temp, path))
    return makeError("cannot write " + path + ": " + ec.message());
  return Error::success();
}
