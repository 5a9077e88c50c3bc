//===- Chart.h - SVG line charts for coil-bench -----------------*- C++ -*-===//
//
// A dependency-free writer of SVG line charts: one polyline with markers per
// series, optional error bars, linear or logarithmic axes with readable tick
// values, grid lines, a legend and a title. The output is a standalone SVG
// document that browsers and image viewers open directly.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_TOOLS_COIL_BENCH_SUPPORT_CHART_H
#define COIL_TOOLS_COIL_BENCH_SUPPORT_CHART_H

#include <string>
#include <vector>

namespace coil::bench {

/// One line of a chart: the points (x[i], y[i]) joined in order.
struct Series {
  /// The legend entry (any text; it is escaped).
  std::string name;
  /// The coordinates; a point takes the first min(x.size(), y.size()) pairs.
  std::vector<double> x, y;
  /// Optional spread drawn as an error bar from yLow[i] to yHigh[i] at each
  /// point. Either both have the length of y or they are ignored.
  std::vector<double> yLow, yHigh;
};

/// Labels, scales and size of a chart.
struct ChartOptions {
  std::string title, xLabel, yLabel;
  /// Logarithmic axes; values that are not positive are left out on them.
  bool logX = false, logY = false;
  /// The size of the SVG document in pixels.
  int width = 720, height = 440;
};

/// Renders `series` as a standalone SVG document: axes with rounded tick
/// values (on logarithmic axes at powers of ten, with 2 and 5 subdivisions),
/// grid lines, a legend, a marker at each point, error bars from yLow/yHigh,
/// and colour-blind-friendly colours with a distinct marker shape per series.
/// Points with a NaN or infinite coordinate, and non-positive values on a
/// logarithmic axis, are skipped and break the line. Empty input still gives
/// a valid chart (axes and a "no data" note).
std::string renderLineChart(const std::vector<Series> &series,
                            const ChartOptions &options);

/// Escapes `text` for use in XML character data and quoted attribute values.
/// Bytes that are not valid UTF-8 and control characters that XML 1.0 does
/// not allow become U+FFFD.
std::string escapeXml(const std::string &text);

} // namespace coil::bench

#endif // COIL_TOOLS_COIL_BENCH_SUPPORT_CHART_H
