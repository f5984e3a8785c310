import Foundation

extension ScalingBenchmark.Result {
    /// Exposed communication as a share of the step, per rank, from one run's record. After backward
    /// the rank that finished backward last waited for the communication alone; the others also
    /// waited for it (straggler wait, not communication).
    static func exposedShares(_ record: [String: Any]) -> [Double] {
        guard let exposed = record["exposed_ms"] as? [Double], let steps = record["step_ms"] as? [Double] else { return [] }
        return zip(exposed, steps).map { $0 / $1 }
    }

    /// The table and the ratios against the goals.
    public var lines: [String] {
        var lines: [String] = []
        let p = settings.preset
        func print(_ line: String) { lines.append(line) }
        func median(_ label: String, _ key: String) -> Double? {
            let values = (results[label] ?? []).compactMap { $0[key] as? Double }
            return values.isEmpty ? nil : Statistics.median(values)
        }
        func perRank(_ label: String, _ key: String) -> String {
            guard let last = results[label]?.last?[key] as? [Double] else { return "-" }
            return last.map { String(format: "%.0f", $0) }.joined(separator: "/")
        }
        print("")
        print("run                                           ranks  tokens/s  step ms/rank (last round)  exposed min/max  comm-thread CPU ms/step  grad-sync busbw  raw busbw  MFU    peak RSS MiB/rank  other load")
        for label in order {
            guard let r = results[label]?.last else { continue }
            let tps = median(label, "tokens_per_s") ?? 0
            let shares = Self.exposedShares(r)
            let exposedText = String(format: "%.1f/%.1f%%", (shares.min() ?? 0) * 100, (shares.max() ?? 0) * 100)
            let sync = (r["sync_busbw_gbs"] as? Double).map { String(format: "%6.2f GB/s", $0) } ?? "      -   "
            let raw = (r["raw_busbw_gbs"] as? Double).map { String(format: "%6.2f GB/s", $0) } ?? "      -   "
            let rounds = results[label]?.count ?? 1
            let others = (results[label] ?? []).compactMap { $0["foreign_cores"] as? Double }.max() ?? 0
            let shown = label + (label.hasSuffix("auto") ? " → \(r["schedule"] as? String ?? "?")" : "") + (rounds > 1 ? " (×\(rounds))" : "")
            print(String(format: "%@ %5d  %8.0f  %@  %@  %@  %@      %@  %4.1f%%  %@  %.2f cores",
                         shown.padding(toLength: 45, withPad: " ", startingAt: 0),
                         r["ranks"] as? Int ?? 0, tps, perRank(label, "step_ms").padding(toLength: 25, withPad: " ", startingAt: 0),
                         exposedText.leftPad(15), perRank(label, "comm_thread_cpu_ms").padding(toLength: 23, withPad: " ", startingAt: 0), sync, raw, ((r["mfu"] as? Double) ?? 0) * 100,
                         perRank(label, "peak_rss_mb").padding(toLength: 17, withPad: " ", startingAt: 0), others))
        }
        print("")
        guard let one = median("1 rank", "tokens_per_s") else { return lines }
        let noSync = median("2 ranks, no sync", "tokens_per_s")
        for label in order where label.contains("paired with no sync") {
            let ratios = (results[label] ?? []).compactMap { $0["pair_ratio_median"] as? Double }
            let pairs = (results[label] ?? []).flatMap { ($0["pair_ratios"] as? [Double]) ?? [] }
            guard !ratios.isEmpty else { continue }
            var line = String(format: "%@: synchronised ÷ no-sync step in the same job %.3f× (median of %d pairs; per round %@; goal ≥ 0.97×)",
                              label, Statistics.median(pairs), pairs.count, ratios.map { String(format: "%.3f", $0) }.joined(separator: ", "))
            let ranks = (results[label] ?? []).compactMap { r -> String? in
                guard let a = r["step_ms"] as? [Double], let b = r["no_sync_step_ms"] as? [Double] else { return nil }
                return a.map { String(format: "%.0f", $0) }.joined(separator: "/") + " vs " + b.map { String(format: "%.0f", $0) }.joined(separator: "/")
            }
            let ceilings = (results[label] ?? []).flatMap { ($0["pair_ceiling_ratios"] as? [Double]) ?? [] }
            let ofCeiling = (results[label] ?? []).flatMap { ($0["pair_of_ceiling_ratios"] as? [Double]) ?? [] }
            if !ceilings.isEmpty, !ofCeiling.isEmpty {
                line += String(format: "; lockstep ceiling %.3f× (the no-sync pair held to its slower rank, as a synchronisation costing nothing would run; median of %d), synchronised ÷ ceiling %.3f×",
                               Statistics.median(ceilings), ceilings.count, Statistics.median(ofCeiling))
            }
            if !ranks.isEmpty { line += "; step ms per rank, synchronised vs no-sync, per round: " + ranks.joined(separator: ", ") }
            let bus = (results[label] ?? []).flatMap { ($0["pair_busbw_ratios"] as? [Double]) ?? [] }
            // Only after backward does one call move the whole gradient (overlap's includes waiting for backward).
            let schedule = results[label]?.last?["schedule"] as? String
            if !bus.isEmpty, schedule == "after-backward" {
                line += String(format: ", grad-sync busbw %.0f%% of a raw MPI_Allreduce timed after each synchronised step (median of %d; goal ≥ 90%%)",
                               Statistics.median(bus) * 100, bus.count)
            }
            print(line)
        }
        for label in order where label.contains("progressive paired with plain sum") {
            let runs = results[label] ?? []
            let pairs = runs.flatMap { ($0["progressive_ratios"] as? [Double]) ?? [] }
            guard !pairs.isEmpty else { continue }
            let rounds = runs.compactMap { $0["progressive_ratio_median"] as? Double }.map { String(format: "%.3f", $0) }
            func ranks(_ r: [String: Any], _ key: String) -> String {
                ((r[key] as? [Double]) ?? []).map { String(format: "%.0f", $0) }.joined(separator: "/")
            }
            let steps = runs.map { "\(ranks($0, "step_ms")) vs \(ranks($0, "plain_step_ms"))" }.joined(separator: ", ")
            let exposed = runs.map { "\(ranks($0, "exposed_ms")) vs \(ranks($0, "plain_exposed_ms"))" }.joined(separator: ", ")
            print(String(format: "%@: progressive ÷ plain sum, synchronised steps in the same job %.3f× (median of %d pairs; per round %@); ",
                         label, Statistics.median(pairs), pairs.count, rounds.joined(separator: ", "))
                  + "step ms per rank, progressive vs plain, per round: \(steps); exposed ms per rank: \(exposed)")
        }
        for label in order where label.hasPrefix("2 ranks, ") && !label.contains("no sync") && !label.contains("ZeRO") && !label.contains("paired with plain") {
            guard let two = median(label, "tokens_per_s") else { continue }
            var line = String(format: "%@: %.2f× one rank", label, two / one) + (p.speedupGoal.map { " (\($0))" } ?? "")
            if let noSync { line += String(format: ", %.3f× the no-sync run (goal ≥ 0.97×)", two / noSync) }
            if let aligned = median("2 ranks, no sync, aligned", "tokens_per_s") {
                line += String(format: ", %.3f× the aligned no-sync run", two / aligned)
            }
            // Per round: the gradient sync against the raw MPI_Allreduce timed in the same processes.
            let busRatios = (results[label] ?? []).compactMap { r -> Double? in
                guard let s = r["sync_busbw_gbs"] as? Double, let w = r["raw_busbw_gbs"] as? Double, w > 0 else { return nil }
                return s / w
            }
            if !busRatios.isEmpty {
                line += String(format: ", grad-sync busbw %.0f%% of raw MPI_Allreduce (goal ≥ 90%%; median of %d)",
                               Statistics.median(busRatios) * 100, busRatios.count)
            }
            // Per round, the rank that waited least: its wait is communication alone.
            let exposed = (results[label] ?? []).compactMap { Self.exposedShares($0).min() }
            if !exposed.isEmpty {
                line += String(format: ", exposed communication %.1f%% of the step (the rank that finished backward last; median of %d",
                               Statistics.median(exposed) * 100, exposed.count) + (p.exposedGoal.map { "; \($0))" } ?? ")")
            }
            print(line)
        }
        if let noSync { print(String(format: "2 ranks, no sync: %.2f× one rank (two processes side by side, nothing exchanged)", noSync / one)) }
        if let noSync, let aligned = median("2 ranks, no sync, aligned", "tokens_per_s") {
            print(String(format: "2 ranks, no sync, aligned: %.3f× the unaligned no-sync run (the cost of starting every step together, without communication)", aligned / noSync))
        }
        let plainLabel = order.first { $0.hasPrefix("2 ranks, ") && !$0.contains("no sync") && !$0.contains("ZeRO") }
        if let plainLabel, let plain = results[plainLabel]?.last?["peak_rss_mb"] as? [Double],
           let zero = results["2 ranks, ZeRO-1"]?.last?["peak_rss_mb"] as? [Double] {
            let moments = Double(p.parameterCount) * 8 / 1_048_576
            print(String(format: "peak RSS per rank: %.0f MiB plain, %.0f MiB ZeRO-1 (AdamW moments %.0f MiB → %.0f MiB per rank)",
                         plain.max() ?? 0, zero.max() ?? 0, moments, moments / 2))
        }
        print("load average at the end: \(Statistics.loadAverage())")
        return lines
    }
}
