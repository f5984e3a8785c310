import DataPipeline
import Foundation
import XCTest

/// The .mo reader against Python's gettext module on committed catalogs (Fixtures/gettext, made by
/// make_gettext.py: both byte orders, UTF-8 and ISO-8859-1, context, plurals), and the translation task
/// built from them: filtering, de-duplication, a deterministic split by the English text, JSON lines.
final class GettextTaskTests: XCTestCase {
    let root = Fixtures.path("gettext/locale")

    func testCatalogsReadAsPythonsGettextReadsThem() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("gettext/expected.json")))
        let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: [[String]]])
        for name in ["a", "b"] {
            let catalog = try GettextCatalog(path: root + "/de/LC_MESSAGES/\(name).mo")
            let got = catalog.entries.map { [$0.id, $0.translation] }.sorted { $0.lexicographicallyPrecedes($1) }
            XCTAssertEqual(got, expected[name], name)
        }
        let notMO = NSTemporaryDirectory() + "not-\(UUID().uuidString).mo"
        try Data("hello, this is not a catalog".utf8).write(to: URL(fileURLWithPath: notMO))
        defer { try? FileManager.default.removeItem(atPath: notMO) }
        XCTAssertThrowsError(try GettextCatalog(path: notMO)) { XCTAssertTrue("\($0)".contains("not a gettext .mo catalog: bad magic"), "\($0)") }
    }

    func testTaskDropsEmptyIdenticalAndRepeatedPairsAndSplitsByTheEnglish() throws {
        let task = try GettextTask.build(localeRoot: root, lang: "de", catalogs: nil, testFraction: 0.5)
        XCTAssertEqual(task.used.map(\.catalog), ["a", "b"])
        XCTAssertEqual(task.used.map(\.pairs), [5, 3], "a: OK = OK and the empty one dropped; b: Cancel already seen")
        let all = Set((task.train + task.test).map { [$0.source, $0.target] })
        XCTAssertEqual(all, [["Cancel", "Abbrechen"], ["Line\none", "Zeile\neins \"zitiert\""], ["Open file", "Datei öffnen"],
                             ["Quit", "Beenden"], ["one file", "eine Datei"], ["Größe", "Größe ändern"], ["Help", "Hilfe"], ["Save", "Speichern"]])
        // The split: FNV-1a 64 of the English, top 53 bits as a fraction below 0.5 (a slow reference).
        func fnv(_ s: String) -> UInt64 { s.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 } }
        XCTAssertEqual(task.test.map(\.source).sorted(), all.map { $0[0] }.filter { Double(fnv($0) >> 11) / 9_007_199_254_740_992 < 0.5 }.sorted())
        XCTAssertFalse(task.test.isEmpty || task.train.isEmpty, "both splits hold pairs")
        let lines = try GettextTask.jsonLines(task.train).split(separator: "\n")
        XCTAssertEqual(lines.count, task.train.count, "one line per pair, newlines escaped")
        let first = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: String])
        XCTAssertEqual(first, ["source": task.train[0].source, "target": task.train[0].target])
    }

    func testMissingPinnedCatalogNamesItsPackage() throws {
        XCTAssertThrowsError(try GettextTask.build(localeRoot: root, lang: "de", catalogs: ["a", "coreutils"])) {
            XCTAssertTrue("\($0)".contains("lacks coreutils (apt package coreutils); install the packages, or pass --catalogs all"), "\($0)")
        }
        XCTAssertThrowsError(try GettextTask.build(localeRoot: root, lang: "xx", catalogs: nil)) {
            XCTAssertTrue("\($0)".contains("holds no .mo catalogs"), "\($0)")
        }
    }
}
