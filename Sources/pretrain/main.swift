import Foundation
import Kernels

// 1. OpenBLAS must see OPENBLAS_CORETYPE when it loads: re-exec now if its own choice is too slow.
BLASRuntime.ensureFastCore()

// 2. A release build targets x86-64-v3; say so plainly instead of dying on an illegal instruction.
#if arch(x86_64)
if !CPUInfo.host.hasAVX2FMA, ProcessInfo.processInfo.environment["PRETRAIN_SKIP_CPU_CHECK"] == nil,
   !CPUInfo.host.flags.isEmpty {
    FileHandle.standardError.write(Data(
        "error: this CPU (\(CPUInfo.host.modelName)) lacks AVX2/FMA; rebuild with `PRETRAIN_PORTABLE=1 swift build -c release`\n".utf8))
    exit(2)
}
#endif

// 3. Parse and run; user mistakes become one line, never a stack trace.
Pretrain.runMain()
