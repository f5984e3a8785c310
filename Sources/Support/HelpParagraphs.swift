extension String {
    /// The text with each paragraph on one line, for ArgumentParser, which wraps every line to the
    /// terminal's width itself (a line broken by hand as well comes out wrapped twice, ragged).
    ///
    /// A line joins the one before it when both hold text, neither is indented, and the one before
    /// does not end with ":". Blank lines, indented lines (examples, commands) and the lines after a
    /// colon keep their breaks.
    public var helpParagraphs: String {
        var out: [Substring] = []
        var previous: Substring = ""
        for line in split(separator: "\n", omittingEmptySubsequences: false) {
            let flowing = { (l: Substring) in !l.isEmpty && !l.hasPrefix(" ") && !l.hasPrefix("\t") }
            if let last = out.last, flowing(previous), flowing(line), !previous.hasSuffix(":") {
                out[out.count - 1] = last + " " + line
            } else {
                out.append(line)
            }
            previous = line
        }
        return out.joined(separator: "\n")
    }
}
