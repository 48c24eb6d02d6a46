import Foundation

/// A grouped, horizontal bar chart: one group of bars per category (e.g. a layer), one bar per series (e.g. a pruning
/// cycle or a training phase), a value axis with "nice" ticks below, category names on the left and a legend on the
/// right. Horizontal because the categories are usually tensor names (`layer3.1.conv2.weight`), which stay readable
/// written left of the bars, never rotated.
///
/// The canvas grows taller when the categories do not fit into `height` at a readable bar thickness. Bars start at 0
/// (negative values extend left); a non-finite value draws no bar. The value range always contains 0 and, for
/// non-negative data, never goes below it.
public struct SVGBarChart {
    public var title: String
    /// The value axis, with its unit (e.g. "weights remaining (%)").
    public var valueLabel: String
    /// What the categories are (e.g. "tensor"), written rotated left of the names.
    public var categoryLabel: String
    public var categories: [String]
    /// values[k] belongs to categories[k]; a shorter array leaves the last categories without a bar.
    public var series: [(name: String, values: [Double])]
    public var width: Double = 640, height: Double = 400
    /// A fixed value range; nil: fitted to 0 and the data.
    public var valueRange: ClosedRange<Double>? = nil
    public var palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    public init(title: String, valueLabel: String, categoryLabel: String, categories: [String],
                series: [(name: String, values: [Double])], width: Double = 640, height: Double = 400) {
        self.title = title; self.valueLabel = valueLabel; self.categoryLabel = categoryLabel
        self.categories = categories; self.series = series; self.width = width; self.height = height
    }

    private static let fontSize = 12.0, titleSize = 15.0, minBar = 5.0

    public func render() -> String {
        typealias L = SVGLineChart
        let fs = Self.fontSize
        let values = series.flatMap { $0.values.filter(\.isFinite) }
        let span = L.span(values + [0])
        let axis = L.axis(valueRange ?? L.padded(span), fixed: valueRange != nil)
        let tickLabels = axis.ticks.map { L.format($0, step: axis.step) }

        let left = 16 + fs + 10 + (categories.map { L.textWidth($0) }.max() ?? 0) + 8
        let legend = LegendLayout(series.map(\.name), canvasWidth: width, fontSize: fs)
        let right = 28 + legend.width
        let top = 20 + Self.titleSize + 16
        let bottom = 8 + fs + 12 + fs + 14
        // Each group needs room for its bars at a readable thickness plus a gap; grow the canvas when it lacks it.
        let groups = Double(max(1, categories.count)), perGroup = Double(max(1, series.count))
        let neededPlotH = groups * (perGroup * Self.minBar + 6)
        let canvasH = max(height, top + bottom + max(neededPlotH, legend.height))
        let plotW = max(10, width - left - right), plotH = max(10, canvasH - top - bottom)
        func px(_ v: Double) -> Double { left + (v - axis.lo) / (axis.hi - axis.lo) * plotW }
        let groupH = plotH / groups
        let barH = groupH * 0.8 / perGroup

        var o = SVGText.header(width: width, height: canvasH, fontSize: fs)
        o += SVGText.title(title, centre: left + plotW / 2, width: width, size: Self.titleSize)
        o += "<g stroke=\"#e0e0e0\" stroke-width=\"1\">\n"
        for t in axis.ticks { o += "<line x1=\"\(L.n(px(t)))\" y1=\"\(L.n(top))\" x2=\"\(L.n(px(t)))\" y2=\"\(L.n(top + plotH))\"/>\n" }
        o += "</g>\n<g stroke=\"black\" stroke-width=\"1\">\n"
        for t in axis.ticks { o += "<line x1=\"\(L.n(px(t)))\" y1=\"\(L.n(top + plotH))\" x2=\"\(L.n(px(t)))\" y2=\"\(L.n(top + plotH + 5))\"/>\n" }
        o += "</g>\n<g text-anchor=\"middle\">\n"
        for (t, label) in zip(axis.ticks, tickLabels) {
            o += "<text x=\"\(L.n(px(t)))\" y=\"\(L.n(top + plotH + 8 + fs))\">\(L.escape(label))</text>\n"
        }
        o += "</g>\n"

        // Bars, clipped to the plot by clamping to the value axis.
        let zero = px(min(max(0, axis.lo), axis.hi))
        for (k, _) in categories.enumerated() {
            let g0 = top + groupH * Double(k) + groupH * 0.1
            for (i, s) in series.enumerated() where k < s.values.count && s.values[k].isFinite {
                let v = min(max(s.values[k], axis.lo), axis.hi)
                let x0 = min(zero, px(v)), w = abs(px(v) - zero)
                let colour = palette.isEmpty ? "black" : palette[i % palette.count]
                o += "<rect x=\"\(L.n(x0))\" y=\"\(L.n(g0 + barH * Double(i)))\" width=\"\(L.n(w))\" height=\"\(L.n(barH))\" "
                    + "fill=\"\(colour)\"><title>\(L.escape("\(categories[k]) · \(s.name): \(SVGText.value(s.values[k]))"))</title></rect>\n"
            }
        }
        o += "<line x1=\"\(L.n(zero))\" y1=\"\(L.n(top))\" x2=\"\(L.n(zero))\" y2=\"\(L.n(top + plotH))\" stroke=\"black\"/>\n"
        o += "<rect x=\"\(L.n(left))\" y=\"\(L.n(top))\" width=\"\(L.n(plotW))\" height=\"\(L.n(plotH))\" fill=\"none\" stroke=\"black\"/>\n"

        // Category names, right-aligned against the plot, centred on their group.
        o += "<g text-anchor=\"end\">\n"
        for (k, name) in categories.enumerated() {
            let y = top + groupH * (Double(k) + 0.5)
            o += "<text x=\"\(L.n(left - 6))\" y=\"\(L.n(y + fs * 0.35))\">\(L.escape(name))</text>\n"
        }
        o += "</g>\n"
        o += SVGText.axisLabels(x: valueLabel, y: categoryLabel, plotLeft: left, plotTop: top, plotW: plotW, plotH: plotH,
                                height: canvasH, fontSize: fs)
        o += SVGText.legend(legend, palette: palette, x: left + plotW + 14, y: top, fontSize: fs, swatch: .box)
        o += "</svg>\n"
        return o
    }

    /// Writes `render()` to `path` atomically.
    public func write(to path: String) throws {
        try render().write(toFile: path, atomically: true, encoding: .utf8)
    }
}
