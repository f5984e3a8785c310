import Foundation

/// A translation task that needs no download: English→`lang` pairs from the gettext catalogs Debian
/// packages install (`/usr/share/locale/<lang>/LC_MESSAGES/*.mo`; msgid is English, msgstr the
/// translation).
///
/// The catalogs are pinned (`defaultCatalogs`, from essential and near-universal packages) so the task is
/// the same on every machine that has them; `catalogs: nil` takes every catalog present instead. Empty
/// translations and pairs whose translation equals the English are dropped, and a (source, target) pair
/// seen in an earlier catalog (by name order) is kept once. A pair goes to the test split when an FNV-1a
/// hash of its English text falls in the first `testFraction` of the range, so the split is
/// deterministic and a text never sits on both sides.
public enum GettextTask {
    /// One English → translation pair.
    public struct Pair: Equatable, Sendable {
        public var source: String, target: String
        public init(source: String, target: String) { self.source = source; self.target = target }
    }

    /// The pinned catalogs and the Debian packages that install them.
    public static let defaultCatalogs: KeyValuePairs<String, String> = [
        "apt": "apt", "bash": "bash", "coreutils": "coreutils", "diffutils": "diffutils", "dpkg": "dpkg",
        "findutils": "findutils", "grep": "grep", "libapt-pkg6.0": "libapt-pkg6.0", "libc": "libc-l10n",
        "make": "make", "sed": "sed", "tar": "tar",
    ]

    /// Builds the splits; `catalogs` are names without `.mo` (nil: every catalog of the language).
    /// Returns the pairs and, per catalog used, how many pairs it contributed.
    public static func build(localeRoot: String = "/usr/share/locale", lang: String, catalogs: [String]?, testFraction: Double = 0.1) throws
        -> (train: [Pair], test: [Pair], used: [(catalog: String, pairs: Int)]) {
        guard testFraction > 0, testFraction < 1 else {
            throw DataError.invalidSetting(name: "--test-fraction", problem: "must be between 0 and 1, got \(testFraction)")
        }
        let directory = "\(localeRoot)/\(lang)/LC_MESSAGES"
        let present = Set(((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".mo") }.map { String($0.dropLast(3)) })
        let names = (catalogs ?? present.sorted()).sorted()
        let missing = names.filter { !present.contains($0) }
        guard !names.isEmpty, missing.isEmpty else {
            let packages = missing.map { name in defaultCatalogs.first { $0.key == name }.map { "\(name) (apt package \($0.value))" } ?? name }
            throw DataError.invalidSetting(name: "--lang/--catalogs", problem: names.isEmpty
                ? "\(directory) holds no .mo catalogs; is the language installed (and not excluded by dpkg's path-exclude)?"
                : "\(directory) lacks \(packages.joined(separator: ", ")); install the packages, or pass --catalogs all to use what is there")
        }
        var seen = Set<[String]>(), train: [Pair] = [], test: [Pair] = [], used: [(String, Int)] = []
        for name in names {
            var kept = 0
            for (source, target) in try GettextCatalog(path: "\(directory)/\(name).mo").entries
            where !target.isEmpty && target != source && seen.insert([source, target]).inserted {
                let pair = Pair(source: source, target: target)
                if Double(fnv1a(source) >> 11) / Double(1 << 53) < testFraction { test.append(pair) } else { train.append(pair) }
                kept += 1
            }
            used.append((name, kept))
        }
        return (train, test, used)
    }

    /// The pairs as JSON lines, `{"source": …, "target": …}` each.
    public static func jsonLines(_ pairs: [Pair]) throws -> String {
        try pairs.map { pair in
            let data = try JSONSerialization.data(withJSONObject: ["source": pair.source, "target": pair.target],
                                                  options: [.sortedKeys, .withoutEscapingSlashes])
            return String(decoding: data, as: UTF8.self)
        }.joined(separator: "\n") + (pairs.isEmpty ? "" : "\n")
    }

    /// 64-bit FNV-1a of the UTF-8 bytes.
    static func fnv1a(_ text: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return h
    }
}
