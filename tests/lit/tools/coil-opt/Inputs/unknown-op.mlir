func.func @unknown_op(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = coil.nonexistent %x : tensor<4xf32>
  return %y : tensor<4xf32>
}
