/// The Slurm allocation this process runs in, read from the `SLURM_*` variables sbatch/salloc set.
public struct SlurmAllocation: Equatable, Sendable {
    /// `SLURM_JOB_ID`.
    public let jobID: String
    /// `SLURM_NTASKS` (`--ntasks`), when the job asked for a task count.
    public let tasks: Int?
    /// `SLURM_JOB_NUM_NODES` (`--nodes`).
    public let nodes: Int
    /// `SLURM_JOB_NODELIST`, e.g. `node[01-04]`.
    public let nodeList: String
    /// `SLURM_CPUS_PER_TASK` (`--cpus-per-task`), when given.
    public let cpusPerTask: Int?
    /// Tasks on each node, expanded from `SLURM_TASKS_PER_NODE` (`2(x3),1` → [2, 2, 2, 1]).
    public let tasksPerNode: [Int]

    /// The allocation described by `environment`, or nil outside Slurm (no `SLURM_JOB_ID`).
    public init?(environment: [String: String]) {
        guard let job = environment["SLURM_JOB_ID"] ?? environment["SLURM_JOBID"], !job.isEmpty else { return nil }
        jobID = job
        tasks = environment["SLURM_NTASKS"].flatMap { Int($0) } ?? environment["SLURM_NPROCS"].flatMap { Int($0) }
        nodes = (environment["SLURM_JOB_NUM_NODES"] ?? environment["SLURM_NNODES"]).flatMap { Int($0) } ?? 1
        nodeList = environment["SLURM_JOB_NODELIST"] ?? environment["SLURM_NODELIST"] ?? ""
        cpusPerTask = environment["SLURM_CPUS_PER_TASK"].flatMap { Int($0) }
        tasksPerNode = environment["SLURM_TASKS_PER_NODE"].map(Self.expandTasksPerNode) ?? []
    }

    /// Ranks the allocation holds: `SLURM_NTASKS`, else the sum over nodes, else nil.
    public var totalTasks: Int? {
        if let tasks { return tasks }
        let sum = tasksPerNode.reduce(0, +)
        return sum > 0 ? sum : nil
    }

    /// Expands Slurm's compressed per-node counts: `2(x3),1` → [2, 2, 2, 1]; unreadable parts are skipped.
    public static func expandTasksPerNode(_ text: String) -> [Int] {
        var counts: [Int] = []
        for part in text.split(separator: ",") {
            if let open = part.firstIndex(of: "(") {
                guard let n = Int(part[..<open]),
                      let times = Int(part[part.index(after: open)...].dropFirst().prefix { $0.isNumber }) else { continue }
                counts += Array(repeating: n, count: times)
            } else if let n = Int(part) {
                counts.append(n)
            }
        }
        return counts
    }
}
