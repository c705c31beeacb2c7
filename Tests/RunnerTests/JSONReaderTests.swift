import Foundation
import Testing

@testable import Runner

@Suite("Replies are read as JSON, leniently only where text cannot be decoded")
struct JSONReaderTests {
    /// The value as Foundation's JSONSerialization reads the same bytes, for comparison.
    static func foundation(_ any: Any) -> JSONValue {
        switch any {
        case is NSNull: return .null
        case let number as NSNumber:
            // A boolean is an NSNumber of ObjC type `c` (char).
            return String(cString: number.objCType) == "c" ? .bool(number.boolValue) : .number(number.doubleValue)
        case let text as String: return .string(text)
        case let array as [Any]: return .array(array.map(foundation))
        case let object as [String: Any]:
            return .object(object.keys.sorted().map { ($0, foundation(object[$0]!)) })
        default: return .null
        }
    }

    /// `value` with its objects' members in key order, as `foundation` gives them.
    static func sorted(_ value: JSONValue) -> JSONValue {
        switch value {
        case .array(let elements): .array(elements.map(sorted))
        case .object(let members):
            .object(
                Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 }).sorted { $0.key < $1.key }
                    .map { ($0.key, sorted($0.value)) })
        default: value
        }
    }

    static let documents = [
        #"{"id":"chatcmpl-1","choices":[{"index":0,"message":{"role":"assistant","#
            + #""content":"E \u00e9 \ud83d\ude00 \" \\ \/ \b\f\n\r\t"},"finish_reason":"stop","logprobs":null}],"#
            + #""usage":{"prompt_tokens":12,"completion_tokens":1},"model":"m"}"#,
        #"[1, -0.5, 2.5e3, 1E-2, 0, -0, 123456789012, true, false, null, "", [], {}, [[[]]]]"#,
        #"  {"a" : { "b" : [ 1 , 2 ] } , "c" : "x" }  "#,
        #""just text""#, "3.25", "null",
        #"{"tokens":[{"token":"E","logprob":-0.0001,"#
            + #""top_logprobs":[{"token":"E","logprob":-0.0001},{"token":"D","logprob":-9.2}]}]}"#,
    ]

    @Test("valid JSON reads as Foundation reads it", arguments: documents)
    func valid(document: String) throws {
        let (value, replaced) = try JSONReader.read(Data(document.utf8))
        let expected = Self.foundation(
            try JSONSerialization.jsonObject(with: Data(document.utf8), options: [.fragmentsAllowed]))
        #expect(Self.sorted(value) == expected)
        #expect(replaced == 0)
    }

    @Test(
        "what is not JSON is refused",
        arguments: [
            "", "{", "[1,]", #"{"a" 1}"#, #"{"a":1,}"#, "01", "1.", "-", "1e", "tru", "nul", #""open"#, #""\x""#,
            #""\u12""#, "{} {}", "[1 2]", "<html>502 Bad Gateway</html>",
        ])
    func invalid(document: String) {
        #expect(throws: (any Error).self) { try JSONReader.read(Data(document.utf8)) }
    }

    @Test("a lone surrogate escape, and bytes that are not UTF-8, are read as U+FFFD and counted")
    func lenient() throws {
        let (escapes, replacedEscapes) = try JSONReader.read(
            Data(#"["A \ud800 B", "\udc00", "\ud83d\u0041", "\ud83d"]"#.utf8))
        #expect(
            escapes
                == .array([.string("A \u{FFFD} B"), .string("\u{FFFD}"), .string("\u{FFFD}A"), .string("\u{FFFD}")]))
        #expect(replacedEscapes == 4)
        let bytes =
            Data(#"{"content":"bad "#.utf8) + Data([0xFF, 0xFE]) + Data(" ".utf8) + Data([0xC3, 0x28])
            + Data(#" E"}"#.utf8)
        let (value, replaced) = try JSONReader.read(bytes)
        #expect(try value.string("content") == "bad \u{FFFD}\u{FFFD} \u{FFFD}( E")
        #expect(replaced == 3)
        // U+FFFD sent as such is text, not a replacement.
        #expect(try JSONReader.read(Data("[\"\u{FFFD}\", \"\\ufffd\"]".utf8)).replacements == 0)
    }

    @Test("fields of the wrong type are an error, absent and null fields nil; a repeated key is its last value")
    func fields() throws {
        let (value, _) = try JSONReader.read(Data(#"{"n":3,"x":2.5,"s":"t","z":null,"s2":1,"d":1,"d":2}"#.utf8))
        #expect(try value.int("n") == 3)
        #expect(try value.int("z") == nil)
        #expect(try value.int("missing") == nil)
        #expect(throws: JSONReader.Mismatch.self) { try value.int("x") }
        #expect(throws: JSONReader.Mismatch.self) { try value.string("s2") }
        #expect(throws: JSONReader.Mismatch.self) { try value.object("s") }
        #expect(try value.int("d") == 2)
    }
}
