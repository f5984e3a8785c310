import Foundation

/// Quotes command lines for display so that pasting them into a POSIX shell runs the same command.
public enum ShellWords {
    /// `word` as the shell should see it: unchanged when it has no special characters, else single-quoted.
    public static func quote(_ word: String) -> String {
        let safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-"
        if !word.isEmpty, word.allSatisfy({ safe.contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The words joined by spaces, each quoted as needed.
    public static func join(_ words: [String]) -> String {
        words.map(quote).joined(separator: " ")
    }
}
