import ArgumentParser

/// How a command gets its tokenizer: trained to `--vocab-size`, or loaded with `--tokenizer`.
struct TokenizerChoice: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Train a tokenizer with this many tokens (BPE: 256 bytes + merges + 5 special tokens; WordPiece: specials + alphabet + merges).", valueName: "n"))
    var vocabSize: Int?

    @Option(name: .long, help: ArgumentHelp("Use this tokenizer.json (or GPT-2 vocab.json with merges.txt beside it) instead of training.", valueName: "file"))
    var tokenizer: String?
}
