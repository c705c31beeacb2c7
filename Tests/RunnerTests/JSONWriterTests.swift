import Foundation
import Testing

@testable import Runner

@Suite("Request bodies written by hand are JSONEncoder's bytes")
struct JSONWriterTests {
    static let strings = [
        "", "plain", "a\"b\\c/d", "\u{0}\u{1}\u{8}\u{9}\u{a}\u{b}\u{c}\u{d}\u{1f}\u{7f} end",
        "é \u{2028}\u{2029} 😀 \u{fffe}",
        "Imagine you are a person whose social value orientation is prosocial.\n\nA: 85, 85\nB: 85, 76",
        String(repeating: "long \"quoted\" line\r\n", count: 200),
    ]
    static let doubles = [
        0.7, 1.0, 0, -0.0, 1e-7, 1e21, 1e20, 123456789.123, 0.1 + 0.2, 5e-324, 1.7976931348623157e308, 2.5, 100, 1e16,
        1e15, 0.000123, 1.2345678901234567e19, -3.25,
    ]

    static func encoded(_ body: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(body)
    }

    @Test("OpenAI bodies, every field set or left out, with awkward strings and numbers")
    func openAI() throws {
        var generator = SystemRandomNumberGenerator()
        for round in 0..<300 {
            func maybe<T>(_ value: T) -> T? { Bool.random(using: &generator) ? value : nil }
            let messages = (0..<Int.random(in: 0...4)).map { _ in
                WireMessage(
                    role: ["system", "user", "assistant"].randomElement()!, content: Self.strings.randomElement()!)
            }
            let body = OpenAIProvider.Body(
                model: Self.strings.randomElement()!, messages: messages,
                temperature: maybe(Self.doubles.randomElement()!),
                top_p: maybe(Self.doubles.randomElement()!), max_tokens: maybe(Int.random(in: -5...100_000)),
                seed: maybe(Int.random(in: Int.min...Int.max)), stop: maybe(Array(Self.strings.prefix(round % 4))),
                logprobs: maybe(Bool.random()), top_logprobs: maybe(20))
            #expect(body.json == (try Self.encoded(body)), "\(String(decoding: body.json, as: UTF8.self))")
        }
    }

    @Test("Anthropic bodies, likewise")
    func anthropic() throws {
        for round in 0..<300 {
            let body = AnthropicProvider.Body(
                model: "claude", max_tokens: round, system: round % 3 == 0 ? nil : Self.strings.randomElement()!,
                messages: [WireMessage(role: "user", content: Self.strings.randomElement()!)],
                temperature: round % 2 == 0 ? nil : Self.doubles.randomElement()!,
                top_p: round % 5 == 0 ? Self.doubles.randomElement()! : nil,
                stop_sequences: round % 7 == 0 ? ["\n\n", "/stop"] : nil)
            #expect(body.json == (try Self.encoded(body)), "\(String(decoding: body.json, as: UTF8.self))")
        }
    }
}
