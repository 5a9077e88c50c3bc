//===- ModelBuilder.cpp - coil IR and weight lists from a config -*- C++
//-*-===//
//
// The Mamba (v1), Mamba-2 and Llama forward passes as coil IR, following the
// reference implementations (state-spaces `mamba_ssm` / Hugging Face
// `modeling_mamba` and `modeling_mamba2`, and Hugging Face `modeling_llama`)
// op for op, and the parameter lists with
// their published initialisations.
//
//===----------------------------------------------------------------------===//

#include "models/ModelBuilder.h"

#include "models/GraphBuilder.h"

#include "dialects/Coil/IR/CoilDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <cmath>
#include <string>

using namespace mlir;
using namespace mlir::coil;
using namespace mlir::coil::models;

namespace {

constexpr int64_t kDyn = ShapedType::kDynamic;

std::string layerPrefix(const ModelConfig &config, int64_t layer) {
  return (config.family == ModelConfig::Family::Llama ? "model.layers."
                                                      : "backbone.layers.") +
         std::to_string(layer) + ".";
}

//===----------------------------------------------------------------------===//
// Parameter lists
//===----------------------------------------------------------------------===//

WeightInit normal(double std) { return {WeightInit::Kind::Normal, std, 0}; }
WeightInit uniform(double bound) {
  return {WeightInit::Kind::Uniform, bound, 0};
}
WeightInit constant(double value) {
  return {WeightInit::Kind::Constant, value, 0};
}
/// PyTorch's default Linear/Conv init (kaiming_uniform with a = sqrt(5)).
WeightInit torchDefault(int64_t fanIn) {
  return uniform(1.0 / std::sqrt(static_cast<double>(fanIn)));
}

std::string mambaEmbeddingName(const MambaConfig &m) {
  return m.layout == MambaConfig::Layout::HuggingFace
             ? "backbone.embeddings.weight"
             : "backbone.embedding.weight";
}

/// Mamba: `mamba_ssm`'s `_init_weights` and `Mamba.__init__` (embedding
/// N(0, 0.02), out_proj rescaled by 1/sqrt(n_layer), dt bias the inverse
/// softplus of a log-uniform dt in [1e-3, 0.1], A_log = log(1..N), D = 1).
std::vector<WeightSpec> mambaWeights(const ModelConfig &config) {
  const MambaConfig &m = config.mamba;
  std::vector<WeightSpec> specs;
  specs.push_back(
      {mambaEmbeddingName(m), {m.vocabSize, m.dModel}, normal(0.02)});
  double outScale = 1.0 / std::sqrt(static_cast<double>(m.numLayers));
  for (int64_t i = 0; i < m.numLayers; ++i) {
    std::string p = layerPrefix(config, i);
    std::string x = p + "mixer.";
    specs.push_back({p + "norm.weight", {m.dModel}, constant(1.0)});
    specs.push_back({x + "in_proj.weight",
                     {2 * m.dInner, m.dModel},
                     torchDefault(m.dModel)});
    if (m.linearBias)
      specs.push_back({x + "in_proj.bias", {2 * m.dInner}, constant(0.0)});
    specs.push_back(
        {x + "conv1d.weight", {m.dInner, 1, m.dConv}, torchDefault(m.dConv)});
    if (m.convBias)
      specs.push_back({x + "conv1d.bias", {m.dInner}, torchDefault(m.dConv)});
    specs.push_back({x + "x_proj.weight",
                     {m.dtRank + 2 * m.dState, m.dInner},
                     torchDefault(m.dInner)});
    specs.push_back({x + "dt_proj.weight",
                     {m.dInner, m.dtRank},
                     uniform(1.0 / std::sqrt(static_cast<double>(m.dtRank)))});
    specs.push_back({x + "dt_proj.bias",
                     {m.dInner},
                     {WeightInit::Kind::DtBias, 1e-3, 0.1}});
    specs.push_back({x + "A_log",
                     {m.dInner, m.dState},
                     {WeightInit::Kind::ALogRange, 0, 0}});
    specs.push_back({x + "D", {m.dInner}, constant(1.0)});
    WeightInit out = torchDefault(m.dInner);
    out.a *= outScale;
    specs.push_back({x + "out_proj.weight", {m.dModel, m.dInner}, out});
    if (m.linearBias)
      specs.push_back({x + "out_proj.bias", {m.dModel}, constant(0.0)});
  }
  specs.push_back({"backbone.norm_f.weight", {m.dModel}, constant(1.0)});
  if (!m.tieEmbeddings)
    specs.push_back({"lm_head.weight", {m.vocabSize, m.dModel}, normal(0.02)});
  return specs;
}

/// The parameters of a model under `backbone.`: the embedding N(0, 0.02),
/// those `blocks` lists, the final norm and, untied, the LM head.
std::vector<WeightSpec>
backboneWeights(const ModelConfig &config,
                llvm::function_ref<void(std::vector<WeightSpec> &)> blocks) {
  int64_t vocab = config.vocabSize(), width = config.hiddenSize();
  std::vector<WeightSpec> specs;
  specs.push_back({"backbone.embeddings.weight", {vocab, width}, normal(0.02)});
  blocks(specs);
  specs.push_back({"backbone.norm_f.weight", {width}, constant(1.0)});
  if (!config.tiedEmbeddings())
    specs.push_back({"lm_head.weight", {vocab, width}, normal(0.02)});
  return specs;
}

/// One Mamba-2 block's parameters under `p` ("backbone.layers.<i>.").
void mamba2BlockWeights(std::vector<WeightSpec> &specs, const Mamba2Config &m,
                        const std::string &p) {
  std::string x = p + "mixer.";
  double outScale = 1.0 / std::sqrt(static_cast<double>(m.numLayers));
  specs.push_back({p + "norm.weight", {m.hiddenSize}, constant(1.0)});
  specs.push_back({x + "in_proj.weight",
                   {m.projectionSize(), m.hiddenSize},
                   torchDefault(m.hiddenSize)});
  if (m.linearBias)
    specs.push_back({x + "in_proj.bias", {m.projectionSize()}, constant(0.0)});
  specs.push_back({x + "conv1d.weight",
                   {m.convDim(), 1, m.convKernel},
                   torchDefault(m.convKernel)});
  if (m.convBias)
    specs.push_back(
        {x + "conv1d.bias", {m.convDim()}, torchDefault(m.convKernel)});
  specs.push_back({x + "dt_bias",
                   {m.numHeads},
                   {WeightInit::Kind::DtBias, m.dtMin, m.dtMax}});
  specs.push_back(
      {x + "A_log", {m.numHeads}, {WeightInit::Kind::ALogRange, 0, 0}});
  specs.push_back({x + "D", {m.numHeads}, constant(1.0)});
  specs.push_back({x + "norm.weight", {m.dInner}, constant(1.0)});
  WeightInit out = torchDefault(m.dInner);
  out.a *= outScale;
  specs.push_back({x + "out_proj.weight", {m.hiddenSize, m.dInner}, out});
  if (m.linearBias)
    specs.push_back({x + "out_proj.bias", {m.hiddenSize}, constant(0.0)});
}

/// Mamba-2: `mamba_ssm`'s `Mamba2.__init__` and `_init_weights`, as Mamba's
/// (embedding N(0, 0.02), PyTorch default linears and conv, out_proj
/// rescaled by 1/sqrt(n_layer), dt_bias the inverse softplus of a
/// log-uniform dt in [time_step_min, time_step_max]), with Hugging Face's
/// A_log = log(1..H) (mamba_ssm draws A uniformly in [1, 16]) and D = 1.
std::vector<WeightSpec> mamba2Weights(const ModelConfig &config) {
  return backboneWeights(config, [&](std::vector<WeightSpec> &specs) {
    for (int64_t i = 0; i < config.mamba2.numLayers; ++i)
      mamba2BlockWeights(specs, config.mamba2, layerPrefix(config, i));
  });
}

/// Nemotron-H's blocks, in pattern order.
void nemotronHBlockWeights(std::vector<WeightSpec> &specs,
                           const ModelConfig &config) {
  const NemotronHConfig &n = config.nemotronH;
  int64_t qWidth = n.numHeads * n.headDim, kvWidth = n.numKvHeads * n.headDim;
  for (int64_t i = 0; i < n.numLayers; ++i) {
    std::string p = layerPrefix(config, i), x = p + "mixer.";
    switch (n.pattern[i]) {
    case 'M':
      mamba2BlockWeights(specs, n.mamba, p);
      break;
    case '*':
      specs.push_back({p + "norm.weight", {n.hiddenSize}, constant(1.0)});
      specs.push_back({x + "q_proj.weight",
                       {qWidth, n.hiddenSize},
                       torchDefault(n.hiddenSize)});
      specs.push_back({x + "k_proj.weight",
                       {kvWidth, n.hiddenSize},
                       torchDefault(n.hiddenSize)});
      specs.push_back({x + "v_proj.weight",
                       {kvWidth, n.hiddenSize},
                       torchDefault(n.hiddenSize)});
      specs.push_back(
          {x + "o_proj.weight", {n.hiddenSize, qWidth}, torchDefault(qWidth)});
      break;
    default:
      specs.push_back({p + "norm.weight", {n.hiddenSize}, constant(1.0)});
      specs.push_back({x + "up_proj.weight",
                       {n.intermediateSize, n.hiddenSize},
                       torchDefault(n.hiddenSize)});
      specs.push_back({x + "down_proj.weight",
                       {n.hiddenSize, n.intermediateSize},
                       torchDefault(n.intermediateSize)});
      break;
    }
  }
}

/// Nemotron-H: NVIDIA's `_init_weights` (embedding N(0, 0.02), PyTorch
/// default linears, the Mamba-2 blocks as Mamba-2's with out_proj rescaled
/// by 1/sqrt(num_hidden_layers), norms at 1).
std::vector<WeightSpec> nemotronHWeights(const ModelConfig &config) {
  return backboneWeights(config, [&](std::vector<WeightSpec> &specs) {
    nemotronHBlockWeights(specs, config);
  });
}

/// Llama: `LlamaPreTrainedModel._init_weights` (N(0, 0.02) for every linear
/// and the embedding, norms at 1).
std::vector<WeightSpec> llamaWeights(const ModelConfig &config) {
  const LlamaConfig &l = config.llama;
  std::vector<WeightSpec> specs;
  specs.push_back(
      {"model.embed_tokens.weight", {l.vocabSize, l.hiddenSize}, normal(0.02)});
  int64_t qWidth = l.numHeads * l.headDim, kvWidth = l.numKvHeads * l.headDim;
  for (int64_t i = 0; i < l.numLayers; ++i) {
    std::string p = layerPrefix(config, i);
    specs.push_back(
        {p + "input_layernorm.weight", {l.hiddenSize}, constant(1)});
    specs.push_back(
        {p + "self_attn.q_proj.weight", {qWidth, l.hiddenSize}, normal(0.02)});
    specs.push_back(
        {p + "self_attn.k_proj.weight", {kvWidth, l.hiddenSize}, normal(0.02)});
    specs.push_back(
        {p + "self_attn.v_proj.weight", {kvWidth, l.hiddenSize}, normal(0.02)});
    specs.push_back(
        {p + "self_attn.o_proj.weight", {l.hiddenSize, qWidth}, normal(0.02)});
    specs.push_back(
        {p + "post_attention_layernorm.weight", {l.hiddenSize}, constant(1)});
    specs.push_back({p + "mlp.gate_proj.weight",
                     {l.intermediateSize, l.hiddenSize},
                     normal(0.02)});
    specs.push_back({p + "mlp.up_proj.weight",
                     {l.intermediateSize, l.hiddenSize},
                     normal(0.02)});
    specs.push_back({p + "mlp.down_proj.weight",
                     {l.hiddenSize, l.intermediateSize},
                     normal(0.02)});
  }
  specs.push_back({"model.norm.weight", {l.hiddenSize}, constant(1)});
  if (!l.tieEmbeddings)
    specs.push_back(
        {"lm_head.weight", {l.vocabSize, l.hiddenSize}, normal(0.02)});
  return specs;
}

//===----------------------------------------------------------------------===//
// Forward passes
//===----------------------------------------------------------------------===//

/// One state argument of the entry points.
struct StateArg {
  std::string name;
  RankedTensorType type;
};

/// A Mamba-2 block's conv window and SSM state.
void mamba2StateArgs(GraphBuilder &g, const Mamba2Config &m,
                     const std::string &layer,
                     SmallVectorImpl<StateArg> &args) {
  args.push_back(
      {"conv." + layer, g.tensor({kDyn, m.convDim(), m.convKernel - 1})});
  args.push_back(
      {"ssm." + layer, g.tensor({kDyn, m.numHeads, m.headDim, m.stateSize})});
}

/// An attention block's KV cache, [B, Hkv, capacity, Dh] each.
void kvCacheArgs(GraphBuilder &g, int64_t kvHeads, int64_t headDim,
                 const std::string &layer, SmallVectorImpl<StateArg> &args) {
  auto cache = g.tensor({kDyn, kvHeads, kDyn, headDim});
  args.push_back({"k_cache." + layer, cache});
  args.push_back({"v_cache." + layer, cache});
}

SmallVector<StateArg> stateArgs(GraphBuilder &g, const ModelConfig &config) {
  SmallVector<StateArg> args;
  for (int64_t i = 0; i < config.numLayers(); ++i) {
    std::string layer = std::to_string(i);
    if (config.family == ModelConfig::Family::Mamba) {
      const MambaConfig &m = config.mamba;
      args.push_back(
          {"conv." + layer, g.tensor({kDyn, m.dInner, m.dConv - 1})});
      args.push_back({"ssm." + layer, g.tensor({kDyn, m.dInner, m.dState})});
    } else if (config.family == ModelConfig::Family::Mamba2) {
      mamba2StateArgs(g, config.mamba2, layer, args);
    } else if (config.family == ModelConfig::Family::NemotronH) {
      const NemotronHConfig &n = config.nemotronH;
      if (n.pattern[i] == 'M')
        mamba2StateArgs(g, n.mamba, layer, args);
      else if (n.pattern[i] == '*')
        kvCacheArgs(g, n.numKvHeads, n.headDim, layer, args);
    } else {
      const LlamaConfig &l = config.llama;
      kvCacheArgs(g, l.numKvHeads, l.headDim, layer, args);
    }
  }
  return args;
}

/// The state of every position of a call, for the states that keep it.
struct History {
  std::string state;
  Value value;
};

/// [B, T] followed by `state`'s extents after the batch.
RankedTensorType historyType(GraphBuilder &g, Value tokensLike, Value state) {
  auto stateType = cast<RankedTensorType>(state.getType());
  SmallVector<int64_t> shape{
      kDyn, cast<RankedTensorType>(tokensLike.getType()).getDimSize(1)};
  llvm::append_range(shape, stateType.getShape().drop_front());
  return g.tensor(shape);
}

/// The causal conv of a Mamba block over `input` ([B, T, C]) with the
/// mixer's `conv1d.weight` ([C, 1, K] in the file) and, with `bias`, its
/// `conv1d.bias`; with `histories`, it also returns every step's window.
Conv1dCausalOp mixerConv(GraphBuilder &g, const std::string &x, Value input,
                         int64_t channels, int64_t kernel, bool bias,
                         Value convState, Value h,
                         SmallVectorImpl<History> *histories) {
  Value w = g.reshape(g.weight(x + "conv1d.weight", {channels, 1, kernel}),
                      {channels, kernel});
  Value b = bias ? g.weight(x + "conv1d.bias", {channels}) : Value();
  Type history = histories ? historyType(g, h, convState) : Type();
  return g.builder().create<Conv1dCausalOp>(g.location(), input.getType(),
                                            convState.getType(), history, input,
                                            w, b, convState);
}

/// A Mamba block's new conv and SSM states, and with `histories` their
/// every step's values.
void keepMixerStates(int64_t layer, Conv1dCausalOp conv, Value ssmOut,
                     Value ssmStates, SmallVectorImpl<Value> &newStates,
                     SmallVectorImpl<History> *histories) {
  newStates.push_back(conv.getStateOut());
  newStates.push_back(ssmOut);
  if (histories) {
    std::string index = std::to_string(layer);
    histories->push_back({"conv." + index, conv.getStates()});
    histories->push_back({"ssm." + index, ssmStates});
  }
}

/// h += out_proj(scan(silu(conv(x)), dt, A, B, C, D, z)) on rms_norm(h).
/// With `histories`, the conv and the scan also return their state after
/// every position.
Value mambaLayer(GraphBuilder &g, const ModelConfig &config, int64_t layer,
                 Value h, Value convState, Value ssmState,
                 SmallVectorImpl<Value> &newStates,
                 SmallVectorImpl<History> *histories) {
  const MambaConfig &m = config.mamba;
  std::string p = layerPrefix(config, layer), x = p + "mixer.";
  OpBuilder &b = g.builder();
  Location loc = g.location();

  Value n =
      g.rmsNorm(h, g.weight(p + "norm.weight", {m.dModel}), m.normEpsilon);
  Value inBias =
      m.linearBias ? g.weight(x + "in_proj.bias", {2 * m.dInner}) : Value();
  Value xz = g.linear(
      n, g.weight(x + "in_proj.weight", {2 * m.dInner, m.dModel}), inBias);
  SmallVector<Value> xzParts = g.split(xz, {m.dInner, m.dInner});

  Conv1dCausalOp conv = mixerConv(g, x, xzParts[0], m.dInner, m.dConv,
                                  m.convBias, convState, h, histories);
  Value u = g.silu(conv.getResult());

  Value xDbl = g.linear(
      u, g.weight(x + "x_proj.weight", {m.dtRank + 2 * m.dState, m.dInner}));
  SmallVector<Value> parts = g.split(xDbl, {m.dtRank, m.dState, m.dState});
  Value dt =
      g.linear(parts[0], g.weight(x + "dt_proj.weight", {m.dInner, m.dtRank}),
               g.weight(x + "dt_proj.bias", {m.dInner}));
  Value a = g.neg(g.exp(g.weight(x + "A_log", {m.dInner, m.dState})));
  Value d = g.weight(x + "D", {m.dInner});
  Type ssmHistory = histories ? historyType(g, h, ssmState) : Type();
  auto scan = b.create<ScanOp>(loc, u.getType(), ssmState.getType(), ssmHistory,
                               u, dt, a, parts[1], parts[2], d,
                               /*z=*/xzParts[1], ssmState,
                               /*delta_softplus=*/true);

  Value outBias =
      m.linearBias ? g.weight(x + "out_proj.bias", {m.dModel}) : Value();
  Value out =
      g.linear(scan.getResult(),
               g.weight(x + "out_proj.weight", {m.dModel, m.dInner}), outBias);
  keepMixerStates(layer, conv, scan.getStateOut(), scan.getStates(), newStates,
                  histories);
  return g.add(h, out);
}

/// h += out_proj(gated_norm(ssd_scan(x, dt, A, B, C, D), z)) on rms_norm(h),
/// where z, xBC, dt = in_proj(n) and x, B, C = silu(conv(xBC)) (Hugging
/// Face's `Mamba2Mixer.torch_forward`, mamba_ssm's `Mamba2`).
Value mamba2Layer(GraphBuilder &g, const Mamba2Config &m, const std::string &p,
                  int64_t layer, Value h, Value convState, Value ssmState,
                  SmallVectorImpl<Value> &newStates,
                  SmallVectorImpl<History> *histories) {
  std::string x = p + "mixer.";
  OpBuilder &b = g.builder();
  Location loc = g.location();
  int64_t groupWidth = m.numGroups * m.stateSize;

  Value n =
      g.rmsNorm(h, g.weight(p + "norm.weight", {m.hiddenSize}), m.normEpsilon);
  Value inBias = m.linearBias
                     ? g.weight(x + "in_proj.bias", {m.projectionSize()})
                     : Value();
  Value zxbcdt = g.linear(
      n, g.weight(x + "in_proj.weight", {m.projectionSize(), m.hiddenSize}),
      inBias);
  SmallVector<Value> parts =
      g.split(zxbcdt, {m.dInner, m.convDim(), m.numHeads});

  Conv1dCausalOp conv = mixerConv(g, x, parts[1], m.convDim(), m.convKernel,
                                  m.convBias, convState, h, histories);
  SmallVector<Value> xbc =
      g.split(g.silu(conv.getResult()), {m.dInner, groupWidth, groupWidth});

  Value a = g.neg(g.exp(g.weight(x + "A_log", {m.numHeads})));
  Value d = g.weight(x + "D", {m.numHeads});
  Value dtBias = g.weight(x + "dt_bias", {m.numHeads});
  Type ssmHistory = histories ? historyType(g, h, ssmState) : Type();
  DenseF64ArrayAttr limit =
      m.hasDtLimit() ? b.getDenseF64ArrayAttr({m.dtLimitLow, m.dtLimitHigh})
                     : DenseF64ArrayAttr();
  auto scan = b.create<SsdScanOp>(
      loc, xbc[0].getType(), ssmState.getType(), ssmHistory, xbc[0], parts[2],
      a, xbc[1], xbc[2], d, dtBias, ssmState, /*delta_softplus=*/true, limit);

  Value gated = g.mul(scan.getResult(), g.silu(parts[0]));
  Value normed =
      g.rmsNorm(gated, g.weight(x + "norm.weight", {m.dInner}), m.normEpsilon,
                m.numGroups > 1 ? m.dInner / m.numGroups : 0);
  Value outBias =
      m.linearBias ? g.weight(x + "out_proj.bias", {m.hiddenSize}) : Value();
  Value out = g.linear(
      normed, g.weight(x + "out_proj.weight", {m.hiddenSize, m.dInner}),
      outBias);
  keepMixerStates(layer, conv, scan.getStateOut(), scan.getStates(), newStates,
                  histories);
  return g.add(h, out);
}

/// h += o_proj(attention(rope(q), rope(k), v)) on rms_norm(h), then
/// h += down(silu(gate(n)) * up(n)) on rms_norm(h).
Value llamaLayer(GraphBuilder &g, const ModelConfig &config, int64_t layer,
                 Value h, Value positions, Value kCache, Value vCache,
                 SmallVectorImpl<Value> &newStates) {
  const LlamaConfig &l = config.llama;
  std::string p = layerPrefix(config, layer), a = p + "self_attn.";
  int64_t qWidth = l.numHeads * l.headDim, kvWidth = l.numKvHeads * l.headDim;

  Value n = g.rmsNorm(h, g.weight(p + "input_layernorm.weight", {l.hiddenSize}),
                      l.normEpsilon);
  Value q = g.linear(n, g.weight(a + "q_proj.weight", {qWidth, l.hiddenSize}));
  Value k = g.linear(n, g.weight(a + "k_proj.weight", {kvWidth, l.hiddenSize}));
  Value v = g.linear(n, g.weight(a + "v_proj.weight", {kvWidth, l.hiddenSize}));
  q = g.rope(q, positions, l.numHeads, l.ropeTheta);
  k = g.rope(k, positions, l.numKvHeads, l.ropeTheta);
  auto attn = g.builder().create<AttentionOp>(
      g.location(), TypeRange{q.getType(), kCache.getType(), vCache.getType()},
      q, k, v, kCache, vCache, positions, l.numHeads, l.numKvHeads,
      /*scale=*/nullptr);
  Value o = g.linear(attn.getResult(),
                     g.weight(a + "o_proj.weight", {l.hiddenSize, qWidth}));
  h = g.add(h, o);

  Value n2 = g.rmsNorm(
      h, g.weight(p + "post_attention_layernorm.weight", {l.hiddenSize}),
      l.normEpsilon);
  Value gate = g.linear(n2, g.weight(p + "mlp.gate_proj.weight",
                                     {l.intermediateSize, l.hiddenSize}));
  Value up = g.linear(n2, g.weight(p + "mlp.up_proj.weight",
                                   {l.intermediateSize, l.hiddenSize}));
  Value down = g.linear(
      g.mul(g.silu(gate), up),
      g.weight(p + "mlp.down_proj.weight", {l.hiddenSize, l.intermediateSize}));
  newStates.push_back(attn.getKCacheOut());
  newStates.push_back(attn.getVCacheOut());
  return g.add(h, down);
}

/// Nemotron-H's attention block: h += o_proj(attention(q, k, v)) on
/// rms_norm(h), grouped-query heads and no rotary embedding.
Value nemotronHAttention(GraphBuilder &g, const NemotronHConfig &n,
                         const std::string &p, Value h, Value positions,
                         Value kCache, Value vCache,
                         SmallVectorImpl<Value> &newStates) {
  std::string x = p + "mixer.";
  int64_t qWidth = n.numHeads * n.headDim, kvWidth = n.numKvHeads * n.headDim;
  Value normed =
      g.rmsNorm(h, g.weight(p + "norm.weight", {n.hiddenSize}), n.normEpsilon);
  Value q =
      g.linear(normed, g.weight(x + "q_proj.weight", {qWidth, n.hiddenSize}));
  Value k =
      g.linear(normed, g.weight(x + "k_proj.weight", {kvWidth, n.hiddenSize}));
  Value v =
      g.linear(normed, g.weight(x + "v_proj.weight", {kvWidth, n.hiddenSize}));
  auto attn = g.builder().create<AttentionOp>(
      g.location(), TypeRange{q.getType(), kCache.getType(), vCache.getType()},
      q, k, v, kCache, vCache, positions, n.numHeads, n.numKvHeads,
      /*scale=*/nullptr);
  Value o = g.linear(attn.getResult(),
                     g.weight(x + "o_proj.weight", {n.hiddenSize, qWidth}));
  newStates.push_back(attn.getKCacheOut());
  newStates.push_back(attn.getVCacheOut());
  return g.add(h, o);
}

/// Nemotron-H's MLP block: h += down_proj(relu2(up_proj(rms_norm(h)))).
Value nemotronHMlp(GraphBuilder &g, const NemotronHConfig &n,
                   const std::string &p, Value h) {
  std::string x = p + "mixer.";
  Value normed =
      g.rmsNorm(h, g.weight(p + "norm.weight", {n.hiddenSize}), n.normEpsilon);
  Value up = g.linear(normed, g.weight(x + "up_proj.weight",
                                       {n.intermediateSize, n.hiddenSize}));
  Value down =
      g.linear(g.relu2(up), g.weight(x + "down_proj.weight",
                                     {n.hiddenSize, n.intermediateSize}));
  return g.add(h, down);
}

/// What an entry point computes.
enum class Entry {
  /// Logits of each sequence's last position, [B, 1, V].
  LastPosition,
  /// Logits of every position, [B, T, V].
  AllPositions,
  /// AllPositions, and every position's recurrent states.
  Verify,
};

/// Builds one entry point with sequence extent `seq` (dynamic for prefill).
/// With Entry::LastPosition, the final norm and the LM head run on the last
/// position of each sequence only.
void buildEntryPoint(OpBuilder &builder, const ModelConfig &config,
                     StringRef name, int64_t seq, Entry what) {
  bool lastOnly = what == Entry::LastPosition;
  Location loc = builder.getUnknownLoc();
  GraphBuilder g(builder, loc);
  auto ids = RankedTensorType::get({kDyn, seq}, builder.getI32Type());
  SmallVector<StateArg> states = stateArgs(g, config);

  SmallVector<Type> argTypes{ids, ids}, resultTypes;
  for (const StateArg &s : states)
    argTypes.push_back(s.type);
  resultTypes.push_back(
      g.tensor({kDyn, lastOnly ? 1 : seq, config.vocabSize()}));
  for (const StateArg &s : states)
    resultTypes.push_back(s.type);

  // The function type is set once the body (and its histories) exist.
  auto fn = builder.create<func::FuncOp>(
      loc, name, builder.getFunctionType(argTypes, resultTypes));
  fn.setArgAttr(0, "coil.input", builder.getStringAttr("tokens"));
  fn.setArgAttr(1, "coil.input", builder.getStringAttr("positions"));
  for (auto [i, s] : llvm::enumerate(states))
    fn.setArgAttr(i + 2, kStateAttr, builder.getStringAttr(s.name));

  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(fn.addEntryBlock());
  Value tokens = fn.getArgument(0), positions = fn.getArgument(1);
  // The state arguments in order, as the layers take them.
  unsigned stateIndex = 2;
  auto nextState = [&] { return fn.getArgument(stateIndex++); };
  SmallVector<Value> newStates;
  SmallVector<History> histories;
  SmallVector<History> *keep = what == Entry::Verify ? &histories : nullptr;
  // Embedding -> the family's layers -> (the last positions) -> final
  // norm -> LM head (the embedding's table when tied).
  bool llama = config.family == ModelConfig::Family::Llama;
  int64_t vocab = config.vocabSize(), width = config.hiddenSize();
  std::string embedding = llama ? "model.embed_tokens.weight"
                          : config.family == ModelConfig::Family::Mamba
                              ? mambaEmbeddingName(config.mamba)
                              : "backbone.embeddings.weight";
  Value table = g.weight(embedding, {vocab, width});
  Value h = g.embed(table, tokens);
  double epsilon = 0;
  switch (config.family) {
  case ModelConfig::Family::Mamba:
    epsilon = config.mamba.normEpsilon;
    for (int64_t i = 0; i < config.numLayers(); ++i) {
      Value conv = nextState(), ssm = nextState();
      h = mambaLayer(g, config, i, h, conv, ssm, newStates, keep);
    }
    break;
  case ModelConfig::Family::Mamba2:
    epsilon = config.mamba2.normEpsilon;
    for (int64_t i = 0; i < config.numLayers(); ++i) {
      Value conv = nextState(), ssm = nextState();
      h = mamba2Layer(g, config.mamba2, layerPrefix(config, i), i, h, conv, ssm,
                      newStates, keep);
    }
    break;
  case ModelConfig::Family::Llama:
    epsilon = config.llama.normEpsilon;
    for (int64_t i = 0; i < config.numLayers(); ++i) {
      Value kCache = nextState(), vCache = nextState();
      h = llamaLayer(g, config, i, h, positions, kCache, vCache, newStates);
    }
    break;
  case ModelConfig::Family::NemotronH: {
    const NemotronHConfig &n = config.nemotronH;
    epsilon = n.normEpsilon;
    for (int64_t i = 0; i < n.numLayers; ++i) {
      std::string p = layerPrefix(config, i);
      if (n.pattern[i] == 'M') {
        Value conv = nextState(), ssm = nextState();
        h = mamba2Layer(g, n.mamba, p, i, h, conv, ssm, newStates, keep);
      } else if (n.pattern[i] == '*') {
        Value kCache = nextState(), vCache = nextState();
        h = nemotronHAttention(g, n, p, h, positions, kCache, vCache,
                               newStates);
      } else {
        h = nemotronHMlp(g, n, p, h);
      }
    }
    break;
  }
  }
  if (lastOnly)
    h = g.lastPosition(h);
  h = g.rmsNorm(
      h,
      g.weight(llama ? "model.norm.weight" : "backbone.norm_f.weight", {width}),
      epsilon);
  Value head = config.tiedEmbeddings()
                   ? table
                   : g.weight("lm_head.weight", {vocab, width});
  Value logits = g.linear(h, head);
  SmallVector<Value> results{logits};
  results.append(newStates.begin(), newStates.end());
  for (const History &history : histories) {
    results.push_back(history.value);
    resultTypes.push_back(history.value.getType());
  }
  builder.create<func::ReturnOp>(loc, results);
  fn.setFunctionType(builder.getFunctionType(argTypes, resultTypes));
  for (auto [i, history] : llvm::enumerate(histories))
    fn.setResultAttr(1 + states.size() + i, kHistoryAttr,
                     builder.getStringAttr(history.state));
}

} // namespace

std::vector<WeightSpec>
mlir::coil::models::weightSpecs(const ModelConfig &config) {
  switch (config.family) {
  case ModelConfig::Family::Mamba:
    return mambaWeights(config);
  case ModelConfig::Family::Mamba2:
    return mamba2Weights(config);
  case ModelConfig::Family::Llama:
    return llamaWeights(config);
  case ModelConfig::Family::NemotronH:
    return nemotronHWeights(config);
  }
  llvm_unreachable("unknown family");
}

OwningOpRef<ModuleOp>
mlir::coil::models::buildModel(MLIRContext &context,
                               const ModelConfig &config) {
  context.loadDialect<CoilDialect, func::FuncDialect>();
  OpBuilder builder(&context);
  OwningOpRef<ModuleOp> module = ModuleOp::create(builder.getUnknownLoc());
  module->getOperation()->setAttr("coil.family",
                                  builder.getStringAttr(config.familyName()));
  module->getOperation()->setAttr(
      "coil.vocab_size", builder.getI64IntegerAttr(config.vocabSize()));
  if (config.family == ModelConfig::Family::Llama)
    module->getOperation()->setAttr(
        "coil.max_context",
        builder.getI64IntegerAttr(config.llama.maxPositions));
  if (config.family == ModelConfig::Family::NemotronH)
    module->getOperation()->setAttr(
        "coil.max_context",
        builder.getI64IntegerAttr(config.nemotronH.maxPositions));
  builder.setInsertionPointToEnd(module->getBody());
  buildEntryPoint(builder, config, kPrefillFunction, kDyn, Entry::LastPosition);
  buildEntryPoint(builder, config, kPrefillAllFunction, kDyn,
                  Entry::AllPositions);
  buildEntryPoint(builder, config, kDecodeFunction, 1, Entry::AllPositions);
  buildEntryPoint(builder, config, kVerifyFunction, kDyn, Entry::Verify);
  return module;
}
