import Foundation

/// Threads doing floating-point work on private data while switched on: a stand-in for compute
/// overlapping communication.
final class ComputeLoad: @unchecked Sendable {
    private let condition = NSCondition()
    private var active = false
    private var finished = false

    init(threads: Int) {
        for t in 0..<threads {
            let thread = Thread { [self] in self.work(seed: Float(t + 1)) }
            thread.name = "bench load \(t)"
            thread.start()
        }
    }

    func start() { set(active: true) }
    func stop() { set(active: false) }

    func finish() {
        condition.lock()
        finished = true
        active = false
        condition.broadcast()
        condition.unlock()
    }

    private func set(active value: Bool) {
        condition.lock()
        active = value
        condition.broadcast()
        condition.unlock()
    }

    private func work(seed: Float) {
        var data = [Float](repeating: seed, count: 4096)  // 16 KiB: stays in L1, no memory traffic
        while true {
            condition.lock()
            while !active && !finished { condition.wait() }
            let done = finished
            condition.unlock()
            if done { return }
            for _ in 0..<1000 {
                data.withUnsafeMutableBufferPointer { d in
                    for i in 0..<d.count { d[i] = d[i] * 0.999_9 + 1e-4 }
                }
            }
        }
    }
}
