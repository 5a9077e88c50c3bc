module attributes {coil.family = "llama", coil.max_context = 64 : i64, coil.vocab_size = 32 : i64} {
  func.func @prefill(%arg0: tensor<?x?xi32> {coil.input = "tokens"}, %arg1: tensor<?x?xi32> {coil.input = "positions"}, %arg2: tensor<?x2x?x4xf32> {coil.state = "k_cache.0"}, %arg3: tensor<?x2x?x4xf32> {coil.state = "v_cache.0"}, %arg4: tensor<?x2x?x4xf32> {coil.state = "k_cache.1"}, %arg5: tensor<?x2x?x4xf32> {coil.state = "v_cache.1"}) -> (tensor<?x1x32xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>) {
    %0 = coil.weight "model.embed_tokens.weight" : tensor<32x16xf32>
    %1 = coil.embed %0, %arg0 : (tensor<32x16xf32>, tensor<?x?xi32>) -> tensor<?x?x16xf32>
    %2 = coil.weight "model.layers.0.input_layernorm.weight" : tensor<16xf32>
    %3 = coil.rms_norm %1, %2 {epsilon = 9.99999997E-7 : f32} : (tensor<?x?x16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    %4 = coil.weight "model.layers.0.self_attn.q_proj.weight" : tensor<16x16xf32>
    %5 = coil.linear %3, %4 : (tensor<?x?x16xf32>, tensor<16x16xf32>) -> tensor<?x?x16xf32>
    %6 = coil.weight "model.layers.0.self_attn.k_proj.weight" : tensor<8x16xf32>
    %7 = coil.linear %3, %6 : (tensor<?x?x16xf32>, tensor<8x16xf32>) -> tensor<?x?x8xf32>
    %8 = coil.weight "model.layers.0.self_attn.v_proj.weight" : tensor<8x16xf32>
    %9 = coil.linear %3, %8 : (tensor<?x?x16xf32>, tensor<8x16xf32>) -> tensor<?x?x8xf32>
    %10 = coil.rope %5, %arg1 {num_heads = 4 : i64} : (tensor<?x?x16xf32>, tensor<?x?xi32>) -> tensor<?x?x16xf32>
    %11 = coil.rope %7, %arg1 {num_heads = 2 : i64} : (tensor<?x?x8xf32>, tensor<?x?xi32>) -> tensor<?x?x8xf32>
    %result, %k_cache_out, %v_cache_out = coil.attention %10, %11, %9, %arg2, %arg3, %arg1 {num_heads = 4 : i64, num_kv_heads = 2 : i64} : (tensor<?x?x16xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x?xi32>) -> (tensor<?x?x16xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>)
    %12 = coil.weight "model.layers.0.self_attn.o_proj.weight" : tensor<16x16xf32>
    %13 = coil.linear %result, %12 : (tensor<?x?x16xf32>, tensor<16x16xf32>) -> tensor<?x?x16xf32>
    %14 = coil.add %1, %13 : tensor<?x?x16xf32>
    %15 = coil.weight "model.layers.0.post_attention_layernorm.weight" : tensor<16xf32>
    %16 = coil.rms_norm %14, %15 {epsilon = 9.99999997E-7 : f32} : (tensor<?x?x16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    %17 = coil.weight "model.layers.0.mlp.gate_proj.weight" : tensor<32x16xf32>
    %18 = coil.linear %16, %17 : (tensor<?x?x16xf32>, tensor<32x16xf32>) -> tensor<?x?x32xf32>
    %19 = coil.weight "model.layers.0.mlp.up_proj.weight" : tensor<32x16xf32>
    %20 = coil.linear %16, %19 : (tensor<?x?x16xf32>, tensor<32x16xf32>) -> tensor<?x?x32xf32>
    %21 = coil.silu %18 : tensor<?x?x32xf32>
    %22 = coil.mul %21, %20 : tensor<?x?x32xf32>
    %23 = coil.weight "model.layers.0.mlp.down_proj.weight" : tensor<16x32xf32>
    %24 = coil.linear %22, %23 : (tensor<?x?x32xf32>, tensor<16x32xf32>) -> tensor<?x?x16xf32>
    %25 = coil.add %14, %24 : tensor<?x?x16xf32>
    %26 = coil.weight "model.layers.1.input_layernorm.weight" : tensor<16xf32>
    %27 = coil.rms_norm %25, %26 {epsilon = 9.99999997E-7 : f32} : (tensor<?x?x16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    %28 = coil.weight "model.layers.1.self_attn.q_proj.weight" : tensor<16x16xf32>
    %29 = coil.linear %27, %28 : (tensor<?x?x16xf32>, tensor<16x16xf32>) -> tensor<?x?x16xf32>
    %30 = coil.weight "model.layers.1.self_attn.k_proj.weight" : tensor<8x16xf32>
    %31 = coil.linear %27, %30 : (tensor<?x?x16xf32>, tensor<8x16xf32>) -> tensor<?x?x8xf32>
    %32 = coil.weight "model.layers.1.self_attn.v_proj.weight" : tensor<8x16xf32>
    %33 = coil.linear %27, %32 : (tensor<?x?x16xf32>, tensor<8x16xf32>) -> tensor<?x?x8xf32>
    %34 = coil.rope %29, %arg1 {num_heads = 4 : i64} : (tensor<?x?x16xf32>, tensor<?x?xi32>) -> tensor<?x?x16xf32>
    %35 = coil.rope %31, %arg1 {num_heads = 2 : i64} : (tensor<?x?x8xf32>, tensor<?x?xi32>) -> tensor<?x?x8xf32>
    %result_0, %k_cache_out_1, %v_cache_out_2 = coil.attention %34, %35, %33, %arg4, %arg5, %arg1 {num_heads = 4 : i64, num_kv_heads = 2 : i64} : (tensor<?x?x16xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x?xi32>) -> (tensor<?x?x16xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>)
    %36 = coil.weight "model.layers.1.self_attn.o_proj.weight" : tensor<16x16xf32>
    %37 = coil.linear %result_0, %36 : (tensor<?x?x16xf32>, tensor<16x16xf32>) -> tensor<?x?x16xf32>
    %38 = coil.add %25, %37 : tensor<?x?x16xf32>
    %39 = coil.weight "model.layers.1.post_attention_layernorm.weight" : tensor<16xf32>
    %40 = coil.rms_norm %38, %39 {epsilon = 9.99999997E-7 : f32} : (tensor<?x?x16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    %41 = coil.weight "model.layers.1.mlp.gate_proj.weight" : tensor<32x16xf32>
    %42 = coil.linear %40, %41 : (tensor<?x?x16xf32>, tensor<32x16xf32>) -> tensor<?x?x32xf32>
    %43 = coil.weight "model.layers.1.mlp.up_proj.weight" : tensor<32x16xf32>
    %44 = coil.linear %40, %43 : (tensor<?x?x16xf32>, tensor<32x16xf32>) -> tensor<?x?x32xf32>
    %45 = coil.silu %42 : tensor<?x?x32xf32>
    %46 = coil.mul %45, %44 : tensor<?x?x32xf32>
    %47 = coil.weight "model.layers.1.mlp.down_proj.weight" : tensor<16x32xf32>
    %48 = coil.linear %46, %47 : (tensor<?x?x32xf32>, tensor<16x32xf32>) -> tensor<?x?x16xf32>
    %49 = coil.add %38, %48 : tensor<?x?x16xf32>
    %50 = coil.slice %49 {dim = 1 : i64, from_end, offset = 0 : i64, size = 1 : i64} : tensor<?x?x16xf32> -> tensor<?x1x16xf32>
    %51 = coil.weight "model.norm.weight" : tensor<16xf32>
    %52 = coil.rms_norm %50, %51 {epsilon = 9.99999997E-7 : f32} : (tensor<?x1x16xf32>, tensor<16xf32>) -> tensor<?x1x16xf32>
    %53 = coil.weight "lm_head.weight" : tensor<32x16xf32>
    %54 = coil.linear %52, %53 : (tensor<?x1x16xf32>, tensor<32x16xf32>) -> tensor<?x1x32xf32>
    return %54, %k_cache_out, %v_cache_out, %k_cache_out_1, %v_cache_out_2 : tensor<?x1x32xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>
  }
  func.func @prefill_all(%arg0: tensor<?x?xi32> {coil.input = "tokens"}, %arg1: tensor<?x?xi32> {coil.input = "positions"}, %arg2: tensor<?x2x?x4xf32> {coil.state = "k_cache.0"}, %arg3: tensor<?x2x?x4xf32> {coil.state = "v_cache.0"}, %arg4: tensor<?x2x?x4xf32> {coil.state = "k_cache.1"}, %arg5: tensor<?x2x?x4xf32> {coil.state = "v_cache.1"}) -> (tensor<?x?x32xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>) {
    %0 = coil.weight "model.embed_tokens.weight" : tensor<32x16xf32>
    %1 = coil.embed %0, %arg0 : (tensor<32x16xf32>, tensor<?x?xi32>) -> tensor<?x?x16xf32>
    %2 = coil.weight "model.layers.0.input_layernorm.weight" : tensor<16xf32>
    %3 = coil.rms_norm %1, %2 {epsilon = 9.99999997E-7 : f32} : (tensor<?x?x16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    %4 = coil.weight "model.layers.0.self_attn.q_proj.weight" : tensor<16x16xf32>
    %5 = coil.linear %3, %4 : (tensor<?x?x16xf32>, tensor<16x16xf32>) -> tensor<?x?x16xf32>
    %6 = coil.weight "model.layers.0.self_attn.k_proj.weight" : tensor<8x16xf32>
    %7 = coil.linear %3, %6 : (tensor<?x?x16xf32>, tensor<8x16xf32>) -> tensor<?x?x8xf32>
    %8 = coil.weight "model.layers.0.self_attn.v_proj.weight" : tensor<8x16xf32>
    %9 = coil.linear %3, %8 : (tensor<?x?x16xf32>, tensor<8x16xf32>) -> tensor<?x?x8xf32>
    %10 = coil.rope %5, %arg1 {num_heads = 4 : i64} : (tensor<?x?x16xf32>, tensor<?x?xi32>) -> tensor<?x?x16xf32>
    %11 = coil.rope %7, %arg1 {num_heads = 2 : i64} : (tensor<?x?x8xf32>, tensor<?x?xi32>) -> tensor<?x?x8xf32>
    %result, %k_cache_out, %v_cache_out = coil.attention %10, %11, %9, %arg2, %arg3, %arg1 {num_heads = 4 : i64, num_kv_heads = 2 : i64} : (tensor<?x?x16xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x?xi32>) -> (tensor<?x?x16xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>)
    %12 = coil.weight "model.layers.0.self_attn.o_proj.weight" : tensor<16x16xf32>
    %13 = coil.linear %result, %12 : (tensor<?x?x16xf32>, tensor<16x16xf32>) -> tensor<?x?x16xf32>
    %14 = coil.add %1, %13 : tensor<?x?x16xf32>
    %15 = coil.weight "model.layers.0.post_attention_layernorm.weight" : tensor<16xf32>
    %16 = coil.rms_norm %14, %15 {epsilon = 9.99999997E-7 : f32} : (tensor<?x?x16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    %17 = coil.weight "model.layers.0.mlp.gate_proj.weight" : tensor<32x16xf32>
    %18 = coil.linear %16, %17 : (tensor<?x?x16xf32>, tensor<32x16xf32>) -> tensor<?x?x32xf32>
    %19 = coil.weight "model.layers.0.mlp.up_proj.weight" : tensor<32x16xf32>
    %20 = coil.linear %16, %19 : (tensor<?x?x16xf32>, tensor<32x16xf32>) -> tensor<?x?x32xf32>
    %21 = coil.silu %18 : tensor<?x?x32xf32>
    %22 = coil.mul %21, %20 : tensor<?x?x32xf32>
    %23 = coil.weight "model.layers.0.mlp.down_proj.weight" : tensor<16x32xf32>
    %24 = coil.linear %22, %23 : (tensor<?x?x32xf32>, tensor<16x32xf32>) -> tensor<?x?x16xf32>
    %25 = coil.add %14, %24 : tensor<?x?x16xf32>
    %26 = coil.weight "model.layers.1.input_layernorm.weight" : tensor<16xf32>
    %27 = coil.rms_norm %25, %26 {epsilon = 9.99999997E-7 : f32} : (tensor<?x?x16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    %28 = coil.weight "model.layers.1.self_attn.q_proj.weight" : tensor<16x16xf32>
    %29 = coil.linear %27, %28 : (tensor<?x?x16xf32>, tensor<16x16xf32>) -> tensor<?x?x16xf32>
    %30 = coil.weight "model.layers.1.self_attn.k_proj.weight" : tensor<8x16xf32>
    %31 = coil.linear %27, %30 : (tensor<?x?x16xf32>, tensor<8x16xf32>) -> tensor<?x?x8xf32>
    %32 = coil.weight "model.layers.1.self_attn.v_proj.weight" : tensor<8x16xf32>
    %33 = coil.linear %27, %32 : (tensor<?x?x16xf32>, tensor<8x16xf32>) -> tensor<?x?x8xf32>
    %34 = coil.rope %29, %arg1 {num_heads = 4 : i64} : (tensor<?x?x16xf32>, tensor<?x?xi32>) -> tensor<?x?x16xf32>
    %35 = coil.rope %31, %arg1 {num_heads = 2 : i64} : (tensor<?x?x8xf32>, tensor<?x?xi32>) -> tensor<?x?x8xf32>
    %result_0, %k_cache_out_1, %v_cache_out_2 = coil.attention %34, %35, %33, %arg4, %arg5, %arg1 {num_heads = 4 : i64, num_kv_heads = 2 : i64} : (tensor<?x?x16xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x?xi32>) -> (tensor<?x?x16xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>)
    %36 = coil.weight "model.layers.1.self_attn.o_proj.weight" : tensor<16x16xf32>
    %37 = coil.linear %result_0, %36 : (tensor<?x?x16xf32>, tensor<16x16xf32>) -> tensor<?x?x16xf32>
    %38 = coil.add %25, %37 : tensor<?x?x16xf32>
    %39 = coil.weight "model.layers.1.post_attention_layernorm.weight" : tensor<16xf32>
    %40 = coil.rms_norm %38, %39 {epsilon = 9.99999997E-7 : f32} : (tensor<?x?x16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    %41 = coil.weight "model.layers.1.mlp.gate_proj.weight" : tensor<32x16xf32>
    %42 = coil.linear %40, %41 : (tensor<?x?x16xf32>, tensor<32x16xf32>) -> tensor<?x?x32xf32>
    %43 = coil.weight "model.layers.1.mlp.up_proj.weight" : tensor<32x16xf32>
    %44 = coil.linear %40, %43 : (tensor<?x?x16xf32>, tensor<32x16xf32>) -> tensor<?x?x32xf32>
    %45 = coil.silu %42 : tensor<?x?x32xf32>
    %46 = coil.mul %45, %44 : tensor<?x?x32xf32>
    %47 = coil.weight "model.layers.1.mlp.down_proj.weight" : tensor<16x32xf32>
    %48 = coil.linear %46, %47 : (tensor<?x?x32xf32>, tensor<16x32xf32>) -> tensor<?x?x16xf32>
    %49 = coil.add %38, %48 : tensor<?x?x16xf32>
    %50 = coil.weight "model.norm.weight" : tensor<16xf32>
    %51 = coil.rms_norm %49, %50 {epsilon = 9.99999997E-7 : f32} : (tensor<?x?x16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    %52 = coil.weight "lm_head.weight" : tensor<32x16xf32>
    %53 = coil.linear %51, %52 : (tensor<?x?x16xf32>, tensor<32x16xf32>) -> tensor<?x?x32xf32>
    return %53, %k_cache_out, %v_cache_out, %k_cache_out_1, %v_cache_out_2 : tensor<?x?x32xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>
  }
  func.func @decode(%arg0: tensor<?x1xi32> {coil.input = "tokens"}, %arg1: tensor<?x1xi32> {coil.input = "positions"}, %arg2: tensor<?x2x?x4xf32> {coil.state = "k_cache.0"}, %arg3: tensor<?x2x?x4xf32> {coil.state = "v_cache.0"}, %arg4: tensor<?x2x?x4xf32> {coil.state = "k_cache.1"}, %arg5: tensor<?x2x?x4xf32> {coil.state = "v_cache.1"}) -> (tensor<?x1x32xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>) {
    %0 = coil.weight "model.embed_tokens.weight" : tensor<32x16xf32>
    %1 = coil.embed %0, %arg0 : (tensor<32x16xf32>, tensor<?x1xi32>) -> tensor<?x1x16xf32>
    %2 = coil.weight "model.layers.0.input_layernorm.weight" : tensor<16xf32>
    %3 = coil.rms_norm %1, %2 {epsilon = 9.99999997E-7 : f32} : (tensor<?x1x16xf32>, tensor<16xf32>) -> tensor<?x1x16xf32>
    %4 = coil.weight "model.layers.0.self_attn.q_proj.weight" : tensor<16x16xf32>
    %5 = coil.linear %3, %4 : (tensor<?x1x16xf32>, tensor<16x16xf32>) -> tensor<?x1x16xf32>
    %6 = coil.weight "model.layers.0.self_attn.k_proj.weight" : tensor<8x16xf32>
    %7 = coil.linear %3, %6 : (tensor<?x1x16xf32>, tensor<8x16xf32>) -> tensor<?x1x8xf32>
    %8 = coil.weight "model.layers.0.self_attn.v_proj.weight" : tensor<8x16xf32>
    %9 = coil.linear %3, %8 : (tensor<?x1x16xf32>, tensor<8x16xf32>) -> tensor<?x1x8xf32>
    %10 = coil.rope %5, %arg1 {num_heads = 4 : i64} : (tensor<?x1x16xf32>, tensor<?x1xi32>) -> tensor<?x1x16xf32>
    %11 = coil.rope %7, %arg1 {num_heads = 2 : i64} : (tensor<?x1x8xf32>, tensor<?x1xi32>) -> tensor<?x1x8xf32>
    %result, %k_cache_out, %v_cache_out = coil.attention %10, %11, %9, %arg2, %arg3, %arg1 {num_heads = 4 : i64, num_kv_heads = 2 : i64} : (tensor<?x1x16xf32>, tensor<?x1x8xf32>, tensor<?x1x8xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x1xi32>) -> (tensor<?x1x16xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>)
    %12 = coil.weight "model.layers.0.self_attn.o_proj.weight" : tensor<16x16xf32>
    %13 = coil.linear %result, %12 : (tensor<?x1x16xf32>, tensor<16x16xf32>) -> tensor<?x1x16xf32>
    %14 = coil.add %1, %13 : tensor<?x1x16xf32>
    %15 = coil.weight "model.layers.0.post_attention_layernorm.weight" : tensor<16xf32>
    %16 = coil.rms_norm %14, %15 {epsilon = 9.99999997E-7 : f32} : (tensor<?x1x16xf32>, tensor<16xf32>) -> tensor<?x1x16xf32>
    %17 = coil.weight "model.layers.0.mlp.gate_proj.weight" : tensor<32x16xf32>
    %18 = coil.linear %16, %17 : (tensor<?x1x16xf32>, tensor<32x16xf32>) -> tensor<?x1x32xf32>
    %19 = coil.weight "model.layers.0.mlp.up_proj.weight" : tensor<32x16xf32>
    %20 = coil.linear %16, %19 : (tensor<?x1x16xf32>, tensor<32x16xf32>) -> tensor<?x1x32xf32>
    %21 = coil.silu %18 : tensor<?x1x32xf32>
    %22 = coil.mul %21, %20 : tensor<?x1x32xf32>
    %23 = coil.weight "model.layers.0.mlp.down_proj.weight" : tensor<16x32xf32>
    %24 = coil.linear %22, %23 : (tensor<?x1x32xf32>, tensor<16x32xf32>) -> tensor<?x1x16xf32>
    %25 = coil.add %14, %24 : tensor<?x1x16xf32>
    %26 = coil.weight "model.layers.1.input_layernorm.weight" : tensor<16xf32>
    %27 = coil.rms_norm %25, %26 {epsilon = 9.99999997E-7 : f32} : (tensor<?x1x16xf32>, tensor<16xf32>) -> tensor<?x1x16xf32>
    %28 = coil.weight "model.layers.1.self_attn.q_proj.weight" : tensor<16x16xf32>
    %29 = coil.linear %27, %28 : (tensor<?x1x16xf32>, tensor<16x16xf32>) -> tensor<?x1x16xf32>
    %30 = coil.weight "model.layers.1.self_attn.k_proj.weight" : tensor<8x16xf32>
    %31 = coil.linear %27, %30 : (tensor<?x1x16xf32>, tensor<8x16xf32>) -> tensor<?x1x8xf32>
    %32 = coil.weight "model.layers.1.self_attn.v_proj.weight" : tensor<8x16xf32>
    %33 = coil.linear %27, %32 : (tensor<?x1x16xf32>, tensor<8x16xf32>) -> tensor<?x1x8xf32>
    %34 = coil.rope %29, %arg1 {num_heads = 4 : i64} : (tensor<?x1x16xf32>, tensor<?x1xi32>) -> tensor<?x1x16xf32>
    %35 = coil.rope %31, %arg1 {num_heads = 2 : i64} : (tensor<?x1x8xf32>, tensor<?x1xi32>) -> tensor<?x1x8xf32>
    %result_0, %k_cache_out_1, %v_cache_out_2 = coil.attention %34, %35, %33, %arg4, %arg5, %arg1 {num_heads = 4 : i64, num_kv_heads = 2 : i64} : (tensor<?x1x16xf32>, tensor<?x1x8xf32>, tensor<?x1x8xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x1xi32>) -> (tensor<?x1x16xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>)
    %36 = coil.weight "model.layers.1.self_attn.o_proj.weight" : tensor<16x16xf32>
    %37 = coil.linear %result_0, %36 : (tensor<?x1x16xf32>, tensor<16x16xf32>) -> tensor<?x1x16xf32>
    %38 = coil.add %25, %37 : tensor<?x1x16xf32>
    %39 = coil.weight "model.layers.1.post_attention_layernorm.weight" : tensor<16xf32>
    %40 = coil.rms_norm %38, %39 {epsilon = 9.99999997E-7 : f32} : (tensor<?x1x16xf32>, tensor<16xf32>) -> tensor<?x1x16xf32>
    %41 = coil.weight "model.layers.1.mlp.gate_proj.weight" : tensor<32x16xf32>
    %42 = coil.linear %40, %41 : (tensor<?x1x16xf32>, tensor<32x16xf32>) -> tensor<?x1x32xf32>
    %43 = coil.weight "model.layers.1.mlp.up_proj.weight" : tensor<32x16xf32>
    %44 = coil.linear %40, %43 : (tensor<?x1x16xf32>, tensor<32x16xf32>) -> tensor<?x1x32xf32>
    %45 = coil.silu %42 : tensor<?x1x32xf32>
    %46 = coil.mul %45, %44 : tensor<?x1x32xf32>
    %47 = coil.weight "model.layers.1.mlp.down_proj.weight" : tensor<16x32xf32>
    %48 = coil.linear %46, %47 : (tensor<?x1x32xf32>, tensor<16x32xf32>) -> tensor<?x1x16xf32>
    %49 = coil.add %38, %48 : tensor<?x1x16xf32>
    %50 = coil.weight "model.norm.weight" : tensor<16xf32>
    %51 = coil.rms_norm %49, %50 {epsilon = 9.99999997E-7 : f32} : (tensor<?x1x16xf32>, tensor<16xf32>) -> tensor<?x1x16xf32>
    %52 = coil.weight "lm_head.weight" : tensor<32x16xf32>
    %53 = coil.linear %51, %52 : (tensor<?x1x16xf32>, tensor<32x16xf32>) -> tensor<?x1x32xf32>
    return %53, %k_cache_out, %v_cache_out, %k_cache_out_1, %v_cache_out_2 : tensor<?x1x32xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>
  }
}
