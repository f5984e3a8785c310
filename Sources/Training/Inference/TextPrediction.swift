/// What `TextPredictor.predict` found: the candidates of every [MASK], or a label.
public enum TextPrediction {
    /// fill-mask: one entry per [MASK], in text order.
    case masks([MaskPrediction])
    /// classify: the label probabilities.
    case label(LabelPrediction)
    /// text2text-generation, translation, summarization: the generated text and its ids (EOS dropped).
    case text(String, ids: [Int32])
}
