import Foundation

/// The embedded MNIST in the repository: `Data/mnist/` under the package root.
///
/// A binary may run from the package root, from a subdirectory, or from `.build/<config>/` (tests, `swift
/// run`), so it is found by walking up from the current directory and from the executable's directory
/// (`Bundle.main.executablePath`) until a directory containing `Data/mnist/train-images-idx3-ubyte.gz`
/// turns up. Throws `DataError` naming every place it looked if none does.
public func embeddedMNISTDirectory() throws -> String {
    let marker = "Data/mnist/train-images-idx3-ubyte.gz"
    var starts = [FileManager.default.currentDirectoryPath]
    if let executable = Bundle.main.executablePath {
        starts.append((executable as NSString).deletingLastPathComponent)
    }
    var looked: [String] = []
    for start in starts {
        var dir = URL(fileURLWithPath: start).standardizedFileURL.path
        while true {
            let candidate = (dir as NSString).appendingPathComponent(marker)
            if FileManager.default.fileExists(atPath: candidate) {
                return (dir as NSString).appendingPathComponent("Data/mnist")
            }
            looked.append(dir)
            let parent = (dir as NSString).deletingLastPathComponent
            if parent == dir || parent.isEmpty { break }
            dir = parent
        }
    }
    throw DataError("embedded MNIST not found: expected \(marker) under the package root, searched upward from \(starts.joined(separator: " and ")); found it in none of: \(looked.joined(separator: ", "))")
}
