/// OpenCLIP's caption cleaning (`clean="lower"`): ftfy, two `html.unescape` passes, whitespace collapse, `lower()`.
///
/// The result is exactly the string OpenCLIP's pre-tokeniser sees, as a scalar array (cheap to scan).
public enum CLIPTextCleaner {
    /// Cleans `text` the way OpenCLIP's `SimpleTokenizer` does before pre-tokenisation.
    public static func clean(_ text: String) -> String {
        String(String.UnicodeScalarView(cleanScalars(text)))
    }

    /// `clean(_:)` as unicode scalars.
    public static func cleanScalars(_ text: String) -> [Unicode.Scalar] {
        if let fast = cleanPlainASCII(text) { return fast }
        var scalars = FTFYTextFixer.fixText(Array(text.unicodeScalars))
        scalars = HTMLUnescaping.pythonUnescape(HTMLUnescaping.pythonUnescape(scalars))
        scalars = PythonStringSemantics.strip(scalars)
        scalars = PythonStringSemantics.collapseWhitespace(scalars)
        return PythonStringSemantics.lower(scalars)
    }

    /// Printable ASCII without `&` passes ftfy and `html.unescape` unchanged, so only spacing and case remain.
    private static func cleanPlainASCII(_ text: String) -> [Unicode.Scalar]? {
        var output: [Unicode.Scalar] = []
        output.reserveCapacity(text.utf8.count)
        var pendingSpace = false
        for byte in text.utf8 {
            switch byte {
            case 0x20:
                pendingSpace = !output.isEmpty
            case 0x21...0x7E where byte != UInt8(ascii: "&"):
                if pendingSpace { output.append(" ") }
                pendingSpace = false
                output.append(Unicode.Scalar(byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte))
            default:
                return nil
            }
        }
        return output
    }
}
