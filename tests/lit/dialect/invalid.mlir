// RUN: coil-opt %s --split-input-file --verify-diagnostics

// One case per verifier rule of the coil ops, each with its located error.

//===----------------------------------------------------------------------===//
// coil.weight
//===----------------------------------------------------------------------===//

func.func @weight_empty_name() {
  // expected-error @+1 {{name must not be empty}}
  %w = coil.weight "" : tensor<4xf32>
  return
}

// -----

func.func @weight_dynamic_shape() {
  // expected-error @+1 {{result must have a static shape, got 'tensor<?x4xf32>'}}
  %w = coil.weight "w" : tensor<?x4xf32>
  return
}

// -----

func.func @weight_integer_type() {
  // expected-error @+1 {{must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type or 8-bit signless integer or 4-bit signless integer values}}
  %w = coil.weight "w" : tensor<4xi32>
  return
}

//===----------------------------------------------------------------------===//
// coil.embed
//===----------------------------------------------------------------------===//

// -----

func.func @embed_table_rank(%t: tensor<10xf32>, %ids: tensor<?x?xi32>) {
  // expected-error @+1 {{table must have rank 2}}
  %e = coil.embed %t, %ids : (tensor<10xf32>, tensor<?x?xi32>) -> tensor<?x?x4xf32>
  return
}

// -----

func.func @embed_table_dynamic(%t: tensor<?x4xf32>, %ids: tensor<?x?xi32>) {
  // expected-error @+1 {{table must have a static shape}}
  %e = coil.embed %t, %ids : (tensor<?x4xf32>, tensor<?x?xi32>) -> tensor<?x?x4xf32>
  return
}

// -----

func.func @embed_result_rank(%t: tensor<10x4xf32>, %ids: tensor<?x?xi32>) {
  // expected-error @+1 {{result must have rank 3}}
  %e = coil.embed %t, %ids : (tensor<10x4xf32>, tensor<?x?xi32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @embed_result_extent(%t: tensor<10x4xf32>, %ids: tensor<2x3xi32>) {
  // expected-error @+1 {{result dimension 1 (ids extent) is 5, expected 3}}
  %e = coil.embed %t, %ids : (tensor<10x4xf32>, tensor<2x3xi32>) -> tensor<2x5x4xf32>
  return
}

// -----

func.func @embed_result_width(%t: tensor<10x4xf32>, %ids: tensor<?x?xi32>) {
  // expected-error @+1 {{result dimension 2 (embedding width) is 8, expected 4}}
  %e = coil.embed %t, %ids : (tensor<10x4xf32>, tensor<?x?xi32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @embed_element_type(%t: tensor<10x4xf32>, %ids: tensor<?x?xi32>) {
  // expected-error @+1 {{result element type 'f16' does not match table element type 'f32'}}
  %e = coil.embed %t, %ids : (tensor<10x4xf32>, tensor<?x?xi32>) -> tensor<?x?x4xf16>
  return
}

// -----

func.func @embed_widen_to_f16(%t: tensor<10x4xbf16>, %ids: tensor<?x?xi32>) {
  // expected-error @+1 {{result element type 'f16' does not match table element type 'bf16'}}
  %e = coil.embed %t, %ids : (tensor<10x4xbf16>, tensor<?x?xi32>) -> tensor<?x?x4xf16>
  return
}

// -----

func.func @embed_int8_without_scale(%t: tensor<10x4xi8>, %ids: tensor<?x?xi32>) {
  // expected-error @+1 {{an int8 table needs its scale}}
  %e = coil.embed %t, %ids : (tensor<10x4xi8>, tensor<?x?xi32>) -> tensor<?x?x4xf32>
  return
}

// -----

func.func @linear_int8_without_scale(%x: tensor<?x4xf32>, %w: tensor<6x4xi8>) {
  // expected-error @+1 {{an int8 weight needs its scale}}
  %y = coil.linear %x, %w : (tensor<?x4xf32>, tensor<6x4xi8>) -> tensor<?x6xf32>
  return
}

// -----

func.func @linear_scale_of_float(%x: tensor<?x4xf32>, %w: tensor<6x4xf32>, %s: tensor<6xf32>) {
  // expected-error @+1 {{a scale needs an int8 or int4 weight}}
  %y = coil.linear %x, %w scale(%s) : (tensor<?x4xf32>, tensor<6x4xf32>, tensor<6xf32>) -> tensor<?x6xf32>
  return
}

// -----

func.func @linear_scale_extent(%x: tensor<?x4xf32>, %w: tensor<6x4xi8>, %s: tensor<4xf32>) {
  // expected-error @+1 {{scale dimension 0 (rows of the weight) is 4, expected 6}}
  %y = coil.linear %x, %w scale(%s) : (tensor<?x4xf32>, tensor<6x4xi8>, tensor<4xf32>) -> tensor<?x6xf32>
  return
}

// -----

func.func @weight_scales_type() {
  // expected-error @+1 {{the scales of an int8 weight are f32, found 'bf16'}}
  %s = coil.weight "w" scales : tensor<6xbf16>
  return
}

// -----

func.func @weight_int8_vector() {
  // expected-error @+1 {{result must have rank 2}}
  %q = coil.weight "w" : tensor<6xi8>
  return
}

// -----

func.func @weight_int4_group(%x: tensor<?x40xf32>) {
  // expected-error @+1 {{an int4 matrix has groups of 32 along K, but K is 40}}
  %q = coil.weight "w" : tensor<6x40xi4>
  return
}

// -----

func.func @linear_int4_scale_groups(%x: tensor<?x64xf32>, %w: tensor<6x64xi4>, %s: tensor<6x4xf32>) {
  // expected-error @+1 {{scale dimension 1 (groups of 32) is 4, expected 2}}
  %y = coil.linear %x, %w scale(%s) : (tensor<?x64xf32>, tensor<6x64xi4>, tensor<6x4xf32>) -> tensor<?x6xf32>
  return
}

// -----

func.func @linear_int4_row_scale(%x: tensor<?x64xf32>, %w: tensor<6x64xi4>, %s: tensor<6xf32>) {
  // expected-error @+1 {{scale must have rank 2}}
  %y = coil.linear %x, %w scale(%s) : (tensor<?x64xf32>, tensor<6x64xi4>, tensor<6xf32>) -> tensor<?x6xf32>
  return
}

// -----

func.func @embed_float_ids(%t: tensor<10x4xf32>, %ids: tensor<?x?xf32>) {
  // expected-error @+1 {{operand #1 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values}}
  %e = coil.embed %t, %ids : (tensor<10x4xf32>, tensor<?x?xf32>) -> tensor<?x?x4xf32>
  return
}

//===----------------------------------------------------------------------===//
// coil.linear
//===----------------------------------------------------------------------===//

// -----

func.func @linear_scalar_input(%x: tensor<f32>, %w: tensor<6x4xf32>) {
  // expected-error @+1 {{input must have rank >= 1}}
  %y = coil.linear %x, %w : (tensor<f32>, tensor<6x4xf32>) -> tensor<6xf32>
  return
}

// -----

func.func @linear_weight_rank(%x: tensor<?x4xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{weight must have rank 2}}
  %y = coil.linear %x, %w : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @linear_weight_dynamic(%x: tensor<?x4xf32>, %w: tensor<?x4xf32>) {
  // expected-error @+1 {{weight must have a static shape}}
  %y = coil.linear %x, %w : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x6xf32>
  return
}

// -----

func.func @linear_in_features(%x: tensor<?x?x5xf32>, %w: tensor<6x4xf32>) {
  // expected-error @+1 {{input dimension 2 (in features) is 5, expected 4}}
  %y = coil.linear %x, %w : (tensor<?x?x5xf32>, tensor<6x4xf32>) -> tensor<?x?x6xf32>
  return
}

// -----

func.func @linear_result_rank(%x: tensor<?x?x4xf32>, %w: tensor<6x4xf32>) {
  // expected-error @+1 {{result must have rank 3}}
  %y = coil.linear %x, %w : (tensor<?x?x4xf32>, tensor<6x4xf32>) -> tensor<?x6xf32>
  return
}

// -----

func.func @linear_result_leading_extent(%x: tensor<2x3x4xf32>, %w: tensor<6x4xf32>) {
  // expected-error @+1 {{result dimension 1 (input extent) is 7, expected 3}}
  %y = coil.linear %x, %w : (tensor<2x3x4xf32>, tensor<6x4xf32>) -> tensor<2x7x6xf32>
  return
}

// -----

func.func @linear_out_features(%x: tensor<?x?x4xf32>, %w: tensor<6x4xf32>) {
  // expected-error @+1 {{result dimension 2 (out features) is 5, expected 6}}
  %y = coil.linear %x, %w : (tensor<?x?x4xf32>, tensor<6x4xf32>) -> tensor<?x?x5xf32>
  return
}

// -----

func.func @linear_bias_rank(%x: tensor<?x4xf32>, %w: tensor<6x4xf32>, %b: tensor<1x6xf32>) {
  // expected-error @+1 {{bias must have rank 1}}
  %y = coil.linear %x, %w, %b : (tensor<?x4xf32>, tensor<6x4xf32>, tensor<1x6xf32>) -> tensor<?x6xf32>
  return
}

// -----

func.func @linear_bias_extent(%x: tensor<?x4xf32>, %w: tensor<6x4xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{bias dimension 0 (out features) is 4, expected 6}}
  %y = coil.linear %x, %w, %b : (tensor<?x4xf32>, tensor<6x4xf32>, tensor<4xf32>) -> tensor<?x6xf32>
  return
}

// -----

func.func @linear_result_element_type(%x: tensor<?x4xf32>, %w: tensor<6x4xf32>) {
  // expected-error @+1 {{result element type 'bf16' does not match input element type 'f32'}}
  %y = coil.linear %x, %w : (tensor<?x4xf32>, tensor<6x4xf32>) -> tensor<?x6xbf16>
  return
}

//===----------------------------------------------------------------------===//
// coil.rms_norm, coil.layer_norm
//===----------------------------------------------------------------------===//

// -----

func.func @rms_norm_scalar(%x: tensor<f32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{input must have rank >= 1}}
  %y = coil.rms_norm %x, %w : (tensor<f32>, tensor<4xf32>) -> tensor<f32>
  return
}

// -----

func.func @rms_norm_dynamic_features(%x: tensor<?x?xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{input dimension 1 (normalised features) must be static}}
  %y = coil.rms_norm %x, %w : (tensor<?x?xf32>, tensor<4xf32>) -> tensor<?x?xf32>
  return
}

// -----

func.func @rms_norm_weight_rank(%x: tensor<?x4xf32>, %w: tensor<1x4xf32>) {
  // expected-error @+1 {{weight must have rank 1}}
  %y = coil.rms_norm %x, %w : (tensor<?x4xf32>, tensor<1x4xf32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @rms_norm_weight_extent(%x: tensor<?x4xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{weight dimension 0 (normalised features) is 8, expected 4}}
  %y = coil.rms_norm %x, %w : (tensor<?x4xf32>, tensor<8xf32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @rms_norm_negative_epsilon(%x: tensor<?x4xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{epsilon must be finite and >= 0}}
  %y = coil.rms_norm %x, %w {epsilon = -1.0 : f32} : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @rms_norm_result_shape(%x: tensor<2x4xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{result dimension 0 is 3, but input dimension 0 is 2}}
  %y = coil.rms_norm %x, %w : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @layer_norm_bias_extent(%x: tensor<?x4xf32>, %w: tensor<4xf32>, %b: tensor<5xf32>) {
  // expected-error @+1 {{bias dimension 0 (normalised features) is 5, expected 4}}
  %y = coil.layer_norm %x, %w, %b : (tensor<?x4xf32>, tensor<4xf32>, tensor<5xf32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @layer_norm_result_element_type(%x: tensor<?x4xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{result element type 'f16' does not match input element type 'f32'}}
  %y = coil.layer_norm %x, %w : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf16>
  return
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

// -----

func.func @add_type_mismatch(%a: tensor<4xf32>, %b: tensor<5xf32>) {
  // expected-error @+1 {{all non-scalar operands/results must have the same shape and base type}}
  %y = "coil.add"(%a, %b) : (tensor<4xf32>, tensor<5xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @silu_integer(%a: tensor<4xi32>) {
  // expected-error @+1 {{must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values}}
  %y = coil.silu %a : tensor<4xi32>
  return
}

//===----------------------------------------------------------------------===//
// coil.slice
//===----------------------------------------------------------------------===//

// -----

func.func @slice_dim_out_of_range(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{dim 2 is out of range for rank 2}}
  %y = coil.slice %x {dim = 2 : i64, offset = 0 : i64, size = 2 : i64} : tensor<?x8xf32> -> tensor<?x2xf32>
  return
}

// -----

func.func @slice_negative_offset(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{offset must be >= 0, got -1}}
  %y = coil.slice %x {dim = 1 : i64, offset = -1 : i64, size = 2 : i64} : tensor<?x8xf32> -> tensor<?x2xf32>
  return
}

// -----

func.func @slice_empty(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{size must be positive, got 0}}
  %y = coil.slice %x {dim = 1 : i64, offset = 0 : i64, size = 0 : i64} : tensor<?x8xf32> -> tensor<?x0xf32>
  return
}

// -----

func.func @slice_out_of_bounds(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{slice [6, 9) exceeds extent 8 of dimension 1}}
  %y = coil.slice %x {dim = 1 : i64, offset = 6 : i64, size = 3 : i64} : tensor<?x8xf32> -> tensor<?x3xf32>
  return
}

// -----

func.func @slice_from_end_out_of_bounds(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{slice [6, 9) exceeds extent 8 of dimension 1}}
  %y = coil.slice %x {dim = 1 : i64, offset = 6 : i64, size = 3 : i64, from_end} : tensor<?x8xf32> -> tensor<?x3xf32>
  return
}

// -----

func.func @slice_result_rank(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{result must have rank 2}}
  %y = coil.slice %x {dim = 1 : i64, offset = 0 : i64, size = 3 : i64} : tensor<?x8xf32> -> tensor<3xf32>
  return
}

// -----

func.func @slice_result_size(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{result dimension 1 (slice size) is 4, expected 3}}
  %y = coil.slice %x {dim = 1 : i64, offset = 0 : i64, size = 3 : i64} : tensor<?x8xf32> -> tensor<?x4xf32>
  return
}

// -----

func.func @slice_result_other_extent(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{result dimension 0 (input extent) is 5, expected 2}}
  %y = coil.slice %x {dim = 1 : i64, offset = 0 : i64, size = 3 : i64} : tensor<2x8xf32> -> tensor<5x3xf32>
  return
}

// -----

func.func @slice_element_type(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{result element type 'f16' does not match input element type 'f32'}}
  %y = coil.slice %x {dim = 1 : i64, offset = 0 : i64, size = 3 : i64} : tensor<?x8xf32> -> tensor<?x3xf16>
  return
}

//===----------------------------------------------------------------------===//
// coil.split
//===----------------------------------------------------------------------===//

// -----

func.func @split_dim_out_of_range(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{dim 3 is out of range for rank 2}}
  %a, %b = coil.split %x {dim = 3 : i64, sizes = array<i64: 4, 4>} : tensor<?x8xf32> -> tensor<?x4xf32>, tensor<?x4xf32>
  return
}

// -----

func.func @split_no_sizes(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{sizes must not be empty}}
  "coil.split"(%x) {dim = 1 : i64, sizes = array<i64>} : (tensor<?x8xf32>) -> ()
  return
}

// -----

func.func @split_result_count(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{has 2 results but 3 sizes}}
  %a, %b = coil.split %x {dim = 1 : i64, sizes = array<i64: 2, 2, 4>} : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xf32>
  return
}

// -----

func.func @split_nonpositive_size(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{each size must be positive, got 0}}
  %a, %b = coil.split %x {dim = 1 : i64, sizes = array<i64: 8, 0>} : tensor<?x8xf32> -> tensor<?x8xf32>, tensor<?x0xf32>
  return
}

// -----

func.func @split_sum(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{sizes sum to 7, but dimension 1 has extent 8}}
  %a, %b = coil.split %x {dim = 1 : i64, sizes = array<i64: 3, 4>} : tensor<?x8xf32> -> tensor<?x3xf32>, tensor<?x4xf32>
  return
}

// -----

func.func @split_result_extent(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{result #1 dimension 1 (split size) is 5, expected 4}}
  %a, %b = coil.split %x {dim = 1 : i64, sizes = array<i64: 4, 4>} : tensor<?x8xf32> -> tensor<?x4xf32>, tensor<?x5xf32>
  return
}

// -----

func.func @split_result_element_type(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{result #0 element type 'bf16' does not match input element type 'f32'}}
  %a, %b = coil.split %x {dim = 1 : i64, sizes = array<i64: 4, 4>} : tensor<?x8xf32> -> tensor<?x4xbf16>, tensor<?x4xf32>
  return
}

//===----------------------------------------------------------------------===//
// coil.reshape
//===----------------------------------------------------------------------===//

// -----

func.func @reshape_dynamic(%x: tensor<?x4xf32>) {
  // expected-error @+1 {{input must have a static shape}}
  %y = coil.reshape %x : tensor<?x4xf32> -> tensor<4x4xf32>
  return
}

// -----

func.func @reshape_element_count(%x: tensor<4x1x3xf32>) {
  // expected-error @+1 {{cannot reshape 12 elements into 16}}
  %y = coil.reshape %x : tensor<4x1x3xf32> -> tensor<4x4xf32>
  return
}

// -----

func.func @reshape_element_type(%x: tensor<4x1x3xf32>) {
  // expected-error @+1 {{result element type 'f16' does not match input element type 'f32'}}
  %y = coil.reshape %x : tensor<4x1x3xf32> -> tensor<4x3xf16>
  return
}

//===----------------------------------------------------------------------===//
// coil.rope
//===----------------------------------------------------------------------===//

// -----

func.func @rope_input_rank(%x: tensor<?x8xf32>, %p: tensor<?x?xi32>) {
  // expected-error @+1 {{input must have rank 3}}
  %y = coil.rope %x, %p {num_heads = 2 : i64} : (tensor<?x8xf32>, tensor<?x?xi32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @rope_positions_rank(%x: tensor<?x?x8xf32>, %p: tensor<?xi32>) {
  // expected-error @+1 {{positions must have rank 2}}
  %y = coil.rope %x, %p {num_heads = 2 : i64} : (tensor<?x?x8xf32>, tensor<?xi32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @rope_dynamic_width(%x: tensor<?x?x?xf32>, %p: tensor<?x?xi32>) {
  // expected-error @+1 {{input dimension 2 (heads * head_dim) must be static}}
  %y = coil.rope %x, %p {num_heads = 2 : i64} : (tensor<?x?x?xf32>, tensor<?x?xi32>) -> tensor<?x?x?xf32>
  return
}

// -----

func.func @rope_zero_heads(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi32>) {
  // expected-error @+1 {{num_heads must be positive, got 0}}
  %y = coil.rope %x, %p {num_heads = 0 : i64} : (tensor<?x?x8xf32>, tensor<?x?xi32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @rope_heads_do_not_divide(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi32>) {
  // expected-error @+1 {{input width 8 is not a multiple of num_heads 3}}
  %y = coil.rope %x, %p {num_heads = 3 : i64} : (tensor<?x?x8xf32>, tensor<?x?xi32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @rope_odd_head_dim(%x: tensor<?x?x6xf32>, %p: tensor<?x?xi32>) {
  // expected-error @+1 {{head_dim 3 must be even for rotate-half}}
  %y = coil.rope %x, %p {num_heads = 2 : i64} : (tensor<?x?x6xf32>, tensor<?x?xi32>) -> tensor<?x?x6xf32>
  return
}

// -----

func.func @rope_theta(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi32>) {
  // expected-error @+1 {{theta must be positive}}
  %y = coil.rope %x, %p {num_heads = 2 : i64, theta = 0.0 : f64} : (tensor<?x?x8xf32>, tensor<?x?xi32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @rope_positions_sequence(%x: tensor<1x4x8xf32>, %p: tensor<1x5xi32>) {
  // expected-error @+1 {{positions dimension 1 (sequence) is 5, expected 4}}
  %y = coil.rope %x, %p {num_heads = 2 : i64} : (tensor<1x4x8xf32>, tensor<1x5xi32>) -> tensor<1x4x8xf32>
  return
}

// -----

func.func @rope_result(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi32>) {
  // expected-error @+1 {{result dimension 2 is 4, but input dimension 2 is 8}}
  %y = coil.rope %x, %p {num_heads = 2 : i64} : (tensor<?x?x8xf32>, tensor<?x?xi32>) -> tensor<?x?x4xf32>
  return
}

//===----------------------------------------------------------------------===//
// coil.conv1d_causal
//===----------------------------------------------------------------------===//

// -----

func.func @conv_input_rank(%x: tensor<?x4xf32>, %w: tensor<4x3xf32>, %s: tensor<?x4x2xf32>) {
  // expected-error @+1 {{input must have rank 3}}
  %y, %so = coil.conv1d_causal %x, %w state(%s) : (tensor<?x4xf32>, tensor<4x3xf32>, tensor<?x4x2xf32>) -> (tensor<?x4xf32>, tensor<?x4x2xf32>)
  return
}

// -----

func.func @conv_weight_rank(%x: tensor<?x?x4xf32>, %w: tensor<4x1x3xf32>, %s: tensor<?x4x2xf32>) {
  // expected-error @+1 {{weight must have rank 2}}
  %y, %so = coil.conv1d_causal %x, %w state(%s) : (tensor<?x?x4xf32>, tensor<4x1x3xf32>, tensor<?x4x2xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>)
  return
}

// -----

func.func @conv_kernel_width(%x: tensor<?x?x4xf32>, %w: tensor<4x1xf32>, %s: tensor<?x4x0xf32>) {
  // expected-error @+1 {{kernel width must be >= 2, got 1}}
  %y, %so = coil.conv1d_causal %x, %w state(%s) : (tensor<?x?x4xf32>, tensor<4x1xf32>, tensor<?x4x0xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x0xf32>)
  return
}

// -----

func.func @conv_channels(%x: tensor<?x?x5xf32>, %w: tensor<4x3xf32>, %s: tensor<?x4x2xf32>) {
  // expected-error @+1 {{input dimension 2 (channels) is 5, expected 4}}
  %y, %so = coil.conv1d_causal %x, %w state(%s) : (tensor<?x?x5xf32>, tensor<4x3xf32>, tensor<?x4x2xf32>) -> (tensor<?x?x5xf32>, tensor<?x4x2xf32>)
  return
}

// -----

func.func @conv_bias(%x: tensor<?x?x4xf32>, %w: tensor<4x3xf32>, %b: tensor<3xf32>, %s: tensor<?x4x2xf32>) {
  // expected-error @+1 {{bias dimension 0 (channels) is 3, expected 4}}
  %y, %so = coil.conv1d_causal %x, %w bias(%b) state(%s) : (tensor<?x?x4xf32>, tensor<4x3xf32>, tensor<3xf32>, tensor<?x4x2xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>)
  return
}

// -----

func.func @conv_state_batch(%x: tensor<2x?x4xf32>, %w: tensor<4x3xf32>, %s: tensor<3x4x2xf32>) {
  // expected-error @+1 {{state dimension 0 (batch) is 3, expected 2}}
  %y, %so = coil.conv1d_causal %x, %w state(%s) : (tensor<2x?x4xf32>, tensor<4x3xf32>, tensor<3x4x2xf32>) -> (tensor<2x?x4xf32>, tensor<3x4x2xf32>)
  return
}

// -----

func.func @conv_state_width(%x: tensor<?x?x4xf32>, %w: tensor<4x3xf32>, %s: tensor<?x4x3xf32>) {
  // expected-error @+1 {{state dimension 2 (kernel width - 1) is 3, expected 2}}
  %y, %so = coil.conv1d_causal %x, %w state(%s) : (tensor<?x?x4xf32>, tensor<4x3xf32>, tensor<?x4x3xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x3xf32>)
  return
}

// -----

func.func @conv_state_element_type(%x: tensor<?x?x4xf32>, %w: tensor<4x3xf32>, %s: tensor<?x4x2xf16>) {
  // expected-error @+1 {{state element type 'f16' does not match input element type 'f32'}}
  %y, %so = coil.conv1d_causal %x, %w state(%s) : (tensor<?x?x4xf32>, tensor<4x3xf32>, tensor<?x4x2xf16>) -> (tensor<?x?x4xf32>, tensor<?x4x2xf16>)
  return
}

// -----

func.func @conv_state_out(%x: tensor<?x?x4xf32>, %w: tensor<4x3xf32>, %s: tensor<?x4x2xf32>) {
  // expected-error @+1 {{state_out dimension 1 is 8, but state dimension 1 is 4}}
  %y, %so = coil.conv1d_causal %x, %w state(%s) : (tensor<?x?x4xf32>, tensor<4x3xf32>, tensor<?x4x2xf32>) -> (tensor<?x?x4xf32>, tensor<?x8x2xf32>)
  return
}

//===----------------------------------------------------------------------===//
// coil.ssd_scan
//===----------------------------------------------------------------------===//

// -----

func.func @ssd_scan_state_rank(%x: tensor<?x?x8xf32>, %dt: tensor<?x?x4xf32>, %a: tensor<4xf32>, %b: tensor<?x?x6xf32>, %d: tensor<4xf32>, %s: tensor<?x4x6xf32>) {
  // expected-error @+1 {{state must have rank 4}}
  %y, %so = coil.ssd_scan %x, %dt, %a, %b, %b, %d state(%s)
      : (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<4xf32>, tensor<?x?x6xf32>, tensor<?x?x6xf32>, tensor<4xf32>, tensor<?x4x6xf32>) -> (tensor<?x?x8xf32>, tensor<?x4x6xf32>)
  return
}

// -----

func.func @ssd_scan_state_dynamic(%x: tensor<?x?x8xf32>, %dt: tensor<?x?x4xf32>, %a: tensor<4xf32>, %b: tensor<?x?x6xf32>, %d: tensor<4xf32>, %s: tensor<?x4x?x3xf32>) {
  // expected-error @+1 {{state dimension 2 (head_dim) must be static}}
  %y, %so = coil.ssd_scan %x, %dt, %a, %b, %b, %d state(%s)
      : (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<4xf32>, tensor<?x?x6xf32>, tensor<?x?x6xf32>, tensor<4xf32>, tensor<?x4x?x3xf32>) -> (tensor<?x?x8xf32>, tensor<?x4x?x3xf32>)
  return
}

// -----

func.func @ssd_scan_x_width(%x: tensor<?x?x9xf32>, %dt: tensor<?x?x4xf32>, %a: tensor<4xf32>, %b: tensor<?x?x6xf32>, %d: tensor<4xf32>, %s: tensor<?x4x2x3xf32>) {
  // expected-error @+1 {{x dimension 2 (heads * head_dim) is 9, expected 8}}
  %y, %so = coil.ssd_scan %x, %dt, %a, %b, %b, %d state(%s)
      : (tensor<?x?x9xf32>, tensor<?x?x4xf32>, tensor<4xf32>, tensor<?x?x6xf32>, tensor<?x?x6xf32>, tensor<4xf32>, tensor<?x4x2x3xf32>) -> (tensor<?x?x9xf32>, tensor<?x4x2x3xf32>)
  return
}

// -----

func.func @ssd_scan_dt_heads(%x: tensor<?x?x8xf32>, %dt: tensor<?x?x5xf32>, %a: tensor<4xf32>, %b: tensor<?x?x6xf32>, %d: tensor<4xf32>, %s: tensor<?x4x2x3xf32>) {
  // expected-error @+1 {{dt dimension 2 (heads) is 5, expected 4}}
  %y, %so = coil.ssd_scan %x, %dt, %a, %b, %b, %d state(%s)
      : (tensor<?x?x8xf32>, tensor<?x?x5xf32>, tensor<4xf32>, tensor<?x?x6xf32>, tensor<?x?x6xf32>, tensor<4xf32>, tensor<?x4x2x3xf32>) -> (tensor<?x?x8xf32>, tensor<?x4x2x3xf32>)
  return
}

// -----

func.func @ssd_scan_a_heads(%x: tensor<?x?x8xf32>, %dt: tensor<?x?x4xf32>, %a: tensor<2xf32>, %b: tensor<?x?x6xf32>, %d: tensor<4xf32>, %s: tensor<?x4x2x3xf32>) {
  // expected-error @+1 {{A dimension 0 (heads) is 2, expected 4}}
  %y, %so = coil.ssd_scan %x, %dt, %a, %b, %b, %d state(%s)
      : (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<2xf32>, tensor<?x?x6xf32>, tensor<?x?x6xf32>, tensor<4xf32>, tensor<?x4x2x3xf32>) -> (tensor<?x?x8xf32>, tensor<?x4x2x3xf32>)
  return
}

// -----

func.func @ssd_scan_bias_heads(%x: tensor<?x?x8xf32>, %dt: tensor<?x?x4xf32>, %a: tensor<4xf32>, %b: tensor<?x?x6xf32>, %d: tensor<4xf32>, %s: tensor<?x4x2x3xf32>, %bias: tensor<3xf32>) {
  // expected-error @+1 {{dt_bias dimension 0 (heads) is 3, expected 4}}
  %y, %so = coil.ssd_scan %x, %dt, %a, %b, %b, %d bias(%bias) state(%s)
      : (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<4xf32>, tensor<?x?x6xf32>, tensor<?x?x6xf32>, tensor<4xf32>, tensor<3xf32>, tensor<?x4x2x3xf32>) -> (tensor<?x?x8xf32>, tensor<?x4x2x3xf32>)
  return
}

// -----

func.func @ssd_scan_groups(%x: tensor<?x?x8xf32>, %dt: tensor<?x?x4xf32>, %a: tensor<4xf32>, %b: tensor<?x?x9xf32>, %d: tensor<4xf32>, %s: tensor<?x4x2x3xf32>) {
  // expected-error @+1 {{B's last dimension 9 must be a number of groups of 3 states that divides the 4 heads}}
  %y, %so = coil.ssd_scan %x, %dt, %a, %b, %b, %d state(%s)
      : (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<4xf32>, tensor<?x?x9xf32>, tensor<?x?x9xf32>, tensor<4xf32>, tensor<?x4x2x3xf32>) -> (tensor<?x?x8xf32>, tensor<?x4x2x3xf32>)
  return
}

// -----

func.func @ssd_scan_c_width(%x: tensor<?x?x8xf32>, %dt: tensor<?x?x4xf32>, %a: tensor<4xf32>, %b: tensor<?x?x6xf32>, %d: tensor<4xf32>, %s: tensor<?x4x2x3xf32>, %c: tensor<?x?x3xf32>) {
  // expected-error @+1 {{C dimension 2 (groups * state size) is 3, expected 6}}
  %y, %so = coil.ssd_scan %x, %dt, %a, %b, %c, %d state(%s)
      : (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<4xf32>, tensor<?x?x6xf32>, tensor<?x?x3xf32>, tensor<4xf32>, tensor<?x4x2x3xf32>) -> (tensor<?x?x8xf32>, tensor<?x4x2x3xf32>)
  return
}

// -----

func.func @ssd_scan_dt_limit(%x: tensor<?x?x8xf32>, %dt: tensor<?x?x4xf32>, %a: tensor<4xf32>, %b: tensor<?x?x6xf32>, %d: tensor<4xf32>, %s: tensor<?x4x2x3xf32>) {
  // expected-error @+1 {{dt_limit must be two numbers [low, high] with low <= high}}
  %y, %so = coil.ssd_scan %x, %dt, %a, %b, %b, %d state(%s) {dt_limit = array<f64: 2.0, 1.0>}
      : (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<4xf32>, tensor<?x?x6xf32>, tensor<?x?x6xf32>, tensor<4xf32>, tensor<?x4x2x3xf32>) -> (tensor<?x?x8xf32>, tensor<?x4x2x3xf32>)
  return
}

// -----

func.func @ssd_scan_states_extent(%x: tensor<?x?x8xf32>, %dt: tensor<?x?x4xf32>, %a: tensor<4xf32>, %b: tensor<?x?x6xf32>, %d: tensor<4xf32>, %s: tensor<?x4x2x3xf32>) {
  // expected-error @+1 {{states dimension 3 (state extent) is 5, expected 2}}
  %y, %so, %all = coil.ssd_scan %x, %dt, %a, %b, %b, %d state(%s)
      : (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<4xf32>, tensor<?x?x6xf32>, tensor<?x?x6xf32>, tensor<4xf32>, tensor<?x4x2x3xf32>) -> (tensor<?x?x8xf32>, tensor<?x4x2x3xf32>, tensor<?x?x4x5x3xf32>)
  return
}

// -----

func.func @rms_norm_group_size(%x: tensor<?x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{group_size 3 must be positive and divide the normalised features (8)}}
  %y = coil.rms_norm %x, %w {group_size = 3 : i64}
      : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  return
}

//===----------------------------------------------------------------------===//
// coil.scan
//===----------------------------------------------------------------------===//

// -----

func.func @scan_u_rank(%u: tensor<?x4xf32>, %a: tensor<4x2xf32>, %b: tensor<?x?x2xf32>, %d: tensor<4xf32>, %h: tensor<?x4x2xf32>) {
  // expected-error @+1 {{u must have rank 3}}
  %y, %ho = coil.scan %u, %u, %a, %b, %b, %d state(%h)
      : (tensor<?x4xf32>, tensor<?x4xf32>, tensor<4x2xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>, tensor<4xf32>, tensor<?x4x2xf32>) -> (tensor<?x4xf32>, tensor<?x4x2xf32>)
  return
}

// -----

func.func @scan_dynamic_channels(%u: tensor<?x?x?xf32>, %a: tensor<4x2xf32>, %b: tensor<?x?x2xf32>, %d: tensor<4xf32>, %h: tensor<?x4x2xf32>) {
  // expected-error @+1 {{u dimension 2 (channels) must be static}}
  %y, %ho = coil.scan %u, %u, %a, %b, %b, %d state(%h)
      : (tensor<?x?x?xf32>, tensor<?x?x?xf32>, tensor<4x2xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>, tensor<4xf32>, tensor<?x4x2xf32>) -> (tensor<?x?x?xf32>, tensor<?x4x2xf32>)
  return
}

// -----

func.func @scan_delta(%u: tensor<?x?x4xf32>, %dt: tensor<?x?x5xf32>, %a: tensor<4x2xf32>, %b: tensor<?x?x2xf32>, %d: tensor<4xf32>, %h: tensor<?x4x2xf32>) {
  // expected-error @+1 {{delta dimension 2 is 5, but u dimension 2 is 4}}
  %y, %ho = coil.scan %u, %dt, %a, %b, %b, %d state(%h)
      : (tensor<?x?x4xf32>, tensor<?x?x5xf32>, tensor<4x2xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>, tensor<4xf32>, tensor<?x4x2xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>)
  return
}

// -----

func.func @scan_a_rank(%u: tensor<?x?x4xf32>, %a: tensor<4xf32>, %b: tensor<?x?x2xf32>, %d: tensor<4xf32>, %h: tensor<?x4x2xf32>) {
  // expected-error @+1 {{A must have rank 2}}
  %y, %ho = coil.scan %u, %u, %a, %b, %b, %d state(%h)
      : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<4xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>, tensor<4xf32>, tensor<?x4x2xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>)
  return
}

// -----

func.func @scan_a_dynamic(%u: tensor<?x?x4xf32>, %a: tensor<4x?xf32>, %b: tensor<?x?x2xf32>, %d: tensor<4xf32>, %h: tensor<?x4x2xf32>) {
  // expected-error @+1 {{A must have a static shape}}
  %y, %ho = coil.scan %u, %u, %a, %b, %b, %d state(%h)
      : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<4x?xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>, tensor<4xf32>, tensor<?x4x2xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>)
  return
}

// -----

func.func @scan_a_channels(%u: tensor<?x?x4xf32>, %a: tensor<8x2xf32>, %b: tensor<?x?x2xf32>, %d: tensor<4xf32>, %h: tensor<?x4x2xf32>) {
  // expected-error @+1 {{A dimension 0 (channels) is 8, expected 4}}
  %y, %ho = coil.scan %u, %u, %a, %b, %b, %d state(%h)
      : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<8x2xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>, tensor<4xf32>, tensor<?x4x2xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>)
  return
}

// -----

func.func @scan_b_state_size(%u: tensor<?x?x4xf32>, %a: tensor<4x2xf32>, %b: tensor<?x?x3xf32>, %c: tensor<?x?x2xf32>, %d: tensor<4xf32>, %h: tensor<?x4x2xf32>) {
  // expected-error @+1 {{B dimension 2 (state size) is 3, expected 2}}
  %y, %ho = coil.scan %u, %u, %a, %b, %c, %d state(%h)
      : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<4x2xf32>, tensor<?x?x3xf32>, tensor<?x?x2xf32>, tensor<4xf32>, tensor<?x4x2xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>)
  return
}

// -----

func.func @scan_c_sequence(%u: tensor<1x5x4xf32>, %a: tensor<4x2xf32>, %b: tensor<1x5x2xf32>, %c: tensor<1x6x2xf32>, %d: tensor<4xf32>, %h: tensor<1x4x2xf32>) {
  // expected-error @+1 {{C dimension 1 (sequence) is 6, expected 5}}
  %y, %ho = coil.scan %u, %u, %a, %b, %c, %d state(%h)
      : (tensor<1x5x4xf32>, tensor<1x5x4xf32>, tensor<4x2xf32>, tensor<1x5x2xf32>, tensor<1x6x2xf32>, tensor<4xf32>, tensor<1x4x2xf32>) -> (tensor<1x5x4xf32>, tensor<1x4x2xf32>)
  return
}

// -----

func.func @scan_b_element_type(%u: tensor<?x?x4xf32>, %a: tensor<4x2xf32>, %b: tensor<?x?x2xf16>, %c: tensor<?x?x2xf32>, %d: tensor<4xf32>, %h: tensor<?x4x2xf32>) {
  // expected-error @+1 {{B element type 'f16' does not match u element type 'f32'}}
  %y, %ho = coil.scan %u, %u, %a, %b, %c, %d state(%h)
      : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<4x2xf32>, tensor<?x?x2xf16>, tensor<?x?x2xf32>, tensor<4xf32>, tensor<?x4x2xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>)
  return
}

// -----

func.func @scan_d(%u: tensor<?x?x4xf32>, %a: tensor<4x2xf32>, %b: tensor<?x?x2xf32>, %d: tensor<2xf32>, %h: tensor<?x4x2xf32>) {
  // expected-error @+1 {{D dimension 0 (channels) is 2, expected 4}}
  %y, %ho = coil.scan %u, %u, %a, %b, %b, %d state(%h)
      : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<4x2xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>, tensor<2xf32>, tensor<?x4x2xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>)
  return
}

// -----

func.func @scan_gate(%u: tensor<?x?x4xf32>, %a: tensor<4x2xf32>, %b: tensor<?x?x2xf32>, %d: tensor<4xf32>, %z: tensor<?x?x8xf32>, %h: tensor<?x4x2xf32>) {
  // expected-error @+1 {{z dimension 2 is 8, but u dimension 2 is 4}}
  %y, %ho = coil.scan %u, %u, %a, %b, %b, %d gate(%z) state(%h)
      : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<4x2xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>, tensor<4xf32>, tensor<?x?x8xf32>, tensor<?x4x2xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>)
  return
}

// -----

func.func @scan_state_size(%u: tensor<?x?x4xf32>, %a: tensor<4x2xf32>, %b: tensor<?x?x2xf32>, %d: tensor<4xf32>, %h: tensor<?x4x16xf32>) {
  // expected-error @+1 {{state dimension 2 (state size) is 16, expected 2}}
  %y, %ho = coil.scan %u, %u, %a, %b, %b, %d state(%h)
      : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<4x2xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>, tensor<4xf32>, tensor<?x4x16xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x16xf32>)
  return
}

// -----

func.func @scan_result(%u: tensor<?x?x4xf32>, %a: tensor<4x2xf32>, %b: tensor<?x?x2xf32>, %d: tensor<4xf32>, %h: tensor<?x4x2xf32>) {
  // expected-error @+1 {{result element type 'f16' does not match u element type 'f32'}}
  %y, %ho = coil.scan %u, %u, %a, %b, %b, %d state(%h)
      : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<4x2xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>, tensor<4xf32>, tensor<?x4x2xf32>) -> (tensor<?x?x4xf16>, tensor<?x4x2xf32>)
  return
}

// -----

func.func @scan_state_out(%u: tensor<?x?x4xf32>, %a: tensor<4x2xf32>, %b: tensor<?x?x2xf32>, %d: tensor<4xf32>, %h: tensor<?x4x2xf32>) {
  // expected-error @+1 {{state_out must have the rank of state (3), got 'tensor<4x2xf32>'}}
  %y, %ho = coil.scan %u, %u, %a, %b, %b, %d state(%h)
      : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<4x2xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>, tensor<4xf32>, tensor<?x4x2xf32>) -> (tensor<?x?x4xf32>, tensor<4x2xf32>)
  return
}

//===----------------------------------------------------------------------===//
// coil.attention
//===----------------------------------------------------------------------===//

// -----

func.func @attention_zero_heads(%q: tensor<?x?x16xf32>, %k: tensor<?x?x8xf32>, %c: tensor<?x2x?x4xf32>, %p: tensor<?x?xi32>) {
  // expected-error @+1 {{num_heads must be positive, got 0}}
  %o, %kc, %vc = coil.attention %q, %k, %k, %c, %c, %p {num_heads = 0 : i64, num_kv_heads = 2 : i64}
      : (tensor<?x?x16xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x?xi32>) -> (tensor<?x?x16xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>)
  return
}

// -----

func.func @attention_group_size(%q: tensor<?x?x16xf32>, %k: tensor<?x?x12xf32>, %c: tensor<?x3x?x4xf32>, %p: tensor<?x?xi32>) {
  // expected-error @+1 {{num_heads 4 is not a multiple of num_kv_heads 3}}
  %o, %kc, %vc = coil.attention %q, %k, %k, %c, %c, %p {num_heads = 4 : i64, num_kv_heads = 3 : i64}
      : (tensor<?x?x16xf32>, tensor<?x?x12xf32>, tensor<?x?x12xf32>, tensor<?x3x?x4xf32>, tensor<?x3x?x4xf32>, tensor<?x?xi32>) -> (tensor<?x?x16xf32>, tensor<?x3x?x4xf32>, tensor<?x3x?x4xf32>)
  return
}

// -----

func.func @attention_q_rank(%q: tensor<?x16xf32>, %k: tensor<?x?x8xf32>, %c: tensor<?x2x?x4xf32>, %p: tensor<?x?xi32>) {
  // expected-error @+1 {{q must have rank 3}}
  %o, %kc, %vc = coil.attention %q, %k, %k, %c, %c, %p {num_heads = 4 : i64, num_kv_heads = 2 : i64}
      : (tensor<?x16xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x?xi32>) -> (tensor<?x16xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>)
  return
}

// -----

func.func @attention_cache_rank(%q: tensor<?x?x16xf32>, %k: tensor<?x?x8xf32>, %c: tensor<?x?x8xf32>, %p: tensor<?x?xi32>) {
  // expected-error @+1 {{k_cache must have rank 4}}
  %o, %kc, %vc = coil.attention %q, %k, %k, %c, %c, %p {num_heads = 4 : i64, num_kv_heads = 2 : i64}
      : (tensor<?x?x16xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?xi32>) -> (tensor<?x?x16xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>)
  return
}

// -----

func.func @attention_dynamic_head_dim(%q: tensor<?x?x16xf32>, %k: tensor<?x?x8xf32>, %c: tensor<?x2x?x?xf32>, %p: tensor<?x?xi32>) {
  // expected-error @+1 {{k_cache dimension 3 (head_dim) must be static}}
  %o, %kc, %vc = coil.attention %q, %k, %k, %c, %c, %p {num_heads = 4 : i64, num_kv_heads = 2 : i64}
      : (tensor<?x?x16xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x2x?x?xf32>, tensor<?x2x?x?xf32>, tensor<?x?xi32>) -> (tensor<?x?x16xf32>, tensor<?x2x?x?xf32>, tensor<?x2x?x?xf32>)
  return
}

// -----

func.func @attention_q_width(%q: tensor<?x?x12xf32>, %k: tensor<?x?x8xf32>, %c: tensor<?x2x?x4xf32>, %p: tensor<?x?xi32>) {
  // expected-error @+1 {{q dimension 2 (num_heads * head_dim) is 12, expected 16}}
  %o, %kc, %vc = coil.attention %q, %k, %k, %c, %c, %p {num_heads = 4 : i64, num_kv_heads = 2 : i64}
      : (tensor<?x?x12xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x?xi32>) -> (tensor<?x?x12xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>)
  return
}

// -----

func.func @attention_k_width(%q: tensor<?x?x16xf32>, %k: tensor<?x?x16xf32>, %c: tensor<?x2x?x4xf32>, %p: tensor<?x?xi32>) {
  // expected-error @+1 {{k dimension 2 (num_kv_heads * head_dim) is 16, expected 8}}
  %o, %kc, %vc = coil.attention %q, %k, %k, %c, %c, %p {num_heads = 4 : i64, num_kv_heads = 2 : i64}
      : (tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x?xi32>) -> (tensor<?x?x16xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>)
  return
}

// -----

func.func @attention_k_batch(%q: tensor<2x?x16xf32>, %k: tensor<3x?x8xf32>, %c: tensor<?x2x?x4xf32>, %p: tensor<?x?xi32>) {
  // expected-error @+1 {{k dimension 0 (batch) is 3, expected 2}}
  %o, %kc, %vc = coil.attention %q, %k, %k, %c, %c, %p {num_heads = 4 : i64, num_kv_heads = 2 : i64}
      : (tensor<2x?x16xf32>, tensor<3x?x8xf32>, tensor<3x?x8xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x?xi32>) -> (tensor<2x?x16xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>)
  return
}

// -----

func.func @attention_v(%q: tensor<?x?x16xf32>, %k: tensor<?x?x8xf32>, %v: tensor<?x?x8xf16>, %c: tensor<?x2x?x4xf32>, %p: tensor<?x?xi32>) {
  // expected-error @+1 {{v element type 'f16' does not match k element type 'f32'}}
  %o, %kc, %vc = coil.attention %q, %k, %v, %c, %c, %p {num_heads = 4 : i64, num_kv_heads = 2 : i64}
      : (tensor<?x?x16xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf16>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x?xi32>) -> (tensor<?x?x16xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>)
  return
}

// -----

func.func @attention_cache_kv_heads(%q: tensor<?x?x16xf32>, %k: tensor<?x?x8xf32>, %c: tensor<?x4x?x4xf32>, %p: tensor<?x?xi32>) {
  // expected-error @+1 {{k_cache dimension 1 (num_kv_heads) is 4, expected 2}}
  %o, %kc, %vc = coil.attention %q, %k, %k, %c, %c, %p {num_heads = 4 : i64, num_kv_heads = 2 : i64}
      : (tensor<?x?x16xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x4x?x4xf32>, tensor<?x4x?x4xf32>, tensor<?x?xi32>) -> (tensor<?x?x16xf32>, tensor<?x4x?x4xf32>, tensor<?x4x?x4xf32>)
  return
}

// -----

func.func @attention_v_cache(%q: tensor<?x?x16xf32>, %k: tensor<?x?x8xf32>, %c: tensor<?x2x128x4xf32>, %vc0: tensor<?x2x64x4xf32>, %p: tensor<?x?xi32>) {
  // expected-error @+1 {{v_cache dimension 2 is 64, but k_cache dimension 2 is 128}}
  %o, %kc, %vc = coil.attention %q, %k, %k, %c, %vc0, %p {num_heads = 4 : i64, num_kv_heads = 2 : i64}
      : (tensor<?x?x16xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x2x128x4xf32>, tensor<?x2x64x4xf32>, tensor<?x?xi32>) -> (tensor<?x?x16xf32>, tensor<?x2x128x4xf32>, tensor<?x2x128x4xf32>)
  return
}

// -----

func.func @attention_positions(%q: tensor<1x3x16xf32>, %k: tensor<1x3x8xf32>, %c: tensor<1x2x?x4xf32>, %p: tensor<1x4xi32>) {
  // expected-error @+1 {{positions dimension 1 (sequence) is 4, expected 3}}
  %o, %kc, %vc = coil.attention %q, %k, %k, %c, %c, %p {num_heads = 4 : i64, num_kv_heads = 2 : i64}
      : (tensor<1x3x16xf32>, tensor<1x3x8xf32>, tensor<1x3x8xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x4xi32>) -> (tensor<1x3x16xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>)
  return
}

// -----

func.func @attention_cache_out(%q: tensor<?x?x16xf32>, %k: tensor<?x?x8xf32>, %c: tensor<?x2x?x4xf32>, %p: tensor<?x?xi32>) {
  // expected-error @+1 {{v_cache_out element type 'f16' does not match k_cache element type 'f32'}}
  %o, %kc, %vc = coil.attention %q, %k, %k, %c, %c, %p {num_heads = 4 : i64, num_kv_heads = 2 : i64}
      : (tensor<?x?x16xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x?xi32>) -> (tensor<?x?x16xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf16>)
  return
}

// -----

func.func @attention_scale(%q: tensor<?x?x16xf32>, %k: tensor<?x?x8xf32>, %c: tensor<?x2x?x4xf32>, %p: tensor<?x?xi32>) {
  // expected-error @+1 {{scale must be finite and positive, got -1}}
  %o, %kc, %vc = coil.attention %q, %k, %k, %c, %c, %p {num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = -1.0 : f64}
      : (tensor<?x?x16xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x?xi32>) -> (tensor<?x?x16xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>)
  return
}

//===----------------------------------------------------------------------===//
// coil.kernel, coil.yield
//===----------------------------------------------------------------------===//

// -----

func.func @kernel_empty_name(%x: tensor<4xf32>) {
  // expected-error @+1 {{name must not be empty}}
  %y = coil.kernel ""(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    coil.yield %a : tensor<4xf32>
  }
  return
}

// -----

func.func @kernel_argument_count(%x: tensor<4xf32>) {
  // expected-error @+1 {{body has 2 arguments but the kernel has 1 inputs}}
  %y = coil.kernel "k"(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>, %b: tensor<4xf32>):
    coil.yield %a : tensor<4xf32>
  }
  return
}

// -----

func.func @kernel_argument_type(%x: tensor<4xf32>) {
  // expected-error @+1 {{body argument #0 has type 'tensor<4xf16>' but input #0 has type 'tensor<4xf32>'}}
  %y = coil.kernel "k"(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf16>):
    %c = coil.exp %a : tensor<4xf16>
    coil.yield %c : tensor<4xf16>
  }
  return
}

// -----

func.func @kernel_yield_types(%x: tensor<4xf32>) {
  %y = coil.kernel "k"(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    // expected-error @+1 {{yields 'tensor<4xf32>', 'tensor<4xf32>' but the enclosing kernel returns 'tensor<4xf32>'}}
    coil.yield %a, %a : tensor<4xf32>, tensor<4xf32>
  }
  return
}

// -----

func.func @kernel_isolated(%x: tensor<4xf32>) {
  // expected-note @+1 {{required by region isolation constraints}}
  %y = coil.kernel "k"() : () -> tensor<4xf32> {
    // expected-error @+1 {{using value defined outside the region}}
    %e = coil.exp %x : tensor<4xf32>
    coil.yield %e : tensor<4xf32>
  }
  return
}

// -----

func.func @yield_outside_kernel(%x: tensor<4xf32>) {
  // expected-error @+1 {{expects parent op 'coil.kernel'}}
  coil.yield %x : tensor<4xf32>
}

//===----------------------------------------------------------------------===//
// Model attributes of a module
//===----------------------------------------------------------------------===//

// -----

// expected-error @+1 {{attribute 'coil.max_context' must be a positive i64, found -5 : i64}}
module attributes {coil.max_context = -5 : i64} {
}

// -----

// expected-error @+1 {{attribute 'coil.vocab_size' must be a positive i64, found 0 : i64}}
module attributes {coil.vocab_size = 0 : i64} {
}

// -----

// expected-error @+1 {{attribute 'coil.family' must be a string, found 3 : i64}}
module attributes {coil.family = 3 : i64} {
}

// -----

func.func @scan_states_wrong_extent(%u: tensor<?x?x8xf32>, %a: tensor<8x4xf32>, %bc: tensor<?x?x4xf32>, %d: tensor<8xf32>, %h: tensor<?x8x4xf32>) {
  // expected-error @+1 {{states dimension 2 (state extent) is 7, expected 8}}
  %y, %h2, %hs = coil.scan %u, %u, %a, %bc, %bc, %d state(%h) : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<8x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<8xf32>, tensor<?x8x4xf32>) -> (tensor<?x?x8xf32>, tensor<?x8x4xf32>, tensor<?x?x7x4xf32>)
  return
}

// -----

func.func @conv_states_wrong_steps(%x: tensor<2x5x8xf32>, %w: tensor<8x4xf32>, %s: tensor<2x8x3xf32>) {
  // expected-error @+1 {{states dimension 1 (sequence) is 4, expected 5}}
  %y, %s2, %ss = coil.conv1d_causal %x, %w state(%s) : (tensor<2x5x8xf32>, tensor<8x4xf32>, tensor<2x8x3xf32>) -> (tensor<2x5x8xf32>, tensor<2x8x3xf32>, tensor<2x4x8x3xf32>)
  return
}
