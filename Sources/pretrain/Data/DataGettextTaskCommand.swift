import ArgumentParser
import DataPipeline
import Foundation

/// `pretrain data gettext-task`: write an English→LANG translation task from the system's gettext catalogs.
struct DataGettextTaskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gettext-task",
        abstract: "Build an English→LANG translation task from Debian's gettext catalogs (no download).",
        discussion: """
        Reads /usr/share/locale/LANG/LC_MESSAGES/*.mo of the pinned catalogs (essential packages; --catalogs all: \
        every one) and writes DIR/train.jsonl, DIR/test.jsonl ({"source", "target"}) and DIR/catalogs.txt.
        """)

    @Option(help: "Target language (a directory under the locale root).") var lang: String
    @Option(help: "Comma-separated catalog names, or 'all' for every catalog of the language.") var catalogs: String = "pinned"
    @Option(help: "Locale root.") var localeRoot: String = "/usr/share/locale"
    @Option(help: "Share of pairs held out for testing.") var testFraction: Double = 0.1
    @Option(help: "Output directory.") var out: String

    func run() throws {
        let names: [String]? = switch catalogs {
        case "all": nil
        case "pinned": GettextTask.defaultCatalogs.map(\.key)
        default: catalogs.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        do {
            let task = try GettextTask.build(localeRoot: localeRoot, lang: lang, catalogs: names, testFraction: testFraction)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try GettextTask.jsonLines(task.train).write(toFile: out + "/train.jsonl", atomically: true, encoding: .utf8)
            try GettextTask.jsonLines(task.test).write(toFile: out + "/test.jsonl", atomically: true, encoding: .utf8)
            try task.used.map { "\($0.catalog) \($0.pairs)" }.joined(separator: "\n").appending("\n")
                .write(toFile: out + "/catalogs.txt", atomically: true, encoding: .utf8)
            print("wrote \(out)/train.jsonl (\(task.train.count) pairs), \(out)/test.jsonl (\(task.test.count)) from \(task.used.count) \(lang) catalogs (catalogs.txt)")
        } catch let error as DataError {
            throw CLIError("\(error)")
        } catch let error as CocoaError {
            throw CLIError("\(out): cannot write (\(error.localizedDescription)); check the directory")
        }
    }
}
