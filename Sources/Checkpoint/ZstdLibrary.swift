import CZstd

/// Facts about the linked libzstd.
public enum ZstdLibrary {
    /// The library version, e.g. "1.5.4".
    public static var version: String { String(cString: ZSTD_versionString()) }

    /// Whether the library was built with multithreading (ZSTD_c_nbWorkers ≥ 1 accepted).
    public static var supportsMultithreading: Bool {
        guard let cctx = ZSTD_createCCtx() else { return false }
        defer { ZSTD_freeCCtx(cctx) }
        return ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, 1)) == 0
    }

    /// The fastest and strongest levels the library accepts.
    public static var levels: ClosedRange<Int> { Int(ZSTD_minCLevel())...Int(ZSTD_maxCLevel()) }

    /// The library's message for a zstd return code.
    static func message(_ code: Int) -> String { String(cString: ZSTD_getErrorName(code)) }
}
