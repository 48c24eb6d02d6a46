import ArgumentParser
import Foundation
import ShearsData

/// The flags of the datasets you bring yourself (npz, folder, tiny-imagenet), for every command that names a
/// dataset: add `@OptionGroup var externalData: ExternalDataFlags` and pass `dataPath` and `options` to
/// `loadDatasetPair`. Each of them changes what is trained on, so they belong in the run's configuration.
struct ExternalDataFlags: ParsableArguments {
    @Option(help: "--dataset npz: the .npz file (numpy.savez / savez_compressed) or a directory of x_train.npy, y_train.npy, x_test.npy, y_test.npy.")
    var dataPath: String?
    @Option(help: "--dataset folder / tiny-imagenet: side of the square images after resizing the shorter side and center-cropping.")
    var imageSize: Int = 64
    @Option(help: "--dataset npz: where the channels are: auto (dimension 1 or the last, whichever is 1 or 3), nchw or nhwc.")
    var layout: ImageLayout = .auto
    @Option(help: "--dataset npz: number of classes (default: the largest label + 1).")
    var classes: Int?
    @Option(help: "--dataset folder without train/ and val/: share of each class's images held out for test.")
    var testFraction: Double = 0.2
    @Option(help: "--dataset folder without train/ and val/: seed of that split.")
    var splitSeed: UInt64 = 0

    var options: ExternalDataOptions {
        ExternalDataOptions(imageSize: imageSize, layout: layout, classes: classes, testFraction: testFraction, splitSeed: splitSeed)
    }

    func validate() throws {
        do { try options.validate() } catch let error as DataError { throw ValidationError(error.description) }
    }
}
