import Foundation
import Testing
@testable import Runner

@Suite("Request bodies written by hand")
struct JSONWriterTests {
    /// What JSONEncoder makes of the same body: the reference the hand-written JSON must match.
    struct Reference: Encodable {
        let max_tokens: Int?
        let messages: [WireMessage]
        let model: String
        let seed: Int?
        let stop: [String]?
        let temperature: Double?
        let top_p: Double?
    }

    static let texts = [
        "plain", "", "say \"hi\"", #"back\slash"#, "two\nlines\r\nand\ttab", "bell\u{07} nul\u{00} esc\u{1B} del\u{7F}",
        "θ ± é 🙂 — “quotes”", "a/b </script>", String(repeating: "long ", count: 2_000),
    ]

    @Test("every string, number and omitted field reads back as JSONEncoder's body does", arguments: [
        (Int?.some(64), Int?.some(7), [String]?.some(["\n\n", "END"]), Double?.some(0.7), Double?.some(1)),
        (nil, nil, nil, nil, nil),
        (1, -3, [], 1e-05, 0.123456789012),
    ])
    func matchesEncoder(maxTokens: Int?, seed: Int?, stop: [String]?, temperature: Double?, topP: Double?) throws {
        let messages = Self.texts.enumerated().map { WireMessage(role: $0.offset % 2 == 0 ? "user" : "assistant", content: $0.element) }
        let body = OpenAIProvider.Body(model: "m \"x\"", messages: messages, temperature: temperature, top_p: topP,
                                       max_tokens: maxTokens, seed: seed, stop: stop).json
        let reference = try JSONEncoder().encode(Reference(max_tokens: maxTokens, messages: messages, model: "m \"x\"", seed: seed,
                                                           stop: stop, temperature: temperature, top_p: topP))
        let ours = try #require(JSONSerialization.jsonObject(with: body) as? NSDictionary)
        let theirs = try #require(JSONSerialization.jsonObject(with: reference) as? NSDictionary)
        #expect(ours == theirs)
        // Keys in sorted order, nil fields absent.
        let text = String(decoding: body, as: UTF8.self)
        #expect(text.hasPrefix(maxTokens == nil ? #"{"messages":"# : #"{"max_tokens":"#))
        #expect(text.contains("\"seed\"") == (seed != nil))
    }

    @Test("control characters are escaped, everything else is written as UTF-8")
    func escaping() {
        var bytes: [UInt8] = []
        JSONObjectWriter.quote("a\"b\\c\nd\u{01}é", into: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == #""a\"b\\c\nd\u0001é""#)
    }

    @Test("a non-finite number is written as null, never as invalid JSON")
    func nonFinite() throws {
        var writer = JSONObjectWriter()
        writer.field("temperature", Double.nan)
        writer.field("top_p", Double.infinity)
        let object = try #require(JSONSerialization.jsonObject(with: writer.data()) as? [String: Any])
        #expect(object["temperature"] is NSNull && object["top_p"] is NSNull)
    }
}
