// swift-tools-version: 6.2
//
// A package that uses swift-blkif's ring libraries alone, as another project would: with
// `traits: []` it fetches none of the executables' dependencies (`make consumer-check` proves it).

import PackageDescription

let package = Package(
    name: "LibraryConsumer",
    dependencies: [
        // From elsewhere: .package(url: "<this repository's URL>", from: "<version>", traits: [])
        .package(name: "swift-blkif", path: "../..", traits: []),
    ],
    targets: [
        .executableTarget(
            name: "LibraryConsumer",
            dependencies: [
                .product(name: "BlkifABI", package: "swift-blkif"),
                .product(name: "BlkifRing", package: "swift-blkif"),
            ]
        ),
    ]
)
