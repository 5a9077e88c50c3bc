//===- DataMovement.cpp - Lower embed, slice, split, reshape ----*- C++ -*-===//

#include "compiler/Conversion/CoilToLoops/LoopBuilder.h"
#include "compiler/Conversion/CoilToLoops/OpLowerings.h"

#include "dialects/Coil/IR/CoilOps.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::coil;

namespace {

LogicalResult lowerEmbedInt4(LoopBuilder &lb, ArrayRef<Value> in,
                             ArrayRef<Value> out) {
  Value table = in[0], ids = lb.flatten(in[1]), dst = lb.rows(out[0]);
  Value scale = in[2];
  int64_t bytes = lb.staticDim(table, 1);
  Type i8 = lb.b.getI8Type();
  auto constant = [&](int64_t v) {
    return lb.b.create<arith::ConstantOp>(lb.loc, lb.b.getIntegerAttr(i8, v));
  };
  auto [lo, hi] = lb.share(lb.dim(ids, 0));
  lb.loop(lo, hi, 1, [&](Value m) {
    Value id = lb.b.create<arith::IndexCastOp>(lb.loc, lb.b.getIndexType(),
                                               lb.load(ids, m));
    lb.loop(lb.idx(0), lb.idx(bytes), 1, [&](Value i) {
      Value byte = lb.load(table, {id, i});
      // Both nibbles are in the group of element 2i (groups are even).
      Value d = lb.muli(i, lb.idx(2));
      Value s = lb.load(
          scale, {id, lb.b.create<arith::DivUIOp>(lb.loc, d, lb.idx(32))});
      Value low = lb.b.create<arith::ShRSIOp>(
          lb.loc, lb.b.create<arith::ShLIOp>(lb.loc, byte, constant(4)),
          constant(4));
      Value high = lb.b.create<arith::ShRSIOp>(lb.loc, byte, constant(4));
      for (auto [value, at] :
           {std::pair{low, d}, std::pair{high, lb.addi(d, lb.idx(1))}})
        lb.store(lb.mul(lb.widenToF32(value), s), dst, {m, at});
    });
  });
  return success();
}

/// Row m of the output is row ids[m] of the table (widened to f32 when it
/// is stored narrower, times its scale when int8, times its group's scale
/// when int4, whose rows hold elements 2i and 2i + 1 in the low and high
/// nibble of byte i); tiles split the rows.
LogicalResult lowerEmbed(LoopBuilder &lb, EmbedOp op, ArrayRef<Value> in,
                         ArrayRef<Value> out) {
  if (cast<RankedTensorType>(op.getTable().getType())
          .getElementType()
          .isInteger(4))
    return lowerEmbedInt4(lb, in, out);
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
      .Case([&](EmbedOp o) { return lowerEmbed(lb, o, in, out); })
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
