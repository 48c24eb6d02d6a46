import Foundation

/// How the datasets that come as your own files (npz, folder, tiny-imagenet) are read. Part of a run's
/// configuration: each field changes what is trained on.
public struct ExternalDataOptions: Codable, Equatable, Sendable {
    /// folder, tiny-imagenet: the side of the square images after resize + center crop (`--image-size`).
    public var imageSize: Int = 64
    /// npz: where the channels are (`--layout auto|nchw|nhwc`).
    public var layout: ImageLayout = .auto
    /// npz: the number of classes; nil = the largest label + 1 (`--classes`).
    public var classes: Int? = nil
    /// folder without train/ and val/: the share of each class sent to the test split (`--test-fraction`).
    public var testFraction: Double = 0.2
    /// folder without train/ and val/: the seed of that split (`--split-seed`).
    public var splitSeed: UInt64 = 0

    public init(imageSize: Int = 64, layout: ImageLayout = .auto, classes: Int? = nil, testFraction: Double = 0.2,
                splitSeed: UInt64 = 0) {
        self.imageSize = imageSize
        self.layout = layout
        self.classes = classes
        self.testFraction = testFraction
        self.splitSeed = splitSeed
    }

    /// Checks the values; the message names the flag and what was expected.
    public func validate() throws {
        guard (1...4096).contains(imageSize) else {
            throw DataError("--image-size must be between 1 and 4096 pixels, got \(imageSize)")
        }
        if let c = classes, !(1...Int(Int32.max)).contains(c) { throw DataError("--classes must be positive, got \(c)") }
        guard testFraction.isFinite && testFraction >= 0 && testFraction < 1 else {
            throw DataError("--test-fraction must be a number in [0, 1), got \(testFraction)")
        }
    }
}

/// A dataset's train and test splits, and the class names where the files name them (folder: the folder
/// names; tiny-imagenet: "wnid: words"; otherwise nil).
public struct DatasetPair {
    public var train: Dataset
    public var test: Dataset
    public var classNames: [String]?
}

/// The one entry point for training data: the train and test splits of `kind`.
///
/// - `dataPath`: npz: the `.npz` file or a directory of `.npy` files (falls back to `dataDir`).
/// - `dataDir`: every other kind's directory (falls back to `dataPath`); nil for mnist means the embedded
///   copy, and synthetic reads nothing.
/// - `imageSize`: overrides `options.imageSize` (folder, tiny-imagenet).
///
/// Both splits have the same image shape and class count (checked). Normalise with
/// `train.channelStatistics()`, as for the built-in datasets.
public func loadDatasetPair(kind: DatasetKind, dataDir: String?, dataPath: String? = nil, imageSize: Int? = nil,
                            options: ExternalDataOptions = ExternalDataOptions()) throws -> DatasetPair {
    var options = options
    if let imageSize { options.imageSize = imageSize }
    try options.validate()
    switch kind {
    case .npz, .folder, .tinyImageNet:
        let place = kind == .npz ? (dataPath ?? dataDir) : (dataDir ?? dataPath)
        guard let place else {
            throw DataError(kind == .npz ? "--dataset npz needs --data-path FILE.npz (or a directory of x_train.npy, y_train.npy, x_test.npy, y_test.npy)"
                                         : "--dataset \(kind.rawValue) needs --data-dir pointing at the image folder")
        }
        let train = try loadExternalDataset(kind, split: .train, path: place, options: options)
        let test = try loadExternalDataset(kind, split: .test, path: place, options: options)
        guard train.dataset.imageShape == test.dataset.imageShape else {
            throw DataError("\(place): training images are \(train.dataset.imageShape) but test images are \(test.dataset.imageShape): expected the same [C, H, W]")
        }
        guard train.dataset.classes == test.dataset.classes else {
            throw DataError("\(place): \(train.dataset.classes) training classes but \(test.dataset.classes) test classes")
        }
        return DatasetPair(train: train.dataset, test: test.dataset, classNames: train.classNames)
    case .mnist, .fashionMNIST, .cifar10, .cifar100, .synthetic:
        let dir = try dataDir ?? (kind == .mnist || kind == .synthetic ? embeddedMNISTDirectory() : nil)
        guard let dir else { throw DataError("--dataset \(kind.rawValue) needs --data-dir pointing at your download (only MNIST is embedded)") }
        return DatasetPair(train: try loadDataset(kind, split: .train, directory: dir),
                           test: try loadDataset(kind, split: .test, directory: dir), classNames: nil)
    }
}

/// One split of an external dataset, with its class names where the files have them.
func loadExternalDataset(_ kind: DatasetKind, split: DataSplit, path: String,
                         options: ExternalDataOptions) throws -> (dataset: Dataset, classNames: [String]?) {
    try options.validate()
    switch kind {
    case .npz:
        return (try NumPyDataset.load(path: path, split: split, layout: options.layout, classes: options.classes), nil)
    case .folder:
        let (d, names) = try ImageFolder.load(directory: path, split: split, size: options.imageSize,
                                              testFraction: options.testFraction, splitSeed: options.splitSeed)
        return (d, names)
    case .tinyImageNet:
        let (d, names) = try TinyImageNet.load(directory: path, split: split, size: options.imageSize)
        return (d, names)
    default:
        return (try loadDataset(kind, split: split, directory: path), nil)
    }
}
