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
        .library(name: "XenBus", targets: ["XenBus"]),
        .library(name: "XenPlatform", targets: ["XenPlatform"]),
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

        // MARK: Platform (grant tables and event channels: loopback and Xen)
        .target(name: "CXenPlatform"),
        .target(name: "XenPlatform", dependencies: ["BlkifABI", "BlkifRing", "XenStore", "CXenPlatform"]),
        // The peer process of the two-process platform tests (see docs/platform.md).
        .executableTarget(
            name: "xenplatform-peer",
            dependencies: ["BlkifABI", "BlkifRing", "XenStore", "XenPlatform"],
            path: "Tests/XenPlatformPeer"
        ),

        // MARK: XenBus
        .target(name: "XenBus", dependencies: ["XenStore", "BlkifABI"]),
        // One end of a device in its own process, for the three-process test (store, backend, frontend).
        .executableTarget(
            name: "xenbus-peer",
            dependencies: ["XenBus", "XenStore", "BlkifABI", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tests/xenbus-peer"
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
        .testTarget(name: "XenBusTests", dependencies: ["XenBus", "XenStore", "BlkifABI", "TestSupport"]),
        .testTarget(
            name: "XenPlatformTests",
            dependencies: ["BlkifABI", "BlkifRing", "XenStore", "XenPlatform", "CXenPlatform", "TestSupport", "xenplatform-peer"],
            exclude: ["C"]
        ),
        .testTarget(
            name: "InteropTests",
            dependencies: ["BlkifABI", "BlkifRing", "TestSupport"],
            exclude: ["C"]
        ),
    ]
)
