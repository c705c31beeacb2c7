import Foundation
import Testing
@testable import Store

@Suite("SHA-256")
struct SHA256Tests {
    // FIPS 180-4 example vectors.
    @Test("NIST vectors", arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ])
    func vectors(input: String, digest: String) {
        #expect(SHA256.hex(input) == digest)
    }

    @Test("a million a's (many blocks)")
    func millionA() {
        #expect(SHA256.hex(String(repeating: "a", count: 1_000_000)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    // Expected digests from Python's hashlib: lengths where the length field moves into a new block.
    @Test("lengths around the padding boundary", arguments: [
        (55, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072"),
        (56, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e"),
        (63, "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2"),
        (64, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c"),
        (65, "9537c5fdf120482f7d58d25e9ed583f52c02b4e304ea814db1633ad565aed7e9"),
        (119, "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c"),
        (120, "13f05a0b594787f5ecd315edc96141bd3243203d1b7d4f0836f37308b276ba98"),
    ])
    func paddingBoundaries(length: Int, digest: String) {
        #expect(SHA256.hex(String(repeating: "x", count: length)) == digest)
    }

    @Test("a file is hashed in chunks to the same digest")
    func file() throws {
        let scratch = ScratchDirectory()
        let path = scratch.path("a.txt")
        try Data(String(repeating: "a", count: 1_000_000).utf8).write(to: URL(fileURLWithPath: path))
        #expect(try SHA256.hex(fileAt: path) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("fed in uneven pieces, the digest is the one of the whole", arguments: [1, 7, 63, 64, 65, 200])
    func pieces(size: Int) {
        let text = Data((0..<1_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        var hasher = SHA256.Hasher()
        for start in stride(from: 0, to: text.count, by: size) { hasher.update(text[start..<min(start + size, text.count)]) }
        #expect(SHA256.hexString(hasher.finalize()) == SHA256.hex(text))
        #expect(SHA256.hex(text) == "945acdf575d6a2430bf4d6163e1d03b4b0b896fcef107c8b24bf7ff07a621fa3")   // Python hashlib
    }

    @Test("hashes the UTF-8 bytes")
    func unicode() {
        #expect(SHA256.hex("θ ± é 🙂") == "2e4077faa53d801968f1a36a0aa159ba399e7bc89f5553cf1b1f0f8dbf32cdb9")
    }
}
