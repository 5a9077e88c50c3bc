// RUN: coil-opt %s --convert-coil-to-loops --verify-diagnostics

// Without --coil-expose-kernel-temporaries an internal value has no buffer
// the threads could share.
func.func private @linear_silu(%x: tensor<?x8xf32>, %w: tensor<4x8xf32>) -> tensor<?x4xf32> attributes {coil.kernel} {
  // expected-error @+1 {{computes a value the kernel does not return; run --coil-expose-kernel-temporaries first}}
  %l = coil.linear %x, %w : (tensor<?x8xf32>, tensor<4x8xf32>) -> tensor<?x4xf32>
  %s = coil.silu %l : tensor<?x4xf32>
  return %s : tensor<?x4xf32>
}
