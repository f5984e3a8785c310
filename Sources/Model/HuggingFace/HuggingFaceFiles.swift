import Foundation

/// A Hugging Face model directory (`model.safetensors` + `config.json`) whose tensors are those of a
/// family's parameter table, under the same names and shapes: what BERT and T5 export and import share.
enum HuggingFaceFiles {
    /// Writes every tensor of `table` (read from `params`) into `model.safetensors` and `config` into
    /// `config.json`, in `directory` (created if needed).
    static func write(_ table: some ParameterTable, params: UnsafePointer<Float>, config: [String: Any], to directory: String) throws {
        let json = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw ModelError("\(directory): cannot create the export directory (\(error.localizedDescription))")
        }
        let raw = UnsafeRawPointer(params)
        let outputs = table.tensors.map {
            SafeTensors.Output(name: $0.name, dtype: .f32, shape: $0.shape,
                               bytes: UnsafeRawBufferPointer(start: raw + $0.offset * 4, count: $0.count * 4))
        }
        try SafeTensors.write(outputs, metadata: ["format": "pt"], to: directory + "/model.safetensors")
        do { try json.write(to: URL(fileURLWithPath: directory + "/config.json"), options: .atomic) } catch {
            throw ModelError("\(directory)/config.json: cannot write (\(error.localizedDescription))")
        }
    }

    /// Reads every tensor of `table` by name from `directory/model.safetensors` (F32, F16, BF16 or F64)
    /// into `params`; throws naming the first missing or misshapen tensor (`hint`: what may differ).
    static func read(_ table: some ParameterTable, into params: UnsafeMutablePointer<Float>, from directory: String, hint: String) throws {
        let weights = try SafeTensors(path: directory + "/model.safetensors")
        for t in table.tensors {
            guard let e = weights.entries[t.name] else {
                throw ModelError("\(weights.path): no tensor '\(t.name)'; the checkpoint does not fit this model (\(hint))")
            }
            guard e.shape == t.shape else {
                throw ModelError("\(weights.path): tensor '\(t.name)' has shape \(e.shape), the model expects \(t.shape); the configs differ")
            }
            try weights.read(t.name, into: params + t.offset, count: t.count)
        }
    }
}
