// XenPlatform's Xen event channels in dom0: an unbound port offered to domain 0 itself and
// bound from a second handle, so both ends of one interdomain channel live in this process.

import Foundation
import XenPlatform
import XenStore

/// Notifications both ways, coalescing, timeouts, the async wait, a ping-pong figure and
/// refusals, over `/dev/xen/evtchn`.
struct EventChannelScenario {
    let report: CheckReport

    func run() async {
        do {
            let table = try XenEventChannels()
            let offered = try table.allocateUnboundPort(for: .dom0)
            let bound = try table.bind(to: .dom0, port: offered.port)
            report.expect(offered.port != bound.port, "events: loopback channel \(offered.port) <-> \(bound.port)")
            try bothWays(offered, bound)
            try coalescing(offered, bound)
            try timeouts(bound)
            await asynchronousWait(offered, bound)
            try pingPong(offered, bound)
            try refusals(table, closing: offered, bound)
        } catch {
            report.expect(false, "events: the loopback channel works", "\(error)")
        }
    }

    private func bothWays(_ offered: XenEventPort, _ bound: XenEventPort) throws {
        try offered.signal()
        report.expect(try bound.waitForEvent(timeout: .seconds(5)), "events: a notification reaches the binding end")
        try bound.signal()
        report.expect(try offered.waitForEvent(timeout: .seconds(5)), "events: a notification reaches the offering end")
    }

    private func coalescing(_ offered: XenEventPort, _ bound: XenEventPort) throws {
        for _ in 0..<5 { try offered.signal() }
        var wakes = 0
        while wakes < 10, try bound.waitForEvent(timeout: .milliseconds(300)) { wakes += 1 }
        // Xen coalesces while the port is pending; the kernel masks it from delivery until the
        // waiter unmasks, so one more wake may follow the first.
        report.expect((1...2).contains(wakes), "events: 5 notifications before a wait coalesce (\(wakes) wake(s))", "\(wakes) wakes")
    }

    private func timeouts(_ bound: XenEventPort) throws {
        let started = ContinuousClock.now
        let woke = try bound.waitForEvent(timeout: .milliseconds(200))
        let elapsed = ContinuousClock.now - started
        report.expect(!woke && elapsed >= .milliseconds(190) && elapsed < .seconds(2),
                      "events: a wait with nothing pending times out in time (\(elapsed))", "woke \(woke) after \(elapsed)")
    }

    private func asynchronousWait(_ offered: XenEventPort, _ bound: XenEventPort) async {
        let signaller = Task {
            try await Task.sleep(for: .milliseconds(50))
            try offered.signal()
        }
        let woke = (try? await bound.nextEvent(timeout: .seconds(5))) ?? false
        report.expect(woke, "events: nextEvent (the reactor's async wait) wakes on a notification")
        _ = await signaller.result
    }

    private func pingPong(_ offered: XenEventPort, _ bound: XenEventPort) throws {
        let rounds = 300
        let echo = Thread { echoPings(on: bound, rounds: rounds) }
        echo.start()
        let started = ContinuousClock.now
        var answered = 0
        for _ in 0..<rounds {
            try offered.signal()
            guard try offered.waitForEvent(timeout: .seconds(5)) else { break }
            answered += 1
        }
        let elapsed = ContinuousClock.now - started
        report.expect(answered == rounds, "events: \(rounds) ping-pong round trips between two threads", "\(answered) answered")
        let microseconds = Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12
        report.note("event-channel round trip: \(Int(microseconds / Double(rounds))) us (\(rounds) rounds, TCG)")
    }

    private func refusals(_ table: XenEventChannels, closing offered: XenEventPort, _ bound: XenEventPort) throws {
        do {
            _ = try table.bind(to: .dom0, port: EventPort(4000))
            report.expect(false, "events: binding to a port nobody offered is refused", "bound")
        } catch {
            report.expect(error == .portNotOffered(EventPort(4000), by: .dom0), "events: binding to a port nobody offered is refused", "\(error)")
        }
        offered.close()
        bound.close()
        do {
            try offered.signal()
            report.expect(false, "events: a closed port refuses to signal", "signalled")
        } catch {
            report.expect(error == .noSuchPort(offered.port), "events: a closed port refuses to signal", "\(error)")
        }
    }
}

/// The echo thread of the ping-pong: answers each notification with one, until `rounds` or a
/// 5 s silence.
func echoPings(on port: XenEventPort, rounds: Int) {
    for _ in 0..<rounds {
        guard (try? port.waitForEvent(timeout: .seconds(5))) == true else { return }
        try? port.signal()
    }
}
