#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds the shard files of a split: a directory, a glob pattern, or a single file.
public enum ShardFiles {
    /// The sorted shard paths for `split` (`"train"` or `"val"`) under `location`.
    ///
    /// - A directory: its `.bin` files whose names contain the split name, e.g. `train_000000.bin`
    ///   from `pretrain data prepare`, llm.c's `fineweb_train_000001.bin` or `TinyStories_val.bin`.
    /// - A pattern with `*`, `?` or `[`: the matching files (llm.c's `-i` style), split ignored.
    /// - A file: just that file.
    public static func find(_ location: String, split: String) throws -> [String] {
        let isPattern = location.contains("*") || location.contains("?") || location.contains("[")
        var found: [String] = []
        if isPattern {
            var result = glob_t()
            defer { globfree(&result) }
            if glob(location, 0, nil, &result) == 0 {
                for i in 0..<Int(result.gl_pathc) {
                    if let path = result.gl_pathv[i] { found.append(String(cString: path)) }
                }
            }
        } else {
            let kind = FileIO.kind(location)
            guard kind.exists else { throw DataError.inputMissing(path: location) }
            if kind.isDirectory {
                guard let directory = opendir(location) else { throw FileIO.error(location, "cannot list directory") }
                defer { closedir(directory) }
                while let entry = readdir(directory) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                        String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
                    }
                    if !name.hasPrefix("."), name.hasSuffix(".bin"), name.contains(split) {
                        found.append(location.hasSuffix("/") ? location + name : location + "/" + name)
                    }
                }
            } else {
                found = [location]
            }
        }
        guard !found.isEmpty else { throw DataError.noShards(pattern: isPattern ? location : "\(location) (\(split) split)") }
        return found.sorted()
    }
}
