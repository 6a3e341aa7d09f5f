// FileStorage: vectored transfers, flush, discard (hole punching and secure), and refusals.

import BlkBack
import XenBus
import XenStore
import Foundation
import XCTest

final class FileStorageTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("filestorage-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: directory) }

    private func file(bytes: Int, fill: UInt8 = 0) throws -> String {
        let path = directory.appendingPathComponent("disk-\(UUID().uuidString.prefix(4))").path
        FileManager.default.createFile(atPath: path, contents: Data(repeating: fill, count: bytes))
        return path
    }

    /// Runs `body` with `pieces` buffers of the given sizes, as iovecs.
    private func withVectors(_ sizes: [Int], fill: (Int) -> UInt8 = { _ in 0 }, _ body: (IOVectors, [UnsafeMutableRawBufferPointer]) throws -> Void) rethrows {
        let buffers = sizes.map { UnsafeMutableRawBufferPointer.allocate(byteCount: $0, alignment: 4096) }
        defer { buffers.forEach { $0.deallocate() } }
        var position = 0
        for buffer in buffers {
            for index in buffer.indices { buffer[index] = fill(position + index) }
            position += buffer.count
        }
        let vectors = UnsafeMutableBufferPointer<iovec>.allocate(capacity: sizes.count)
        defer { vectors.deallocate() }
        for (index, buffer) in buffers.enumerated() { vectors[index] = iovec(iov_base: buffer.baseAddress, iov_len: buffer.count) }
        try body(IOVectors(vectors), buffers)
    }

    func testVectoredWriteThenReadAtAnOffsetRoundTrips() throws {
        let storage = try FileStorage(path: try file(bytes: 1 << 20))
        XCTAssertEqual(storage.byteCount, 1 << 20)
        let sizes = [512, 4096, 1536, 2048]
        try withVectors(sizes, fill: { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }) { vectors, _ in
            try storage.write(from: vectors, at: 3 * 512)
        }
        try withVectors(sizes) { vectors, buffers in
            try storage.read(into: vectors, at: 3 * 512)
            let bytes = buffers.flatMap { Array($0) }
            XCTAssertEqual(bytes, (0..<bytes.count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        }
        try storage.flush()
    }

    func testReadingPastTheEndIsAnErrorNotATrap() throws {
        let storage = try FileStorage(path: try file(bytes: 4096))
        try withVectors([4096]) { vectors, _ in
            XCTAssertThrowsError(try storage.read(into: vectors, at: 2048))
        }
    }

    func testReadOnlyStorageRefusesWritesAndCannotDiscard() throws {
        let storage = try FileStorage(path: try file(bytes: 8192), readOnly: true)
        XCTAssertTrue(storage.isReadOnly)
        XCTAssertNil(storage.discardSupport)
        try withVectors([512]) { vectors, _ in
            XCTAssertThrowsError(try storage.write(from: vectors, at: 0)) { error in
                XCTAssertEqual((error as? StorageError)?.errno, EBADF)
            }
        }
    }

    func testDiscardPunchesOnlyWholeExtentsAndSecureDiscardZerosExactly() throws {
        let path = try file(bytes: 64 * 1024, fill: 0xAB)
        let storage = try FileStorage(path: path)
        let support = try XCTUnwrap(storage.discardSupport)
        let extent = UInt64(support.granularity)
        try storage.discard(512..<3 * extent + 512, secure: false)  // extents 1 and 2 only
        var contents = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertTrue(contents[0..<Int(extent)].allSatisfy { $0 == 0xAB })
        XCTAssertTrue(contents[Int(extent)..<Int(3 * extent)].allSatisfy { $0 == 0 })
        XCTAssertTrue(contents[Int(3 * extent)...].allSatisfy { $0 == 0xAB })

        try storage.discard(UInt64(60 * 1024 + 512)..<UInt64(60 * 1024 + 1024), secure: true)
        contents = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertTrue(contents[(60 * 1024 + 512)..<(60 * 1024 + 1024)].allSatisfy { $0 == 0 })
        XCTAssertEqual(contents[60 * 1024 + 511], 0xAB)
        XCTAssertEqual(contents[60 * 1024 + 1024], 0xAB)
    }

    func testExtentsInsideARangeRespectGranularityAndAlignment() {
        let rows: [(granularity: UInt32, alignment: UInt32, range: Range<UInt64>, expected: Range<UInt64>)] = [
            (4096, 0, 0..<4096, 0..<4096),
            (4096, 0, 512..<4096, 4096..<4096),
            (4096, 0, 512..<12288 + 512, 4096..<12288),
            (4096, 1024, 0..<9216, 1024..<9216),
            (4096, 1024, 2048..<9216, 5120..<9216),
            (512, 0, 512..<1024, 512..<1024),
        ]
        for row in rows {
            let extents = StorageDiscard(granularity: row.granularity, alignment: row.alignment, secure: false).extents(inside: row.range)
            XCTAssertEqual(extents.isEmpty ? nil : extents, row.expected.isEmpty ? nil : row.expected, "\(row)")
        }
    }

    func testOpeningNamesWhatIsWrong() throws {
        XCTAssertThrowsError(try FileStorage(path: directory.appendingPathComponent("absent").path)) { error in
            XCTAssertTrue("\(error)".contains("absent"), "\(error)")
        }
        XCTAssertThrowsError(try FileStorage(path: directory.path))
        XCTAssertThrowsError(try FileStorage(path: try file(bytes: 100)))
    }
}

/// Opening the storage a toolstack's nodes name.
final class DeviceStorageTests: XCTestCase {
    private let device = VirtualBlockDevice(frontendDomain: DomainID(3), id: DeviceID(51712))

    private func store(params: String, mode: DiskMode = .readWrite, type: String = "file") throws -> InMemoryXenStore {
        let store = InMemoryXenStore()
        try Toolstack.createDevice(device, configuration: DeviceConfiguration(params: params, mode: mode, type: type), in: store)
        return store
    }

    func testParamsAndModeChooseTheFileAndItsAccess() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("devstorage-\(UUID().uuidString.prefix(6))").path
        FileManager.default.createFile(atPath: path, contents: Data(count: 8192))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writable = try FileStorage.configured(for: device, in: try store(params: path))
        XCTAssertFalse(writable.isReadOnly)
        XCTAssertEqual(writable.byteCount, 8192)
        XCTAssertTrue(try FileStorage.configured(for: device, in: try store(params: path, mode: .readOnly)).isReadOnly)
    }

    func testNodesThatCannotBeServedAreNamed() throws {
        let store = try store(params: "/nonexistent/disk.img", type: "qcow2")
        XCTAssertThrowsError(try FileStorage.configured(for: device, in: store)) { error in
            XCTAssertEqual("\(error)", "type = \"qcow2\" is not file or phy")
        }
        try store.write(try device.backendPath.appending("type"), "file")
        try store.write(try device.backendPath.appending("mode"), "x")
        XCTAssertThrowsError(try FileStorage.configured(for: device, in: store)) { error in
            XCTAssertEqual("\(error)", "mode = \"x\" is not r or w")
        }
        try store.write(try device.backendPath.appending("mode"), "w")
        XCTAssertThrowsError(try FileStorage.configured(for: device, in: store)) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/disk.img"), "\(error)")
        }
        try store.rm(try device.backendPath.appending("params"))
        XCTAssertThrowsError(try FileStorage.configured(for: device, in: store)) { error in
            XCTAssertEqual("\(error)", "\(device.backendPath)/params is missing")
        }
    }
}
