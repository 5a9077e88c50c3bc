//===- OpsVsReferenceTest.cpp - One op compiled alone == reference -*- C++
//-*-===//
//
// Each case is a tiny model around one op: tokens -> embed -> the op ->
// logits, compiled with the full pipeline for every micro-kernel family the
// host can execute (x86-64, x86-64-v3 = AVX2 + FMA, x86-64-v4 = AVX-512;
// the others are skipped, never passed) and run through the C API against
// the reference interpreter. Shapes are chosen to be awkward for every
// register tile: K of 1, 7, 19, 33, 600 (one block of K, its panels in
// L2), and 2100 and 2600 (several cache blocks of K for every family); N
// of 1, 37, 61, 200 (partial panels and lanes), N = 96 (whole panels);
// T = 1, 7, 64 at batch 3, so the rows of one call (3, 21, 192) leave
// every remainder of the 12-, 6-, 8-, 4-, 2- and 1-row tiles; then decode
// steps (3 rows). Linear cases cover a bias and the
// epilogues fused on the register tile (silu, gelu, a residual add, a split
// into pieces of whole panels, and one that cuts panels and stays a copy).
// The selective scan and the causal conv run with their state carried from
// prefill into decode (channel counts that leave part-filled vector
// blocks), then verify 5 tokens keeping every position's state, go back to
// the second and decode again; attention and rope are covered by
// CompiledVsReferenceTest's whole models.
//
// Tolerance: the reference computes in double and rounds each op to f32; the
// compiled code sums K products in f32 in another order and uses polynomial
// exp/erf/tanh (a few ulp). Differences are a few f32 ulps of the row's
// largest magnitude; the test allows 1e-5 of it (plus 1e-7), far below
// what a wrong index or a dropped term produces.
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver/Compile.h"
#include "compiler/InitAll.h"
#include "compiler/Reference/ReferenceSession.h"
#include "dialects/Coil/IR/CoilOps.h"
#include "runtime/src/weights/Safetensors.h"

#include "coil/coil.h"
#include "tests/e2e/HostTargets.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <tuple>

using namespace mlir;
using namespace mlir::coil;
namespace weights = ::coil::weights;

namespace {

/// One op under test.
struct OpCase {
  const char *name;
  /// Input width K and output width N (N is also the vocabulary).
  int64_t k, n;
  /// The op applied to the embedded tokens `%h` [B, T, K]; `%r` is a second
  /// embedding [B, T, N] for residuals. Weights are declared as needed.
  const char *body;
  /// For an op with state: the state's extents after the batch (e.g.
  /// "$Kx16"); the body reads `%state` and defines `%state_out`, and, in
  /// the entry "verify", the state after every step `%states` where it
  /// says `$KEEP` (results) and `$KEEPTYPE` (their types).
  const char *state = nullptr;
};

/// The IR of `c`'s model: prefill and decode differ only in T; an op with
/// state also has "verify", prefill keeping every step's state.
std::string modelSource(const OpCase &c) {
  auto entry = [&](const char *name, const char *t, bool keep) {
    std::string act = llvm::formatv("tensor<?x{0}x{1}xf32>", t, c.k).str();
    std::string out = llvm::formatv("tensor<?x{0}x{1}xf32>", t, c.n).str();
    std::string ids = llvm::formatv("tensor<?x{0}xi32>", t).str();
    std::string body = c.body;
    auto replace = [&](const std::string &from, const std::string &to) {
      for (size_t at = body.find(from); at != std::string::npos;
           at = body.find(from, at + to.size()))
        body.replace(at, from.size(), to);
    };
    std::string history =
        c.state ? llvm::formatv("tensor<?x{0}x{1}xf32>", t, c.state).str()
                : std::string();
    replace("$KEEPTYPE", keep ? ", " + history : "");
    replace("$KEEP", keep ? ", %states" : "");
    replace("$ACT", act);
    replace("$T", t);
    replace("$OUT", out);
    replace("$K", std::to_string(c.k));
    replace("$N", std::to_string(c.n));
    std::string residual = body.find("%r") == std::string::npos
                               ? std::string()
                               : llvm::formatv(R"mlir(
    %rtable = coil.weight "residual" : tensor<{0}x{0}xf32>
    %r = coil.embed %rtable, %tokens : (tensor<{0}x{0}xf32>, {1}) -> {2})mlir",
                                               c.n, ids, out)
                                     .str();
    std::string stateArg, stateResult, stateReturn;
    if (c.state) {
      // The state's and the history's types, with the widths filled in.
      std::string type = "tensor<?x" + std::string(c.state) + "xf32>";
      for (std::string *text : {&type, &history})
        for (const auto &[from, to] :
             {std::pair<std::string, std::string>{"$K", std::to_string(c.k)},
              {"$N", std::to_string(c.n)}})
          for (size_t at = text->find(from); at != std::string::npos;
               at = text->find(from))
            text->replace(at, from.size(), to);
      replace("$STATE", type);
      stateArg = ", %state: " + type + " {coil.state = \"s\"}";
      stateResult = ", " + type;
      stateReturn = ", %state_out : " + out + ", " + type;
      if (keep) {
        stateResult += ", " + history + " {coil.history = \"s\"}";
        stateReturn = ", %state_out, %states : " + out + ", " + type + ", " +
                      history;
      }
    }
    return llvm::formatv(R"mlir(
  func.func @{0}(%tokens: {1}, %positions: {1}{8}) -> ({3}{9}) {
    %table = coil.weight "table" : tensor<{4}x{5}xf32>
    %h = coil.embed %table, %tokens : (tensor<{4}x{5}xf32>, {1}) -> {2}{7}
{6}
    return %y{10}
  }
)mlir",
                         name, ids, act, out, c.n, c.k, body, residual,
                         stateArg, stateResult,
                         c.state ? stateReturn : " : " + out)
        .str();
  };
  return llvm::formatv("module attributes {{coil.family = \"test\", "
                       "coil.vocab_size = {0} : i64} {{{1}{2}{3}}\n",
                       c.n, entry("prefill", "?", false),
                       entry("decode", "1", false),
                       c.state ? entry("verify", "?", true) : std::string())
      .str();
}

const OpCase kCases[] = {
    {"linear_k1_n1", 1, 1, R"(
    %w = coil.weight "w" : tensor<$Nx$Kxf32>
    %y = coil.linear %h, %w : ($ACT, tensor<$Nx$Kxf32>) -> $OUT)"},
    {"linear_bias_k19_n37", 19, 37, R"(
    %w = coil.weight "w" : tensor<$Nx$Kxf32>
    %b = coil.weight "b" : tensor<$Nxf32>
    %y = coil.linear %h, %w, %b : ($ACT, tensor<$Nx$Kxf32>, tensor<$Nxf32>) -> $OUT)"},
    {"linear_silu_k33_n61", 33, 61, R"(
    %w = coil.weight "w" : tensor<$Nx$Kxf32>
    %l = coil.linear %h, %w : ($ACT, tensor<$Nx$Kxf32>) -> $OUT
    %y = coil.silu %l : $OUT)"},
    {"linear_gelu_k7_n200", 7, 200, R"(
    %w = coil.weight "w" : tensor<$Nx$Kxf32>
    %l = coil.linear %h, %w : ($ACT, tensor<$Nx$Kxf32>) -> $OUT
    %y = coil.gelu %l : $OUT)"},
    {"linear_bias_residual_k33_n96", 33, 96, R"(
    %w = coil.weight "w" : tensor<$Nx$Kxf32>
    %b = coil.weight "b" : tensor<$Nxf32>
    %l = coil.linear %h, %w, %b : ($ACT, tensor<$Nx$Kxf32>, tensor<$Nxf32>) -> $OUT
    %y = coil.add %r, %l : $OUT)"},
    {"linear_sub_k19_n37", 19, 37, R"(
    %w = coil.weight "w" : tensor<$Nx$Kxf32>
    %l = coil.linear %h, %w : ($ACT, tensor<$Nx$Kxf32>) -> $OUT
    %y = coil.sub %r, %l : $OUT)"},
    {"linear_bias_kblocks_k2100_n37", 2100, 37, R"(
    %w = coil.weight "w" : tensor<$Nx$Kxf32>
    %b = coil.weight "b" : tensor<$Nxf32>
    %y = coil.linear %h, %w, %b : ($ACT, tensor<$Nx$Kxf32>, tensor<$Nxf32>) -> $OUT)"},
    {"linear_silu_kblocks_k2600_n61", 2600, 61, R"(
    %w = coil.weight "w" : tensor<$Nx$Kxf32>
    %l = coil.linear %h, %w : ($ACT, tensor<$Nx$Kxf32>) -> $OUT
    %y = coil.silu %l : $OUT)"},
    {"linear_silu_k600_n61", 600, 61, R"(
    %w = coil.weight "w" : tensor<$Nx$Kxf32>
    %l = coil.linear %h, %w : ($ACT, tensor<$Nx$Kxf32>) -> $OUT
    %y = coil.silu %l : $OUT)"},
    {"linear_split_k19_n64", 19, 64, R"(
    %w = coil.weight "w" : tensor<128x$Kxf32>
    %l = coil.linear %h, %w : ($ACT, tensor<128x$Kxf32>) -> tensor<?x$Tx128xf32>
    %a, %b = coil.split %l {dim = 2 : i64, sizes = array<i64: 64, 64>} : tensor<?x$Tx128xf32> -> $OUT, $OUT
    %y = coil.mul %a, %b : $OUT)"},
    {"linear_split_k33_n40", 33, 40, R"(
    %w = coil.weight "w" : tensor<80x$Kxf32>
    %l = coil.linear %h, %w : ($ACT, tensor<80x$Kxf32>) -> tensor<?x$Tx80xf32>
    %a, %b = coil.split %l {dim = 2 : i64, sizes = array<i64: 40, 40>} : tensor<?x$Tx80xf32> -> $OUT, $OUT
    %y = coil.sub %a, %b : $OUT)"},
    // An rms_norm folded into the linears reading it (its weight in their
    // panels, 1 / rms on their tiles): with a bias; into two linears with
    // K blocks and epilogues; and not folded when another op reads it too.
    {"rms_norm_linear_bias_k37_n61", 37, 61, R"(
    %g = coil.weight "g" : tensor<$Kxf32>
    %n = coil.rms_norm %h, %g {epsilon = 1.0e-5 : f32} : ($ACT, tensor<$Kxf32>) -> $ACT
    %w = coil.weight "w" : tensor<$Nx$Kxf32>
    %b = coil.weight "b" : tensor<$Nxf32>
    %y = coil.linear %n, %w, %b : ($ACT, tensor<$Nx$Kxf32>, tensor<$Nxf32>) -> $OUT)"},
    {"rms_norm_linears_silu_mul_kblocks_k2600_n61", 2600, 61, R"(
    %g = coil.weight "g" : tensor<$Kxf32>
    %n = coil.rms_norm %h, %g {epsilon = 1.0e-6 : f32} : ($ACT, tensor<$Kxf32>) -> $ACT
    %wg = coil.weight "wg" : tensor<$Nx$Kxf32>
    %wu = coil.weight "wu" : tensor<$Nx$Kxf32>
    %a = coil.linear %n, %wg : ($ACT, tensor<$Nx$Kxf32>) -> $OUT
    %s = coil.silu %a : $OUT
    %u = coil.linear %n, %wu : ($ACT, tensor<$Nx$Kxf32>) -> $OUT
    %y = coil.mul %s, %u : $OUT)"},
    {"rms_norm_linear_also_read_n37", 37, 37, R"(
    %g = coil.weight "g" : tensor<$Kxf32>
    %n = coil.rms_norm %h, %g {epsilon = 1.0e-5 : f32} : ($ACT, tensor<$Kxf32>) -> $ACT
    %w = coil.weight "w" : tensor<$Nx$Kxf32>
    %l = coil.linear %n, %w : ($ACT, tensor<$Nx$Kxf32>) -> $OUT
    %y = coil.add %l, %n : $OUT)"},
    // Matrices stored as bf16 or f16 (the file's f32 values rounded at
    // bind, as the reference rounds them), widened in registers: one block
    // of K with a bias, K blocks with an epilogue, whole panels with a
    // residual, an embedding table, and a norm that stays unfolded.
    {"linear_bf16_bias_k19_n37", 19, 37, R"(
    %w = coil.weight "w" : tensor<$Nx$Kxbf16>
    %b = coil.weight "b" : tensor<$Nxf32>
    %y = coil.linear %h, %w, %b : ($ACT, tensor<$Nx$Kxbf16>, tensor<$Nxf32>) -> $OUT)"},
    {"linear_bf16_silu_kblocks_k2600_n61", 2600, 61, R"(
    %w = coil.weight "w" : tensor<$Nx$Kxbf16>
    %l = coil.linear %h, %w : ($ACT, tensor<$Nx$Kxbf16>) -> $OUT
    %y = coil.silu %l : $OUT)"},
    {"linear_f16_residual_k33_n96", 33, 96, R"(
    %w = coil.weight "w" : tensor<$Nx$Kxf16>
    %l = coil.linear %h, %w : ($ACT, tensor<$Nx$Kxf16>) -> $OUT
    %y = coil.add %r, %l : $OUT)"},
    {"linear_f16_k600_n61", 600, 61, R"(
    %w = coil.weight "w" : tensor<$Nx$Kxf16>
    %y = coil.linear %h, %w : ($ACT, tensor<$Nx$Kxf16>) -> $OUT)"},
    {"embed_bf16_linear_bf16_k37_n61", 37, 61, R"(
    %t = coil.weight "table_bf16" : tensor<$Nx$Kxbf16>
    %e = coil.embed %t, %tokens : (tensor<$Nx$Kxbf16>, tensor<?x$Txi32>) -> $ACT
    %s = coil.add %e, %h : $ACT
    %w = coil.weight "w" : tensor<$Nx$Kxbf16>
    %y = coil.linear %s, %w : ($ACT, tensor<$Nx$Kxbf16>) -> $OUT)"},
    // Int8 matrices (quantized from the file's f32 values at bind, as the
    // reference quantizes them): one K block with a bias, K blocks with an
    // epilogue, and an int8 embedding table read by an int8 linear.
    {"linear_int8_bias_k19_n37", 19, 37, R"(
    %w = coil.weight "w" : tensor<$Nx$Kxi8>
    %s = coil.weight "w" scales : tensor<$Nxf32>
    %b = coil.weight "b" : tensor<$Nxf32>
    %y = coil.linear %h, %w, %b scale(%s) : ($ACT, tensor<$Nx$Kxi8>, tensor<$Nxf32>, tensor<$Nxf32>) -> $OUT)"},
    {"linear_int8_silu_kblocks_k2600_n61", 2600, 61, R"(
    %w = coil.weight "w" : tensor<$Nx$Kxi8>
    %s = coil.weight "w" scales : tensor<$Nxf32>
    %l = coil.linear %h, %w scale(%s) : ($ACT, tensor<$Nx$Kxi8>, tensor<$Nxf32>) -> $OUT
    %y = coil.silu %l : $OUT)"},
    {"embed_int8_linear_int8_k37_n61", 37, 61, R"(
    %t = coil.weight "table_int8" : tensor<$Nx$Kxi8>
    %ts = coil.weight "table_int8" scales : tensor<$Nxf32>
    %e = coil.embed %t, %tokens scale(%ts) : (tensor<$Nx$Kxi8>, tensor<?x$Txi32>, tensor<$Nxf32>) -> $ACT
    %s = coil.add %e, %h : $ACT
    %w = coil.weight "w" : tensor<$Nx$Kxi8>
    %ws = coil.weight "w" scales : tensor<$Nxf32>
    %y = coil.linear %s, %w scale(%ws) : ($ACT, tensor<$Nx$Kxi8>, tensor<$Nxf32>) -> $OUT)"},
    // Int4 matrices (groups of 32 along K, two per byte): a bias and a
    // partial last panel, several groups with an epilogue, and an int4
    // embedding table.
    {"linear_int4_bias_k64_n37", 64, 37, R"(
    %w = coil.weight "w" : tensor<$Nx$Kxi4>
    %s = coil.weight "w" scales : tensor<$Nx2xf32>
    %b = coil.weight "b" : tensor<$Nxf32>
    %y = coil.linear %h, %w, %b scale(%s) : ($ACT, tensor<$Nx$Kxi4>, tensor<$Nxf32>, tensor<$Nx2xf32>) -> $OUT)"},
    {"linear_int4_silu_k608_n96", 608, 96, R"(
    %w = coil.weight "w" : tensor<$Nx$Kxi4>
    %s = coil.weight "w" scales : tensor<$Nx19xf32>
    %l = coil.linear %h, %w scale(%s) : ($ACT, tensor<$Nx$Kxi4>, tensor<$Nx19xf32>) -> $OUT
    %y = coil.silu %l : $OUT)"},
    {"embed_int4_linear_int4_k32_n61", 32, 61, R"(
    %t = coil.weight "table_int4" : tensor<$Nx$Kxi4>
    %ts = coil.weight "table_int4" scales : tensor<$Nx1xf32>
    %e = coil.embed %t, %tokens scale(%ts) : (tensor<$Nx$Kxi4>, tensor<?x$Txi32>, tensor<$Nx1xf32>) -> $ACT
    %s = coil.add %e, %h : $ACT
    %w = coil.weight "w" : tensor<$Nx$Kxi4>
    %ws = coil.weight "w" scales : tensor<$Nx1xf32>
    %y = coil.linear %s, %w scale(%ws) : ($ACT, tensor<$Nx$Kxi4>, tensor<$Nx1xf32>) -> $OUT)"},
    {"rms_norm_linear_f16_k37_n61", 37, 61, R"(
    %g = coil.weight "g" : tensor<$Kxf32>
    %n = coil.rms_norm %h, %g {epsilon = 1.0e-5 : f32} : ($ACT, tensor<$Kxf32>) -> $ACT
    %w = coil.weight "w" : tensor<$Nx$Kxf16>
    %y = coil.linear %n, %w : ($ACT, tensor<$Nx$Kxf16>) -> $OUT)"},
    {"rms_norm_n37", 37, 37, R"(
    %g = coil.weight "g" : tensor<$Nxf32>
    %y = coil.rms_norm %h, %g {epsilon = 1.0e-5 : f32} : ($ACT, tensor<$Nxf32>) -> $OUT)"},
    {"layer_norm_n61", 61, 61, R"(
    %g = coil.weight "g" : tensor<$Nxf32>
    %b = coil.weight "b" : tensor<$Nxf32>
    %y = coil.layer_norm %h, %g, %b {epsilon = 1.0e-5 : f32} : ($ACT, tensor<$Nxf32>, tensor<$Nxf32>) -> $OUT)"},
    {"softplus_mul_n37", 37, 37, R"(
    %s = coil.softplus %h : $ACT
    %y = coil.mul %s, %r : $OUT)"},
    // The selective scan as Mamba runs it (softplus dt, D skip, silu gate)
    // over 37 channels: whole vector blocks of channels plus leftovers for
    // every vector width; then 40 channels and 5 states with dt = exp(.)
    // and no gate.
    {"scan_gate_softplus_c37_n16", 37, 37, R"(
    %wd = coil.weight "wd" : tensor<$Kx$Kxf32>
    %wb = coil.weight "wb" : tensor<16x$Kxf32>
    %wc = coil.weight "wc" : tensor<16x$Kxf32>
    %wz = coil.weight "wz" : tensor<$Kx$Kxf32>
    %alog = coil.weight "alog" : tensor<$Kx16xf32>
    %d = coil.weight "d" : tensor<$Kxf32>
    %dl = coil.linear %h, %wd : ($ACT, tensor<$Kx$Kxf32>) -> $ACT
    %bm = coil.linear %h, %wb : ($ACT, tensor<16x$Kxf32>) -> tensor<?x$Tx16xf32>
    %cm = coil.linear %h, %wc : ($ACT, tensor<16x$Kxf32>) -> tensor<?x$Tx16xf32>
    %z = coil.linear %h, %wz : ($ACT, tensor<$Kx$Kxf32>) -> $ACT
    %ae = coil.exp %alog : tensor<$Kx16xf32>
    %a = coil.neg %ae : tensor<$Kx16xf32>
    %y, %state_out$KEEP = coil.scan %h, %dl, %a, %bm, %cm, %d gate(%z) state(%state) {delta_softplus}
        : ($ACT, $ACT, tensor<$Kx16xf32>, tensor<?x$Tx16xf32>, tensor<?x$Tx16xf32>,
           tensor<$Kxf32>, $ACT, $STATE) -> ($ACT, $STATE$KEEPTYPE))",
     "$Kx16"},
    {"scan_exp_dt_c40_n5", 40, 40, R"(
    %wd = coil.weight "wd" : tensor<$Kx$Kxf32>
    %wb = coil.weight "wb" : tensor<5x$Kxf32>
    %wc = coil.weight "wc" : tensor<5x$Kxf32>
    %alog = coil.weight "alog" : tensor<$Kx5xf32>
    %d = coil.weight "d" : tensor<$Kxf32>
    %dl = coil.linear %h, %wd : ($ACT, tensor<$Kx$Kxf32>) -> $ACT
    %dt = coil.exp %dl : $ACT
    %bm = coil.linear %h, %wb : ($ACT, tensor<5x$Kxf32>) -> tensor<?x$Tx5xf32>
    %cm = coil.linear %h, %wc : ($ACT, tensor<5x$Kxf32>) -> tensor<?x$Tx5xf32>
    %ae = coil.exp %alog : tensor<$Kx5xf32>
    %a = coil.neg %ae : tensor<$Kx5xf32>
    %y, %state_out$KEEP = coil.scan %h, %dt, %a, %bm, %cm, %d state(%state)
        : ($ACT, $ACT, tensor<$Kx5xf32>, tensor<?x$Tx5xf32>, tensor<?x$Tx5xf32>,
           tensor<$Kxf32>, $STATE) -> ($ACT, $STATE$KEEPTYPE))",
     "$Kx5"},
    // Mamba-2's scan: 5 heads of 6 channels reading one group of 200
    // states (a state row of two 100-lane pieces), dt biased, softplus and
    // limited; then 6 heads of 4 channels in 3 groups of 7 states, dt =
    // exp(.), gated and normalised in groups of 8 as Mamba-2 does.
    {"ssd_scan_h5_p6_n200_bias_limit", 30, 30, R"(
    %wd = coil.weight "wd" : tensor<5x$Kxf32>
    %wb = coil.weight "wb" : tensor<200x$Kxf32>
    %wc = coil.weight "wc" : tensor<200x$Kxf32>
    %alog = coil.weight "alog" : tensor<5xf32>
    %d = coil.weight "d" : tensor<5xf32>
    %bias = coil.weight "bias" : tensor<5xf32>
    %dt = coil.linear %h, %wd : ($ACT, tensor<5x$Kxf32>) -> tensor<?x$Tx5xf32>
    %bm = coil.linear %h, %wb : ($ACT, tensor<200x$Kxf32>) -> tensor<?x$Tx200xf32>
    %cm = coil.linear %h, %wc : ($ACT, tensor<200x$Kxf32>) -> tensor<?x$Tx200xf32>
    %ae = coil.exp %alog : tensor<5xf32>
    %a = coil.neg %ae : tensor<5xf32>
    %y, %state_out$KEEP = coil.ssd_scan %h, %dt, %a, %bm, %cm, %d bias(%bias) state(%state) {delta_softplus, dt_limit = array<f64: 0.05, 0.9>}
        : ($ACT, tensor<?x$Tx5xf32>, tensor<5xf32>, tensor<?x$Tx200xf32>, tensor<?x$Tx200xf32>,
           tensor<5xf32>, tensor<5xf32>, $STATE) -> ($ACT, $STATE$KEEPTYPE))",
     "5x6x200"},
    {"ssd_scan_h6_p4_g3_n7_gated_norm", 24, 24, R"(
    %wd = coil.weight "wd" : tensor<6x$Kxf32>
    %wb = coil.weight "wb" : tensor<21x$Kxf32>
    %wc = coil.weight "wc" : tensor<21x$Kxf32>
    %wz = coil.weight "wz" : tensor<$Kx$Kxf32>
    %alog = coil.weight "alog" : tensor<6xf32>
    %d = coil.weight "d" : tensor<6xf32>
    %g = coil.weight "g" : tensor<$Kxf32>
    %ae = coil.exp %alog : tensor<6xf32>
    %a = coil.neg %ae : tensor<6xf32>
    %dl = coil.linear %h, %wd : ($ACT, tensor<6x$Kxf32>) -> tensor<?x$Tx6xf32>
    %dt = coil.exp %dl : tensor<?x$Tx6xf32>
    %bm = coil.linear %h, %wb : ($ACT, tensor<21x$Kxf32>) -> tensor<?x$Tx21xf32>
    %cm = coil.linear %h, %wc : ($ACT, tensor<21x$Kxf32>) -> tensor<?x$Tx21xf32>
    %z = coil.linear %h, %wz : ($ACT, tensor<$Kx$Kxf32>) -> $ACT
    %s, %state_out$KEEP = coil.ssd_scan %h, %dt, %a, %bm, %cm, %d state(%state)
        : ($ACT, tensor<?x$Tx6xf32>, tensor<6xf32>, tensor<?x$Tx21xf32>, tensor<?x$Tx21xf32>,
           tensor<6xf32>, $STATE) -> ($ACT, $STATE$KEEPTYPE)
    %sz = coil.silu %z : $ACT
    %gated = coil.mul %s, %sz : $ACT
    %y = coil.rms_norm %gated, %g {epsilon = 1.0e-5 : f32, group_size = 8 : i64} : ($ACT, tensor<$Kxf32>) -> $OUT)",
     "6x4x7"},
    // The causal conv as Mamba runs it (bias, then silu) over 37 channels:
    // two whole blocks of 16 and 5 left over.
    {"conv_silu_c37_k4", 37, 37, R"(
    %w = coil.weight "w" : tensor<$Kx4xf32>
    %b = coil.weight "b" : tensor<$Kxf32>
    %c, %state_out$KEEP = coil.conv1d_causal %h, %w bias(%b) state(%state)
        : ($ACT, tensor<$Kx4xf32>, tensor<$Kxf32>, $STATE) -> ($ACT, $STATE$KEEPTYPE)
    %y = coil.silu %c : $ACT)",
     "$Kx3"},
};

using ::coil::testing::hostRuns;

/// Deterministic values in [-1, 1).
std::vector<float> values(size_t count, uint64_t seed) {
  std::vector<float> out(count);
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (float &v : out) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    v = static_cast<float>(static_cast<double>(s >> 40) / (1 << 23) - 1.0);
  }
  return out;
}

using Param = std::tuple<int, const char *>;

class OpsVsReferenceTest : public ::testing::TestWithParam<Param> {
protected:
  const OpCase &opCase() const { return kCases[std::get<0>(GetParam())]; }

  void SetUp() override {
    std::string missing;
    if (!hostRuns(std::get<1>(GetParam()), missing))
      GTEST_SKIP() << "this CPU cannot run code for " << std::get<1>(GetParam())
                   << " (lacks " << missing << ")";
    DialectRegistry registry;
    registerAllDialects(registry);
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("coil-ops", dir));
  }

  void TearDown() override {
    if (session)
      coil_session_release(session);
    if (model)
      coil_model_release(model);
    if (files)
      coil_weights_release(files);
    if (!dir.empty())
      llvm::sys::fs::remove_directories(dir);
  }

  MLIRContext context;
  llvm::SmallString<128> dir;
  coil_model_t *model = nullptr;
  coil_weights_t *files = nullptr;
  coil_session_t *session = nullptr;
};

/// The session's last logits against the reference's.
void expectMatch(coil_session_t *session, const reference::Tensor &expected,
                 const std::string &what) {
  const float *logits = nullptr;
  int64_t batch = 0, tokens = 0, vocab = 0;
  coil_status_t *status =
      coil_session_logits(session, &logits, &batch, &tokens, &vocab);
  ASSERT_EQ(coil_status_code(status), COIL_OK) << coil_status_message(status);
  coil_status_free(status);
  ASSERT_EQ(std::vector<int64_t>({batch, tokens, vocab}), expected.shape)
      << what;
  for (int64_t row = 0; row < batch * tokens; ++row) {
    const double *ref = expected.data.data() + row * vocab;
    double largest = 0.0;
    for (int64_t v = 0; v < vocab; ++v)
      largest = std::max(largest, std::fabs(ref[v]));
    double tol = 1e-5 * largest + 1e-7;
    for (int64_t v = 0; v < vocab; ++v)
      ASSERT_NEAR(logits[row * vocab + v], ref[v], tol)
          << what << ", row " << row << ", column " << v;
  }
}

TEST_P(OpsVsReferenceTest, MatchesTheReference) {
  const OpCase &c = opCase();
  std::string source = modelSource(c);
  OwningOpRef<ModuleOp> reference =
      parseSourceString<ModuleOp>(source, &context);
  ASSERT_TRUE(reference) << source;
  OwningOpRef<ModuleOp> compiled =
      parseSourceString<ModuleOp>(source, &context);
  std::string so = (dir + "/model.so").str();
  llvm::Error e = compileModel(*compiled, Stage::SharedLibrary, so, nullptr,
                               CompileOptions{false, std::get<1>(GetParam())});
  ASSERT_FALSE(!!e) << llvm::toString(std::move(e));

  // Every weight the module declares, with seeded values.
  llvm::StringMap<std::pair<std::vector<int64_t>, std::vector<float>>> data;
  uint64_t seed = 1;
  reference->walk([&](WeightOp w) {
    // An int8 matrix's scales come from the matrix.
    if (w.getScales() || data.count(w.getName()))
      return;
    std::vector<int64_t> shape(w.getType().getShape());
    size_t count = 1;
    for (int64_t d : shape)
      count *= static_cast<size_t>(d);
    data[w.getName()] = {shape, values(count, seed++)};
  });
  std::vector<weights::TensorToWrite> tensors;
  for (auto &entry : data)
    tensors.push_back({entry.getKey().str(), weights::DType::F32,
                       entry.getValue().first, entry.getValue().second.data()});
  std::string st = (dir + "/model.safetensors").str();
  weights::Status written = weights::writeSafetensors(st, tensors);
  ASSERT_TRUE(written.isOk()) << written.message();

  auto check = [](coil_status_t *status) {
    std::string message = coil_status_message(status);
    coil_status_code_t code = coil_status_code(status);
    coil_status_free(status);
    return code == COIL_OK ? std::string() : message;
  };
  ASSERT_EQ(check(coil_model_load(so.c_str(), &model)), "");
  ASSERT_EQ(check(coil_weights_open(st.c_str(), &files)), "");
  ASSERT_EQ(check(coil_model_bind_weights(model, files)), "");
  coil_session_options_t options;
  coil_session_options_initialize(&options);
  options.max_batch = 3;
  options.max_context = 80;
  options.threads = 2;
  options.all_logits = 1;
  options.verify_tokens = c.state ? 5 : 0;
  ASSERT_EQ(check(coil_session_create(model, &options, &session)), "");

  auto provider = [&](llvm::StringRef name,
                      RankedTensorType) -> llvm::Expected<reference::Tensor> {
    auto it = data.find(name);
    if (it == data.end())
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "no weight " + name);
    return reference::Tensor(it->second.first,
                             std::vector<double>(it->second.second.begin(),
                                                 it->second.second.end()));
  };
  for (int64_t seq : {1, 7, 64}) {
    std::string what = "T=" + std::to_string(seq);
    auto ref = reference::ReferenceSession::create(*reference, provider, 3, 80);
    ASSERT_TRUE(!!ref) << llvm::toString(ref.takeError());
    // Fed what the session keeps after rolling back (ops with state).
    auto replay =
        reference::ReferenceSession::create(*reference, provider, 3, 80);
    ASSERT_TRUE(!!replay) << llvm::toString(replay.takeError());
    coil_session_reset(session);
    std::vector<std::vector<int64_t>> prompts(3);
    std::vector<int32_t> flat;
    for (int64_t b = 0; b < 3; ++b)
      for (int64_t t = 0; t < seq; ++t) {
        int32_t id = static_cast<int32_t>((b * 31 + t * 7 + seq) % c.n);
        prompts[b].push_back(id);
        flat.push_back(id);
      }
    llvm::Expected<reference::Tensor> expected = (*ref)->prefill(prompts);
    ASSERT_TRUE(!!expected) << llvm::toString(expected.takeError());
    ASSERT_EQ(check(coil_session_prefill(session, flat.data(), 3, seq)), "");
    expectMatch(session, *expected, what + " prefill");
    if (c.state)
      ASSERT_TRUE(!!(*replay)->prefill(prompts));
    for (int64_t step = 0; step < 3; ++step) {
      std::vector<int64_t> next;
      std::vector<int32_t> next32;
      for (int64_t b = 0; b < 3; ++b) {
        next.push_back((step * 5 + b * 3 + 1) % c.n);
        next32.push_back(static_cast<int32_t>(next.back()));
      }
      llvm::Expected<reference::Tensor> stepExpected = (*ref)->decode(next);
      ASSERT_TRUE(!!stepExpected) << llvm::toString(stepExpected.takeError());
      ASSERT_EQ(check(coil_session_decode(session, next32.data(), 3)), "");
      expectMatch(session, *stepExpected,
                  what + " decode step " + std::to_string(step));
      if (c.state)
        ASSERT_TRUE(!!(*replay)->decode(next));
    }
    if (!c.state)
      continue;

    // Speculative verification: 5 drafts per sequence in one call, the
    // first 2 kept, then a decode step from the state the verify kept
    // after the second.
    std::vector<std::vector<int64_t>> drafts(3), kept(3);
    std::vector<int32_t> flatDrafts;
    for (int64_t b = 0; b < 3; ++b)
      for (int64_t t = 0; t < 5; ++t) {
        drafts[b].push_back((b * 11 + t * 5 + 2) % c.n);
        flatDrafts.push_back(static_cast<int32_t>(drafts[b].back()));
        if (t < 2)
          kept[b].push_back(drafts[b].back());
      }
    llvm::Expected<reference::Tensor> verified = (*ref)->prefill(drafts);
    ASSERT_TRUE(!!verified) << llvm::toString(verified.takeError());
    ASSERT_EQ(
        check(coil_session_verify_at(session, 0, flatDrafts.data(), 3, 5)),
        "");
    expectMatch(session, *verified, what + " verify");
    for (int64_t b = 0; b < 3; ++b)
      ASSERT_EQ(check(coil_session_truncate_sequence(
                    session, b, coil_session_length(session, b) - 3)),
                "");
    ASSERT_TRUE(!!(*replay)->prefill(kept));
    std::vector<int64_t> next{3 % c.n, 8 % c.n, 13 % c.n};
    std::vector<int32_t> next32(next.begin(), next.end());
    llvm::Expected<reference::Tensor> after = (*replay)->decode(next);
    ASSERT_TRUE(!!after) << llvm::toString(after.takeError());
    ASSERT_EQ(check(coil_session_decode(session, next32.data(), 3)), "");
    expectMatch(session, *after, what + " decode after going back");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Ops, OpsVsReferenceTest,
    ::testing::Combine(::testing::Range(0, static_cast<int>(std::size(kCases))),
                       ::testing::ValuesIn(::coil::testing::kTargetCpus)),
    [](const ::testing::TestParamInfo<Param> &info) {
      std::string name = std::string(kCases[std::get<0>(info.param)].name) +
                         "_" + std::get<1>(info.param);
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

} // namespace
