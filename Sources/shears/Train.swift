import ArgumentParser
import Foundation
import ShearsExperiments
import ShearsIO

/// `shears train`: plain supervised training into a resumable run directory.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model; re-running the same command resumes it from its last checkpoint.",
        discussion: """
        Without --out, the run directory is named from the hyperparameters that differ from the defaults, under \
        --runs-root, so the same command finds the same directory. Steps may be given in epochs ("80ep") or \
        iterations ("1000it", "1000" or "20K").
        """)

    @OptionGroup(title: "Data") var data: DataFlags<PlainTrainingDefaults>
    @OptionGroup(title: "Model and training") var training: TrainingFlags<PlainTrainingDefaults>
    @OptionGroup(title: "Run") var execution: RunOptions

    func makeConfig() throws -> TrainingConfig {
        try validated({
            var c = TrainingConfig()
            data.apply(to: &c)
            try training.apply(to: &c)
            return c
        }) { try $0.validate() }
    }

    func validate() throws { _ = try makeConfig() }

    func run() throws {
        let config = try makeConfig()
        try execution.launch(prefix: "train", nonDefault: config.nonDefaultFields) { dir, options in
            _ = try Trainer.run(config, in: dir, options: options)
        }
    }
}
