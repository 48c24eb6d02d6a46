import Foundation
import ShearsTensor

/// A folder of images with one sub-folder per class, torchvision's `ImageFolder` layout.
///
/// - Classes are the sub-folder names sorted by name; class k is the k-th.
/// - Images are the `.png`, `.jpg` and `.jpeg` files (any case) anywhere below a class folder, sorted by
///   path; other files are ignored, as `ImageFolder` ignores them. A class folder without images is an error.
/// - Train / test: when the folder holds `train/` and `val/` (or `test/`), those are the splits (the test
///   split's class folders must be among the training ones; it takes their labels). Otherwise the class
///   folders are the whole dataset and a seeded, per-class split sends `round(testFraction · n)` of each
///   class's n images (shuffled by `Generator(seed: splitSeed)`) to the test split.
enum ImageFolder {
    static func load(directory: String, split: DataSplit, size: Int, testFraction: Double, splitSeed: UInt64) throws -> (Dataset, [String]) {
        let files = try labelledFiles(directory: directory, split: split, testFraction: testFraction, splitSeed: splitSeed)
        let d = try ImageList.load(files.files, classes: files.classNames.count, size: size, name: "folder-\(split.rawValue)")
        return (d, files.classNames)
    }

    /// The split's files with their labels, and the class names.
    static func labelledFiles(directory: String, split: DataSplit, testFraction: Double,
                              splitSeed: UInt64) throws -> (files: [LabelledFile], classNames: [String]) {
        let top = try ImageList.subfolders(of: directory)
        if top.contains("train"), let testName = ["val", "test"].first(where: top.contains) {
            let trainDir = (directory as NSString).appendingPathComponent("train")
            let classNames = try ImageList.subfolders(of: trainDir)
            guard !classNames.isEmpty else {
                throw DataError("\(trainDir): no class folders: expected one sub-folder per class holding its images")
            }
            let dir = split == .train ? trainDir : (directory as NSString).appendingPathComponent(testName)
            let present = try ImageList.subfolders(of: dir)
            if let stranger = present.first(where: { !classNames.contains($0) }) {
                throw DataError("\((dir as NSString).appendingPathComponent(stranger)): class folder not in \(trainDir): expected the test split's classes to be among the training classes (\(classNames.count) of them)")
            }
            var files: [LabelledFile] = []
            for name in present {
                let label = Int32(classNames.firstIndex(of: name)!)
                files += try classImages(dir, name).map { LabelledFile(path: $0, label: label) }
            }
            return (files, classNames)
        }
        let classNames = top
        guard !classNames.isEmpty else {
            throw DataError("\(directory): no class folders: expected one sub-folder per class (or train/ and val/ or test/ holding them)")
        }
        guard testFraction >= 0 && testFraction < 1 else {
            throw DataError("\(directory): test fraction \(testFraction): expected a number in [0, 1)")
        }
        var g = Generator(seed: splitSeed)
        var files: [LabelledFile] = []
        for (label, name) in classNames.enumerated() {
            let images = try classImages(directory, name)
            // Every class draws its own permutation in class order, so one class's count does not move another's split.
            let order = g.permutation(images.count)
            let nTest = Int((testFraction * Double(images.count)).rounded(.toNearestOrEven))
            let chosen = split == .test ? order[..<nTest] : order[nTest...]
            files += chosen.sorted().map { LabelledFile(path: images[$0], label: Int32(label)) }
        }
        guard !files.isEmpty else {
            throw DataError("\(directory): the seeded \(split.rawValue) split is empty: --test-fraction \(testFraction) of each class's images rounds to \(split == .test ? "none" : "all of them"); expected at least one image in each split")
        }
        return (files, classNames)
    }

    private static func classImages(_ directory: String, _ name: String) throws -> [String] {
        let folder = (directory as NSString).appendingPathComponent(name)
        let images = try ImageList.imageFiles(in: folder)
        guard !images.isEmpty else {
            throw DataError("\(folder): class folder with no images: expected .png, .jpg or .jpeg files")
        }
        return images
    }
}
