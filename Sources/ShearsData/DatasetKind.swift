import Foundation

/// The datasets Shears can train on.
public enum DatasetKind: String, CaseIterable, Codable, Sendable {
    case mnist
    case fashionMNIST = "fashion-mnist"
    case cifar10
    case cifar100
    case synthetic
    /// Your own data as NumPy arrays: a `.npz` file or a directory of `.npy` files (`NumPyDataset`).
    case npz
    /// Your own images, one sub-folder per class (`ImageFolder`).
    case folder
    /// Tiny-ImageNet as distributed (`TinyImageNet`), 200 classes of 64×64 images.
    case tinyImageNet = "tiny-imagenet"

    /// Number of classes of the dataset's labels; nil where only the files tell (npz, folder).
    public var classes: Int? {
        switch self {
        case .mnist, .fashionMNIST, .cifar10, .synthetic: return 10
        case .cifar100: return 100
        case .tinyImageNet: return 200
        case .npz, .folder: return nil
        }
    }
}

public enum DataSplit: String, Codable, Sendable {
    case train, test
}

/// Reads a dataset from `directory`.
///
/// - mnist / fashion-mnist: the IDX files `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
///   `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each raw or gzipped with a `.gz` suffix (raw wins
///   when both exist). Images `[N, 1, 28, 28]`.
/// - cifar10: the official binary version: `data_batch_1.bin` … `data_batch_5.bin` (train) and
///   `test_batch.bin` (test), in `directory` or its `cifar-10-batches-bin/` subdirectory. Images `[N, 3, 32, 32]`.
/// - cifar100: the official binary version: `train.bin` and `test.bin`, in `directory` or its
///   `cifar-100-binary/` subdirectory; the fine label (100 classes) is used.
/// - synthetic: not read from disk (`directory` is ignored): `makeSynthetic` with 10 classes of
///   `[1, 28, 28]` images, 10,000 training examples (seed 1) or 2,000 test examples (seed 2), drawn around the
///   same class means so that the test split measures generalisation.
///
/// - npz, folder, tiny-imagenet: `directory` is the `.npz` file, the directory of `.npy` files or the image
///   folder, read with the default `ExternalDataOptions` (64×64 images, layout detected); see
///   `loadDatasetPair` for the options.
///
/// Throws `DataError` for a missing, truncated or malformed file, naming the file.
public func loadDataset(_ kind: DatasetKind, split: DataSplit, directory: String) throws -> Dataset {
    switch kind {
    case .mnist, .fashionMNIST:
        return try MNISTReader.load(kind, split: split, directory: directory)
    case .cifar10:
        return try CIFARReader.load(CIFARReader.cifar10, split: split, directory: directory)
    case .cifar100:
        return try CIFARReader.load(CIFARReader.cifar100, split: split, directory: directory)
    case .synthetic:
        return split == .train
            ? makeSynthetic(count: 10_000, classes: 10, imageShape: [1, 28, 28], seed: 1)
            : makeSynthetic(count: 2_000, classes: 10, imageShape: [1, 28, 28], seed: 2)
    case .npz, .folder, .tinyImageNet:
        return try loadExternalDataset(kind, split: split, path: directory, options: ExternalDataOptions()).dataset
    }
}
