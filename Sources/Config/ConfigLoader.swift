import Foundation
import Model
import Yams

/// Reads a run's YAML file and `--set` overrides into a validated `RunConfig`.
///
/// Every problem is one `ConfigError` line naming the file (with line and column where YAML gives
/// them), the key path, the expected type or range, the value given and, for unknown keys, the nearest
/// valid key. Accelerate keys that mean nothing here are accepted with a notice.
public enum ConfigLoader {
    /// Loads `path` (or only defaults when nil), applies `overrides` ("a.b=value"), and validates.
    /// `notice` receives one line per accepted-but-ignored key.
    public static func load(path: String?, overrides: [String] = [], notice: (String) -> Void = { _ in }) throws -> RunConfig {
        var config = RunConfig()
        if let path {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ConfigError("\(path): no such config file; write one with `pretrain config --defaults --out \(path)` or check the path")
            }
            if isDirectory.boolValue {
                throw ConfigError("\(path) is a directory; give the config's YAML file (e.g. configs/tiny.yaml)")
            }
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ConfigError("\(path): cannot be read as UTF-8 text")
            }
            // An empty file (or one of comments only) would silently train the built-in defaults.
            if isBlank(text) {
                throw ConfigError("\(path): the config is empty; give it keys (`pretrain config --defaults --out \(path)` writes every key "
                                  + "with its default, configs/tiny.yaml is a small run)")
            }
            try apply(yaml: text, file: path, to: &config, notice: notice)
        }
        for override in overrides { try apply(override: override, to: &config) }
        try validate(config, origin: path ?? "config")
        return config
    }

    /// Applies one YAML document to `config`.
    public static func apply(yaml: String, file: String, to config: inout RunConfig, notice: (String) -> Void = { _ in }) throws {
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch let error as YamlError {
            throw ConfigError("\(file): invalid YAML: \(describe(error))")
        }
        guard let root else { return }  // an empty file means all defaults
        guard let mapping = root.mapping else {
            throw ConfigError("\(file)\(at(root.mark)): the top level must be a mapping of keys to values")
        }
        var given: [String: String] = [:]  // key path → how the file spelled it
        try walk(mapping, prefix: "", file: file, into: &config, given: &given, notice: notice)
        // A preset fills the shape keys this document leaves out.
        if given["model.preset"] != nil {
            for setting in config.modelPreset.shapeSettings where given[String(setting.prefix { $0 != "=" })] == nil {
                try apply(override: setting, to: &config)
            }
        }
    }

    /// Whether `text` holds no YAML content: only blank lines and comments.
    static func isBlank(_ text: String) -> Bool {
        text.split(whereSeparator: \.isNewline).allSatisfy { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed == "---" || trimmed == "..."
        }
    }

    private static func walk(_ mapping: Node.Mapping, prefix: String, file: String, into config: inout RunConfig, given: inout [String: String],
                             notice: (String) -> Void) throws {
        var seen: [String: Mark?] = [:]
        for (keyNode, value) in mapping {
            guard let name = keyNode.string else { throw ConfigError("\(file)\(at(keyNode.mark)): keys must be strings") }
            let spelled = prefix.isEmpty ? name : prefix + "." + name
            var path = spelled
            if let alias = ConfigSchema.aliases[path] { path = alias }
            // YAML keeps every occurrence of a key; taking the last one would silently drop the others.
            if let first = seen[path] {
                let what = ConfigSchema.byPath[path] == nil && ConfigSchema.keys.contains(where: { $0.path.hasPrefix(path + ".") })
                    ? "section `\(path)` appears twice (first at line \(first?.line ?? 0)); merge the two into one"
                    : "key `\(path)` appears twice (first at line \(first?.line ?? 0)); keep one of the two lines"
                throw ConfigError("\(file)\(at(keyNode.mark)): \(what)")
            }
            seen[path] = keyNode.mark
            if ConfigSchema.acceleratePassThrough.contains(path) || path.hasPrefix("tpu_") {
                notice("notice: \(file): \(path) has no meaning for CPU training here; ignored")
                continue
            }
            if let key = ConfigSchema.byPath[path] {
                if value.null != nil && value.scalar?.style != .singleQuoted && value.scalar?.style != .doubleQuoted {
                    // `accelerate config` writes `null` for launch keys it leaves unset: the default.
                    if prefix.isEmpty, value.scalar?.string.isEmpty == false { continue }
                    let empty = key.field.isText ? " ('' for an empty \(key.field.typeName))" : ""
                    throw ConfigError("\(file)\(at(keyNode.mark)): \(path) has no value; give one (\(key.field.typeName))\(empty) "
                                      + "or remove the line to use the default (\(key.render(RunConfig())))")
                }
                guard let scalar = value.scalar else {
                    throw ConfigError("\(file)\(at(value.mark)): \(path) must be a single value (\(key.field.typeName)), not a list or mapping")
                }
                if let earlier = given[path] {
                    // The same key under another spelling earlier in the file: both must say the same.
                    var other = config
                    try key.set(scalar.string, in: &other, origin: "\(file)\(at(value.mark))")
                    guard key.render(other) == key.render(config) else {
                        throw ConfigError("\(file)\(at(keyNode.mark)): \(spelled) \(key.render(other)) disagrees with \(earlier) \(key.render(config)) "
                                          + "given earlier (both set \(path)); keep one of the two")
                    }
                }
                try key.set(scalar.string, in: &config, origin: "\(file)\(at(value.mark))")
                given[path] = spelled
                continue
            }
            let isSection = ConfigSchema.keys.contains { $0.path.hasPrefix(path + ".") }
            if isSection {
                guard let nested = value.mapping else {
                    if value.null != nil && value.scalar?.style != .singleQuoted && value.scalar?.style != .doubleQuoted {
                        throw ConfigError("\(file)\(at(keyNode.mark)): section `\(path)` is empty; indent its keys under it, or remove the line")
                    }
                    throw ConfigError("\(file)\(at(value.mark)): \(path) is a section; give it keys, e.g. \(path):\n  \(ConfigSchema.keys.first { $0.path.hasPrefix(path + ".") }!.path.split(separator: ".").last!): …")
                }
                try walk(nested, prefix: path, file: file, into: &config, given: &given, notice: notice)
                continue
            }
            throw unknownKey(path, origin: "\(file)\(at(keyNode.mark))")
        }
    }

    /// Applies one `--set key.path=value` override; `model.preset=NAME` also sets the preset's shape keys.
    public static func apply(override: String, to config: inout RunConfig) throws {
        guard let eq = override.firstIndex(of: "=") else {
            throw ConfigError("--set \(override): expected key=value, e.g. --set optimizer.lr=3e-4")
        }
        var path = String(override[..<eq]).trimmingCharacters(in: .whitespaces)
        let value = String(override[override.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
        if let alias = ConfigSchema.aliases[path] { path = alias }
        if ConfigSchema.byPath[path] == nil, let first = ConfigSchema.keys.first(where: { $0.path.hasPrefix(path + ".") }) {
            throw ConfigError("--set \(override): \(path) is a section, not a key; set one of its keys, e.g. --set \(first.path)=VALUE (`pretrain config --explain` lists them)")
        }
        guard let key = ConfigSchema.byPath[path] else { throw unknownKey(path, origin: "--set") }
        let unquoted = (value.hasPrefix("'") && value.hasSuffix("'") || value.hasPrefix("\"") && value.hasSuffix("\"")) && value.count >= 2
            ? String(value.dropFirst().dropLast()) : value
        try key.set(unquoted, in: &config, origin: "--set")
        if path == "model.preset" { config.model = config.modelPreset.apply(to: config.model) }
    }

    static func unknownKey(_ path: String, origin: String) -> ConfigError {
        let parts = path.split(separator: ".").map(String.init)
        let leaf = parts.last ?? path
        if let key = ConfigSchema.huggingFaceNames[leaf], key != path {
            return ConfigError("\(origin): unknown key `\(path)`; Hugging Face's `\(leaf)` is `\(key)` here")
        }
        let parent = parts.dropLast().joined(separator: ".")
        // Candidates at the same level: top-level keys and section names, or the keys of the section.
        let level: [String] = parent.isEmpty
            ? ConfigSchema.keys.map(\.path).filter { !$0.contains(".") } + ConfigSchema.sections.sorted()
            : ConfigSchema.keys.map(\.path).filter { $0.hasPrefix(parent + ".") }
        let leafOf = { (p: String) in String(p.split(separator: ".").last ?? Substring(p)) }
        let suggestion = EditDistance.nearest(to: leaf, in: level.map(leafOf)).flatMap { l in level.first { leafOf($0) == l } }
            ?? EditDistance.nearest(to: path, in: ConfigSchema.keys.map(\.path))
        let hint = suggestion.map { "did you mean `\($0)`?" } ?? "run `pretrain config --explain` for every key"
        return ConfigError("\(origin): unknown key `\(path)`; \(hint)")
    }

    /// Cross-field checks that no single key can make.
    public static func validate(_ config: RunConfig, origin: String) throws {
        // T5 checks its own shape (its head size d_kv need not divide d_model).
        if config.family.arch != .t5 {
            do { try config.model.validate() } catch let error as ModelError { throw ConfigError("\(origin): \(error.message)") }
        }
        try validateFamily(config, origin: origin)
        try checkSizes(config, origin: origin)
        let t = config.training
        if t.seqLen > config.model.maxSeqLen {
            throw ConfigError("\(origin): training.seq_len \(t.seqLen) is longer than model.max_seq_len \(config.model.maxSeqLen); lower seq_len or raise max_seq_len")
        }
        if config.launch.distributedType == "NO", config.launch.numProcesses != 1 {
            throw ConfigError("\(origin): distributed_type NO runs one process but num_processes is \(config.launch.numProcesses); set num_processes: 1 or distributed_type: MULTI_CPU")
        }
        _ = try accumulationSteps(config, worldSize: config.launch.numProcesses, origin: origin)
    }

    /// Checks that the architecture, objective and family options fit together (one line each).
    static func validateFamily(_ config: RunConfig, origin: String) throws {
        let f = config.family, m = config.model
        switch (f.arch, config.objective) {
        case (.gpt, .mlm):
            throw ConfigError("\(origin): training.objective mlm needs model.arch bert (a GPT decoder is trained with clm); set model.arch: bert or training.objective: clm")
        case (.bert, .clm):
            throw ConfigError("\(origin): training.objective clm needs model.arch gpt (a BERT encoder sees both sides, so next-token prediction is trivial); set training.objective: mlm or model.arch: gpt")
        case (.gpt, .spanCorruption), (.bert, .spanCorruption):
            throw ConfigError("\(origin): training.objective span_corruption needs model.arch t5 (an encoder-decoder); set model.arch: t5 or training.objective: auto")
        case (.t5, .clm), (.t5, .mlm):
            throw ConfigError("\(origin): training.objective \(config.objective.rawValue) does not train model.arch t5, which learns span corruption; set training.objective: span_corruption (or auto)")
        case (.transformer, .clm), (.transformer, .mlm), (.transformer, .spanCorruption):
            throw ConfigError("\(origin): training.objective \(config.objective.rawValue) does not train model.arch transformer, which learns source → target pairs; set training.objective: seq2seq (or auto)")
        case (.gpt, .seq2seq), (.bert, .seq2seq), (.t5, .seq2seq):
            throw ConfigError("\(origin): training.objective seq2seq needs model.arch transformer (the encoder-decoder trained on pairs); set model.arch: transformer or training.objective: auto")
        default: break
        }
        if f.arch == .gpt {
            for (key, set) in [("model.nsp", f.nsp), ("model.intermediate_size", f.intermediateSize != 0), ("model.norm", f.norm == .post)] where set {
                throw ConfigError("\(origin): \(key) applies to model.arch bert only (GPT blocks are pre-LN with a 4 × d_model feed-forward); remove it or set model.arch: bert")
            }
            return
        }
        if f.arch == .t5 { return try validateT5(config, origin: origin) }
        if f.arch == .transformer { return try validateTransformer(config, origin: origin) }
        if m.embeddingDropout > 0 {
            throw ConfigError("\(origin): model.embedding_dropout is not used by model.arch bert (its hidden dropout, model.residual_dropout, also covers the embeddings); set it to 0")
        }
        let unsupported: [(String, Bool)] = [("model.positions sinusoidal", m.positions != .learned), ("model.label_smoothing", m.labelSmoothing > 0)]
        for (key, set) in unsupported where set {
            throw ConfigError("\(origin): \(key) is not supported with model.arch bert; use the default (learned positions, 0)")
        }
        try validated(config.bertConfig.validate, origin: origin)
        let minimum = f.nsp ? 5 : 3
        if config.training.seqLen < minimum {
            throw ConfigError("\(origin): training.seq_len \(config.training.seqLen) cannot hold [CLS], [SEP]\(f.nsp ? " twice" : "") and content; use at least \(minimum)")
        }
        if f.nsp, config.training.microBatch < 2 {
            throw ConfigError("\(origin): model.nsp draws random B segments from other rows of the micro-batch; set training.micro_batch to at least 2")
        }
    }

    /// Throws for the first of `keys` (a key, whether the config sets it) that is set: it does not apply to
    /// `model.arch` `arch` (named with why), so remove it.
    static func refuse(_ keys: [(String, Bool)], arch: String, origin: String) throws {
        for (key, set) in keys where set {
            throw ConfigError("\(origin): \(key) does not apply to model.arch \(arch); remove it")
        }
    }

    /// Runs a family config's `validate()`, naming the file in its message.
    static func validated(_ validate: () throws -> Void, origin: String) throws {
        do { try validate() } catch let error as ModelError { throw ConfigError("\(origin): \(error.message)") }
    }

    /// T5: one dropout rate (`model.dropout_rate`), relative positions, pre-norm RMS blocks.
    static func validateT5(_ config: RunConfig, origin: String) throws {
        let f = config.family, m = config.model
        try refuse([("model.nsp", f.nsp), ("model.norm", f.norm != .auto), ("model.positions sinusoidal", m.positions != .learned),
                    ("model.embedding_dropout", m.embeddingDropout > 0), ("model.attention_dropout", m.attentionDropout > 0),
                    ("model.label_smoothing", m.labelSmoothing > 0), ("model.num_labels", f.numLabels > 0)],
                   arch: "t5 (pre-norm RMS blocks, relative positions, one dropout rate model.dropout_rate everywhere)", origin: origin)
        try validated(config.t5Config.validate, origin: origin)
        if config.training.seqLen < 4 {
            throw ConfigError("\(origin): training.seq_len \(config.training.seqLen) cannot hold a kept token, a sentinel and EOS; use at least 4")
        }
    }

    /// The paper's Transformer: one dropout rate (`model.residual_dropout`, nn.Transformer's `dropout`),
    /// sinusoidal positions, post-LN blocks.
    static func validateTransformer(_ config: RunConfig, origin: String) throws {
        let f = config.family, m = config.model
        try refuse([("model.nsp", f.nsp), ("model.norm", f.norm != .auto), ("model.embedding_dropout", m.embeddingDropout > 0),
                    ("model.attention_dropout", m.attentionDropout > 0), ("model.num_labels", f.numLabels > 0)],
                   arch: "transformer (post-LN blocks, sinusoidal positions, one dropout rate model.residual_dropout everywhere, as nn.Transformer's dropout)",
                   origin: origin)
        try validated(config.transformerConfig.validate, origin: origin)
        if config.training.seqLen < 2 {
            throw ConfigError("\(origin): training.seq_len \(config.training.seqLen) cannot hold a token and EOS; use at least 2")
        }
    }

    /// Micro-batches per rank per optimizer step for `worldSize` ranks, with the micro-batch
    /// `BatchPlan` chooses (it lowers micro_batch where global_batch needs it).
    public static func accumulationSteps(_ config: RunConfig, worldSize: Int, origin: String = "config") throws -> Int {
        try BatchPlan.resolve(config, worldSize: worldSize, origin: origin).accumulation
    }

    /// The fully resolved config as YAML (every key, defaults included), as printed at start and stored
    /// with checkpoints.
    public static func render(_ config: RunConfig) -> String {
        var lines: [String] = []
        var section = ""
        for key in ConfigSchema.keys {
            let parts = key.path.split(separator: ".").map(String.init)
            if parts.count == 1 {
                lines.append("\(key.path): \(key.render(config))")
            } else {
                if parts[0] != section { section = parts[0]; lines.append("\(section):") }
                lines.append("  \(parts[1]): \(key.render(config))")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Every key with its type, default and meaning (`pretrain config --explain`).
    public static func explain() -> String {
        let defaults = RunConfig()
        let width = ConfigSchema.keys.map(\.path.count).max() ?? 0
        return ConfigSchema.keys.map { key in
            key.path.padding(toLength: width, withPad: " ", startingAt: 0)
                + "  default \(key.render(defaults))  (\(key.field.typeName))\n" + String(repeating: " ", count: width + 2) + key.help
        }.joined(separator: "\n") + "\n"
    }

    /// `yaml` (as `render` writes it) with each key's help text as a trailing comment.
    public static func commented(_ yaml: String) -> String {
        var section = ""
        var lines: [String] = []
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            guard let colon = line.firstIndex(of: ":") else { lines.append(line); continue }
            let indented = line.hasPrefix("  ")
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            if !indented, line.hasSuffix(":") {
                section = name
                lines.append(line)
                continue
            }
            if !indented { section = "" }
            let path = section.isEmpty ? name : section + "." + name
            if let help = ConfigSchema.byPath[path]?.help {
                lines.append(line.padding(toLength: max(line.count, 40), withPad: " ", startingAt: 0) + "  # " + help)
            } else {
                lines.append(line)
            }
        }
        return lines.joined(separator: "\n")
    }

    static func at(_ mark: Mark?) -> String { mark.map { ":\($0.line):\($0.column)" } ?? "" }

    static func describe(_ error: YamlError) -> String {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _):
            return "line \(mark.line), column \(mark.column): \(problem)\(context.map { " \($0.text)" } ?? "")"
        default:
            return "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
        }
    }
}
