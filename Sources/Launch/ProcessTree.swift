import Foundation

/// The processes below a given one, read from /proc (Linux).
enum ProcessTree {
    /// Every descendant of `root` with its process group, parents before children.
    static func descendants(of root: pid_t) -> [(pid: pid_t, group: pid_t)] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var children: [pid_t: [(pid_t, pid_t)]] = [:]
        for name in names {
            guard let pid = pid_t(name), let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // After "pid (comm)": state, ppid, pgrp, ...
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, let parent = pid_t(fields[1]), let group = pid_t(fields[2]) else { continue }
            children[parent, default: []].append((pid, group))
        }
        var result: [(pid: pid_t, group: pid_t)] = []
        var queue = [root]
        while !queue.isEmpty {
            let next = queue.removeFirst()
            for (pid, group) in children[next] ?? [] {
                result.append((pid, group))
                queue.append(pid)
            }
        }
        return result
    }
}
