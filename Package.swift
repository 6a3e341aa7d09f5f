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
        .library(name: "BlkBack", targets: ["BlkBack"]),
        .library(name: "BlkFront", targets: ["BlkFront"]),
        .executable(name: "blkif", targets: ["blkif"]),
    ],
    traits: [
        // The executables' dependencies. A consumer of the libraries alone depends on this
        // package with `traits: []` and fetches none of them (README, "Use it from your package").
        .trait(name: "Tools", description: "The executables (ringbench, blkif, blkif-xenstored) and their dependencies."),
        .default(enabledTraits: ["Tools"]),
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
                .product(name: "ArgumentParser", package: "swift-argument-parser", condition: .when(traits: ["Tools"])),
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

        // Checks our XenStore client and XenPlatform's Xen implementation inside a real Xen
        // dom0 (make xen-test; docs/xen-test.md).
        .executableTarget(
            name: "xen-nested-probe",
            dependencies: ["BlkifABI", "XenStore", "XenPlatform", "XenBus"],
            path: "Tests/XenNestedProbe"
        ),
        // Our block drivers against Linux's in that dom0 (scenarios 1 and 2 of docs/xen-test.md).
        .executableTarget(
            name: "xen-nested-blk",
            dependencies: ["BlkBack", "BlkFront", "BlkifABI", "XenBus", "XenPlatform", "XenStore"],
            path: "Tests/XenNestedBlk"
        ),

        // MARK: XenBus
        .target(name: "XenBus", dependencies: ["XenStore", "BlkifABI"]),
        // One end of a device in its own process, for the three-process test (store, backend, frontend).
        .executableTarget(
            name: "xenbus-peer",
            dependencies: ["XenBus", "XenStore", "BlkifABI", .product(name: "ArgumentParser", package: "swift-argument-parser", condition: .when(traits: ["Tools"]))],
            path: "Tests/xenbus-peer"
        ),

        // MARK: BlkBack (serves a disk image to a frontend; docs/blkback.md)
        .target(name: "BlkBack", dependencies: ["BlkifABI", "BlkifRing", "XenBus", "XenPlatform", "XenStore"]),

        // MARK: BlkFront (an async block device over the ring; docs/blkfront.md)
        .target(name: "BlkFront", dependencies: ["BlkifABI", "BlkifRing", "XenBus", "XenPlatform", "XenStore"]),

        // MARK: blkif (the user's command: demo, serve, attach, devices, detach)
        .executableTarget(
            name: "blkif",
            dependencies: [
                "BlkBack", "BlkFront", "BlkifABI", "XenBus", "XenPlatform", "XenStore",
                "CRingBenchSupport",  // counts heap allocations per request (attach bench)
                .product(name: "ArgumentParser", package: "swift-argument-parser", condition: .when(traits: ["Tools"])),
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
                .product(name: "ArgumentParser", package: "swift-argument-parser", condition: .when(traits: ["Tools"])),
                .product(name: "Histogram", package: "hdrhistogram-swift", condition: .when(traits: ["Tools"])),
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
        // The fuzz targets' properties (Fuzz/Properties) replayed over their corpora; the
        // libFuzzer builds of the same files are Fuzz/fuzz.mk's (make fuzz).
        .testTarget(
            name: "FuzzRegressionTests",
            dependencies: ["BlkifABI", "BlkifRing", "XenStore", "XenBus", "XenPlatform", "BlkBack"],
            path: "Fuzz",
            exclude: ["Entry", "Corpus", "fuzz.mk"]
        ),
        // BlkFront in process against a scripted, hostile backend (same process, loopback platform).
        .testTarget(
            name: "BlkFrontTests",
            dependencies: ["BlkFront", "BlkifABI", "BlkifRing", "XenBus", "XenPlatform", "XenStore", "TestSupport"]
        ),
        // The whole system across processes: blkif-xenstored, `blkif serve`, `blkif attach`.
        .testTarget(name: "SystemTests", dependencies: ["TestSupport", "blkif", "blkif-xenstored"]),
        // SPIN on Models/*.pml (the ring's notification protocol, the XenBus state machine).
        .testTarget(name: "ModelCheckTests", dependencies: ["XenBus", "TestSupport"]),
        // BlkBack in process and `blkif serve` against a C frontend built from Xen's headers.
        .testTarget(
            name: "BlkBackTests",
            dependencies: ["BlkBack", "BlkifABI", "XenBus", "XenPlatform", "CXenPlatform", "XenStore", "TestSupport", "blkif", "blkif-xenstored"],
            exclude: ["C"]
        ),
    ]
)
