import CBLAS
import Foundation
import Support

/// OpenBLAS's runtime: the kernel family it uses, its version string and its thread count.
///
/// OpenBLAS 0.3.21 (Debian 12) does not know recent CPUs: on a Sapphire Rapids Xeon it falls back to
/// `Prescott` SSE3 kernels and runs ~4.7x slow. The kernel family is read from `OPENBLAS_CORETYPE` only
/// when the library loads, so `ensureFastCore` re-executes the process with the variable set, before
/// anything else (MPI included) has started. Users never have to know.
public enum BLASRuntime {
    /// OpenBLAS's build configuration, e.g. "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ... Haswell".
    public static var config: String { String(cString: openblas_get_config()) }

    /// The kernel family in use, e.g. "Haswell", "SkylakeX", "Prescott".
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// The number of threads OpenBLAS uses for one call.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// Sets the number of threads OpenBLAS uses for one call.
    public static func setThreads(_ n: Int) {
        precondition(n >= 1, "thread count must be at least 1")
        openblas_set_num_threads(Int32(n))
    }

    /// How capable a kernel family is, for comparing OpenBLAS's choice with the CPU's features.
    static func tier(_ core: String) -> Int {
        switch core.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": return 3
        case "haswell", "zen", "skylake": return 2
        case "sandybridge": return 1
        default: return 0
        }
    }

    /// The environment variable that marks a process as already re-executed.
    static let marker = "PRETRAIN_BLAS_REEXEC"

    /// Re-executes the current process with `OPENBLAS_CORETYPE` set when OpenBLAS picked a weaker kernel
    /// family than the CPU supports, and with `OMP_WAIT_POLICY=passive` for oneDNN's OpenMP threads
    /// (bf16 matmuls) unless set: libgomp otherwise spins at every barrier, and on a loaded machine a
    /// spinning thread waits for a descheduled one (bench-s bf16 at load 15: 273 tok/s spinning, 384
    /// passive). Both are read when the libraries load, hence the re-execution. Returns normally when
    /// nothing needs to change. A user's own settings are always respected.
    public static func ensureFastCore(cpu: CPUInfo = .host) {
        let env = ProcessInfo.processInfo.environment
        guard env[marker] == nil else { return }
        var changed = false
        if env["OPENBLAS_CORETYPE"] == nil, let wanted = cpu.preferredBLASCore, tier(coreName) < tier(wanted) {
            setenv("OPENBLAS_CORETYPE", wanted, 1)
            changed = true
        }
        if env["OMP_WAIT_POLICY"] == nil {
            setenv("OMP_WAIT_POLICY", "passive", 1)
            changed = true
        }
        guard changed else { return }
        setenv(marker, "1", 1)
        // argv as the process received it; /proc/self/exe is this very binary.
        let args = CommandLine.unsafeArgv
        execv("/proc/self/exe", args)
        // execv only returns on failure: carry on with the libraries as loaded rather than stop.
        unsetenv(marker)
    }
}

extension BLASRuntime {
    /// Measures sgemm throughput (GFLOP/s, best of at least `repeats` runs and half a second,
    /// `bestSeconds`) at the current thread count on an
    /// (M×K)·(K×N) product — the peak that MFU is reported against.
    public static func measurePeakGFLOPS(M: Int = 1024, N: Int = 3072, K: Int = 768, repeats: Int = 8) -> Double {
        let a = UnsafeMutablePointer<Float>.allocate(capacity: M * K)
        let b = UnsafeMutablePointer<Float>.allocate(capacity: K * N)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: M * N)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        for i in 0..<(M * K) { a[i] = Float(i % 7) * 0.01 }
        for i in 0..<(K * N) { b[i] = Float(i % 5) * 0.01 }
        let best = bestSeconds(repeats: repeats) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(M), Int32(N), Int32(K), 1, a, Int32(K), b, Int32(N), 0, c, Int32(N))
        }
        return 2.0 * Double(M) * Double(N) * Double(K) / best / 1e9
    }

    /// The shortest of the times `body` takes over one untimed warm-up and then at least `repeats`
    /// runs and at least `seconds` in all: a peak probe that a busy moment (another process on the
    /// core, threads waking up) cannot spoil, since one undisturbed run in the window is enough.
    static func bestSeconds(repeats: Int, seconds: Double = 0.5, _ body: () -> Void) -> Double {
        body()
        let start = DispatchTime.now().uptimeNanoseconds
        var best = Double.infinity, runs = 0
        while runs < repeats || Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < seconds {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            runs += 1
        }
        return best
    }
}

extension Parallel {
    /// Sets the thread count for the project's loops and for OpenBLAS alike, so the two always agree.
    public static func setThreads(_ n: Int) {
        setLoopThreads(n)
        BLASRuntime.setThreads(n)
    }
}
