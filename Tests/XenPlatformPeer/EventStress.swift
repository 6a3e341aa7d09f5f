// The seeded notify/wait stress between two processes: bursts one way, acknowledgements back.

import Glibc
import Synchronization
import XenPlatform

/// Two words in a shared page carry the sender's sequence number (one per notification) and the
/// echo's acknowledgement. A wait that times out while a notification is owed is a lost one.
enum EventStress {
    /// The longest wait for an owed notification.
    static let owedTimeout = Duration.seconds(5)

    private static func words(_ page: UnsafeMutableRawPointer) -> (sequence: UnsafeMutablePointer<Atomic<UInt64>>, ack: UnsafeMutablePointer<Atomic<UInt64>>) {
        (page.assumingMemoryBound(to: Atomic<UInt64>.self), (page + 8).assumingMemoryBound(to: Atomic<UInt64>.self))
    }

    /// Sends `notifications` notifications in bursts of 1-4 (seeded), each burst followed by a
    /// wait for the echo to acknowledge its last sequence number.
    static func send(port: LoopbackEventPort, page: UnsafeMutableRawPointer, notifications: Int, seed: UInt64) throws -> String {
        let (sequence, ack) = words(page)
        var random = SeededRandom(seed)
        var sent: UInt64 = 0
        var round = 0
        while sent < UInt64(notifications) {
            round += 1
            for _ in 0..<min(1 + random.next() % 4, UInt64(notifications) - sent) {
                sent += 1
                sequence.pointee.store(sent, ordering: .releasing)  // seen by the echo before the notification
                try port.signal()
                if random.next() % 8 == 0 { usleep(UInt32(random.next() % 100)) }
            }
            while ack.pointee.load(ordering: .acquiring) != sent {
                guard try port.waitForEvent(timeout: owedTimeout) else {
                    throw PeerFailure("lost notification: round \(round) (seed \(seed)) got no acknowledgement of \(sent) within \(owedTimeout)")
                }
            }
        }
        return "sent \(port.notificationsSent) wakes \(port.eventsReceived) received \(port.notificationsReceived)"
    }

    /// Acknowledges every sequence number it wakes to, until `last`, then waits until it has
    /// taken in exactly `last` notifications (every one the sender sent).
    static func echo(port: LoopbackEventPort, page: UnsafeMutableRawPointer, last: UInt64, seed: UInt64) throws -> String {
        let (sequence, ack) = words(page)
        var random = SeededRandom(seed)
        var acknowledged: UInt64 = 0
        while acknowledged < last || port.notificationsReceived < Int(last) {
            guard try port.waitForEvent(timeout: owedTimeout) else {
                throw PeerFailure("lost notification: acknowledged \(acknowledged), took in \(port.notificationsReceived) of \(last) (seed \(seed))")
            }
            let seen = sequence.pointee.load(ordering: .acquiring)
            if seen != acknowledged {
                acknowledged = seen
                ack.pointee.store(seen, ordering: .releasing)
                try port.signal()
            }
            if random.next() % 8 == 0 { usleep(UInt32(random.next() % 200)) }
        }
        return "wakes \(port.eventsReceived) received \(port.notificationsReceived) sent \(port.notificationsSent)"
    }
}

/// xorshift64*: the stress's schedule, reproducible from its seed.
struct SeededRandom {
    private var state: UInt64
    init(_ seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}
