import Foundation
import ShearsIO

extension Report {
    /// `prune grda`: the three phases' curves (test accuracy, train loss, sparsity against the epoch), their final
    /// numbers, the final sparsity of every tensor, and the Hessian / projection numbers found in its subdirectories.
    static func directionalSection(_ r: DirectionalRunData, index: Int) -> ReportSection {
        var b = SectionBuilder(title: "Directional pruning (gRDA): \(r.name)", index: index)
        if let c = r.config {
            b.text("\(c.training.model.rawValue) on \(c.training.dataset.rawValue); gRDA c = \(c.c), μ = \(c.mu), schedule "
                   + "\(c.training.schedule), lr \(c.training.lr); phases: \(r.phases.map(\.phase).joined(separator: ", ")).")
        }
        func series(_ key: String, scale: Double) -> [(name: String, points: [(Double, Double)])] {
            r.phases.map { p in (name: p.phase, points: p.metrics.compactMap { m in m[key].flatMap { v in m["epoch"].map { ($0, scale * v) } } }) }
        }
        b.line(SVGLineChart(title: "Test accuracy: \(r.name)", xLabel: "epoch", yLabel: "test accuracy (%)", series: series("test_acc", scale: 100)),
               name: "test-accuracy", caption: "Test accuracy of the three trainings from the same initialisation and minibatch order.")
        b.line(SVGLineChart(title: "Train loss: \(r.name)", xLabel: "epoch", yLabel: "train loss (cross-entropy, nats per example)",
                            series: series("train_loss", scale: 1)),
               name: "train-loss", caption: "Training loss at every evaluation.")
        b.line(SVGLineChart(title: "Sparsity: \(r.name)", xLabel: "epoch", yLabel: "zero parameters (% of all parameters)",
                            series: series("sparsity", scale: 100)),
               name: "sparsity", caption: "Exact zeros over all parameters (biases and batch norm included) at every evaluation.")

        let results = r.phases.compactMap { p in p.result.map { (p.phase, $0) } }
        b.table("Final numbers per phase", header: ["phase", "iterations", "test acc. (%)", "test acc. at best val. (%)", "train loss",
                                                   "sparsity, all (%)", "sparsity, weights (%)", "τ / GMP target"],
                rows: results.map { name, x in
                    [name, "\(x.iterations)", ReportFormat.percent(x.finalTestAccuracy), ReportFormat.percent(x.testAccuracyAtBestValidation),
                     ReportFormat.number(x.finalTrainLoss), ReportFormat.percent(x.sparsity), ReportFormat.percent(x.weightSparsity),
                     ReportFormat.number(x.threshold ?? x.gmpTargetSparsity)]
                })
        if let first = results.first {
            let names = first.1.layers.rows.map(\.name)
            b.bars(SVGBarChart(title: "Final sparsity per tensor: \(r.name)", valueLabel: "zero entries (% of the tensor)",
                               categoryLabel: "parameter tensor", categories: names,
                               series: results.map { name, x in
                                   (name: name, values: names.map { n in x.layers.rows.first { $0.name == n }.map { 100 * (1 - $0.density) } ?? .nan })
                               }),
                   name: "layer-sparsity", caption: "Percentage of exact zeros in every parameter tensor at the end of each phase.")
        }
        // The Hessian spectra of the phases (hessian_sgd/, hessian_grda/…) on one chart, then each one's numbers.
        let spectra = r.analyses.compactMap { a in a.hessian.map { (a.name, $0) } }
        if spectra.count > 1 {
            var chart = SVGLineChart(title: "Top Hessian eigenvalues: \(r.name)", xLabel: "eigenvalue index i",
                                     yLabel: "eigenvalue λᵢ (loss per unit weight²)",
                                     series: spectra.map { name, h in
                                         (name: "\(name) (\(h.split), \(h.examples) ex.)", points: h.eigenvalues.enumerated().map { (Double($0.offset + 1), $0.element) })
                                     })
            chart.markers = true
            b.line(chart, name: "hessian", caption: "Lanczos' top eigenvalues of the Hessian of the mean loss at each analysed model "
                   + "(" + spectra.map { "\($0.0): \($0.1.weights)" }.joined(separator: "; ") + ").")
        }
        for a in r.analyses { addAnalysis(&b, a, chart: spectra.count <= 1) }
        return b.section
    }

    /// `analyze hessian` / `projection` on its own.
    static func analysisSection(_ a: AnalysisRunData, index: Int) -> ReportSection {
        var b = SectionBuilder(title: "Hessian / projection: \(a.name)", index: index)
        addAnalysis(&b, a)
        return b.section
    }

    /// The top Hessian eigenvalues (chart and table) and the projection proportion.
    static func addAnalysis(_ b: inout SectionBuilder, _ a: AnalysisRunData, chart drawChart: Bool = true) {
        if let h = a.hessian, drawChart {
            var chart = SVGLineChart(title: "Top Hessian eigenvalues: \(a.name)", xLabel: "eigenvalue index i",
                                     yLabel: "eigenvalue λᵢ (loss per unit weight²)",
                                     series: [(name: "λᵢ (\(h.split), \(h.examples) examples)",
                                               points: h.eigenvalues.enumerated().map { (Double($0.offset + 1), $0.element) })])
            chart.markers = true
            b.line(chart, name: "hessian-\(a.name)", caption: "Lanczos' top eigenvalues of the Hessian of the mean loss at \(h.weights).")
        }
        if let h = a.hessian {
            b.table("\(a.name): Hessian eigenpairs (\(h.lanczosIterations) Lanczos steps, \(h.converged ? "converged" : "not converged"))",
                    header: ["i", "λᵢ", "relative residual ‖Hv − λv‖ / max(1, |λ|)"],
                    rows: h.eigenvalues.enumerated().map { i, l in
                        ["\(i + 1)", ReportFormat.number(l), i < h.relativeResiduals.count ? ReportFormat.number(h.relativeResiduals[i]) : "–"]
                    })
        }
        if let p = a.projection {
            b.table("\(a.name): projection of Δ = w_gRDA − w_SGD onto the top-\(p.eigenvalues.count) Hessian eigenvectors at w_SGD",
                    header: ["proportion P (eq. 13)", "P / √k (as plotted)", "‖Δ‖₂", "λ₁", "converged"],
                    rows: [[ReportFormat.number(p.projection.proportion), ReportFormat.number(p.projection.plottedValue),
                            ReportFormat.number(p.projection.deltaNorm), ReportFormat.number(p.eigenvalues.first), p.converged ? "yes" : "no"]])
        }
        if let along = a.projectionAlong, !along.isEmpty {
            let k = Double(along[0].eigenvalues.count)
            var series: [(name: String, points: [(Double, Double)])] =
                [(name: "P (eq. 13)", points: along.map { (Double($0.iteration), $0.projection.proportion) })]
            // The baseline needs the parameter count, which files written before it was recorded lack.
            let known = along.compactMap { p in p.projection.dimension.map { (Double(p.iteration), (k / Double(max($0, 1))).squareRoot()) } }
            if !known.isEmpty { series.append((name: "random direction's share √(k/d)", points: known)) }
            var chart = SVGLineChart(title: "Eq. 13 along training: \(a.name)", xLabel: "iteration", yLabel: "projection proportion",
                                     series: series)
            chart.markers = true
            b.line(chart, name: "projection-along-\(a.name)",
                   caption: "Share of w_gRDA − w_SGD in the top-\(Int(k)) Hessian eigenspace at the SGD weights, at every snapshot of both runs.")
            b.table("\(a.name): eq. 13 along training", header: ["iteration", "P (eq. 13)", "P / √k (as plotted)", "‖Δ‖₂", "λ₁"],
                    rows: along.map { p in
                        ["\(p.iteration)", ReportFormat.number(p.projection.proportion), ReportFormat.number(p.projection.plottedValue),
                         ReportFormat.number(p.projection.deltaNorm), ReportFormat.number(p.eigenvalues.first)]
                    })
        }
    }
}
