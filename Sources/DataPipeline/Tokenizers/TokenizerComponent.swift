import Foundation

/// One `{"type": …, …}` component of a `tokenizer.json` (normalizer, pre_tokenizer, post_processor,
/// decoder), as the parsers of each kind receive it.
struct TokenizerComponent {
    /// The component's `type`.
    let type: String
    /// The whole object, for the type's own keys.
    let object: [String: Any]

    /// The component in `value`, nil when it is absent or null; throws when it is not an object with a
    /// `type`, naming `kind` (the key it sits under) and the file.
    init?(_ value: Any?, kind: String, path: String) throws {
        guard let value, !(value is NSNull) else { return nil }
        guard let object = value as? [String: Any], let type = object["type"] as? String else {
            throw DataError.malformedTokenizer(path: path, problem: "\(kind) has no type")
        }
        self.type = type
        self.object = object
    }
}
