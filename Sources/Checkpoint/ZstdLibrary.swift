import CZstd

/// Facts about the linked libzstd.
public enum ZstdLibrary {
    /// The library version, e.g. "1.5.4".
    public static var version: String { String(cString: ZSTD_versionString()) }
}
