// swift-tools-version:5.9
// Shears: neural-network pruning in Swift. The package is split by floor (see ARCHITECTURE.md / DEVELOPERS.md):
// kernels (CDNNL, CBLAS) → ShearsTensor → ShearsNN → ShearsOptim → … → the `shears` CLI.
import PackageDescription

// Debian ships OpenBLAS in three threading variants behind `update-alternatives`; we link the OpenMP one
// explicitly so that OpenBLAS and oneDNN (whose Debian build uses OpenMP) share one libgomp thread pool
// instead of two pools that spin against each other on a 2-core machine.
let openblasOpenMP = "/usr/lib/x86_64-linux-gnu/openblas-openmp"

let package = Package(
    name: "Shears",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "shears", targets: ["shears"]),
        .library(name: "ShearsTensor", targets: ["ShearsTensor"]),
        .library(name: "ShearsNN", targets: ["ShearsNN"]),
        .library(name: "ShearsOptim", targets: ["ShearsOptim"]),
        .library(name: "ShearsData", targets: ["ShearsData"]),
        .library(name: "ShearsIO", targets: ["ShearsIO"]),
        .library(name: "ShearsPrune", targets: ["ShearsPrune"]),
        .library(name: "ShearsAnalysis", targets: ["ShearsAnalysis"]),
        .library(name: "ShearsExperiments", targets: ["ShearsExperiments"]),
        .library(name: "ShearsDistributed", targets: ["ShearsDistributed"]),
        .library(name: "ShearsReport", targets: ["ShearsReport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // ONNX's messages; the generated code is committed (scripts/gen_onnx_proto.sh), no build plugin.
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
    ],
    targets: [
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL",
                       providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS",
                       providers: [.apt(["libopenblas-openmp-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", providers: [.apt(["libpng-dev"])]),
        // libjpeg reports errors by longjmp, which Swift cannot catch: the decoder and encoder are a small C
        // file that turns every error (and every corrupt-data warning) into a message.
        .target(name: "CJPEG", path: "Sources/CJPEG", cSettings: [.unsafeFlags(["-O2"])],
                linkerSettings: [.linkedLibrary("jpeg")]),
        // The sparse kernels' inner loop, in C so that it can be compiled for AVX2+FMA next to a portable
        // version (Swift cannot target one function at AVX2); optimised in debug builds too.
        .target(name: "CSparseKernels", path: "Sources/CSparseKernels", cSettings: [.unsafeFlags(["-O3", "-Wno-psabi"])]),
        .target(
            name: "ShearsTensor",
            dependencies: ["CDNNL", "CBLAS", "CSparseKernels"],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))],
            linkerSettings: [
                .unsafeFlags(["-L\(openblasOpenMP)", "-Xlinker", "-rpath", "-Xlinker", openblasOpenMP,
                              "-Xlinker", "-l:libgomp.so.1"]),
            ]),
        // onnx.pb.swift, generated from onnx.proto (kept beside it) by scripts/gen_onnx_proto.sh.
        .target(name: "ONNXProto", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
                path: "Sources/ONNXProto", exclude: ["onnx.proto"]),
        .target(name: "ShearsNN", dependencies: ["ShearsTensor", "ONNXProto", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        // Open MPI bound at run time: the shim dlopens libmpi.so.40 only when mpirun started the process, so the
        // binaries need no MPI library to run alone. The header is needed to build (libopenmpi-dev).
        .target(name: "CMPIShim", path: "Sources/CMPIShim",
                cSettings: [.unsafeFlags(["-I/usr/lib/x86_64-linux-gnu/openmpi/include"])],
                linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "ShearsDistributed", dependencies: ["CMPIShim", "ShearsTensor", "ShearsNN", "ShearsData"]),
        .target(name: "ShearsOptim", dependencies: ["ShearsTensor", "ShearsNN"]),
        .target(name: "ShearsData", dependencies: ["ShearsTensor", "CZlib", "CPNG", "CJPEG"]),
        .target(name: "ShearsIO", dependencies: ["ShearsTensor", "ShearsNN"]),
        .target(name: "ShearsPrune", dependencies: ["ShearsTensor", "ShearsNN", "ShearsOptim", "ShearsData"]),
        .target(name: "ShearsAnalysis", dependencies: ["ShearsTensor", "ShearsNN", "ShearsData", "ShearsIO"]),
        .target(name: "ShearsExperiments", dependencies: ["ShearsTensor", "ShearsNN", "ShearsOptim", "ShearsData", "ShearsIO", "ShearsPrune", "ShearsAnalysis", "ShearsDistributed"]),
        // Reading run directories back: `shears report` and the compare commands' tables and charts.
        .target(name: "ShearsReport", dependencies: ["ShearsIO", "ShearsPrune", "ShearsAnalysis", "ShearsExperiments"]),
        // Sweeps: YAML specs expanded into points, the local worker pool and the Slurm array script.
        .target(name: "ShearsSweep", dependencies: ["ShearsIO", .product(name: "Yams", package: "Yams")]),
        .executableTarget(
            name: "shears",
            dependencies: ["ShearsTensor", "ShearsNN", "ShearsOptim", "ShearsData", "ShearsIO", "ShearsExperiments", "ShearsReport", "ShearsSweep",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // The data-parallel equivalence check run under mpirun by scripts/mpi_check.sh (make test).
        .executableTarget(name: "shears-mpi-check",
                          dependencies: ["ShearsDistributed", "ShearsExperiments", "ShearsTensor", "ShearsNN", "ShearsData", "ShearsOptim", "ShearsPrune"]),
        .testTarget(name: "ShearsDistributedTests", dependencies: ["ShearsDistributed", "ShearsTensor", "ShearsNN", "ShearsData"]),
        .testTarget(name: "ShearsTensorTests", dependencies: ["ShearsTensor"]),
        .testTarget(name: "ShearsNNTests", dependencies: ["ShearsNN", "ShearsOptim", "ShearsTensor", "ShearsPrune", "ShearsIO", "ONNXProto"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "ShearsOptimTests", dependencies: ["ShearsOptim", "ShearsNN", "ShearsTensor"]),
        .testTarget(name: "ShearsDataTests", dependencies: ["ShearsData", "ShearsTensor", "CZlib", "CPNG", "CJPEG"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "ShearsIOTests", dependencies: ["ShearsIO", "ShearsNN", "ShearsTensor"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "ShearsPruneTests", dependencies: ["ShearsPrune", "ShearsNN", "ShearsOptim", "ShearsData", "ShearsTensor"]),
        .testTarget(name: "ShearsAnalysisTests", dependencies: ["ShearsAnalysis", "ShearsNN", "ShearsData", "ShearsTensor"]),
        .testTarget(name: "ShearsSweepTests", dependencies: ["ShearsSweep", "ShearsIO"]),
        .testTarget(name: "ShearsCLITests", dependencies: ["shears", "ShearsExperiments", "ShearsIO", "ShearsReport", "ShearsSweep",
                                                       .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "ShearsReportTests", dependencies: ["ShearsReport", "ShearsExperiments", "ShearsAnalysis", "ShearsIO", "ShearsOptim", "ShearsPrune"]),
        .testTarget(name: "ShearsExperimentsTests", dependencies: ["ShearsExperiments", "ShearsAnalysis", "ShearsData", "ShearsIO", "ShearsNN", "ShearsOptim", "ShearsPrune", "ShearsTensor", "ShearsDistributed"]),
    ]
)
