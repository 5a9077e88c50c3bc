//===- BenchSupportTest.cpp - coil-bench support library --------*- C++ -*-===//
//
// The SVG chart writer against a small well-formedness checker (itself tested
// on broken documents): escaping, tick values, logarithmic axes, skipped
// points, error bars and the degenerate inputs. The machine description
// against fixture /proc text and, on Linux, the live machine. The roofline
// probes only for sane results: timing thresholds would make the tests
// depend on the machine and its load. The logit comparison against values
// computed by hand.
//
//===----------------------------------------------------------------------===//

#include "tools/coil-bench/support/Accuracy.h"
#include "tools/coil-bench/support/Chart.h"
#include "tools/coil-bench/support/Machine.h"
#include "tools/coil-bench/support/Probes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>
#include <string>
#include <vector>

using namespace coil::bench;

namespace {

//===----------------------------------------------------------------------===//
// A minimal XML well-formedness checker
//===----------------------------------------------------------------------===//

bool isNameStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}

bool isNameChar(char c) {
  return isNameStart(c) || std::isdigit(static_cast<unsigned char>(c)) ||
         c == '-' || c == '.';
}

/// Checks that `text[begin, end)` has no raw '<' and only well-formed
/// references after '&'.
std::string checkCharacterData(const std::string &text, std::size_t begin,
                               std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '<')
      return "raw '<' at " + std::to_string(i);
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
      return "control character at " + std::to_string(i);
    if (c != '&')
      continue;
    std::size_t semicolon = text.find(';', i);
    if (semicolon == std::string::npos || semicolon >= end)
      return "unterminated reference at " + std::to_string(i);
    std::string name = text.substr(i + 1, semicolon - i - 1);
    static const std::set<std::string> kEntities = {"amp", "lt", "gt", "quot",
                                                    "apos"};
    bool numeric =
        name.size() > 1 && name[0] == '#' &&
        std::all_of(name.begin() + 1, name.end(), [](char d) {
          return std::isxdigit(static_cast<unsigned char>(d)) || d == 'x';
        });
    if (!kEntities.count(name) && !numeric)
      return "bad reference '&" + name + ";'";
    i = semicolon;
  }
  return "";
}

/// Returns an empty string if `xml` is a well-formed document (an optional
/// declaration, comments, and one root element with balanced, properly
/// nested tags, quoted and unique attributes, escaped text), else a
/// description of the first problem.
std::string checkWellFormed(const std::string &xml) {
  std::size_t i = 0, n = xml.size();
  if (xml.compare(0, 5, "<?xml") == 0) {
    i = xml.find("?>");
    if (i == std::string::npos)
      return "unterminated declaration";
    i += 2;
  }
  std::vector<std::string> open;
  int roots = 0;
  while (i < n) {
    std::size_t lt = xml.find('<', i);
    std::size_t textEnd = lt == std::string::npos ? n : lt;
    std::string error = checkCharacterData(xml, i, textEnd);
    if (!error.empty())
      return error;
    if (open.empty())
      for (std::size_t k = i; k < textEnd; ++k)
        if (!std::isspace(static_cast<unsigned char>(xml[k])))
          return "text outside the root element";
    if (lt == std::string::npos)
      break;
    i = lt;
    if (xml.compare(i, 4, "<!--") == 0) {
      std::size_t close = xml.find("-->", i + 4);
      if (close == std::string::npos)
        return "unterminated comment";
      i = close + 3;
      continue;
    }
    bool closing = i + 1 < n && xml[i + 1] == '/';
    std::size_t p = i + (closing ? 2 : 1);
    if (p >= n || !isNameStart(xml[p]))
      return "bad tag name at " + std::to_string(i);
    std::size_t nameBegin = p;
    while (p < n && isNameChar(xml[p]))
      ++p;
    std::string name = xml.substr(nameBegin, p - nameBegin);
    if (closing) {
      while (p < n && std::isspace(static_cast<unsigned char>(xml[p])))
        ++p;
      if (p >= n || xml[p] != '>')
        return "bad closing tag </" + name;
      if (open.empty() || open.back() != name)
        return "mismatched </" + name + ">";
      open.pop_back();
      i = p + 1;
      continue;
    }
    std::set<std::string> attributes;
    bool selfClosing = false;
    while (true) {
      std::size_t before = p;
      while (p < n && std::isspace(static_cast<unsigned char>(xml[p])))
        ++p;
      if (p >= n)
        return "unterminated tag <" + name;
      if (xml[p] == '>') {
        ++p;
        break;
      }
      if (xml.compare(p, 2, "/>") == 0) {
        p += 2;
        selfClosing = true;
        break;
      }
      if (p == before)
        return "missing space before attribute in <" + name;
      if (!isNameStart(xml[p]))
        return "bad attribute in <" + name;
      std::size_t attributeBegin = p;
      while (p < n && isNameChar(xml[p]))
        ++p;
      std::string attribute = xml.substr(attributeBegin, p - attributeBegin);
      if (!attributes.insert(attribute).second)
        return "duplicate attribute " + attribute + " in <" + name;
      if (p >= n || xml[p] != '=')
        return "attribute without value in <" + name;
      ++p;
      if (p >= n || (xml[p] != '"' && xml[p] != '\''))
        return "unquoted attribute " + attribute + " in <" + name;
      char quote = xml[p];
      std::size_t valueEnd = xml.find(quote, p + 1);
      if (valueEnd == std::string::npos)
        return "unterminated attribute " + attribute;
      error = checkCharacterData(xml, p + 1, valueEnd);
      if (!error.empty())
        return error + " in attribute " + attribute;
      p = valueEnd + 1;
    }
    if (open.empty() && ++roots > 1)
      return "more than one root element";
    if (!selfClosing)
      open.push_back(name);
    i = p;
  }
  if (!open.empty())
    return "unclosed <" + open.back() + ">";
  if (roots != 1)
    return "no root element";
  return "";
}

/// How often `needle` occurs in `haystack`.
std::size_t countOf(const std::string &haystack, const std::string &needle) {
  std::size_t count = 0;
  for (std::size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size()))
    ++count;
  return count;
}

/// The texts of all elements whose start tag ends with `tagSuffix`, e.g. the
/// y tick labels with "text-anchor=\"end\">".
std::vector<std::string> textsAfter(const std::string &svg,
                                    const std::string &tagSuffix) {
  std::vector<std::string> texts;
  for (std::size_t at = svg.find(tagSuffix); at != std::string::npos;
       at = svg.find(tagSuffix, at + 1)) {
    std::size_t begin = at + tagSuffix.size();
    texts.push_back(svg.substr(begin, svg.find('<', begin) - begin));
  }
  return texts;
}

/// The y axis tick labels (the only right-aligned texts) as numbers.
std::vector<double> yTickValues(const std::string &svg) {
  std::vector<double> values;
  for (const std::string &label : textsAfter(svg, "text-anchor=\"end\">"))
    values.push_back(std::strtod(label.c_str(), nullptr));
  return values;
}

/// True if `value` is 1, 2 or 5 times a power of ten.
bool isOneTwoFive(double value) {
  double mantissa = value / std::pow(10.0, std::floor(std::log10(value)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (std::fabs(mantissa - m) < 1e-9)
      return true;
  return false;
}

/// Checks that `svg` is well-formed and has no non-finite numbers.
void expectSaneSvg(const std::string &svg) {
  EXPECT_EQ(checkWellFormed(svg), "") << svg;
  std::string lower = svg;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  EXPECT_EQ(lower.find("nan"), std::string::npos) << svg;
  EXPECT_EQ(lower.find("inf"), std::string::npos) << svg;
  EXPECT_NE(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            std::string::npos);
}

Series makeSeries(std::string name, std::vector<double> x,
                  std::vector<double> y) {
  Series series;
  series.name = std::move(name);
  series.x = std::move(x);
  series.y = std::move(y);
  return series;
}

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

//===----------------------------------------------------------------------===//
// The checker itself
//===----------------------------------------------------------------------===//

TEST(XmlChecker, AcceptsWellFormedDocuments) {
  EXPECT_EQ(checkWellFormed("<?xml version=\"1.0\"?>\n<a x=\"1\" y='2'>t&amp;"
                            "<b/><!-- c --><c>&#x3c;</c></a>\n"),
            "");
}

TEST(XmlChecker, RejectsMalformedDocuments) {
  EXPECT_NE(checkWellFormed("<a><b></a></b>"), "");
  EXPECT_NE(checkWellFormed("<a>"), "");
  EXPECT_NE(checkWellFormed("<a x=1/>"), "");
  EXPECT_NE(checkWellFormed("<a x=\"1\" x=\"2\"/>"), "");
  EXPECT_NE(checkWellFormed("<a>&</a>"), "");
  EXPECT_NE(checkWellFormed("<a>&nbsp;</a>"), "");
  EXPECT_NE(checkWellFormed("<a title=\"<\"/>"), "");
  EXPECT_NE(checkWellFormed("<a/><b/>"), "");
  EXPECT_NE(checkWellFormed("text<a/>"), "");
  EXPECT_NE(checkWellFormed(""), "");
}

//===----------------------------------------------------------------------===//
// escapeXml
//===----------------------------------------------------------------------===//

TEST(EscapeXml, EscapesMarkupCharacters) {
  EXPECT_EQ(escapeXml("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
  EXPECT_EQ(escapeXml("plain text"), "plain text");
}

TEST(EscapeXml, KeepsValidUtf8AndReplacesTheRest) {
  const std::string replacement = "\xEF\xBF\xBD";
  EXPECT_EQ(escapeXml("\xC2\xB5s \xE2\x86\x92 \xF0\x9F\x9A\x80"),
            "\xC2\xB5s \xE2\x86\x92 \xF0\x9F\x9A\x80");
  EXPECT_EQ(escapeXml("a\x01z"), "a" + replacement + "z");
  EXPECT_EQ(escapeXml("\xFF"), replacement);
  EXPECT_EQ(escapeXml("\xC0\xAF"), replacement + replacement); // Overlong.
  EXPECT_EQ(escapeXml("\xED\xA0\x80"),                         // Surrogate.
            replacement + replacement + replacement);
  EXPECT_EQ(escapeXml("\xE2\x86"), replacement + replacement); // Truncated.
  EXPECT_EQ(escapeXml("tab\tnewline\n"), "tab\tnewline\n");
}

//===----------------------------------------------------------------------===//
// renderLineChart
//===----------------------------------------------------------------------===//

TEST(Chart, RendersSeriesNamesAndEscapedLabels) {
  ChartOptions options;
  options.title = "Decode <tokens/s> & \"latency\"";
  options.xLabel = "context 'length'";
  options.yLabel = "tokens/s";
  std::string svg =
      renderLineChart({makeSeries("Mamba<130m>", {1, 2, 3}, {10, 20, 15}),
                       makeSeries("Llama & KV", {1, 2, 3}, {12, 9, 4})},
                      options);
  expectSaneSvg(svg);
  EXPECT_NE(svg.find("Decode &lt;tokens/s&gt; &amp; &quot;latency&quot;"),
            std::string::npos);
  EXPECT_EQ(svg.find("<tokens/s>"), std::string::npos);
  EXPECT_NE(svg.find("context &apos;length&apos;"), std::string::npos);
  EXPECT_NE(svg.find(">Mamba&lt;130m&gt;</text>"), std::string::npos);
  EXPECT_NE(svg.find(">Llama &amp; KV</text>"), std::string::npos);
  // One line per series, in two different colours, and a marker per point.
  EXPECT_EQ(countOf(svg, "<polyline"), 2u);
  EXPECT_NE(svg.find("<g stroke=\"#0072B2\""), std::string::npos);
  EXPECT_NE(svg.find("<g stroke=\"#D55E00\""), std::string::npos);
  EXPECT_EQ(countOf(svg, "<title>Mamba&lt;130m&gt;: "), 3u);
  EXPECT_EQ(countOf(svg, "<title>Llama &amp; KV: "), 3u);
}

TEST(Chart, LinearTicksAreRoundAndCoverTheData) {
  std::string svg =
      renderLineChart({makeSeries("s", {0, 1, 2}, {3, 97, 41})}, {});
  expectSaneSvg(svg);
  std::vector<double> ticks = yTickValues(svg);
  ASSERT_GE(ticks.size(), 3u);
  double step = ticks[1] - ticks[0];
  EXPECT_TRUE(isOneTwoFive(step)) << step;
  for (std::size_t i = 1; i < ticks.size(); ++i)
    EXPECT_NEAR(ticks[i] - ticks[i - 1], step, step * 1e-9);
  for (double tick : ticks)
    EXPECT_NEAR(std::remainder(tick, step), 0, step * 1e-9) << tick;
  EXPECT_LE(ticks.front(), 3);
  EXPECT_GE(ticks.back(), 97);
  EXPECT_LE(ticks.size(), 12u);
}

TEST(Chart, LogTicksArePowersOfTenWithTwoFiveSubdivisions) {
  ChartOptions options;
  options.logX = options.logY = true;
  std::string svg = renderLineChart(
      {makeSeries("s", {128, 1024, 8192}, {3, 40, 700})}, options);
  expectSaneSvg(svg);
  std::vector<double> ticks = yTickValues(svg);
  ASSERT_FALSE(ticks.empty());
  for (double tick : ticks)
    EXPECT_TRUE(isOneTwoFive(tick)) << tick;
  EXPECT_LE(ticks.front(), 3);
  EXPECT_GE(ticks.back(), 700);
  for (double power : {10.0, 100.0, 1000.0})
    EXPECT_NE(std::find(ticks.begin(), ticks.end(), power), ticks.end())
        << power;
  EXPECT_NE(std::find(ticks.begin(), ticks.end(), 20.0), ticks.end());
  EXPECT_NE(std::find(ticks.begin(), ticks.end(), 500.0), ticks.end());
  // The x axis: decades and their subdivisions.
  for (const char *label :
       {"middle\">100</text>", "middle\">200</text>", "middle\">500</text>",
        "middle\">1000</text>", "middle\">10000</text>"})
    EXPECT_NE(svg.find(label), std::string::npos) << label;
}

TEST(Chart, WideLogRangesLabelFewerTicks) {
  ChartOptions options;
  options.logY = true;
  Series series = makeSeries("s", {}, {});
  for (int i = -6; i <= 12; ++i) {
    series.x.push_back(i);
    series.y.push_back(std::pow(10.0, i));
  }
  std::string svg = renderLineChart({series}, options);
  expectSaneSvg(svg);
  std::vector<double> ticks = yTickValues(svg);
  EXPECT_GE(ticks.size(), 3u);
  EXPECT_LE(ticks.size(), 12u);
  for (double tick : ticks)
    EXPECT_DOUBLE_EQ(std::pow(10.0, std::round(std::log10(tick))), tick);
}

TEST(Chart, LogAxesSkipNonPositiveValues) {
  ChartOptions options;
  options.logY = true;
  std::string svg = renderLineChart(
      {makeSeries("s", {1, 2, 3, 4, 5}, {-1, 0, 10, 100, 1000})}, options);
  expectSaneSvg(svg);
  EXPECT_EQ(countOf(svg, "<title>s: "), 3u);
  EXPECT_EQ(svg.find("<title>s: 1, -1</title>"), std::string::npos);
  EXPECT_EQ(svg.find("<title>s: 2, 0</title>"), std::string::npos);
  EXPECT_NE(svg.find("<title>s: 3, 10</title>"), std::string::npos);
  EXPECT_EQ(countOf(svg, "<polyline"), 1u);
  for (double tick : yTickValues(svg))
    EXPECT_GT(tick, 0);

  options.logY = false;
  options.logX = true;
  svg =
      renderLineChart({makeSeries("s", {-2, 0, 4, 8}, {1, 2, 3, 4})}, options);
  expectSaneSvg(svg);
  EXPECT_EQ(countOf(svg, "<title>s: "), 2u);
  EXPECT_NE(svg.find("<title>s: 4, 3</title>"), std::string::npos);
}

TEST(Chart, NonFinitePointsAreSkippedAndBreakTheLine) {
  std::string svg = renderLineChart(
      {makeSeries("s", {1, 2, 3, 4, 5, 6}, {1, kNaN, 3, 4, kInf, 6}),
       makeSeries("t", {kNaN, -kInf, 3}, {1, 2, 3})},
      {});
  expectSaneSvg(svg);
  EXPECT_EQ(countOf(svg, "<title>s: "), 4u);
  EXPECT_EQ(countOf(svg, "<title>t: "), 1u);
  // Only the run 3, 4 has two points.
  EXPECT_EQ(countOf(svg, "<polyline"), 1u);
}

TEST(Chart, EmptyInputGivesAValidChart) {
  std::string svg = renderLineChart({}, {});
  expectSaneSvg(svg);
  EXPECT_NE(svg.find(">no data</text>"), std::string::npos);
  EXPECT_EQ(svg.find("<polyline"), std::string::npos);

  ChartOptions options;
  options.title = "nothing yet";
  options.logX = options.logY = true;
  svg = renderLineChart({Series{}, makeSeries("named", {}, {})}, options);
  expectSaneSvg(svg);
  EXPECT_NE(svg.find(">no data</text>"), std::string::npos);
  EXPECT_NE(svg.find(">series 1</text>"), std::string::npos);
  EXPECT_NE(svg.find(">named</text>"), std::string::npos);

  // Only points a log axis cannot show: no data either.
  svg = renderLineChart({makeSeries("s", {1, 2}, {0, -3})}, options);
  expectSaneSvg(svg);
  EXPECT_NE(svg.find(">no data</text>"), std::string::npos);
}

TEST(Chart, SinglePointGivesAValidChart) {
  for (bool log : {false, true}) {
    ChartOptions options;
    options.logX = options.logY = log;
    std::string svg = renderLineChart({makeSeries("one", {3}, {7})}, options);
    expectSaneSvg(svg);
    EXPECT_EQ(countOf(svg, "<title>one: 3, 7</title>"), 1u);
    EXPECT_EQ(svg.find("<polyline"), std::string::npos);
    std::vector<double> ticks = yTickValues(svg);
    ASSERT_GE(ticks.size(), 2u);
    EXPECT_LT(ticks.front(), 7);
    EXPECT_GT(ticks.back(), 7);
  }
}

TEST(Chart, EqualValuesGiveAValidChart) {
  for (double value : {0.0, 5.0, -2e9, 1e-12}) {
    std::string svg = renderLineChart(
        {makeSeries("flat", {1, 2, 3}, {value, value, value})}, {});
    expectSaneSvg(svg);
    std::vector<double> ticks = yTickValues(svg);
    ASSERT_GE(ticks.size(), 2u) << value;
    EXPECT_LT(ticks.front(), value);
    EXPECT_GT(ticks.back(), value);
    std::set<double> distinct(ticks.begin(), ticks.end());
    EXPECT_EQ(distinct.size(), ticks.size()) << value;
  }
}

TEST(Chart, ErrorBarsWidenTheAxisAndNeedMatchingLengths) {
  Series series = makeSeries("s", {1, 2}, {5, 6});
  series.yLow = {1, 2};
  series.yHigh = {50, 60};
  std::string svg = renderLineChart({series}, {});
  expectSaneSvg(svg);
  EXPECT_NE(svg.find("<title>s: 1, 5 [1, 50]</title>"), std::string::npos);
  EXPECT_GE(yTickValues(svg).back(), 60);
  EXPECT_LE(yTickValues(svg).front(), 1);

  series.yLow = {1};
  svg = renderLineChart({series}, {});
  expectSaneSvg(svg);
  EXPECT_EQ(svg.find(" ["), std::string::npos);
  EXPECT_LT(yTickValues(svg).back(), 50);
}

TEST(Chart, ManySeriesStayDistinguishable) {
  std::vector<Series> series;
  for (int i = 0; i < 12; ++i)
    series.push_back(makeSeries("s" + std::to_string(i), {0, 1}, {0, i + 1.0}));
  std::string svg = renderLineChart(series, {});
  expectSaneSvg(svg);
  EXPECT_EQ(countOf(svg, "<polyline"), 12u);
  // The palette has eight colours; later series are dashed.
  EXPECT_GE(countOf(svg, "<polyline stroke-width=\"2\" stroke-dasharray"), 4u);
}

//===----------------------------------------------------------------------===//
// Machine description
//===----------------------------------------------------------------------===//

const char kX86CpuInfo[] =
    "processor\t: 0\n"
    "vendor_id\t: GenuineIntel\n"
    "model name\t: Intel(R) Xeon(R) CPU    E5-2680 v4 @ 2.40GHz\n"
    "flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512bw avx512vl "
    "avx512_bf16 avx512_vnni amx_tile amx_bf16 sse\n"
    "\n"
    "processor\t: 1\n"
    "model name\t: something else\n"
    "flags\t\t: fpu\n";

const char kArmCpuInfo[] = "processor\t: 0\n"
                           "BogoMIPS\t: 2000.00\n"
                           "Features\t: fp asimd evtstrm sve bf16 i8mm\n"
                           "CPU implementer\t: 0x41\n"
                           "CPU part\t: 0xd40\n";

TEST(Machine, ParsesX86CpuInfo) {
  EXPECT_EQ(detail::parseCpuModel(kX86CpuInfo),
            "Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz");
  EXPECT_EQ(detail::parseIsaFlags(kX86CpuInfo),
            (std::vector<std::string>{"sse4_2", "avx", "avx2", "fma", "avx512f",
                                      "avx512bw", "avx512vl", "avx512_vnni",
                                      "avx512_bf16", "amx_tile", "amx_bf16"}));
}

TEST(Machine, ParsesArmCpuInfo) {
  EXPECT_EQ(detail::parseCpuModel(kArmCpuInfo),
            "CPU implementer 0x41 part 0xd40");
  EXPECT_EQ(detail::parseIsaFlags(kArmCpuInfo),
            (std::vector<std::string>{"asimd", "bf16", "i8mm", "sve"}));
  EXPECT_EQ(detail::parseCpuModel(""), "");
  EXPECT_TRUE(detail::parseIsaFlags("").empty());
}

TEST(Machine, ParsesMemInfoAndOsRelease) {
  EXPECT_EQ(detail::parseMemTotal("MemTotal:       24683620 kB\n"
                                  "MemFree:        22579048 kB\n"),
            24683620ull * 1024);
  EXPECT_EQ(detail::parseMemTotal("MemFree: 1 kB\n"), 0u);
  EXPECT_EQ(detail::parseMemTotal("MemTotal: lots\n"), 0u);
  EXPECT_EQ(detail::parseOsPrettyName("NAME=\"Debian GNU/Linux\"\n"
                                      "PRETTY_NAME=\"Debian GNU/Linux 12 "
                                      "(bookworm)\"\nID=debian\n"),
            "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(detail::parseOsPrettyName("PRETTY_NAME=Alpine\n"), "Alpine");
  EXPECT_EQ(detail::parseOsPrettyName("ID=x\n"), "");
}

TEST(Machine, DescribesThisMachine) {
  MachineInfo info = describeMachine("0123abc");
  EXPECT_EQ(info.gitRevision, "0123abc");
  EXPECT_GE(info.logicalCores, 1);
  EXPECT_FALSE(info.os.empty());
  EXPECT_TRUE(info.compiler.rfind("clang ", 0) == 0 ||
              info.compiler.rfind("gcc ", 0) == 0)
      << info.compiler;
#ifdef __linux__
  EXPECT_FALSE(info.cpuModel.empty());
  EXPECT_NE(info.cpuModel, "unknown");
  EXPECT_GT(info.memoryBytes, 0u);
  EXPECT_NE(info.os.find("Linux"), std::string::npos) << info.os;
#endif
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
  // /proc/cpuinfo and CPUID agree on the extensions both can see.
  __builtin_cpu_init();
  auto has = [&](const char *flag) {
    return std::find(info.isaFlags.begin(), info.isaFlags.end(), flag) !=
           info.isaFlags.end();
  };
  EXPECT_EQ(has("avx2"), bool(__builtin_cpu_supports("avx2")));
  EXPECT_EQ(has("fma"), bool(__builtin_cpu_supports("fma")));
  EXPECT_EQ(has("avx512f"), bool(__builtin_cpu_supports("avx512f")));
#endif
}

//===----------------------------------------------------------------------===//
// Probes
//===----------------------------------------------------------------------===//

// The probes are measurements, not assertions about speed: the tests only
// check that they produced a finite positive figure.
TEST(Probes, FmaPeakIsMeasured) {
  for (int threads : {0, 1, 2}) {
    double gflops = measureFmaPeak(threads, 0.02);
    EXPECT_TRUE(std::isfinite(gflops)) << threads;
    EXPECT_GT(gflops, 0.0) << threads;
  }
}

TEST(Probes, ReadBandwidthIsMeasured) {
  for (int threads : {1, 2}) {
    double gbps = measureReadBandwidth(threads, 0.01);
    EXPECT_TRUE(std::isfinite(gbps)) << threads;
    EXPECT_GT(gbps, 0.0) << threads;
  }
}

TEST(Probes, MeasureMachineFillsEveryField) {
  MachineLimits limits = measureMachine(1);
  EXPECT_EQ(limits.threads, 1);
  EXPECT_GT(limits.fmaGflops, 0.0);
  EXPECT_GT(limits.readGBps, 0.0);
}

} // namespace

//===----------------------------------------------------------------------===//
// Logit comparison
//===----------------------------------------------------------------------===//

namespace {

TEST(LogitComparisonTest, IdenticalRowsDifferInNothing) {
  LogitComparison c;
  const float row[] = {1.5f, -2.0f, 0.25f, 3.0f};
  c.add(row, row, 4);
  c.add(row, row, 4);
  EXPECT_EQ(c.rows(), 2);
  EXPECT_EQ(c.maxRelativeDifference(), 0.0);
  EXPECT_NEAR(c.meanKlDivergence(), 0.0, 1e-15);
  EXPECT_EQ(c.argmaxAgreement(), 1.0);
}

TEST(LogitComparisonTest, MatchesHandComputedValues) {
  LogitComparison c;
  // p = (1/2, 1/2), q = (3/4, 1/4): KL = ln(4/3) / 2; the argmax differs
  // (the first maximum of p is token 0, of q token 0 too: they agree).
  const float p[] = {0.0f, 0.0f};
  const float q[] = {static_cast<float>(std::log(3.0)), 0.0f};
  c.add(p, q, 2);
  // Shifting every logit changes no distribution: KL 0, but the logits
  // differ by 2 where the reference's largest magnitude is 4.
  const float r[] = {4.0f, 1.0f};
  const float s[] = {6.0f, 3.0f};
  c.add(r, s, 2);
  // Swapped preferences: the argmax disagrees.
  const float u[] = {1.0f, 0.0f};
  const float v[] = {0.0f, 1.0f};
  c.add(u, v, 2);
  double e = std::exp(1.0);
  double pu = e / (e + 1), qu = 1 / (e + 1);
  double klSwap = pu * std::log(pu / qu) + qu * std::log(qu / pu);
  EXPECT_EQ(c.rows(), 3);
  EXPECT_NEAR(c.meanKlDivergence(), (std::log(4.0 / 3.0) / 2 + klSwap) / 3,
              1e-7);
  EXPECT_NEAR(c.maxRelativeDifference(), 2.0 / 4.0, 1e-12);
  EXPECT_NEAR(c.argmaxAgreement(), 2.0 / 3.0, 1e-12);
}

TEST(LogitComparisonTest, LargeLogitsDoNotOverflow) {
  LogitComparison c;
  const float p[] = {1000.0f, 999.0f};
  const float q[] = {999.0f, 1000.0f};
  c.add(p, q, 2);
  EXPECT_TRUE(std::isfinite(c.meanKlDivergence()));
  EXPECT_GT(c.meanKlDivergence(), 0.0);
  EXPECT_EQ(c.argmaxAgreement(), 0.0);
}

TEST(LogitComparisonTest, NoRowsIsZero) {
  LogitComparison c;
  EXPECT_EQ(c.rows(), 0);
  EXPECT_EQ(c.meanKlDivergence(), 0.0);
  EXPECT_EQ(c.argmaxAgreement(), 0.0);
  EXPECT_EQ(c.maxRelativeDifference(), 0.0);
}

} // namespace
