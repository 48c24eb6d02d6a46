import Foundation
import ShearsExperiments
import ShearsIO

/// `shears report`: reads run directories of any kind, recognises each by its files (`ReportRun`), and draws what
/// they hold into one `ReportDocument`. Runs of a kind that compares across directories (iterative pruning, anytime)
/// share one section whose charts overlay them; the other kinds get one section per directory.
public enum Report {
    /// `specs` are run directories as `RunSpec` reads them (`DIR` or `NAME=DIR`); a NAME replaces the directory name
    /// in titles and legends (a folder of runs given a NAME names its runs NAME/child).
    public static func build(paths specs: [String], title: String) throws -> ReportDocument {
        guard !specs.isEmpty else { throw ReportError("give at least one run directory") }
        let runs = try specs.map(RunSpec.init(parsing:)).flatMap { spec -> [ReportRun] in
            let loaded = try ReportRun.load(spec.path)
            guard spec.labelled else { return loaded }
            return loaded.map { $0.named(loaded.count == 1 ? spec.name : "\(spec.name)/\(($0.path as NSString).lastPathComponent)") }
        }
        var sections: [ReportSection] = []
        var iterative: [IterativeRunData] = [], points: [PointPruningRunData] = [], anytime: [AnytimeRunData] = []
        var structured: [StructuredRunData] = []
        for run in runs {
            switch run {
            case .iterative(let r): iterative.append(r)
            case .pointPruning(let r): points.append(r)
            case .anytime(let r): anytime.append(r)
            case .structured(let r): structured.append(r)
            default: break
            }
        }
        var doneIterative = false, doneAnytime = false, doneStructured = false
        // Sections in the order the directories were given (a group where its first member was).
        for run in runs {
            let i = sections.count + 1
            switch run {
            case .training(let r): sections.append(trainingSection(r, index: i))
            case .iterative, .pointPruning:
                // One-shot and dynamic runs are points on the iterative runs' accuracy-vs-remaining chart.
                if !doneIterative { sections.append(iterativeSection(iterative, points: points, index: i)); doneIterative = true }
            case .oracle(let r): sections.append(oracleSection(r, index: i))
            case .directional(let r): sections.append(directionalSection(r, index: i))
            case .anytime:
                if !doneAnytime { sections.append(anytimeSection(anytime, index: i)); doneAnytime = true }
            case .structured:
                if !doneStructured { sections.append(structuredSection(structured, index: i)); doneStructured = true }
            case .analysis(let a): sections.append(analysisSection(a, index: i))
            case .connectivity(let c): sections.append(connectivitySection(c, index: i))
            }
        }
        return ReportDocument(title: title, runs: runs.map { ($0.path, $0.kind) }, sections: sections)
    }
}
