import ArgumentParser
import DataPipeline
import Foundation

/// `pretrain data fortunes-task`: write the fortunes classification task (train/test JSON lines).
struct DataFortunesTaskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fortunes-task",
        abstract: "Build a labelled task from Debian's fortunes: which file a fortune comes from.",
        discussion: """
        Writes DIR/train.jsonl and DIR/test.jsonl ({"label": category, "text": fortune} per line) and
        DIR/labels.txt (one category per line, in the model's id order: sorted, as finetune numbers them), for fine-tuning a classifier; and
        DIR/corpus.txt, every fortune of every file except the test ones (separated by % lines), to
        pretrain on without ever seeing a test text.
        Example: pretrain data fortunes-task --categories computers,science,love,food --out data/fortunes-task
                 pretrain data prepare --input data/fortunes-task/corpus.txt --document-separator % \\
                     --vocab-size 4096 --out data/fortunes-pretrain
        """.helpParagraphs)

    @Option(help: "Directory of fortune files.") var fortunes: String = "/usr/share/games/fortunes"
    @Option(help: "Comma-separated fortune files; each is one label.") var categories: String = "computers,science,love,food"
    @Option(help: "Share of fortunes held out for testing.") var testFraction: Double = 0.2
    @Option(help: "Seed of the train/test split.") var seed: UInt64 = 0
    @Option(help: "Output directory.") var out: String

    func run() throws {
        let names = categories.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        do {
            let task = try FortuneTask.build(directory: fortunes, categories: names, testFraction: testFraction, seed: seed)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try FortuneTask.jsonLines(task.train).write(toFile: out + "/train.jsonl", atomically: true, encoding: .utf8)
            try FortuneTask.jsonLines(task.test).write(toFile: out + "/test.jsonl", atomically: true, encoding: .utf8)
            try (task.train.labelNames.joined(separator: "\n") + "\n").write(toFile: out + "/labels.txt", atomically: true, encoding: .utf8)
            let corpus = try FortuneTask.corpus(directory: fortunes, excluding: Set(task.test.texts))
            try corpus.text.write(toFile: out + "/corpus.txt", atomically: true, encoding: .utf8)
            for (i, name) in task.train.labelNames.enumerated() {  // sorted: the fine-tuned model's ids
                print("\(name): \(task.train.labels.filter { $0 == i }.count) train, \(task.test.labels.filter { $0 == i }.count) test")
            }
            print("wrote \(out)/train.jsonl (\(task.train.texts.count)), \(out)/test.jsonl (\(task.test.texts.count)), \(out)/labels.txt")
            print("wrote \(out)/corpus.txt: the fortunes of every file in \(fortunes) but the \(corpus.excluded) test ones, for pretraining")
        } catch let error as CocoaError {
            throw CLIError("\(out): cannot write (\(error.localizedDescription)); check the directory")
        }
    }
}
