//===- Chart.cpp - SVG line charts for coil-bench ---------------*- C++ -*-===//
//
// Layout: the plot area sits inside margins sized from the title, the axis
// labels, the widest tick label and the legend (to the right of the plot).
// Each axis spans the valid data (error bars included) rounded outwards to
// tick values: multiples of a 1-2-5 step on linear axes, the 1-2-5 sequence
// per decade on logarithmic ones. Numbers are written with the classic "C"
// locale whatever the process locale is.
//
//===----------------------------------------------------------------------===//

#include "tools/coil-bench/support/Chart.h"

#include <algorithm>
#include <clocale>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <locale>
#include <sstream>

namespace coil::bench {

std::string escapeXml(const std::string &text) {
  static const char kReplacement[] = "\xEF\xBF\xBD"; // U+FFFD
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0, n = text.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\t':
      case '\n':
      case '\r':
        out += static_cast<char>(c);
        break;
      default:
        if (c < 0x20 || c == 0x7F)
          out += kReplacement;
        else
          out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    // A multi-byte UTF-8 sequence: checked for length, continuation bytes,
    // overlong forms, surrogates and the U+10FFFF limit.
    int length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    std::uint32_t codePoint = length == 4   ? c & 0x07u
                              : length == 3 ? c & 0x0Fu
                                            : c & 0x1Fu;
    bool valid = length != 0 && i + length <= n;
    for (int k = 1; valid && k < length; ++k) {
      unsigned char next = static_cast<unsigned char>(text[i + k]);
      valid = (next & 0xC0) == 0x80;
      codePoint = (codePoint << 6) | (next & 0x3Fu);
    }
    if (valid) {
      static const std::uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
      valid = codePoint >= kMinimum[length] && codePoint <= 0x10FFFF &&
              !(codePoint >= 0xD800 && codePoint <= 0xDFFF) &&
              codePoint != 0xFFFE && codePoint != 0xFFFF;
    }
    if (!valid) {
      out += kReplacement;
      ++i;
      continue;
    }
    out.append(text, i, length);
    i += length;
  }
  return out;
}

namespace {

/// The Okabe-Ito palette, distinguishable with the common colour vision
/// deficiencies; the yellow, weakest on white, comes last.
const char *const kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                "#E69F00", "#56B4E9", "#000000", "#F0E442"};
constexpr int kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);
/// Dash patterns that tell series apart once the palette wraps around.
const char *const kDashes[] = {"", "7 4", "2 3", "7 3 2 3"};
constexpr int kMarkerShapes = 4;

constexpr double kFontSize = 12;
constexpr double kTitleFontSize = 15;
/// Average advance of a character of the sans-serif font, in font sizes.
constexpr double kCharWidth = 0.62;

/// A number formatted with the classic locale.
std::string formatNumber(double value, const char *format, int precision) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), format, precision, value);
  std::string text = buffer;
  // snprintf follows LC_NUMERIC; SVG wants a dot.
  const char *point = std::localeconv()->decimal_point;
  if (point && point[0] && point[0] != '.' && !point[1])
    std::replace(text.begin(), text.end(), point[0], '.');
  return text;
}

/// A pixel coordinate: at most two decimals, no trailing zeros.
std::string px(double value) {
  std::string text = formatNumber(value, "%.*f", 2);
  if (text.find('.') != std::string::npos) {
    text.erase(text.find_last_not_of('0') + 1);
    if (text.back() == '.')
      text.pop_back();
  }
  if (text == "-0")
    text = "0";
  return text;
}

/// "1.5e+06" -> "1.5e6", "2e-05" -> "2e-5".
std::string tidyExponent(std::string text) {
  std::size_t e = text.find('e');
  if (e == std::string::npos)
    return text;
  std::string mantissa = text.substr(0, e);
  std::string exponent = text.substr(e + 1);
  bool negative = !exponent.empty() && exponent[0] == '-';
  if (!exponent.empty() && (exponent[0] == '-' || exponent[0] == '+'))
    exponent.erase(0, 1);
  exponent.erase(
      0, std::min(exponent.find_first_not_of('0'), exponent.size() - 1));
  return mantissa + "e" + (negative ? "-" : "") + exponent;
}

/// A short rendering of a data value for tooltips.
std::string shortNumber(double value) {
  return tidyExponent(formatNumber(value, "%.*g", 6));
}

/// Estimated rendered width of `text` in pixels (one advance per code point).
double textWidth(const std::string &text, double fontSize) {
  std::size_t codePoints = 0;
  for (char c : text)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80)
      ++codePoints;
  return static_cast<double>(codePoints) * fontSize * kCharWidth;
}

struct Tick {
  double value;
  /// Empty for an unlabelled grid line.
  std::string label;
  bool major;
};

/// One axis: its domain, its scale and its ticks.
struct Axis {
  bool log = false;
  double lo = 0, hi = 1;
  std::vector<Tick> ticks;

  /// Where `value` lies along the axis: 0 at lo, 1 at hi.
  double fraction(double value) const {
    double a = log ? std::log10(value) : value;
    double l = log ? std::log10(lo) : lo, h = log ? std::log10(hi) : hi;
    return h > l ? (a - l) / (h - l) : 0.5;
  }
};

/// The smallest number of the 1-2-5 sequence at or above `value` (> 0).
double niceStep(double value) {
  double decade = std::pow(10.0, std::floor(std::log10(value)));
  double mantissa = value / decade;
  for (double step : {1.0, 2.0, 5.0})
    if (mantissa <= step * (1 + 1e-9))
      return step * decade;
  return 10 * decade;
}

std::string linearLabel(double value, double step, double magnitude) {
  if (value == 0)
    return "0";
  if (magnitude >= 1e6 || magnitude < 1e-3) {
    int digits = static_cast<int>(std::ceil(std::log10(magnitude / step))) + 1;
    return tidyExponent(formatNumber(value, "%.*g", std::clamp(digits, 1, 15)));
  }
  int decimals =
      std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  return formatNumber(value, "%.*f", decimals);
}

/// A linear axis over [lo, hi] with about `target` ticks at multiples of a
/// 1-2-5 step; the domain is rounded out to whole steps.
Axis linearAxis(double lo, double hi, int target) {
  Axis axis;
  double magnitude = std::max(std::fabs(lo), std::fabs(hi));
  // Ranges too small to label at this magnitude are widened around the value.
  if (!(hi - lo > magnitude * 1e-9)) {
    double middle = lo / 2 + hi / 2;
    double pad = middle == 0 ? 1 : std::fabs(middle) * 0.1;
    lo = middle - pad;
    hi = middle + pad;
    magnitude = std::max(std::fabs(lo), std::fabs(hi));
  }
  double step = niceStep((hi / 2 - lo / 2) * 2 / std::max(target - 1, 1));
  if (!std::isfinite(step) || step <= 0) {
    axis.lo = lo;
    axis.hi = hi;
    axis.ticks = {{lo, shortNumber(lo), true}, {hi, shortNumber(hi), true}};
    return axis;
  }
  double first = std::floor(lo / step), last = std::ceil(hi / step);
  axis.lo = first * step;
  axis.hi = last * step;
  magnitude = std::max(std::fabs(axis.lo), std::fabs(axis.hi));
  for (double k = first; k <= last; ++k) {
    double value = k * step;
    if (std::fabs(value) < step * 1e-9)
      value = 0;
    axis.ticks.push_back({value, linearLabel(value, step, magnitude), true});
  }
  return axis;
}

/// The n-th number of the sequence ..., 0.5, 1, 2, 5, 10, 20, ... (n = 0 is 1).
double sequence125(int n) {
  static const double kMantissas[] = {1, 2, 5};
  int decade = n >= 0 ? n / 3 : -((-n + 2) / 3);
  return kMantissas[n - 3 * decade] * std::pow(10.0, decade);
}

/// The index of the largest 1-2-5 number at or below `value` (> 0).
int floor125(double value) {
  int n = 3 * static_cast<int>(std::floor(std::log10(value)));
  for (int i = 0; i < 4 && sequence125(n + 1) <= value * (1 + 1e-12); ++i)
    ++n;
  for (int i = 0; i < 4 && sequence125(n) > value * (1 + 1e-12); ++i)
    --n;
  return n;
}

std::string logLabel(int n) {
  int decade = n >= 0 ? n / 3 : -((-n + 2) / 3);
  static const int kMantissas[] = {1, 2, 5};
  int mantissa = kMantissas[n - 3 * decade];
  if (decade >= -3 && decade <= 5)
    return formatNumber(sequence125(n), "%.*f", std::max(0, -decade));
  return std::to_string(mantissa) + "e" + std::to_string(decade);
}

/// A logarithmic axis over [lo, hi] (both > 0) with ticks on the 1-2-5
/// sequence; powers of ten are major. Over more than three decades the domain
/// is whole decades and the 2 and 5 subdivisions are bare grid lines (none
/// beyond twelve decades); powers of ten are labelled, every few decades over
/// wide ranges. The 2 and 5 ticks are labelled only where neighbouring labels
/// are at least `labelSpacing` pixels apart on an axis `length` pixels long.
Axis logAxis(double lo, double hi, double length, double labelSpacing) {
  Axis axis;
  axis.log = true;
  int first = floor125(lo), last = floor125(hi);
  if (sequence125(last) < hi * (1 - 1e-12))
    ++last;
  if (first == last) {
    --first;
    ++last;
  }
  bool wide = last - first > 9;
  if (wide) {
    first -= ((first % 3) + 3) % 3;
    last += (3 - ((last % 3) + 3) % 3) % 3;
  }
  int decades = (last - first) / 3;
  int every = std::max(1, (decades + 7) / 8);
  double span = std::log10(sequence125(last) / sequence125(first));
  bool minorLabels =
      !wide && span > 0 && length / span * std::log10(2.0) >= labelSpacing;
  axis.lo = sequence125(first);
  axis.hi = sequence125(last);
  for (int n = first; n <= last; ++n) {
    bool major = ((n % 3) + 3) % 3 == 0;
    if (wide && !major && decades > 12)
      continue;
    bool labelled = major ? (n / 3) % every == 0 : minorLabels;
    axis.ticks.push_back(
        {sequence125(n), labelled ? logLabel(n) : std::string(), major});
  }
  // A domain inside one decade may hold no power of ten: label every tick.
  if (std::count_if(axis.ticks.begin(), axis.ticks.end(),
                    [](const Tick &t) { return !t.label.empty(); }) < 2)
    for (std::size_t i = 0; i < axis.ticks.size(); ++i)
      axis.ticks[i].label = logLabel(first + static_cast<int>(i));
  return axis;
}

/// A value that can be placed on an axis of the given scale.
bool placeable(double value, bool log) {
  return std::isfinite(value) && (!log || value > 0);
}

/// The smallest and largest placeable values seen.
struct Extent {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double value) {
    lo = std::min(lo, value);
    hi = std::max(hi, value);
  }
  bool empty() const { return lo > hi; }
};

bool hasSpread(const Series &series) {
  return series.yLow.size() == series.y.size() &&
         series.yHigh.size() == series.y.size() && !series.y.empty();
}

/// Appends a marker of the series' shape centred on (x, y).
void appendMarker(std::ostringstream &os, int shape, double x, double y,
                  const char *colour, const std::string &tooltip) {
  const double r = 3.5;
  std::string attributes = std::string(" fill=\"") + colour + "\"";
  switch (shape) {
  case 0:
    os << "<circle cx=\"" << px(x) << "\" cy=\"" << px(y) << "\" r=\"" << r
       << "\"" << attributes;
    break;
  case 1:
    os << "<rect x=\"" << px(x - r) << "\" y=\"" << px(y - r) << "\" width=\""
       << px(2 * r) << "\" height=\"" << px(2 * r) << "\"" << attributes;
    break;
  case 2: {
    double d = r * 1.35;
    os << "<path d=\"M" << px(x) << ',' << px(y - d) << 'L' << px(x + d) << ','
       << px(y) << 'L' << px(x) << ',' << px(y + d) << 'L' << px(x - d) << ','
       << px(y) << "Z\"" << attributes;
    break;
  }
  default: {
    double d = r * 1.3;
    os << "<path d=\"M" << px(x) << ',' << px(y - d) << 'L' << px(x + d) << ','
       << px(y + d * 0.8) << 'L' << px(x - d) << ',' << px(y + d * 0.8) << "Z\""
       << attributes;
    break;
  }
  }
  if (tooltip.empty()) {
    os << "/>\n";
    return;
  }
  const char *element = shape == 0 ? "circle" : shape == 1 ? "rect" : "path";
  os << "><title>" << escapeXml(tooltip) << "</title></" << element << ">\n";
}

} // namespace

std::string renderLineChart(const std::vector<Series> &series,
                            const ChartOptions &options) {
  const double width = std::max(options.width, 200);
  const double height = std::max(options.height, 150);
  const bool logX = options.logX, logY = options.logY;

  // The data extent over every placeable point and error bar end.
  Extent xExtent, yExtent;
  for (const Series &s : series) {
    std::size_t count = std::min(s.x.size(), s.y.size());
    bool spread = hasSpread(s);
    for (std::size_t i = 0; i < count; ++i) {
      if (!placeable(s.x[i], logX) || !placeable(s.y[i], logY))
        continue;
      xExtent.add(s.x[i]);
      yExtent.add(s.y[i]);
      if (spread && placeable(s.yLow[i], logY) && placeable(s.yHigh[i], logY)) {
        yExtent.add(s.yLow[i]);
        yExtent.add(s.yHigh[i]);
      }
    }
  }
  const bool noData = xExtent.empty();
  if (noData) {
    xExtent.add(logX ? 1 : 0);
    xExtent.add(logX ? 10 : 1);
    yExtent.add(logY ? 1 : 0);
    yExtent.add(logY ? 10 : 1);
  }

  // Legend entries and their width decide the right margin.
  std::vector<std::string> names;
  double legendWidth = 0;
  for (std::size_t i = 0; i < series.size(); ++i) {
    names.push_back(series[i].name.empty() ? "series " + std::to_string(i + 1)
                                           : series[i].name);
    legendWidth = std::max(legendWidth, textWidth(names.back(), kFontSize));
  }
  double legendSpace =
      series.empty() ? 0 : std::min(legendWidth + 62, width * 0.35);

  // The y axis comes first: its tick labels set the left margin.
  const double top = options.title.empty() ? 16 : 16 + kTitleFontSize * 1.6;
  const double bottom = 30 + (options.xLabel.empty() ? 0 : kFontSize * 1.8);
  const double plotHeight = std::max(height - top - bottom, 40.0);
  Axis yAxis = logY ? logAxis(yExtent.lo, yExtent.hi, plotHeight, 2 * kFontSize)
                    : linearAxis(yExtent.lo, yExtent.hi,
                                 std::clamp(int(plotHeight / 50), 3, 10));
  double yLabelWidth = 0;
  for (const Tick &tick : yAxis.ticks)
    yLabelWidth = std::max(yLabelWidth, textWidth(tick.label, kFontSize));
  const double left =
      14 + yLabelWidth + (options.yLabel.empty() ? 0 : kFontSize * 1.8);
  const double right = std::max(16.0, legendSpace);
  const double plotWidth = std::max(width - left - right, 40.0);
  Axis xAxis = logX ? logAxis(xExtent.lo, xExtent.hi, plotWidth, 56)
                    : linearAxis(xExtent.lo, xExtent.hi,
                                 std::clamp(int(plotWidth / 90), 3, 10));

  auto mapX = [&](double x) { return left + xAxis.fraction(x) * plotWidth; };
  auto mapY = [&](double y) {
    return top + (1 - yAxis.fraction(y)) * plotHeight;
  };
  const double plotRight = left + plotWidth, plotBottom = top + plotHeight;

  std::ostringstream os;
  os.imbue(std::locale::classic());
  os << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
     << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << px(width)
     << "\" height=\"" << px(height) << "\" viewBox=\"0 0 " << px(width) << ' '
     << px(height) << "\" font-family=\"Helvetica, Arial, sans-serif\" "
     << "font-size=\"" << kFontSize << "\">\n";
  if (!options.title.empty())
    os << "<title>" << escapeXml(options.title) << "</title>\n";
  os << "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";

  // Grid lines, under everything else.
  os << "<g fill=\"none\" stroke-width=\"1\">\n";
  for (const Tick &tick : xAxis.ticks) {
    double x = mapX(tick.value);
    os << "<line x1=\"" << px(x) << "\" y1=\"" << px(top) << "\" x2=\"" << px(x)
       << "\" y2=\"" << px(plotBottom) << "\" stroke=\""
       << (tick.major ? "#d9d9d9" : "#efefef") << "\"/>\n";
  }
  for (const Tick &tick : yAxis.ticks) {
    double y = mapY(tick.value);
    os << "<line x1=\"" << px(left) << "\" y1=\"" << px(y) << "\" x2=\""
       << px(plotRight) << "\" y2=\"" << px(y) << "\" stroke=\""
       << (tick.major ? "#d9d9d9" : "#efefef") << "\"/>\n";
  }
  os << "</g>\n";

  // Axes, tick marks and tick labels.
  os << "<g stroke=\"#333333\" fill=\"none\">\n"
     << "<path d=\"M" << px(left) << ',' << px(top) << 'V' << px(plotBottom)
     << 'H' << px(plotRight) << "\"/>\n";
  for (const Tick &tick : xAxis.ticks)
    if (!tick.label.empty())
      os << "<path d=\"M" << px(mapX(tick.value)) << ',' << px(plotBottom)
         << "v5\"/>\n";
  for (const Tick &tick : yAxis.ticks)
    if (!tick.label.empty())
      os << "<path d=\"M" << px(left) << ',' << px(mapY(tick.value))
         << "h-5\"/>\n";
  os << "</g>\n<g fill=\"#333333\">\n";
  for (const Tick &tick : xAxis.ticks)
    if (!tick.label.empty())
      os << "<text x=\"" << px(mapX(tick.value)) << "\" y=\""
         << px(plotBottom + 8 + kFontSize) << "\" text-anchor=\"middle\">"
         << escapeXml(tick.label) << "</text>\n";
  for (const Tick &tick : yAxis.ticks)
    if (!tick.label.empty())
      os << "<text x=\"" << px(left - 8) << "\" y=\""
         << px(mapY(tick.value) + kFontSize * 0.35) << "\" text-anchor=\"end\">"
         << escapeXml(tick.label) << "</text>\n";

  // Title and axis labels.
  if (!options.title.empty())
    os << "<text x=\"" << px(width / 2) << "\" y=\"" << px(10 + kTitleFontSize)
       << "\" text-anchor=\"middle\" font-size=\"" << kTitleFontSize
       << "\" font-weight=\"bold\">" << escapeXml(options.title) << "</text>\n";
  if (!options.xLabel.empty())
    os << "<text x=\"" << px(left + plotWidth / 2) << "\" y=\""
       << px(height - 10) << "\" text-anchor=\"middle\">"
       << escapeXml(options.xLabel) << "</text>\n";
  if (!options.yLabel.empty())
    os << "<text transform=\"translate(" << px(6 + kFontSize) << ','
       << px(top + plotHeight / 2) << ") rotate(-90)\" text-anchor=\"middle\">"
       << escapeXml(options.yLabel) << "</text>\n";
  if (noData)
    os << "<text x=\"" << px(left + plotWidth / 2) << "\" y=\""
       << px(top + plotHeight / 2) << "\" text-anchor=\"middle\" "
       << "fill=\"#777777\">no data</text>\n";
  os << "</g>\n";

  // The series: error bars, then the line broken at skipped points, then
  // markers on top.
  for (std::size_t index = 0; index < series.size(); ++index) {
    const Series &s = series[index];
    const char *colour = kPalette[index % kPaletteSize];
    const char *dash = kDashes[(index / kPaletteSize) % 4];
    const int shape = static_cast<int>(index % kMarkerShapes);
    std::size_t count = std::min(s.x.size(), s.y.size());
    bool spread = hasSpread(s);
    os << "<g stroke=\"" << colour << "\" fill=\"none\">\n";
    for (std::size_t i = 0; spread && i < count; ++i) {
      if (!placeable(s.x[i], logX) || !placeable(s.y[i], logY) ||
          !placeable(s.yLow[i], logY) || !placeable(s.yHigh[i], logY))
        continue;
      double x = mapX(s.x[i]), low = mapY(s.yLow[i]), high = mapY(s.yHigh[i]);
      os << "<path d=\"M" << px(x) << ',' << px(low) << 'V' << px(high) << 'M'
         << px(x - 3) << ',' << px(low) << "h6M" << px(x - 3) << ',' << px(high)
         << "h6\"/>\n";
    }
    std::vector<std::pair<double, double>> run;
    auto flush = [&] {
      if (run.size() >= 2) {
        os << "<polyline stroke-width=\"2\"";
        if (*dash)
          os << " stroke-dasharray=\"" << dash << "\"";
        os << " points=\"";
        for (std::size_t k = 0; k < run.size(); ++k)
          os << (k ? " " : "") << px(run[k].first) << ',' << px(run[k].second);
        os << "\"/>\n";
      }
      run.clear();
    };
    for (std::size_t i = 0; i < count; ++i) {
      if (!placeable(s.x[i], logX) || !placeable(s.y[i], logY)) {
        flush();
        continue;
      }
      run.emplace_back(mapX(s.x[i]), mapY(s.y[i]));
    }
    flush();
    os << "</g>\n<g>\n";
    for (std::size_t i = 0; i < count; ++i) {
      if (!placeable(s.x[i], logX) || !placeable(s.y[i], logY))
        continue;
      std::string tooltip = names[index] + ": " + shortNumber(s.x[i]) + ", " +
                            shortNumber(s.y[i]);
      if (spread && std::isfinite(s.yLow[i]) && std::isfinite(s.yHigh[i]))
        tooltip += " [" + shortNumber(s.yLow[i]) + ", " +
                   shortNumber(s.yHigh[i]) + "]";
      appendMarker(os, shape, mapX(s.x[i]), mapY(s.y[i]), colour, tooltip);
    }
    os << "</g>\n";
  }

  // The legend, to the right of the plot.
  if (!series.empty()) {
    const double x = plotRight + 14;
    os << "<g>\n";
    for (std::size_t index = 0; index < series.size(); ++index) {
      const char *colour = kPalette[index % kPaletteSize];
      const char *dash = kDashes[(index / kPaletteSize) % 4];
      double y = top + 8 + 18 * static_cast<double>(index);
      os << "<line x1=\"" << px(x) << "\" y1=\"" << px(y) << "\" x2=\""
         << px(x + 26) << "\" y2=\"" << px(y) << "\" stroke=\"" << colour
         << "\" stroke-width=\"2\"";
      if (*dash)
        os << " stroke-dasharray=\"" << dash << "\"";
      os << "/>\n";
      appendMarker(os, static_cast<int>(index % kMarkerShapes), x + 13, y,
                   colour, std::string());
      os << "<text x=\"" << px(x + 32) << "\" y=\"" << px(y + kFontSize * 0.35)
         << "\" fill=\"#333333\">" << escapeXml(names[index]) << "</text>\n";
    }
    os << "</g>\n";
  }
  os << "</svg>\n";
  return os.str();
}

} // namespace coil::bench
