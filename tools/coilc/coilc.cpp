//===- coilc.cpp - The Coil compiler driver ---------------------*- C++ -*-===//
//
// coilc MODEL -o model.so: compiles a model (.mlir, or a checkpoint
// directory / config.json) to a shared library the runtime loads.
// --emit=coil|kernels|loops|llvm|asm|obj|so stops at any stage,
// --weight-dtype=bf16|f16 narrows the matrices; the standard
// MLIR pass-manager flags work (--mlir-print-ir-after-all, --mlir-timing).
//
//===----------------------------------------------------------------------===//

#include "compiler/Codegen/CPU/CpuTarget.h"
#include "compiler/Driver/Compile.h"
#include "compiler/InitAll.h"
#include "models/ModelBuilder.h"
#include "runtime/src/weights/FileChecks.h"
#include "tools/ToolOptions.h"
#include "tools/WeightDtypeOption.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::coil;
namespace cl = llvm::cl;

static cl::opt<std::string>
    inputPath(cl::Positional, cl::Required,
              cl::desc("<model.mlir | checkpoint dir | config.json>"));
static cl::opt<std::string> outputPath("o", cl::desc("Output file"),
                                       cl::value_desc("file"), cl::init("-"));
static cl::opt<Stage> emit(
    "emit", cl::desc("Stop after this stage"), cl::init(Stage::SharedLibrary),
    cl::values(clEnumValN(Stage::Coil, "coil", "verified coil IR"),
               clEnumValN(Stage::Kernels, "kernels",
                          "fused kernels outlined into functions"),
               clEnumValN(Stage::Loops, "loops",
                          "schedule metadata and kernels as loops on memrefs"),
               clEnumValN(Stage::LLVM, "llvm", "optimised LLVM IR"),
               clEnumValN(Stage::Assembly, "asm", "host assembly"),
               clEnumValN(Stage::Object, "obj", "an object file"),
               clEnumValN(Stage::SharedLibrary, "so",
                          "a shared library for the runtime")));

static cl::opt<bool>
    profile("profile",
            cl::desc("Time every kernel call through the runtime's profiler "
                     "(instrumented code; nothing is inserted without it)"));

static cl::opt<std::string> targetCpu(
    "target-cpu",
    cl::desc("The CPU to generate code for: host (default), or an x86-64 CPU "
             "name LLVM knows (x86-64, x86-64-v3, haswell, znver3, znver4, "
             "skylake-avx512, sapphirerapids, ...)"),
    cl::value_desc("cpu"), cl::init("host"));

static ::coil::tools::WeightDtypeOption
    weightDtype("Store the matrices of the linears, the embedding and the LM "
                "head in this type (norms, biases, the scan's and conv's "
                "parameters, activations and states stay f32)");

static int fail(const llvm::Twine &message) {
  llvm::errs() << "coilc: error: " << message << "\n";
  return 1;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  // Registered first, so --mlir-print-ir-after=<pass> etc. know them.
  registerAllPasses();
  registerPassManagerCLOptions();
  static cl::OptionCategory coilcOptions("coilc options");
  ::coil::tools::showOnlyOwnOptions(
      coilcOptions,
      {&inputPath, &outputPath, &emit, &profile, &targetCpu, &weightDtype});
  cl::ParseCommandLineOptions(
      argc, argv,
      "coilc: the Coil compiler\n\n"
      "MLIR's pass-manager and printing options work too (hidden here), e.g.\n"
      "--mlir-print-ir-after-all, --mlir-print-ir-after=PASS, "
      "--mlir-timing.\n");

  // An unknown CPU and an output that must not be replaced are refused
  // before any work.
  if (llvm::Expected<CpuTarget> target = resolveCpuTarget(targetCpu); !target)
    return fail(llvm::toString(target.takeError()));
  if (outputPath != "-")
    if (std::string problem = ::coil::weights::checkOutputFile(outputPath);
        !problem.empty())
      return fail("-o: " + problem);

  DialectRegistry registry;
  registerAllDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();

  OwningOpRef<ModuleOp> module;
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &context, llvm::errs());
  if (llvm::StringRef(inputPath).ends_with(".mlir")) {
    if (std::string problem = ::coil::weights::checkInputFile(
            inputPath, ::coil::weights::kMaxIRFileBytes);
        !problem.empty())
      return fail(problem);
    module = parseSourceFile<ModuleOp>(inputPath, sourceMgr, &context);
    if (!module)
      return fail("cannot load " + inputPath);
  } else {
    llvm::Expected<models::ModelConfig> config =
        models::loadModelConfig(inputPath);
    if (!config)
      return fail(llvm::toString(config.takeError()));
    module = models::buildModel(context, *config);
  }
  if (failed(verify(*module)))
    return fail(inputPath + " does not verify");
  if (llvm::Error e = setWeightDtype(*module, weightDtype))
    return fail(llvm::toString(std::move(e)));

  if (outputPath == "-" && emit >= Stage::Object)
    return fail("--emit=obj and --emit=so need -o FILE");
  if (llvm::Error e = compileModel(
          *module, emit, outputPath,
          [](PassManager &pm) {
            if (failed(applyPassManagerCLOptions(pm)))
              llvm::errs() << "coilc: warning: bad pass manager options\n";
          },
          CompileOptions{profile, targetCpu}))
    return fail(llvm::toString(std::move(e)));
  return 0;
}
