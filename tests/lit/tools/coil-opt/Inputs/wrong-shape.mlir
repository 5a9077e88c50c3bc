func.func @wrong_shape(%x: tensor<?x5xf32>, %w: tensor<6x4xf32>) -> tensor<?x6xf32> {
  %y = coil.linear %x, %w : (tensor<?x5xf32>, tensor<6x4xf32>) -> tensor<?x6xf32>
  return %y : tensor<?x6xf32>
}
