import DataPipeline
import XCTest

/// TextCorpus: which files are read, how documents and units are cut.
final class TextCorpusTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws { directory = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    private func write(_ name: String, _ text: String) throws {
        let path = directory + "/" + name
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Array(text.utf8).write(to: path)
    }

    /// Documents as strings, rejoining units.
    private func documents(_ corpus: TextCorpus) throws -> [String] {
        var out: [String] = []
        try corpus.forEachBatch(batchBytes: 7) { units in
            for unit in units {
                let text = String(decoding: unit.bytes, as: UTF8.self)
                if unit.startsDocument { out.append(text) } else { out[out.count - 1] += text }
            }
        }
        return out
    }

    func testWalkSkipsBinaryHiddenEmptyAndSymlinks() throws {
        try write("b.txt", "bee\n")
        try write("a/z.txt", "zed\n")
        try write(".hidden", "secret\n")
        try write("empty", "")
        try [UInt8]([0x02, 0x00, 0x00, 0x00, 0x41]).write(to: directory + "/index.dat")
        try FileManager.default.createSymbolicLink(atPath: directory + "/b.u8", withDestinationPath: directory + "/b.txt")
        let corpus = try TextCorpus(inputs: [directory])
        XCTAssertEqual(corpus.files.map { $0.replacingOccurrences(of: directory, with: "") }, ["/a/z.txt", "/b.txt"])
        XCTAssertEqual(corpus.totalBytes, 8)
        XCTAssertEqual(try documents(corpus), ["zed\n", "bee\n"])
        // A symlink named directly is followed.
        XCTAssertEqual(try TextCorpus(inputs: [directory + "/b.u8"]).files, [directory + "/b.u8"])
    }

    func testFortuneStyleSeparatorAndBlankLines() throws {
        try write("f", "one\nline two\n%\n\n%\nthree\r\n%\r\nfour")
        let corpus = try TextCorpus(inputs: [directory + "/f"], documentSeparator: "%")
        XCTAssertEqual(try documents(corpus), ["one\nline two\n", "three\r\n", "four"])
        try write("p", "para one\nstill one\n\npara two\n  \n\n para three\n")
        let paragraphs = try TextCorpus(inputs: [directory + "/p"], documentSeparator: "")
        XCTAssertEqual(try documents(paragraphs), ["para one\nstill one\n", "para two\n", " para three\n"])
    }

    func testLongDocumentsSplitWhereTheSplitHasABoundary() throws {
        let text = (0..<200).map { "line \($0) with  some words\n" }.joined()
        try write("long", text)
        let corpus = try TextCorpus(inputs: [directory + "/long"], unitBytes: 100)
        var units: [String] = []
        try corpus.forEachBatch(batchBytes: 1 << 20) { batch in
            units += batch.map { String(decoding: $0.bytes, as: UTF8.self) }
            XCTAssertEqual(batch.filter(\.startsDocument).count, 1)
        }
        XCTAssertGreaterThan(units.count, 40)
        XCTAssertEqual(units.joined(), text)
        let splitter = GPT2PreTokenizer()
        XCTAssertEqual(units.flatMap { splitter.split($0) }, splitter.split(text))
    }

    func testMissingEmptyAndTextlessInputs() throws {
        XCTAssertThrowsError(try TextCorpus(inputs: [])) { XCTAssertEqual($0 as? DataError, .noInput) }
        XCTAssertThrowsError(try TextCorpus(inputs: [""])) { XCTAssertEqual($0 as? DataError, .noInput) }
        XCTAssertThrowsError(try TextCorpus(inputs: [directory + "/missing.txt"])) { error in
            XCTAssertEqual(error as? DataError, .inputMissing(path: directory + "/missing.txt"))
            XCTAssertTrue("\(error)".contains("fix the --input path"))
        }
        try write("bin/x.dat", "")
        try [UInt8]([0, 1, 2]).write(to: directory + "/bin/x.dat")
        XCTAssertThrowsError(try TextCorpus(inputs: [directory + "/bin"])) { error in
            XCTAssertEqual(error as? DataError, .noText(path: directory + "/bin"))
            XCTAssertTrue("\(error)".contains("point --input at plain-text files"))
        }
        try write("zero.txt", "")
        XCTAssertThrowsError(try TextCorpus(inputs: [directory + "/zero.txt"])) { error in
            XCTAssertEqual(error as? DataError, .noText(path: directory + "/zero.txt"))
        }
    }
}
