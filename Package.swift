// swift-tools-version: 6.2
//
// swift-blkif: the Xen block-device protocol ("blkif") over shared memory.

import PackageDescription

let package = Package(
    name: "swift-blkif",
    products: [
        .library(name: "BlkifABI", targets: ["BlkifABI"]),
        .library(name: "BlkifRing", targets: ["BlkifRing"]),
        .library(name: "XenStore", targets: ["XenStore"]),
        .executable(name: "blkif-xenstored", targets: ["blkif-xenstored"]),
        .executable(name: "ringbench", targets: ["ringbench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
    ],
    targets: [
        // MARK: Protocol
        .target(name: "BlkifABI", dependencies: ["CBlkifSystem"]),
        .target(name: "BlkifRing", dependencies: ["BlkifABI", "CBlkifSystem"]),
        .target(name: "CBlkifSystem"),

        // MARK: XenStore
        .target(name: "XenStore"),
        .executableTarget(
            name: "blkif-xenstored",
            dependencies: [
                "XenStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: Benchmark
        .systemLibrary(name: "CNuma", path: "Sources/CNuma"),
        // Allocation counter, CPU pinning and the C reference's calling convention (no Xen headers).
        .target(name: "CRingBenchSupport"),
        .executableTarget(
            name: "ringbench",
            dependencies: [
                "BlkifABI",
                "BlkifRing",
                "CNuma",
                "CRingBenchSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Benchmarks/ringbench",
            exclude: ["reference"]
        ),

        // MARK: Tests
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "BlkifABITests", dependencies: ["BlkifABI", "TestSupport"]),
        .testTarget(name: "BlkifRingTests", dependencies: ["BlkifABI", "BlkifRing", "TestSupport"]),
        .testTarget(name: "XenStoreTests", dependencies: ["XenStore", "TestSupport"], exclude: ["C"]),
        .testTarget(
            name: "InteropTests",
            dependencies: ["BlkifABI", "BlkifRing", "TestSupport"],
            exclude: ["C"]
        ),
    ]
)
