import Foundation
import Testing

@testable import Runner

@Suite("Keys are taken out in every form JSON or a URL gives them")
struct RedactorTests {
    let key = "sk-rel-2c9F/x+Q"
    var redact: Redactor { Redactor(keys: [key, "short", nil]) }

    /// `key` with the characters at `escaped` written as \uXXXX (`upper`: hex digits in upper case).
    func unicodeEscaped(_ text: String, at escaped: Set<Int>, upper: Bool = false) -> String {
        text.unicodeScalars.enumerated().map { index, scalar in
            guard escaped.contains(index) else { return String(scalar) }
            let hex = String(format: upper ? "%04X" : "%04x", scalar.value)
            return "\\u" + hex
        }.joined()
    }

    @Test("plain, \\u-escaped (any characters, either case), \\/-escaped, percent-encoded, and mixes")
    func forms() {
        let forms = [
            key,
            unicodeEscaped(key, at: [2]),
            unicodeEscaped(key, at: Set(0..<key.count)),
            unicodeEscaped(key, at: [0, 5, 9], upper: true),
            key.replacingOccurrences(of: "/", with: "\\/"),
            key.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!,
            key.replacingOccurrences(of: "-", with: "%2d").replacingOccurrences(of: "/", with: "%2F"),
        ]
        for form in forms {
            let text = #"{"error":{"message":"Incorrect API key provided: "# + form + #"."}}"#
            #expect(
                redact(text) == #"{"error":{"message":"Incorrect API key provided: [redacted]."}}"#, "\(form)")
            #expect(redact(Data(text.utf8)) == Data(redact(text).utf8))
        }
    }

    @Test("text without a key comes back as it is, and other bytes are kept byte for byte")
    func untouched() {
        let bytes = Data([0x7B, 0xFF, 0xFE, 0x5C, 0x75, 0x30, 0x30, 0x25, 0x32]) + Data(key.utf8) + Data([0xC3, 0x28])
        let redacted = redact(bytes)
        #expect(
            redacted == Data([0x7B, 0xFF, 0xFE, 0x5C, 0x75, 0x30, 0x30, 0x25, 0x32]) + Data("[redacted]".utf8)
                + Data([0xC3, 0x28]))
        let plain = "short words, sk-1 and \\u0073k, a 100% sure %2d"
        #expect(redact(plain) == plain)
        // A key cut short is not the key.
        #expect(redact(String(key.dropLast())) == String(key.dropLast()))
    }

    @Test("anything shaped like an OpenAI key is redacted too, but not inside a longer word")
    func keyShapes() {
        #expect(redact("key sk-abcdefghij0123456789 end") == "key [redacted] end")
        #expect(redact("task-abcdefghij0123456789") == "task-abcdefghij0123456789")
        #expect(redact("sk-short") == "sk-short")
    }

    @Test("every model's key is redacted in every model's rows")
    func runWide() throws {
        let experiment = try ExperimentFile.parse(
            yaml: """
                name: keys
                models:
                  - name: a
                    provider: openai
                    model: m
                    base_url: http://127.0.0.1:1/v1
                    api_key_env: KEY_A
                  - name: b
                    provider: anthropic
                    model: m
                    base_url: http://127.0.0.1:2
                    api_key_env: KEY_B
                  - name: c
                    agent: ideal
                """)
        let redactor = ProviderFactory.redactor(
            for: experiment,
            environment: ["KEY_A": "first-secret-key", "KEY_B": "second-secret-key", "OPENAI_API_KEY": "third-key-x"])
        #expect(
            redactor("first-secret-key second-secret-key third-key-x UNSET") == "[redacted] [redacted] [redacted] UNSET"
        )
    }
}
