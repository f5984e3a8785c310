import DataPipeline
import XCTest

/// BERT's special tokens: found in a trained tokenizer, a one-line error naming the missing ones.
final class BERTSpecialTokensTests: XCTestCase {
    func testTrainedTokenizerReservesThem() throws {
        let tokenizer = try BPETrainer(vocabularySize: 300).train(documents: [Array("the cat sat on the mat".utf8)])
        let s = try BERTSpecialTokens(tokenizer: tokenizer)
        XCTAssertEqual(tokenizer.decodeText([s.cls, s.sep, s.mask, s.pad]), "[CLS][SEP][MASK][PAD]")
        XCTAssertEqual(s.others, [tokenizer.endOfText!], "<|endoftext|> is another special, never masked")
        XCTAssertEqual(Set(s.all).count, 5)
    }

    func testMissingTokensAreNamedInOneLine() throws {
        let bytes = (0..<256).map { [UInt8($0)] as [UInt8]? }
        let tokenizer = try Tokenizer(tokens: bytes, merges: [], addedTokens: [AddedToken(id: 256, content: AddedToken.endOfText),
                                                                                  AddedToken(id: 257, content: AddedToken.mask)],
                                      sourcePath: "gpt2/tokenizer.json")
        XCTAssertThrowsError(try BERTSpecialTokens(tokenizer: tokenizer)) { error in
            let line = "\(error)"
            XCTAssertEqual(error as? DataError, .missingSpecialTokens(path: "gpt2/tokenizer.json", missing: ["[CLS]", "[SEP]", "[PAD]"]))
            XCTAssertTrue(line.hasPrefix("gpt2/tokenizer.json: tokenizer has no [CLS], [SEP], [PAD] special tokens"), line)
            XCTAssertTrue(line.contains("--vocab-size"), line)
            XCTAssertFalse(line.contains("\n"))
        }
    }
}
