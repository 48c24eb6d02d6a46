import Foundation
import ShearsTensor

/// Tiny-ImageNet (the S-Cyc paper's "ImageNet-200") as `tiny-imagenet-200.zip` unpacks:
///
///     wnids.txt                         the 200 class ids (WordNet ids, one a line)
///     words.txt                         wnid <tab> human-readable names (for every WordNet id; optional here)
///     train/<wnid>/images/*.JPEG        500 training images per class, 64×64
///     val/images/*.JPEG                 10,000 validation images
///     val/val_annotations.txt           file <tab> wnid <tab> x0 y0 x1 y1 (the bounding box, unused)
///
/// The labelled `val/` split is the test split (`test/` has no labels and is not read). Classes are the
/// wnids **sorted**, not in `wnids.txt` order: the order `ImageFolder` gives `train/`, so a model trained
/// with either reader has the same output units.
enum TinyImageNet {
    static func load(directory root: String, split: DataSplit, size: Int) throws -> (Dataset, [String]) {
        let wnids = try readWnids(root)
        let files = split == .train ? try trainFiles(root, wnids) : try validationFiles(root, wnids)
        let d = try ImageList.load(files, classes: wnids.count, size: size, name: "tiny-imagenet-\(split.rawValue)")
        return (d, className(root, wnids))
    }

    static func readWnids(_ root: String) throws -> [String] {
        let file = (root as NSString).appendingPathComponent("wnids.txt")
        let lines = try textLines(file)
        let wnids = lines.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !wnids.isEmpty else { throw DataError("\(file): expected one WordNet id per line (200 in Tiny-ImageNet), found none") }
        if let dup = Dictionary(grouping: wnids, by: { $0 }).first(where: { $0.value.count > 1 }) {
            throw DataError("\(file): class id \(dup.key) appears \(dup.value.count) times: expected each once")
        }
        return wnids.sorted()
    }

    static func trainFiles(_ root: String, _ wnids: [String]) throws -> [LabelledFile] {
        var files: [LabelledFile] = []
        for (label, wnid) in wnids.enumerated() {
            let folder = ((root as NSString).appendingPathComponent("train/\(wnid)") as NSString).appendingPathComponent("images")
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw DataError("\(folder): missing class folder for \(wnid) (listed in wnids.txt): expected train/<wnid>/images/*.JPEG")
            }
            let images = try ImageList.imageFiles(in: folder)
            guard !images.isEmpty else { throw DataError("\(folder): class folder with no images: expected *.JPEG files") }
            files += images.map { LabelledFile(path: $0, label: Int32(label)) }
        }
        return files
    }

    static func validationFiles(_ root: String, _ wnids: [String]) throws -> [LabelledFile] {
        let file = (root as NSString).appendingPathComponent("val/val_annotations.txt")
        let index = Dictionary(uniqueKeysWithValues: wnids.enumerated().map { ($1, Int32($0)) })
        var files: [LabelledFile] = []
        for (k, line) in try textLines(file).enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 2, !fields[0].isEmpty else {
                throw DataError("\(file): line \(k + 1): expected 'file<TAB>wnid<TAB>x0<TAB>y0<TAB>x1<TAB>y1', found \(line.debugDescription)")
            }
            guard let label = index[fields[1]] else {
                throw DataError("\(file): line \(k + 1): class id \(fields[1]) of \(fields[0]) is not in wnids.txt")
            }
            let image = (root as NSString).appendingPathComponent("val/images/\(fields[0])")
            guard FileBytes.firstExisting([image]) != nil else {
                throw DataError("\(image): missing validation image (listed on line \(k + 1) of \(file))")
            }
            files.append(LabelledFile(path: image, label: label))
        }
        guard !files.isEmpty else { throw DataError("\(file): expected one line per validation image, found none") }
        return files
    }

    /// "wnid: first name" for each class from `words.txt` when it is there, else the wnid itself.
    static func className(_ root: String, _ wnids: [String]) -> [String] {
        let file = (root as NSString).appendingPathComponent("words.txt")
        guard let lines = try? textLines(file) else { return wnids }
        var words: [String: String] = [:]
        for line in lines {
            let f = line.split(separator: "\t", maxSplits: 1).map(String.init)
            if f.count == 2 { words[f[0]] = f[1].split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) } }
        }
        return wnids.map { w in words[w].map { "\(w): \($0)" } ?? w }
    }

    static func textLines(_ file: String) throws -> [String] {
        guard FileBytes.firstExisting([file]) != nil else {
            throw DataError("\(file): missing file: expected Tiny-ImageNet as distributed (wnids.txt, words.txt, train/<wnid>/images/, val/images/, val/val_annotations.txt)")
        }
        let bytes = try FileBytes.read(file)
        return String(decoding: bytes, as: UTF8.self).split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
            .map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
    }
}
