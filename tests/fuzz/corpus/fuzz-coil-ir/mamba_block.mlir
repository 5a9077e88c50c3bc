// One Mamba (v1) block at the mamba-130m shape, layer 0:
//   d_model 768, d_inner 1536 (expand 2), d_state 16, d_conv 4, dt_rank 48.
//
//   h += out_proj(scan(silu(conv(x)), softplus(dt_proj(dt)), A, B, C, D) * silu(z))
//   where x, z = split(in_proj(rms_norm(h))) and dt, B, C = split(x_proj(...)).
//
// Batch and sequence length are dynamic, so the same function is prefill
// (T = prompt length) and decode (T = 1). The convolution and SSM state are
// carried in and out explicitly.
func.func @mamba_block(%h: tensor<?x?x768xf32>,
                       %conv_state: tensor<?x1536x3xf32>,
                       %ssm_state: tensor<?x1536x16xf32>)
    -> (tensor<?x?x768xf32>, tensor<?x1536x3xf32>, tensor<?x1536x16xf32>) {
  %norm_w = coil.weight "backbone.layers.0.norm.weight" : tensor<768xf32>
  %in_w = coil.weight "backbone.layers.0.mixer.in_proj.weight" : tensor<3072x768xf32>
  %conv_w_hf = coil.weight "backbone.layers.0.mixer.conv1d.weight" : tensor<1536x1x4xf32>
  %conv_b = coil.weight "backbone.layers.0.mixer.conv1d.bias" : tensor<1536xf32>
  %x_proj_w = coil.weight "backbone.layers.0.mixer.x_proj.weight" : tensor<80x1536xf32>
  %dt_w = coil.weight "backbone.layers.0.mixer.dt_proj.weight" : tensor<1536x48xf32>
  %dt_b = coil.weight "backbone.layers.0.mixer.dt_proj.bias" : tensor<1536xf32>
  %a_log = coil.weight "backbone.layers.0.mixer.A_log" : tensor<1536x16xf32>
  %d = coil.weight "backbone.layers.0.mixer.D" : tensor<1536xf32>
  %out_w = coil.weight "backbone.layers.0.mixer.out_proj.weight" : tensor<768x1536xf32>

  %n = coil.rms_norm %h, %norm_w {epsilon = 1.0e-05 : f32}
      : (tensor<?x?x768xf32>, tensor<768xf32>) -> tensor<?x?x768xf32>
  %xz = coil.linear %n, %in_w
      : (tensor<?x?x768xf32>, tensor<3072x768xf32>) -> tensor<?x?x3072xf32>
  %x, %z = coil.split %xz {dim = 2 : i64, sizes = array<i64: 1536, 1536>}
      : tensor<?x?x3072xf32> -> tensor<?x?x1536xf32>, tensor<?x?x1536xf32>

  // Causal depthwise convolution over time, then SiLU.
  %conv_w = coil.reshape %conv_w_hf : tensor<1536x1x4xf32> -> tensor<1536x4xf32>
  %xc, %conv_state_out = coil.conv1d_causal %x, %conv_w bias(%conv_b) state(%conv_state)
      : (tensor<?x?x1536xf32>, tensor<1536x4xf32>, tensor<1536xf32>, tensor<?x1536x3xf32>)
      -> (tensor<?x?x1536xf32>, tensor<?x1536x3xf32>)
  %u = coil.silu %xc : tensor<?x?x1536xf32>

  // Input-dependent (selective) step size and projections.
  %x_dbl = coil.linear %u, %x_proj_w
      : (tensor<?x?x1536xf32>, tensor<80x1536xf32>) -> tensor<?x?x80xf32>
  %dt_low, %b, %c = coil.split %x_dbl {dim = 2 : i64, sizes = array<i64: 48, 16, 16>}
      : tensor<?x?x80xf32> -> tensor<?x?x48xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>
  %dt = coil.linear %dt_low, %dt_w, %dt_b
      : (tensor<?x?x48xf32>, tensor<1536x48xf32>, tensor<1536xf32>) -> tensor<?x?x1536xf32>
  %a_exp = coil.exp %a_log : tensor<1536x16xf32>
  %a = coil.neg %a_exp : tensor<1536x16xf32>

  // The selective scan: softplus(dt), D skip and silu(z) gating included.
  %y, %ssm_state_out = coil.scan %u, %dt, %a, %b, %c, %d gate(%z) state(%ssm_state) {delta_softplus}
      : (tensor<?x?x1536xf32>, tensor<?x?x1536xf32>, tensor<1536x16xf32>,
         tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<1536xf32>,
         tensor<?x?x1536xf32>, tensor<?x1536x16xf32>)
      -> (tensor<?x?x1536xf32>, tensor<?x1536x16xf32>)

  %o = coil.linear %y, %out_w
      : (tensor<?x?x1536xf32>, tensor<768x1536xf32>) -> tensor<?x?x768xf32>
  %r = coil.add %h, %o : tensor<?x?x768xf32>
  return %r, %conv_state_out, %ssm_state_out
      : tensor<?x?x768xf32>, tensor<?x1536x3xf32>, tensor<?x1536x16xf32>
}
