import Foundation
import Testing
@testable import Runner
import SVO

@Suite("Response bodies read by hand")
struct JSONReaderTests {
    /// What JSONSerialization makes of the same bytes, as a `JSONValue`: the reference.
    static func reference(_ object: Any) -> JSONValue {
        switch object {
        case is NSNull: return .null
        // A JSON true or false comes back as an NSNumber whose type is a C char.
        case let number as NSNumber where String(cString: number.objCType) == "c": return .bool(number.boolValue)
        case let number as NSNumber: return .number(number.doubleValue)
        case let text as String: return .string(text)
        case let array as [Any]: return .array(array.map(reference))
        case let object as [String: Any]: return .object(object.mapValues(reference))
        default: fatalError("not JSON: \(object)")
        }
    }

    static let documents = [
        #"{"id":"chatcmpl-1","object":"chat.completion","created":1732870000,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"E"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":412,"completion_tokens":1,"total_tokens":413},"system_fingerprint":"fp_1"}"#,
        #"{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[{"type":"text","text":"I choose **E**."}],"stop_reason":"end_turn","usage":{"input_tokens":10,"output_tokens":5}}"#,
        " \n\t{ \"a\" : [ 1 , -2 , 3.5 , -0.25e2 , 1E+3 , 6.02e-23 , 0 , -0 ] , \"b\" : { } , \"c\" : [ ] }\r\n",
        #"["escapes \" \\ \/ \b \f \n \r \t", "\u00e9\u4e2d\uD83D\uDE42", "raw é 中 🙂", "", "null", true, false, null]"#,
        #"{"nested":[[[{"deep":[[{"x":null}]]}]]],"dup":1,"dup":2}"#,
        "12345678901234567", "\"just a string\"", "null", "-1.5",
    ]

    @Test("reads what JSONSerialization reads, value for value", arguments: documents)
    func matchesFoundation(document: String) throws {
        let data = Data(document.utf8)
        let expected = Self.reference(try JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed))
        #expect(try JSONReader.read(data) == expected)
    }

    @Test("random values written by JSONSerialization read back the same")
    func roundTrip() throws {
        var generator = SplitMix64(seed: 42)
        for _ in 0..<300 {
            let value = Self.randomValue(depth: 0, &generator)
            let data = try JSONSerialization.data(withJSONObject: Self.foundation(value), options: .fragmentsAllowed)
            #expect(try JSONReader.read(data) == value, "\(String(decoding: data, as: UTF8.self))")
        }
    }

    @Test("malformed JSON is an error, never a value", arguments: [
        "", " ", "{", "}", "[1,]", #"{"a":1,}"#, #"{"a" 1}"#, #"{"a":}"#, "{a:1}", "{'a':1}", "[1 2]", "1 2", "01", "-01",
        "1.", ".5", "-", "1e", "1e+", "+1", "tru", "nul", "True", "NaN", "Infinity", "\"abc", "\"a\u{01}b\"", "\"tab\there\"",
        #""\x""#, #""\u12""#, #""\u12G4""#, #""\ud800""#, #""\udc00x""#, #""\ud800\u0041""#, "// comment\n1", "[1]]",
        String(repeating: "[", count: 300) + String(repeating: "]", count: 300),
    ])
    func rejects(document: String) {
        #expect(throws: JSONReadError.self) { try JSONReader.read(Data(document.utf8)) }
    }

    @Test("bad UTF-8 in a string is read with U+FFFD, as the stored raw body is")
    func badUTF8() throws {
        let data = Data([UInt8(ascii: "\""), 0x61, 0xFF, 0x62, UInt8(ascii: "\"")])
        #expect(try JSONReader.read(data) == .string("a\u{FFFD}b"))
    }

    @Test("typed members: absent or null is nil, the wrong type is an error, as with JSONDecoder")
    func typedMembers() throws {
        let reply = try JSONReader.read(Data(#"{"n":3,"f":1.5,"s":"x","z":null,"big":1e30,"o":{},"a":[]}"#.utf8))
        #expect(try reply.int("n") == 3)
        #expect(try reply.int("z") == nil && reply.int("missing") == nil && reply.string("z") == nil)
        #expect(throws: JSONReadError.self) { try reply.int("f") }
        #expect(throws: JSONReadError.self) { try reply.int("big") }
        #expect(throws: JSONReadError.self) { try reply.int("s") }
        #expect(throws: JSONReadError.self) { try reply.string("n") }
        #expect(throws: JSONReadError.self) { try reply.array("o") }
        #expect(throws: JSONReadError.self) { try reply.object("a") }
        #expect(throws: JSONReadError.self) { try JSONValue.array([]).string("x") }
    }

    @Test("an OpenAI reply of the wrong shape is malformed; an optional field may be null")
    func openAIShape() throws {
        let good = try OpenAIProvider.Reply(json: JSONReader.read(Data(Self.documents[0].utf8)))
        #expect(good.choices.first?.message?.content == "E" && good.choices.first?.finish_reason == "stop")
        #expect(good.usage?.prompt_tokens == 412 && good.usage?.completion_tokens == 1 && good.model == "bench")
        #expect(good.system_fingerprint == "fp_1")
        let nulls = try OpenAIProvider.Reply(json: JSONReader.read(Data(#"{"choices":[{"message":{"content":null}}],"usage":null}"#.utf8)))
        #expect(nulls.choices.first?.message?.content == nil && nulls.usage == nil && nulls.model == nil)
        for shape in [#"{}"#, #"{"choices":{}}"#, #"{"choices":[{"message":"E"}]}"#, #"{"choices":[],"usage":{"prompt_tokens":"12"}}"#, "[]"] {
            #expect(throws: JSONReadError.self, "\(shape)") { try OpenAIProvider.Reply(json: JSONReader.read(Data(shape.utf8))) }
        }
    }

    @Test("an Anthropic reply of the wrong shape is malformed")
    func anthropicShape() throws {
        let good = try AnthropicProvider.Reply(json: JSONReader.read(Data(Self.documents[1].utf8)))
        #expect(good.content.map(\.text) == ["I choose **E**."] && good.stop_reason == "end_turn")
        #expect(good.usage?.input_tokens == 10 && good.usage?.output_tokens == 5)
        for shape in [#"{}"#, #"{"content":[{"text":"E"}]}"#, #"{"content":"E"}"#] {
            #expect(throws: JSONReadError.self, "\(shape)") { try AnthropicProvider.Reply(json: JSONReader.read(Data(shape.utf8))) }
        }
    }

    // MARK: Random values

    static func randomValue(depth: Int, _ generator: inout SplitMix64) -> JSONValue {
        let pick = Int.random(in: depth > 3 ? 0..<5 : 0..<7, using: &generator)
        switch pick {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .number(Double(Int.random(in: -1_000_000...1_000_000, using: &generator)) / [1, 4, 1024][Int.random(in: 0..<3, using: &generator)])
        case 3, 4: return .string(randomText(&generator))
        case 5: return .array((0..<Int.random(in: 0..<5, using: &generator)).map { _ in randomValue(depth: depth + 1, &generator) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0..<5, using: &generator) { members[randomText(&generator)] = randomValue(depth: depth + 1, &generator) }
            return .object(members)
        }
    }

    static func randomText(_ generator: inout SplitMix64) -> String {
        let alphabet: [Unicode.Scalar] = ["a", "Z", " ", "\"", "\\", "/", "\n", "\t", "\u{01}", "\u{1F}", "é", "中", "🙂", "\u{2028}", "\u{FEFF}"]
        return String(String.UnicodeScalarView((0..<Int.random(in: 0..<12, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }))
    }

    static func foundation(_ value: JSONValue) -> Any {
        switch value {
        case .null: NSNull()
        case .bool(let flag): flag
        case .number(let number): number
        case .string(let text): text
        case .array(let elements): elements.map(foundation)
        case .object(let members): members.mapValues(foundation)
        }
    }
}
