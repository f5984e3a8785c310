// swift-tools-version:6.0
// swift-pretrain: data-parallel transformer pretraining in Swift, on CPUs, across MPI processes.
//
// Targets, imports pointing downward only:
//   CMPI, CBLAS, CZstd,       C system-library shims, one per library
//   CSnappy, CZlib, CDNNL     (CDNNL: oneDNN, the bf16 matmuls of mixed precision)
//   Support                   the shared small pieces: SplitMix64, parallel-for, atomic file write, UserFacingError
//   Kernels                   forward/backward pairs over unsafe buffers, threads, BLAS runtime
//   Model                     config, flat parameter layout, the transformer block, GPT and BERT, AdamW, safetensors
//   Distributed               Communicator protocol (MPI + in-process), gradient allreducer
//   DataPipeline              tokenizer, token shards, distributed loader
//   Checkpoint                sharded zstd checkpoints
//   Config                    the YAML run config
//   Training                  the only target that wires the others: Trainer, model families, checkpoint loading
//   Launch                    `pretrain launch`: mpirun/srun plans and supervision
//   Benchmarks                the `pretrain bench` workloads: settings in, results and table lines out
//   Plot                      the metrics record and its SVG loss / throughput plot (Support only)
//   BuildInfo                 the git commit and Swift version, written at build time by Plugins/BuildInfoPlugin
//   pretrain                  the command-line tool (one subcommand per file)
//   KernelsTestSupport        Double-precision references of the kernels, for tests only
import PackageDescription
import Foundation

// Release builds target x86-64-v3 (AVX2 + FMA: every x86 server since 2013) so that Swift's own SIMD
// loops use 256-bit registers. `PRETRAIN_PORTABLE=1 swift build` builds for baseline x86-64 instead;
// the binary checks the CPU at start and says so if it needs the portable build.
let portable = ProcessInfo.processInfo.environment["PRETRAIN_PORTABLE"] == "1"
var fastMath: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]
#if arch(x86_64)
if !portable {
    fastMath.append(.unsafeFlags(["-Xcc", "-march=x86-64-v3"]))
}
#endif
let mode: [SwiftSetting] = [.swiftLanguageMode(.v5)]

let package = Package(
    name: "swift-pretrain",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "pretrain", targets: ["pretrain"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CSnappy", pkgConfig: "snappy",
                       providers: [.apt(["libsnappy-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),

        .target(name: "Support", swiftSettings: mode + fastMath),
        .target(name: "Kernels", dependencies: ["CBLAS", "CDNNL", "Support"], swiftSettings: mode + fastMath),
        .target(name: "Model", dependencies: ["Kernels", "Support"], swiftSettings: mode + fastMath),
        .target(name: "Distributed", dependencies: ["CMPI", "Support"], swiftSettings: mode + fastMath),
        .target(name: "DataPipeline", dependencies: ["Support", "CZstd", "CSnappy", "CZlib"], swiftSettings: mode + fastMath),
        .target(name: "Config", dependencies: ["Model", "Support", "Yams"], swiftSettings: mode),
        .target(name: "Training", dependencies: ["Model", "Distributed", "DataPipeline", "Config", "Kernels", "Checkpoint", "Plot"], swiftSettings: mode + fastMath),
        .target(name: "Launch", dependencies: ["Config", "Support"], swiftSettings: mode),
        .target(name: "Checkpoint", dependencies: ["CZstd", "Model", "DataPipeline"], swiftSettings: mode + fastMath),
        .target(name: "Plot", dependencies: ["Support"], swiftSettings: mode),
        .target(name: "BuildInfo", swiftSettings: mode, plugins: ["BuildInfoPlugin"]),
        .plugin(name: "BuildInfoPlugin", capability: .buildTool(), exclude: ["build-info.sh"]),
        .target(name: "Benchmarks",
                dependencies: ["Support", "Kernels", "Model", "Distributed", "DataPipeline", "Checkpoint", "Config", "Training"],
                swiftSettings: mode + fastMath),
        .executableTarget(
            name: "pretrain",
            dependencies: [
                "Support", "Kernels", "Model", "Distributed", "DataPipeline", "Checkpoint", "Config", "Training", "Launch", "Plot", "Benchmarks",
                "BuildInfo", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: mode + fastMath),

        .target(name: "KernelsTestSupport", dependencies: ["Kernels"], path: "Tests/KernelsTestSupport", swiftSettings: mode),
        .testTarget(name: "KernelsTests", dependencies: ["Support", "Kernels", "KernelsTestSupport"], swiftSettings: mode),
        .testTarget(name: "ModelTests", dependencies: ["Support", "Model", "Kernels", "KernelsTestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: mode),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "TestSupport"], swiftSettings: mode),
        .testTarget(name: "ConfigTests", dependencies: ["Config"], swiftSettings: mode),
        .target(name: "TestSupport", dependencies: ["Support", "Model", "DataPipeline", "Config", "Checkpoint"],
                path: "Tests/TestSupport", swiftSettings: mode),
        .testTarget(name: "TrainingTests", dependencies: ["Support", "Kernels", "Training", "Config", "DataPipeline", "Distributed", "Model", "Checkpoint", "Plot", "TestSupport"],
                    exclude: ["Fixtures"], swiftSettings: mode),
        .testTarget(name: "LaunchTests", dependencies: ["Launch", "Config", "TestSupport"], swiftSettings: mode),
        .testTarget(name: "CLITests", dependencies: ["Support", "Kernels", "Model", "Distributed", "DataPipeline", "Checkpoint", "Config", "Training",
                                            "Benchmarks", "BuildInfo", "TestSupport"],
                    exclude: ["Fixtures"], swiftSettings: mode),
        .testTarget(name: "PlotTests", dependencies: ["Plot"], swiftSettings: mode),
        .testTarget(name: "CheckpointTests", dependencies: ["Support", "Checkpoint", "CZstd", "Model", "DataPipeline", "Config", "Training", "TestSupport"], swiftSettings: mode),
        .testTarget(name: "DataPipelineTests", dependencies: ["Support", "DataPipeline"],
                    resources: [.copy("Fixtures")], swiftSettings: mode),
    ]
)
