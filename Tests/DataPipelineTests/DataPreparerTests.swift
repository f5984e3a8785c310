import DataPipeline
import XCTest
import Support

/// DataPreparer end to end: outputs, determinism, caching, and nothing half-written on errors.
final class DataPreparerTests: XCTestCase {
    private var root = ""
    private var corpus = ""

    override func setUpWithError() throws {
        root = try makeTemporaryDirectory()
        corpus = root + "/corpus"
        try FileManager.default.createDirectory(atPath: corpus, withIntermediateDirectories: true)
        var rng = SplitMix64(seed: 5)
        let words = ["the", "cat", "sat", "on", "a", "mat", "and", "it's", "2024", "naïve", "café", "!", "dog"]
        for file in 0..<3 {
            let fortunes = (0..<60).map { _ in
                (0..<(4 + Int(rng.next(below: 20)))).map { _ in words[Int(rng.next(below: UInt64(words.count)))] }.joined(separator: " ") + "\n"
            }
            try Array(fortunes.joined(separator: "%\n").utf8).write(to: corpus + "/file\(file)")
        }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: root) }

    private func settings(_ out: String, vocabularySize: Int? = 300, tokenizer: String? = nil) -> PrepareSettings {
        PrepareSettings(inputs: [corpus], outputDirectory: root + "/" + out, vocabularySize: vocabularySize, tokenizerPath: tokenizer,
                        valFraction: 0.1, shardTokens: 1024, documentSeparator: "%")
    }

    private func names(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    func testWritesTokenizerShardsAndManifestThatDecodeToTheDocuments() throws {
        let (manifest, upToDate) = try DataPreparer(settings: settings("out"), threads: 2, showProgress: false).run()
        XCTAssertFalse(upToDate)
        let out = root + "/out"
        let files = try names(out)
        XCTAssertTrue(files.contains("tokenizer.json") && files.contains("prepare.json") && files.contains("val_000000.bin"))
        XCTAssertGreaterThan(files.filter { $0.hasPrefix("train_") }.count, 1)  // 1024-token shards
        XCTAssertFalse(files.contains { $0.hasPrefix(".") })  // no staging or temporary leftovers
        XCTAssertEqual(manifest.documents, 180)
        XCTAssertEqual(manifest.valDocuments, 18)
        XCTAssertEqual(manifest.vocabularySize, 300)

        let tokenizer = try Tokenizer.load(from: out + "/tokenizer.json")
        let eot = try XCTUnwrap(tokenizer.endOfText)
        let train = try ShardFiles.find(out, split: "train").flatMap { try TokenShard(path: $0).tokens() }
        let val = try ShardFiles.find(out, split: "val").flatMap { try TokenShard(path: $0).tokens() }
        XCTAssertEqual(train.count, manifest.trainTokens)
        XCTAssertEqual(val.count, manifest.valTokens)
        // Documents in corpus order; every 10th goes to val; each starts with <|endoftext|>.
        var documents: [String] = []
        for file in 0..<3 {
            let text = try String(contentsOfFile: corpus + "/file\(file)", encoding: .utf8)
            documents += text.components(separatedBy: "%\n")
        }
        var expectedTrain: [Int32] = []
        var expectedVal: [Int32] = []
        for (index, document) in documents.enumerated() {
            let ids = [eot] + tokenizer.encodeOrdinary(bytes: Array(document.utf8))
            if index % 10 == 9 { expectedVal += ids } else { expectedTrain += ids }
        }
        XCTAssertEqual(train, expectedTrain)
        XCTAssertEqual(val, expectedVal)
    }

    func testOutputIsDeterministicAndIndependentOfThreads() throws {
        _ = try DataPreparer(settings: settings("one"), threads: 1, showProgress: false).run()
        var two = settings("two")
        two.outputDirectory = root + "/two"
        _ = try DataPreparer(settings: two, threads: 2, showProgress: false).run()
        let files = try names(root + "/one")
        XCTAssertEqual(files, try names(root + "/two"))
        for name in files where name != "prepare.json" {
            XCTAssertEqual(FileManager.default.contents(atPath: root + "/one/" + name),
                           FileManager.default.contents(atPath: root + "/two/" + name), name)
        }
    }

    func testSecondRunIsCachedUntilInputOrSettingsChange() throws {
        XCTAssertFalse(try DataPreparer(settings: settings("out"), threads: 2, showProgress: false).run().upToDate)
        XCTAssertTrue(try DataPreparer(settings: settings("out"), threads: 1, showProgress: false).run().upToDate)
        // A setting changes: prepared again.
        XCTAssertFalse(try DataPreparer(settings: settings("out", vocabularySize: 310), threads: 2, showProgress: false).run().upToDate)
        XCTAssertTrue(try DataPreparer(settings: settings("out", vocabularySize: 310), threads: 2, showProgress: false).run().upToDate)
        // An input changes: prepared again.
        let file = corpus + "/file0"
        try (Array(try String(contentsOfFile: file, encoding: .utf8).utf8) + Array("%\nnew fortune\n".utf8)).write(to: file)
        XCTAssertFalse(try DataPreparer(settings: settings("out", vocabularySize: 310), threads: 2, showProgress: false).run().upToDate)
        // An output goes missing: prepared again; --force always prepares.
        try FileManager.default.removeItem(atPath: root + "/out/val_000000.bin")
        XCTAssertFalse(try DataPreparer(settings: settings("out", vocabularySize: 310), threads: 2, showProgress: false).run().upToDate)
        XCTAssertFalse(try DataPreparer(settings: settings("out", vocabularySize: 310), threads: 2, showProgress: false, force: true).run().upToDate)
    }

    func testExistingTokenizerIsUsedAndCopied() throws {
        let gpt2 = Fixtures.path("gpt2-head/vocab.json")
        let (manifest, _) = try DataPreparer(settings: settings("g", vocabularySize: nil, tokenizer: gpt2), threads: 2, showProgress: false).run()
        XCTAssertEqual(manifest.vocabularySize, 2257)
        let copied = try Tokenizer.load(from: root + "/g/tokenizer.json")
        XCTAssertEqual(copied.endOfText, 2256)
        XCTAssertEqual(try TokenShard(path: root + "/g/train_000000.bin")[0], 2256)
    }

    func testVocabularyPast65535WritesUInt32Shards() throws {
        let directory = root + "/wide"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let big = try Tokenizer(tokens: (0..<256).map { [UInt8($0)] }, merges: [],
                                addedTokens: [AddedToken(id: 70_000, content: AddedToken.endOfText)])
        try big.save(to: directory + "/big.json")
        let (manifest, _) = try DataPreparer(settings: settings("wide/out", vocabularySize: nil, tokenizer: directory + "/big.json"),
                                             threads: 2, showProgress: false).run()
        XCTAssertTrue(manifest.wideTokens)
        XCTAssertEqual(manifest.vocabularySize, 70_001)
        let shard = try TokenShard(path: directory + "/out/train_000000.bin")
        XCTAssertEqual(shard.header.version, 2)
        XCTAssertEqual(shard[0], 70_000)
        let firstByte = try XCTUnwrap(FileManager.default.contents(atPath: corpus + "/file0")?.first)
        XCTAssertEqual(shard[1], Int32(firstByte))  // no merges: one token per byte
    }

    func testBadSettingsAndTokenizersFailWithoutWritingAnything() throws {
        let cases: [(PrepareSettings, String)] = [
            (settings("e1", vocabularySize: 100), "--vocab-size 261"),
            (settings("e2", vocabularySize: nil, tokenizer: Fixtures.path("not-bpe.json")), "not BPE"),
            (settings("e3", vocabularySize: nil), "pass --vocab-size N"),
            (settings("e4", vocabularySize: 300, tokenizer: Fixtures.path("not-bpe.json")), "pass only one"),
            (PrepareSettings(inputs: [root + "/nothing"], outputDirectory: root + "/e5", vocabularySize: 300), "no such file"),
        ]
        for (settings, message) in cases {
            XCTAssertThrowsError(try DataPreparer(settings: settings, threads: 1, showProgress: false).run()) { error in
                XCTAssertTrue(error is DataError)
                XCTAssertTrue("\(error)".contains(message), "\(error)")
                XCTAssertFalse("\(error)".contains("\n"))
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: settings.outputDirectory + "/prepare.json"))
        }
        // A tokenizer without <|endoftext|> fails after the output directory exists: only
        // nothing that looks complete may be left there.
        let directory = root + "/noeot"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let plain = try Tokenizer(tokens: (0..<256).map { [UInt8($0)] }, merges: [])
        try plain.save(to: directory + "/plain.json")
        XCTAssertThrowsError(try DataPreparer(settings: settings("noeot/out", vocabularySize: nil, tokenizer: directory + "/plain.json"),
                                              threads: 1, showProgress: false).run()) { error in
            XCTAssertTrue("\(error)".contains("<|endoftext|>"), "\(error)")
        }
        XCTAssertEqual(try names(directory + "/out"), [])
    }

    func testValidationSplitIsSpreadEvenly() {
        let settings = PrepareSettings(inputs: ["x"], outputDirectory: "y", vocabularySize: 300, valFraction: 0.25)
        XCTAssertEqual((0..<12).filter { settings.isValidation(document: $0) }, [3, 7, 11])
        let none = PrepareSettings(inputs: ["x"], outputDirectory: "y", vocabularySize: 300, valFraction: 0)
        XCTAssertFalse((0..<100).contains { none.isValidation(document: $0) })
    }

    /// `--extra-ids 4` reserves T5's sentinels inside the vocabulary, `<extra_id_0>` last as T5's, and
    /// span corruption finds them with pad and EOS; with a loaded tokenizer it is refused in one line.
    func testExtraIdsReserveT5Sentinels() throws {
        var t5 = settings("t5")
        t5.extraIds = 4
        let manifest = try DataPreparer(settings: t5, threads: 1, showProgress: false).run().manifest
        XCTAssertEqual(manifest.vocabularySize, 300)
        let tokenizer = try Tokenizer.load(from: root + "/t5/tokenizer.json")
        let specials = try T5SpecialTokens(tokenizer: tokenizer)
        XCTAssertEqual(specials.sentinels, [299, 298, 297, 296])
        XCTAssertEqual(tokenizer.addedTokens.first { $0.id == specials.pad }?.content, AddedToken.pad)
        XCTAssertEqual(tokenizer.addedTokens.first { $0.id == specials.eos }?.content, AddedToken.endOfText)
        var loaded = settings("t5-loaded", vocabularySize: nil, tokenizer: root + "/t5/tokenizer.json")
        loaded.extraIds = 4
        XCTAssertThrowsError(try loaded.validate()) { XCTAssertTrue("\($0)".contains("--extra-ids"), "\($0)") }
    }
}

