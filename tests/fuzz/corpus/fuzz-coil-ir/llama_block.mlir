// One Llama-style Transformer block, layer 0: d_model 768, 12 query heads and
// 4 key/value heads (grouped-query attention) of dimension 64, SwiGLU FFN 2048.
//
//   h += o_proj(attention(rope(q_proj(n)), rope(k_proj(n)), v_proj(n)))
//   h += down_proj(silu(gate_proj(n2)) * up_proj(n2))
//   where n = rms_norm(h) before each half.
//
// `positions` holds each new token's absolute position; the KV cache
// [batch, kv_heads, capacity, head_dim] is carried in and out, so the same
// function is prefill (T tokens at 0..T-1) and decode (one token at position L).
func.func @llama_block(%h: tensor<?x?x768xf32>, %positions: tensor<?x?xi32>,
                       %k_cache: tensor<?x4x?x64xf32>, %v_cache: tensor<?x4x?x64xf32>)
    -> (tensor<?x?x768xf32>, tensor<?x4x?x64xf32>, tensor<?x4x?x64xf32>) {
  %attn_norm_w = coil.weight "model.layers.0.input_layernorm.weight" : tensor<768xf32>
  %q_w = coil.weight "model.layers.0.self_attn.q_proj.weight" : tensor<768x768xf32>
  %k_w = coil.weight "model.layers.0.self_attn.k_proj.weight" : tensor<256x768xf32>
  %v_w = coil.weight "model.layers.0.self_attn.v_proj.weight" : tensor<256x768xf32>
  %o_w = coil.weight "model.layers.0.self_attn.o_proj.weight" : tensor<768x768xf32>
  %ffn_norm_w = coil.weight "model.layers.0.post_attention_layernorm.weight" : tensor<768xf32>
  %gate_w = coil.weight "model.layers.0.mlp.gate_proj.weight" : tensor<2048x768xf32>
  %up_w = coil.weight "model.layers.0.mlp.up_proj.weight" : tensor<2048x768xf32>
  %down_w = coil.weight "model.layers.0.mlp.down_proj.weight" : tensor<768x2048xf32>

  // Self-attention half.
  %n = coil.rms_norm %h, %attn_norm_w {epsilon = 1.0e-05 : f32}
      : (tensor<?x?x768xf32>, tensor<768xf32>) -> tensor<?x?x768xf32>
  %q = coil.linear %n, %q_w : (tensor<?x?x768xf32>, tensor<768x768xf32>) -> tensor<?x?x768xf32>
  %k = coil.linear %n, %k_w : (tensor<?x?x768xf32>, tensor<256x768xf32>) -> tensor<?x?x256xf32>
  %v = coil.linear %n, %v_w : (tensor<?x?x768xf32>, tensor<256x768xf32>) -> tensor<?x?x256xf32>
  %q_rot = coil.rope %q, %positions {num_heads = 12 : i64, theta = 1.0e+04 : f64}
      : (tensor<?x?x768xf32>, tensor<?x?xi32>) -> tensor<?x?x768xf32>
  %k_rot = coil.rope %k, %positions {num_heads = 4 : i64, theta = 1.0e+04 : f64}
      : (tensor<?x?x256xf32>, tensor<?x?xi32>) -> tensor<?x?x256xf32>
  %attn, %k_cache_out, %v_cache_out = coil.attention %q_rot, %k_rot, %v, %k_cache, %v_cache, %positions
      {num_heads = 12 : i64, num_kv_heads = 4 : i64}
      : (tensor<?x?x768xf32>, tensor<?x?x256xf32>, tensor<?x?x256xf32>,
         tensor<?x4x?x64xf32>, tensor<?x4x?x64xf32>, tensor<?x?xi32>)
      -> (tensor<?x?x768xf32>, tensor<?x4x?x64xf32>, tensor<?x4x?x64xf32>)
  %o = coil.linear %attn, %o_w : (tensor<?x?x768xf32>, tensor<768x768xf32>) -> tensor<?x?x768xf32>
  %h1 = coil.add %h, %o : tensor<?x?x768xf32>

  // SwiGLU feed-forward half.
  %n2 = coil.rms_norm %h1, %ffn_norm_w {epsilon = 1.0e-05 : f32}
      : (tensor<?x?x768xf32>, tensor<768xf32>) -> tensor<?x?x768xf32>
  %gate = coil.linear %n2, %gate_w : (tensor<?x?x768xf32>, tensor<2048x768xf32>) -> tensor<?x?x2048xf32>
  %up = coil.linear %n2, %up_w : (tensor<?x?x768xf32>, tensor<2048x768xf32>) -> tensor<?x?x2048xf32>
  %act = coil.silu %gate : tensor<?x?x2048xf32>
  %prod = coil.mul %act, %up : tensor<?x?x2048xf32>
  %down = coil.linear %prod, %down_w : (tensor<?x?x2048xf32>, tensor<768x2048xf32>) -> tensor<?x?x768xf32>
  %h2 = coil.add %h1, %down : tensor<?x?x768xf32>
  return %h2, %k_cache_out, %v_cache_out
      : tensor<?x?x768xf32>, tensor<?x4x?x64xf32>, tensor<?x4x?x64xf32>
}
