import DataPipeline
import Foundation
import XCTest

/// JSON lines, CSV/TSV, Parquet (pyarrow, every codec/encoding/page version) and compressed
/// inputs give the same documents, and the same tokens, as the texts as plain files; bad input
/// is one line naming the file (fixtures: Fixtures/corpora/make_corpora.py).
final class CorpusFormatTests: XCTestCase {
    private var root = ""

    override func setUpWithError() throws { root = try makeTemporaryDirectory("corpora") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: root) }

    /// The fixture documents that make documents: present and not whitespace-only.
    private func expected() throws -> [String] {
        let data = try Foundation.Data(contentsOf: URL(fileURLWithPath: Fixtures.path("corpora/texts.json")))
        let all = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [Any])
        return all.compactMap { $0 as? String }.filter { !$0.allSatisfy(\.isWhitespace) }
    }

    /// Every document of a corpus, its units joined.
    private func documents(_ inputs: [String], textField: String = "text", lineDocuments: Bool = false) throws -> [String] {
        let corpus = try TextCorpus(inputs: inputs, unitBytes: 64, textField: textField, lineDocuments: lineDocuments)
        var documents: [[UInt8]] = []
        try corpus.forEachBatch(batchBytes: 100) { units in
            for unit in units {
                if unit.startsDocument {
                    XCTAssertEqual(unit.document, documents.count)
                    documents.append([])
                }
                documents[documents.count - 1] += Array(unit.bytes)
            }
        }
        return documents.map { String(decoding: $0, as: UTF8.self) }
    }

    func testJSONLinesCSVAndCompressedFilesGiveTheDocuments() throws {
        let want = try expected()
        for name in ["texts.jsonl", "texts.jsonl.gz", "texts.jsonl.zst", "texts.csv", "texts.tsv"] {
            XCTAssertEqual(try documents([Fixtures.path("corpora/" + name)]), want, name)
        }
    }

    func testParquetInEveryCodecEncodingAndPageVersion() throws {
        let want = try expected()
        var files = 0
        for codec in ["none", "snappy", "gzip", "zstd"] {
            for encoding in ["plain", "dict"] {
                for page in ["1", "2"] {
                    let path = Fixtures.path("corpora/parquet/\(codec)-\(encoding)-v\(page).parquet")
                    XCTAssertEqual(try documents([path]), want, path)
                    let file = try ParquetFile(path: path)
                    XCTAssertEqual(file.columnNames, ["id", "text"])
                    XCTAssertEqual(file.rowCount, 26)
                    files += 1
                }
            }
        }
        XCTAssertEqual(files, 16)
        XCTAssertEqual(try documents([Fixtures.path("corpora/parts")]), want, "a directory of two Parquet files")
    }

    func testPreparedTokensEqualThoseOfThePlainTexts() throws {
        let plain = root + "/plain"
        try FileManager.default.createDirectory(atPath: plain, withIntermediateDirectories: true)
        for (index, text) in try expected().enumerated() {
            try Foundation.Data(text.utf8).write(to: URL(fileURLWithPath: plain + String(format: "/doc-%04d.txt", index)))
        }
        let tokenizer = Fixtures.path("hf-trained/tokenizer.json")
        func prepare(_ input: String, _ out: String) throws -> [UInt8] {
            var settings = PrepareSettings(inputs: [input], outputDirectory: root + "/" + out, tokenizerPath: tokenizer, valFraction: 0.2)
            settings.textField = "text"
            _ = try DataPreparer(settings: settings, threads: 2, showProgress: false).run()
            let train = try XCTUnwrap(FileManager.default.contents(atPath: root + "/\(out)/train_000000.bin"))
            let val = try XCTUnwrap(FileManager.default.contents(atPath: root + "/\(out)/val_000000.bin"))
            return [UInt8](train) + [UInt8](val)
        }
        let reference = try prepare(plain, "p")
        XCTAssertGreaterThan(reference.count, 2048)
        for (index, name) in ["texts.jsonl.zst", "texts.csv", "parquet/zstd-dict-v2.parquet"].enumerated() {
            XCTAssertEqual(try prepare(Fixtures.path("corpora/" + name), "o\(index)"), reference, name)
        }
    }

    func testLineDocumentsAndCompressedText() throws {
        let path = root + "/lines.txt"
        try Foundation.Data("one\n\ntwo words\n  \nthree\n".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try documents([path], lineDocuments: true), ["one", "two words", "three"])
        XCTAssertEqual(try documents([path]), ["one\n\ntwo words\n  \nthree\n"])
        let gz = root + "/lines.txt.gz"
        try shell("gzip -c '\(path)' > '\(gz)'")
        XCTAssertEqual(try documents([gz], lineDocuments: true), ["one", "two words", "three"])
        XCTAssertEqual(try documents([gz]), ["one\n\ntwo words\n  \nthree\n"])
    }

    /// Compressed text is split while streaming; the documents must equal the plain file's.
    func testCompressedTextWithSeparatorsGivesThePlainDocuments() throws {
        let fortunes = "first\r\n%\r\nsecond line\nmore\n%\n%\n\n  \n%\nlast without newline"
        let path = root + "/f.txt"
        try Foundation.Data(fortunes.utf8).write(to: URL(fileURLWithPath: path))
        let zst = root + "/f.txt.zst"
        try shell("zstd -q -c '\(path)' > '\(zst)' 2>/dev/null || rm -f '\(zst)'")  // the zstd tool is optional
        let hasZstd = FileManager.default.fileExists(atPath: zst)
        let gz = root + "/f.txt.gz"
        try shell("gzip -c '\(path)' > '\(gz)'")
        for separator in ["%", ""] {
            for lines in [false, true] {
                let corpus = { (input: String) throws -> [String] in
                    let c = try TextCorpus(inputs: [input], documentSeparator: separator, unitBytes: 64, lineDocuments: lines)
                    var out: [String] = []
                    try c.forEachBatch(batchBytes: 10) { units in
                        for unit in units {
                            if unit.startsDocument { out.append("") }
                            out[out.count - 1] += String(decoding: unit.bytes, as: UTF8.self)
                        }
                    }
                    return out
                }
                let plain = try corpus(path)
                XCTAssertFalse(plain.isEmpty)
                XCTAssertEqual(try corpus(gz), plain, "separator \(separator.debugDescription) lines \(lines)")
                if hasZstd { XCTAssertEqual(try corpus(zst), plain, "zstd separator \(separator.debugDescription)") }
            }
        }
    }

    /// Runs a shell command line (gzip and zstd make the compressed inputs).
    private func shell(_ command: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        try process.run()
        process.waitUntilExit()
    }

    private func assertOneLine(_ expression: @autoclosure () throws -> Any, contains parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            XCTAssertTrue(error is DataError, "\(error)", file: file, line: line)
            for part in parts { XCTAssertTrue("\(error)".contains(part), "\(error) lacks \(part)", file: file, line: line) }
            XCTAssertFalse("\(error)".contains("\n"), file: file, line: line)
        }
    }

    func testBadJSONLinesNameFileAndLineOrAreSkippedAndCounted() throws {
        let path = root + "/bad.jsonl"
        try Foundation.Data("{\"text\": \"good one\"}\n{not json}\n{\"body\": \"no text\"}\n{\"text\": \"good two\"}\n".utf8)
            .write(to: URL(fileURLWithPath: path))
        assertOneLine(try self.documents([path]), contains: [path + ":2", "not valid JSON", "--skip-bad-lines"])
        let corpus = try TextCorpus(inputs: [path], skipBadLines: true)
        var texts: [String] = []
        try corpus.forEachBatch(batchBytes: 1 << 20) { units in texts += units.map { String(decoding: $0.bytes, as: UTF8.self) } }
        XCTAssertEqual(texts, ["good one", "good two"])
        XCTAssertEqual(corpus.skippedLines, 2)
        let missing = root + "/missing.jsonl"
        try Foundation.Data("{\"text\": \"ok\"}\n{\"body\": \"x\"}\n".utf8).write(to: URL(fileURLWithPath: missing))
        assertOneLine(try self.documents([missing]), contains: [missing + ":2", "no field \"text\"", "body"])

        // Through the preparer: nothing written, and with --skip-bad-lines the count in the manifest.
        var settings = PrepareSettings(inputs: [path], outputDirectory: root + "/out", tokenizerPath: Fixtures.path("hf-trained/tokenizer.json"))
        assertOneLine(try DataPreparer(settings: settings, threads: 1, showProgress: false).run(), contains: [":2"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/out/prepare.json"))
        settings.skipBadLines = true
        let (manifest, _) = try DataPreparer(settings: settings, threads: 1, showProgress: false).run()
        XCTAssertEqual(manifest.skippedLines, 2)
        XCTAssertEqual(manifest.documents, 2)
        settings.tokenizerPath = nil  // trained: the counting pass meets the bad lines too
        settings.vocabularySize = 300
        settings.outputDirectory = root + "/trained"
        XCTAssertEqual(try DataPreparer(settings: settings, threads: 1, showProgress: false).run().manifest.skippedLines, 2)
    }

    func testCSVWithoutTheColumnListsTheColumns() throws {
        assertOneLine(try self.documents([Fixtures.path("corpora/texts.csv")], textField: "body"), contains: ["no column \"body\"", "id, text", "--text-field"])
        assertOneLine(try self.documents([Fixtures.path("corpora/parquet/none-plain-v1.parquet")], textField: "body"), contains: ["no column \"body\"", "id, text"])
    }

    func testCSVWithAnUnclosedQuoteNamesTheRecordLine() throws {
        let path = root + "/open.csv"
        try Foundation.Data("id,text\n1,fine\n2,\"never\nclosed\n".utf8).write(to: URL(fileURLWithPath: path))
        assertOneLine(try self.documents([path]), contains: [path + ":3", "quoted field"])
    }

    func testBadParquetFilesNameTheProblem() throws {
        let cases: [(String, [String])] = [
            ("truncated.parquet", ["truncated"]),
            ("encrypted.parquet", ["encrypted"]),
            ("encrypted-footer.parquet", ["footer is encrypted"]),
            ("encrypted-columns.parquet", ["columns are encrypted"]),
            ("delta.parquet", ["DELTA_LENGTH_BYTE_ARRAY"]),
            ("brotli.parquet", ["BROTLI"]),
            ("ints.parquet", ["INT64", "not BYTE_ARRAY"]),
        ]
        for (name, parts) in cases {
            let path = Fixtures.path("corpora/bad/" + name)
            assertOneLine(try self.documents([path]), contains: [path] + parts)
        }
    }

    func testCorruptCompressedInputNamesTheCall() throws {
        let good = try XCTUnwrap(FileManager.default.contents(atPath: Fixtures.path("corpora/texts.jsonl.gz")))
        let gz = root + "/cut.jsonl.gz"
        try good.prefix(good.count / 2).write(to: URL(fileURLWithPath: gz))
        assertOneLine(try self.documents([gz]), contains: [gz, "inflate"])
        let zstd = try XCTUnwrap(FileManager.default.contents(atPath: Fixtures.path("corpora/texts.jsonl.zst")))
        let zst = root + "/cut.jsonl.zst"
        try zstd.prefix(zstd.count - 5).write(to: URL(fileURLWithPath: zst))
        assertOneLine(try self.documents([zst]), contains: [zst, "ZSTD_decompressStream"])
    }
}
