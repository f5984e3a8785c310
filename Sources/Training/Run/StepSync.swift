import Distributed
import Foundation

/// What one step's communication cost: the gradient synchronisation plus every blocking collective.
struct StepSync {
    /// Transport busy time of every collective.
    var communicationSeconds: Double = 0
    /// Time the step waited for communication.
    var exposedSeconds: Double = 0
    /// Transport busy time of the gradient synchronisation alone.
    var gradientSeconds: Double = 0
    /// Bytes of gradient this rank sent.
    var gradientBytes = 0

    /// Adds a gradient synchronisation's timing.
    mutating func add(_ timing: GradientAllreducer.Timing) {
        communicationSeconds += timing.communicationSeconds
        exposedSeconds += timing.exposedSeconds
        gradientSeconds += timing.communicationSeconds
        gradientBytes += timing.bytes
    }

    /// Runs a blocking part of the gradient synchronisation that sends `bytes`, counting its whole
    /// duration as busy, exposed and gradient time.
    mutating func timeGradientBlocking(bytes: Int, _ body: () throws -> Void) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        communicationSeconds += seconds
        exposedSeconds += seconds
        gradientSeconds += seconds
        gradientBytes += bytes
    }

    /// Runs a blocking collective, counting its whole duration as both busy and exposed.
    mutating func timeBlocking(_ body: () throws -> Void) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        communicationSeconds += seconds
        exposedSeconds += seconds
    }
}
