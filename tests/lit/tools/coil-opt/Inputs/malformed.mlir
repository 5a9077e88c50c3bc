func.func @malformed(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = coil.silu %x tensor<4xf32>
  return %y : tensor<4xf32>
}
