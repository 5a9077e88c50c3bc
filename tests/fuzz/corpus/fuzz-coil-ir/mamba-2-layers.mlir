module attributes {coil.family = "mamba", coil.vocab_size = 32 : i64} {
  func.func @prefill(%arg0: tensor<?x?xi32> {coil.input = "tokens"}, %arg1: tensor<?x?xi32> {coil.input = "positions"}, %arg2: tensor<?x32x3xf32> {coil.state = "conv.0"}, %arg3: tensor<?x32x4xf32> {coil.state = "ssm.0"}, %arg4: tensor<?x32x3xf32> {coil.state = "conv.1"}, %arg5: tensor<?x32x4xf32> {coil.state = "ssm.1"}) -> (tensor<?x1x32xf32>, tensor<?x32x3xf32>, tensor<?x32x4xf32>, tensor<?x32x3xf32>, tensor<?x32x4xf32>) {
    %0 = coil.weight "backbone.embeddings.weight" : tensor<32x16xf32>
    %1 = coil.embed %0, %arg0 : (tensor<32x16xf32>, tensor<?x?xi32>) -> tensor<?x?x16xf32>
    %2 = coil.weight "backbone.layers.0.norm.weight" : tensor<16xf32>
    %3 = coil.rms_norm %1, %2 : (tensor<?x?x16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    %4 = coil.weight "backbone.layers.0.mixer.in_proj.weight" : tensor<64x16xf32>
    %5 = coil.linear %3, %4 : (tensor<?x?x16xf32>, tensor<64x16xf32>) -> tensor<?x?x64xf32>
    %6:2 = coil.split %5 {dim = 2 : i64, sizes = array<i64: 32, 32>} : tensor<?x?x64xf32> -> tensor<?x?x32xf32>, tensor<?x?x32xf32>
    %7 = coil.weight "backbone.layers.0.mixer.conv1d.weight" : tensor<32x1x4xf32>
    %8 = coil.reshape %7 : tensor<32x1x4xf32> -> tensor<32x4xf32>
    %9 = coil.weight "backbone.layers.0.mixer.conv1d.bias" : tensor<32xf32>
    %result, %state_out = coil.conv1d_causal %6#0, %8 bias(%9) state(%arg2) : (tensor<?x?x32xf32>, tensor<32x4xf32>, tensor<32xf32>, tensor<?x32x3xf32>) -> (tensor<?x?x32xf32>, tensor<?x32x3xf32>)
    %10 = coil.silu %result : tensor<?x?x32xf32>
    %11 = coil.weight "backbone.layers.0.mixer.x_proj.weight" : tensor<9x32xf32>
    %12 = coil.linear %10, %11 : (tensor<?x?x32xf32>, tensor<9x32xf32>) -> tensor<?x?x9xf32>
    %13:3 = coil.split %12 {dim = 2 : i64, sizes = array<i64: 1, 4, 4>} : tensor<?x?x9xf32> -> tensor<?x?x1xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>
    %14 = coil.weight "backbone.layers.0.mixer.dt_proj.weight" : tensor<32x1xf32>
    %15 = coil.weight "backbone.layers.0.mixer.dt_proj.bias" : tensor<32xf32>
    %16 = coil.linear %13#0, %14, %15 : (tensor<?x?x1xf32>, tensor<32x1xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
    %17 = coil.weight "backbone.layers.0.mixer.A_log" : tensor<32x4xf32>
    %18 = coil.exp %17 : tensor<32x4xf32>
    %19 = coil.neg %18 : tensor<32x4xf32>
    %20 = coil.weight "backbone.layers.0.mixer.D" : tensor<32xf32>
    %result_0, %state_out_1 = coil.scan %10, %16, %19, %13#1, %13#2, %20 gate(%6#1) state(%arg3) {delta_softplus} : (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<32x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<32xf32>, tensor<?x?x32xf32>, tensor<?x32x4xf32>) -> (tensor<?x?x32xf32>, tensor<?x32x4xf32>)
    %21 = coil.weight "backbone.layers.0.mixer.out_proj.weight" : tensor<16x32xf32>
    %22 = coil.linear %result_0, %21 : (tensor<?x?x32xf32>, tensor<16x32xf32>) -> tensor<?x?x16xf32>
    %23 = coil.add %1, %22 : tensor<?x?x16xf32>
    %24 = coil.weight "backbone.layers.1.norm.weight" : tensor<16xf32>
    %25 = coil.rms_norm %23, %24 : (tensor<?x?x16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    %26 = coil.weight "backbone.layers.1.mixer.in_proj.weight" : tensor<64x16xf32>
    %27 = coil.linear %25, %26 : (tensor<?x?x16xf32>, tensor<64x16xf32>) -> tensor<?x?x64xf32>
    %28:2 = coil.split %27 {dim = 2 : i64, sizes = array<i64: 32, 32>} : tensor<?x?x64xf32> -> tensor<?x?x32xf32>, tensor<?x?x32xf32>
    %29 = coil.weight "backbone.layers.1.mixer.conv1d.weight" : tensor<32x1x4xf32>
    %30 = coil.reshape %29 : tensor<32x1x4xf32> -> tensor<32x4xf32>
    %31 = coil.weight "backbone.layers.1.mixer.conv1d.bias" : tensor<32xf32>
    %result_2, %state_out_3 = coil.conv1d_causal %28#0, %30 bias(%31) state(%arg4) : (tensor<?x?x32xf32>, tensor<32x4xf32>, tensor<32xf32>, tensor<?x32x3xf32>) -> (tensor<?x?x32xf32>, tensor<?x32x3xf32>)
    %32 = coil.silu %result_2 : tensor<?x?x32xf32>
    %33 = coil.weight "backbone.layers.1.mixer.x_proj.weight" : tensor<9x32xf32>
    %34 = coil.linear %32, %33 : (tensor<?x?x32xf32>, tensor<9x32xf32>) -> tensor<?x?x9xf32>
    %35:3 = coil.split %34 {dim = 2 : i64, sizes = array<i64: 1, 4, 4>} : tensor<?x?x9xf32> -> tensor<?x?x1xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>
    %36 = coil.weight "backbone.layers.1.mixer.dt_proj.weight" : tensor<32x1xf32>
    %37 = coil.weight "backbone.layers.1.mixer.dt_proj.bias" : tensor<32xf32>
    %38 = coil.linear %35#0, %36, %37 : (tensor<?x?x1xf32>, tensor<32x1xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
    %39 = coil.weight "backbone.layers.1.mixer.A_log" : tensor<32x4xf32>
    %40 = coil.exp %39 : tensor<32x4xf32>
    %41 = coil.neg %40 : tensor<32x4xf32>
    %42 = coil.weight "backbone.layers.1.mixer.D" : tensor<32xf32>
    %result_4, %state_out_5 = coil.scan %32, %38, %41, %35#1, %35#2, %42 gate(%28#1) state(%arg5) {delta_softplus} : (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<32x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<32xf32>, tensor<?x?x32xf32>, tensor<?x32x4xf32>) -> (tensor<?x?x32xf32>, tensor<?x32x4xf32>)
    %43 = coil.weight "backbone.layers.1.mixer.out_proj.weight" : tensor<16x32xf32>
    %44 = coil.linear %result_4, %43 : (tensor<?x?x32xf32>, tensor<16x32xf32>) -> tensor<?x?x16xf32>
    %45 = coil.add %23, %44 : tensor<?x?x16xf32>
    %46 = coil.slice %45 {dim = 1 : i64, from_end, offset = 0 : i64, size = 1 : i64} : tensor<?x?x16xf32> -> tensor<?x1x16xf32>
    %47 = coil.weight "backbone.norm_f.weight" : tensor<16xf32>
    %48 = coil.rms_norm %46, %47 : (tensor<?x1x16xf32>, tensor<16xf32>) -> tensor<?x1x16xf32>
    %49 = coil.linear %48, %0 : (tensor<?x1x16xf32>, tensor<32x16xf32>) -> tensor<?x1x32xf32>
    return %49, %state_out, %state_out_1, %state_out_3, %state_out_5 : tensor<?x1x32xf32>, tensor<?x32x3xf32>, tensor<?x32x4xf32>, tensor<?x32x3xf32>, tensor<?x32x4xf32>
  }
  func.func @prefill_all(%arg0: tensor<?x?xi32> {coil.input = "tokens"}, %arg1: tensor<?x?xi32> {coil.input = "positions"}, %arg2: tensor<?x32x3xf32> {coil.state = "conv.0"}, %arg3: tensor<?x32x4xf32> {coil.state = "ssm.0"}, %arg4: tensor<?x32x3xf32> {coil.state = "conv.1"}, %arg5: tensor<?x32x4xf32> {coil.state = "ssm.1"}) -> (tensor<?x?x32xf32>, tensor<?x32x3xf32>, tensor<?x32x4xf32>, tensor<?x32x3xf32>, tensor<?x32x4xf32>) {
    %0 = coil.weight "backbone.embeddings.weight" : tensor<32x16xf32>
    %1 = coil.embed %0, %arg0 : (tensor<32x16xf32>, tensor<?x?xi32>) -> tensor<?x?x16xf32>
    %2 = coil.weight "backbone.layers.0.norm.weight" : tensor<16xf32>
    %3 = coil.rms_norm %1, %2 : (tensor<?x?x16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    %4 = coil.weight "backbone.layers.0.mixer.in_proj.weight" : tensor<64x16xf32>
    %5 = coil.linear %3, %4 : (tensor<?x?x16xf32>, tensor<64x16xf32>) -> tensor<?x?x64xf32>
    %6:2 = coil.split %5 {dim = 2 : i64, sizes = array<i64: 32, 32>} : tensor<?x?x64xf32> -> tensor<?x?x32xf32>, tensor<?x?x32xf32>
    %7 = coil.weight "backbone.layers.0.mixer.conv1d.weight" : tensor<32x1x4xf32>
    %8 = coil.reshape %7 : tensor<32x1x4xf32> -> tensor<32x4xf32>
    %9 = coil.weight "backbone.layers.0.mixer.conv1d.bias" : tensor<32xf32>
    %result, %state_out = coil.conv1d_causal %6#0, %8 bias(%9) state(%arg2) : (tensor<?x?x32xf32>, tensor<32x4xf32>, tensor<32xf32>, tensor<?x32x3xf32>) -> (tensor<?x?x32xf32>, tensor<?x32x3xf32>)
    %10 = coil.silu %result : tensor<?x?x32xf32>
    %11 = coil.weight "backbone.layers.0.mixer.x_proj.weight" : tensor<9x32xf32>
    %12 = coil.linear %10, %11 : (tensor<?x?x32xf32>, tensor<9x32xf32>) -> tensor<?x?x9xf32>
    %13:3 = coil.split %12 {dim = 2 : i64, sizes = array<i64: 1, 4, 4>} : tensor<?x?x9xf32> -> tensor<?x?x1xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>
    %14 = coil.weight "backbone.layers.0.mixer.dt_proj.weight" : tensor<32x1xf32>
    %15 = coil.weight "backbone.layers.0.mixer.dt_proj.bias" : tensor<32xf32>
    %16 = coil.linear %13#0, %14, %15 : (tensor<?x?x1xf32>, tensor<32x1xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
    %17 = coil.weight "backbone.layers.0.mixer.A_log" : tensor<32x4xf32>
    %18 = coil.exp %17 : tensor<32x4xf32>
    %19 = coil.neg %18 : tensor<32x4xf32>
    %20 = coil.weight "backbone.layers.0.mixer.D" : tensor<32xf32>
    %result_0, %state_out_1 = coil.scan %10, %16, %19, %13#1, %13#2, %20 gate(%6#1) state(%arg3) {delta_softplus} : (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<32x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<32xf32>, tensor<?x?x32xf32>, tensor<?x32x4xf32>) -> (tensor<?x?x32xf32>, tensor<?x32x4xf32>)
    %21 = coil.weight "backbone.layers.0.mixer.out_proj.weight" : tensor<16x32xf32>
    %22 = coil.linear %result_0, %21 : (tensor<?x?x32xf32>, tensor<16x32xf32>) -> tensor<?x?x16xf32>
    %23 = coil.add %1, %22 : tensor<?x?x16xf32>
    %24 = coil.weight "backbone.layers.1.norm.weight" : tensor<16xf32>
    %25 = coil.rms_norm %23, %24 : (tensor<?x?x16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    %26 = coil.weight "backbone.layers.1.mixer.in_proj.weight" : tensor<64x16xf32>
    %27 = coil.linear %25, %26 : (tensor<?x?x16xf32>, tensor<64x16xf32>) -> tensor<?x?x64xf32>
    %28:2 = coil.split %27 {dim = 2 : i64, sizes = array<i64: 32, 32>} : tensor<?x?x64xf32> -> tensor<?x?x32xf32>, tensor<?x?x32xf32>
    %29 = coil.weight "backbone.layers.1.mixer.conv1d.weight" : tensor<32x1x4xf32>
    %30 = coil.reshape %29 : tensor<32x1x4xf32> -> tensor<32x4xf32>
    %31 = coil.weight "backbone.layers.1.mixer.conv1d.bias" : tensor<32xf32>
    %result_2, %state_out_3 = coil.conv1d_causal %28#0, %30 bias(%31) state(%arg4) : (tensor<?x?x32xf32>, tensor<32x4xf32>, tensor<32xf32>, tensor<?x32x3xf32>) -> (tensor<?x?x32xf32>, tensor<?x32x3xf32>)
    %32 = coil.silu %result_2 : tensor<?x?x32xf32>
    %33 = coil.weight "backbone.layers.1.mixer.x_proj.weight" : tensor<9x32xf32>
    %34 = coil.linear %32, %33 : (tensor<?x?x32xf32>, tensor<9x32xf32>) -> tensor<?x?x9xf32>
    %35:3 = coil.split %34 {dim = 2 : i64, sizes = array<i64: 1, 4, 4>} : tensor<?x?x9xf32> -> tensor<?x?x1xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>
    %36 = coil.weight "backbone.layers.1.mixer.dt_proj.weight" : tensor<32x1xf32>
    %37 = coil.weight "backbone.layers.1.mixer.dt_proj.bias" : tensor<32xf32>
    %38 = coil.linear %35#0, %36, %37 : (tensor<?x?x1xf32>, tensor<32x1xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
    %39 = coil.weight "backbone.layers.1.mixer.A_log" : tensor<32x4xf32>
    %40 = coil.exp %39 : tensor<32x4xf32>
    %41 = coil.neg %40 : tensor<32x4xf32>
    %42 = coil.weight "backbone.layers.1.mixer.D" : tensor<32xf32>
    %result_4, %state_out_5 = coil.scan %32, %38, %41, %35#1, %35#2, %42 gate(%28#1) state(%arg5) {delta_softplus} : (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<32x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<32xf32>, tensor<?x?x32xf32>, tensor<?x32x4xf32>) -> (tensor<?x?x32xf32>, tensor<?x32x4xf32>)
    %43 = coil.weight "backbone.layers.1.mixer.out_proj.weight" : tensor<16x32xf32>
    %44 = coil.linear %result_4, %43 : (tensor<?x?x32xf32>, tensor<16x32xf32>) -> tensor<?x?x16xf32>
    %45 = coil.add %23, %44 : tensor<?x?x16xf32>
    %46 = coil.weight "backbone.norm_f.weight" : tensor<16xf32>
    %47 = coil.rms_norm %45, %46 : (tensor<?x?x16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    %48 = coil.linear %47, %0 : (tensor<?x?x16xf32>, tensor<32x16xf32>) -> tensor<?x?x32xf32>
    return %48, %state_out, %state_out_1, %state_out_3, %state_out_5 : tensor<?x?x32xf32>, tensor<?x32x3xf32>, tensor<?x32x4xf32>, tensor<?x32x3xf32>, tensor<?x32x4xf32>
  }
  func.func @decode(%arg0: tensor<?x1xi32> {coil.input = "tokens"}, %arg1: tensor<?x1xi32> {coil.input = "positions"}, %arg2: tensor<?x32x3xf32> {coil.state = "conv.0"}, %arg3: tensor<?x32x4xf32> {coil.state = "ssm.0"}, %arg4: tensor<?x32x3xf32> {coil.state = "conv.1"}, %arg5: tensor<?x32x4xf32> {coil.state = "ssm.1"}) -> (tensor<?x1x32xf32>, tensor<?x32x3xf32>, tensor<?x32x4xf32>, tensor<?x32x3xf32>, tensor<?x32x4xf32>) {
    %0 = coil.weight "backbone.embeddings.weight" : tensor<32x16xf32>
    %1 = coil.embed %0, %arg0 : (tensor<32x16xf32>, tensor<?x1xi32>) -> tensor<?x1x16xf32>
    %2 = coil.weight "backbone.layers.0.norm.weight" : tensor<16xf32>
    %3 = coil.rms_norm %1, %2 : (tensor<?x1x16xf32>, tensor<16xf32>) -> tensor<?x1x16xf32>
    %4 = coil.weight "backbone.layers.0.mixer.in_proj.weight" : tensor<64x16xf32>
    %5 = coil.linear %3, %4 : (tensor<?x1x16xf32>, tensor<64x16xf32>) -> tensor<?x1x64xf32>
    %6:2 = coil.split %5 {dim = 2 : i64, sizes = array<i64: 32, 32>} : tensor<?x1x64xf32> -> tensor<?x1x32xf32>, tensor<?x1x32xf32>
    %7 = coil.weight "backbone.layers.0.mixer.conv1d.weight" : tensor<32x1x4xf32>
    %8 = coil.reshape %7 : tensor<32x1x4xf32> -> tensor<32x4xf32>
    %9 = coil.weight "backbone.layers.0.mixer.conv1d.bias" : tensor<32xf32>
    %result, %state_out = coil.conv1d_causal %6#0, %8 bias(%9) state(%arg2) : (tensor<?x1x32xf32>, tensor<32x4xf32>, tensor<32xf32>, tensor<?x32x3xf32>) -> (tensor<?x1x32xf32>, tensor<?x32x3xf32>)
    %10 = coil.silu %result : tensor<?x1x32xf32>
    %11 = coil.weight "backbone.layers.0.mixer.x_proj.weight" : tensor<9x32xf32>
    %12 = coil.linear %10, %11 : (tensor<?x1x32xf32>, tensor<9x32xf32>) -> tensor<?x1x9xf32>
    %13:3 = coil.split %12 {dim = 2 : i64, sizes = array<i64: 1, 4, 4>} : tensor<?x1x9xf32> -> tensor<?x1x1xf32>, tensor<?x1x4xf32>, tensor<?x1x4xf32>
    %14 = coil.weight "backbone.layers.0.mixer.dt_proj.weight" : tensor<32x1xf32>
    %15 = coil.weight "backbone.layers.0.mixer.dt_proj.bias" : tensor<32xf32>
    %16 = coil.linear %13#0, %14, %15 : (tensor<?x1x1xf32>, tensor<32x1xf32>, tensor<32xf32>) -> tensor<?x1x32xf32>
    %17 = coil.weight "backbone.layers.0.mixer.A_log" : tensor<32x4xf32>
    %18 = coil.exp %17 : tensor<32x4xf32>
    %19 = coil.neg %18 : tensor<32x4xf32>
    %20 = coil.weight "backbone.layers.0.mixer.D" : tensor<32xf32>
    %result_0, %state_out_1 = coil.scan %10, %16, %19, %13#1, %13#2, %20 gate(%6#1) state(%arg3) {delta_softplus} : (tensor<?x1x32xf32>, tensor<?x1x32xf32>, tensor<32x4xf32>, tensor<?x1x4xf32>, tensor<?x1x4xf32>, tensor<32xf32>, tensor<?x1x32xf32>, tensor<?x32x4xf32>) -> (tensor<?x1x32xf32>, tensor<?x32x4xf32>)
    %21 = coil.weight "backbone.layers.0.mixer.out_proj.weight" : tensor<16x32xf32>
    %22 = coil.linear %result_0, %21 : (tensor<?x1x32xf32>, tensor<16x32xf32>) -> tensor<?x1x16xf32>
    %23 = coil.add %1, %22 : tensor<?x1x16xf32>
    %24 = coil.weight "backbone.layers.1.norm.weight" : tensor<16xf32>
    %25 = coil.rms_norm %23, %24 : (tensor<?x1x16xf32>, tensor<16xf32>) -> tensor<?x1x16xf32>
    %26 = coil.weight "backbone.layers.1.mixer.in_proj.weight" : tensor<64x16xf32>
    %27 = coil.linear %25, %26 : (tensor<?x1x16xf32>, tensor<64x16xf32>) -> tensor<?x1x64xf32>
    %28:2 = coil.split %27 {dim = 2 : i64, sizes = array<i64: 32, 32>} : tensor<?x1x64xf32> -> tensor<?x1x32xf32>, tensor<?x1x32xf32>
    %29 = coil.weight "backbone.layers.1.mixer.conv1d.weight" : tensor<32x1x4xf32>
    %30 = coil.reshape %29 : tensor<32x1x4xf32> -> tensor<32x4xf32>
    %31 = coil.weight "backbone.layers.1.mixer.conv1d.bias" : tensor<32xf32>
    %result_2, %state_out_3 = coil.conv1d_causal %28#0, %30 bias(%31) state(%arg4) : (tensor<?x1x32xf32>, tensor<32x4xf32>, tensor<32xf32>, tensor<?x32x3xf32>) -> (tensor<?x1x32xf32>, tensor<?x32x3xf32>)
    %32 = coil.silu %result_2 : tensor<?x1x32xf32>
    %33 = coil.weight "backbone.layers.1.mixer.x_proj.weight" : tensor<9x32xf32>
    %34 = coil.linear %32, %33 : (tensor<?x1x32xf32>, tensor<9x32xf32>) -> tensor<?x1x9xf32>
    %35:3 = coil.split %34 {dim = 2 : i64, sizes = array<i64: 1, 4, 4>} : tensor<?x1x9xf32> -> tensor<?x1x1xf32>, tensor<?x1x4xf32>, tensor<?x1x4xf32>
    %36 = coil.weight "backbone.layers.1.mixer.dt_proj.weight" : tensor<32x1xf32>
    %37 = coil.weight "backbone.layers.1.mixer.dt_proj.bias" : tensor<32xf32>
    %38 = coil.linear %35#0, %36, %37 : (tensor<?x1x1xf32>, tensor<32x1xf32>, tensor<32xf32>) -> tensor<?x1x32xf32>
    %39 = coil.weight "backbone.layers.1.mixer.A_log" : tensor<32x4xf32>
    %40 = coil.exp %39 : tensor<32x4xf32>
    %41 = coil.neg %40 : tensor<32x4xf32>
    %42 = coil.weight "backbone.layers.1.mixer.D" : tensor<32xf32>
    %result_4, %state_out_5 = coil.scan %32, %38, %41, %35#1, %35#2, %42 gate(%28#1) state(%arg5) {delta_softplus} : (tensor<?x1x32xf32>, tensor<?x1x32xf32>, tensor<32x4xf32>, tensor<?x1x4xf32>, tensor<?x1x4xf32>, tensor<32xf32>, tensor<?x1x32xf32>, tensor<?x32x4xf32>) -> (tensor<?x1x32xf32>, tensor<?x32x4xf32>)
    %43 = coil.weight "backbone.layers.1.mixer.out_proj.weight" : tensor<16x32xf32>
    %44 = coil.linear %result_4, %43 : (tensor<?x1x32xf32>, tensor<16x32xf32>) -> tensor<?x1x16xf32>
    %45 = coil.add %23, %44 : tensor<?x1x16xf32>
    %46 = coil.weight "backbone.norm_f.weight" : tensor<16xf32>
    %47 = coil.rms_norm %45, %46 : (tensor<?x1x16xf32>, tensor<16xf32>) -> tensor<?x1x16xf32>
    %48 = coil.linear %47, %0 : (tensor<?x1x16xf32>, tensor<32x16xf32>) -> tensor<?x1x32xf32>
    return %48, %state_out, %state_out_1, %state_out_3, %state_out_5 : tensor<?x1x32xf32>, tensor<?x32x3xf32>, tensor<?x32x4xf32>, tensor<?x32x3xf32>, tensor<?x32x4xf32>
  }
}
