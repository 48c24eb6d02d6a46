import ArgumentParser
import Foundation
import ShearsExperiments
import ShearsPrune

enum DynamicSparseDefaults: TrainingDefaults {
    static var training: TrainingConfig { DynamicSparseConfig().training }
    static var lengthUnit: String { "" }
}

/// `shears prune dynamic`: sparse from scratch at constant sparsity, the mask rewired by SET or RigL.
struct PruneDynamic: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dynamic",
        abstract: "Dynamic sparse training (SET, RigL) at constant sparsity, or gradual magnitude pruning (gmp) from dense to --sparsity.",
        discussion: """
        Starts from a random mask at --sparsity (per layer: --distribution uniform or erk). Every --update-every \
        iterations until --end-update of the training, each layer drops the f(t)·active weights of smallest |w| \
        (f = --drop-fraction, decayed by --drop-schedule) and grows as many: at random (set) or where the dense \
        gradient is largest (rigl); grown weights and their optimizer state start at 0. gmp (Zhu & Gupta) starts dense \
        and every --update-every iterations from --begin-update to --end-update prunes the smallest |w| of each layer \
        (per --distribution) to s_t = s·(1 − (1 − k/n)³) at its k-th of n steps, reaching --sparsity at the last; the \
        run's optimizer is kept, the pruned weights' state set to 0. Writes model.safetensors, \
        mask.safetensors and summary.json (one point for `prune compare` and `report`); re-running resumes. See docs/baselines.md.
        """)

    @Option(help: ArgumentHelp("set (grow at random), rigl (grow where the dense gradient is largest) or gmp (gradual magnitude pruning, nothing grown)."))
    var method: DynamicSparseMethod
    @Option(help: "s: fraction of the prunable weights that are 0 throughout (gmp: at the end), in (0, 1).") var sparsity: Double = 0.9
    @Option(help: ArgumentHelp("Per-layer densities: uniform (1 − s each) or erk (Erdős–Rényi-Kernel)."))
    var distribution: DensityDistribution = .erk
    @Option(help: "ΔT: iterations between mask updates (≥ 1).") var updateEvery: Int = 100
    @Option(help: "α: fraction of each layer's active weights replaced at the first update, in (0, 1].") var dropFraction: Double = 0.3
    @Option(help: ArgumentHelp("Decay of the replaced fraction: cosine (α/2·(1 + cos(πt/T_end))) or constant (α)."))
    var dropSchedule: DropSchedule = .cosine
    @Option(help: "No mask update at or after this fraction of the training, in (0, 1].") var endUpdate: Double = 0.75
    @Option(help: "gmp: the fraction of the training where pruning starts, in [0, --end-update) (default 0.1).")
    var beginUpdate: Double?
    @Flag(help: "Keep the first layer dense (RigL's code does).") var keepFirstLayer = false
    @Option(help: ArgumentHelp("The kept weights' initial scale: dense (the dense initialisation's) or fan-in (each unit's rescaled by √(dense fan-in / kept fan-in), Evci et al. 2022)."))
    var sparseInit: SparseInitialisation = .dense
    @Flag(help: "Keep the last layer dense.") var keepLastLayer = false
    @OptionGroup(title: "Data") var data: DataFlags<DynamicSparseDefaults>
    @OptionGroup(title: "Model and training") var training: TrainingFlags<DynamicSparseDefaults>
    @OptionGroup(title: "Run") var execution: RunOptions

    func makeConfig() throws -> DynamicSparseConfig {
        try validated({
            var c = DynamicSparseConfig()
            data.apply(to: &c.training)
            try training.apply(to: &c.training)
            c.method = method; c.sparsity = sparsity; c.distribution = distribution; c.updateEvery = updateEvery
            c.dropFraction = dropFraction; c.dropSchedule = dropSchedule; c.endUpdate = endUpdate; c.sparseInit = sparseInit == .dense ? nil : sparseInit
            if let beginUpdate {
                // Refused rather than ignored: SET and RigL update from the first ΔT on.
                guard method == .gmp else { throw ValidationError("--begin-update applies to --method gmp only (got --method \(method.rawValue))") }
                c.beginUpdate = beginUpdate
            }
            c.selection = PrunableSelection(includeFirstLayer: !keepFirstLayer, includeLastLayer: !keepLastLayer)
            return c
        }) { try $0.validate() }
    }

    func validate() throws { _ = try makeConfig() }

    func run() throws {
        let config = try makeConfig()
        // The method in the prefix, as anytime does: the default (rigl) would otherwise leave it out of the name.
        try execution.launch(prefix: "dynamic-\(config.method.rawValue)", nonDefault: config.nonDefaultFields) { dir, options in
            _ = try DynamicSparseTraining.run(config, in: dir, options: options)
        }
    }
}
