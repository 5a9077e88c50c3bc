//===- DataMovement.cpp - Lower embed, slice, split, reshape ----*- C++ -*-===//

#include "compiler/Conversion/CoilToLoops/LoopBuilder.h"
#include "compiler/Conversion/CoilToLoops/OpLowerings.h"

#include "dialects/Coil/IR/CoilOps.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::coil;

namespace {

/// Row m of the output is row ids[m] of the table (widened to f32 when it
/// is stored narrower, times its scale when int8); tiles split the rows.
LogicalResult lowerEmbed(LoopBuilder &lb, ArrayRef<Value> in,
                         ArrayRef<Value> out) {
  Value table = in[0], ids = lb.flatten(in[1]), dst = lb.rows(out[0]);
  // An int8 table's rows are scaled by their scale.
  Value scale = in.size() > 2 ? in[2] : Value();
  int64_t width = lb.staticDim(table, 1);
  auto [lo, hi] = lb.share(lb.dim(ids, 0));
  lb.loop(lo, hi, 1, [&](Value m) {
    Value id = lb.b.create<arith::IndexCastOp>(lb.loc, lb.b.getIndexType(),
                                               lb.load(ids, m));
    Value rowScale = scale ? lb.load(scale, id) : Value();
    lb.loop(lb.idx(0), lb.idx(width), 1, [&](Value d) {
      Value v = lb.widenToF32(lb.load(table, {id, d}));
      lb.store(rowScale ? lb.mul(v, rowScale) : v, dst, {m, d});
    });
  });
  return success();
}

} // namespace

LogicalResult mlir::coil::lowerDataMovement(LoopBuilder &lb, Operation *op,
                                            ArrayRef<Value> in,
                                            ArrayRef<Value> out) {
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](EmbedOp) { return lowerEmbed(lb, in, out); })
      .Case([&](SliceOp o) {
        Value offset = lb.idx(o.getOffset());
        if (o.getFromEnd())
          offset = lb.subi(lb.dim(in[0], o.getDim()),
                           lb.idx(o.getOffset() + o.getSize()));
        lb.copyAlong(in[0], out[0], o.getDim(), offset);
        return success();
      })
      .Case([&](SplitOp o) {
        int64_t offset = 0;
        for (auto [dst, size] : llvm::zip(out, o.getSizes())) {
          lb.copyAlong(in[0], dst, o.getDim(), offset);
          offset += size;
        }
        return success();
      })
      .Case([&](ReshapeOp) {
        lb.copyAll(in[0], out[0]);
        return success();
      });
}
