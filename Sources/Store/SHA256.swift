import Foundation

/// SHA-256 (FIPS 180-4), for content-addressed message texts and experiment fingerprints.
/// Written here rather than pulling in swift-crypto for one function; tested against the
/// NIST example vectors.
public enum SHA256 {
    /// The lower-case hex digest of `text`'s UTF-8 bytes.
    public static func hex(_ text: String) -> String {
        var text = text
        var hasher = Hasher()
        text.withUTF8 { hasher.update(UnsafeRawBufferPointer($0)) }
        return hexString(hasher.finalize())
    }

    /// The lower-case hex digest of `data`.
    public static func hex(_ data: Data) -> String { hexString(digest(data)) }

    fileprivate static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    /// The 32-byte digest of `data`.
    public static func digest(_ data: Data) -> [UInt8] {
        var hasher = Hasher()
        hasher.update(data)
        return hasher.finalize()
    }

    /// The lower-case hex digest of a file's bytes, read in chunks (memory stays flat).
    public static func hex(fileAt path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CocoaError(.fileReadNoSuchFile) }
        defer { try? handle.close() }
        var hasher = Hasher()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(chunk) }
        return hexString(hasher.finalize())
    }

    static func hexString(_ digest: [UInt8]) -> String {
        String(unsafeUninitializedCapacity: digest.count * 2) { out in
            for (index, byte) in digest.enumerated() {
                out[2 * index] = hexDigits[Int(byte >> 4)]
                out[2 * index + 1] = hexDigits[Int(byte & 0x0f)]
            }
            return digest.count * 2
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Incremental SHA-256: feed bytes with `update`, then `finalize` once.
    public struct Hasher {
        // The state as a tuple and the schedule on the stack: arrays cost an allocation per hash
        // and a uniqueness check per write, several times the hashing itself for a short text.
        private var h: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
            (0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19)
        private var buffer: [UInt8] = []
        private var length: UInt64 = 0

        public init() {}

        public mutating func update(_ data: Data) { data.withUnsafeBytes { update($0) } }

        /// Feeds bytes; whole 64-byte blocks are compressed straight from `bytes`.
        public mutating func update(_ bytes: UnsafeRawBufferPointer) {
            length += UInt64(bytes.count)
            var offset = 0
            if !buffer.isEmpty {
                let take = min(64 - buffer.count, bytes.count)
                buffer.append(contentsOf: bytes[0..<take])
                offset = take
                if buffer.count == 64 {
                    let block = buffer
                    block.withUnsafeBytes { compress($0) }
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            while bytes.count - offset >= 64 {
                compress(UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + 64]))
                offset += 64
            }
            if offset < bytes.count { buffer.append(contentsOf: bytes[offset...]) }
        }

        public mutating func finalize() -> [UInt8] {
            let bitLength = length * 8
            var tail = buffer
            tail.append(0x80)
            while tail.count % 64 != 56 { tail.append(0) }
            for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
            tail.withUnsafeBytes { tail in
                for start in stride(from: 0, to: tail.count, by: 64) { compress(UnsafeRawBufferPointer(rebasing: tail[start..<start + 64])) }
            }
            let words = [h.0, h.1, h.2, h.3, h.4, h.5, h.6, h.7]
            var digest = [UInt8]()
            digest.reserveCapacity(32)
            for word in words {
                digest.append(UInt8(truncatingIfNeeded: word >> 24))
                digest.append(UInt8(truncatingIfNeeded: word >> 16))
                digest.append(UInt8(truncatingIfNeeded: word >> 8))
                digest.append(UInt8(truncatingIfNeeded: word))
            }
            return digest
        }

        private mutating func compress(_ block: UnsafeRawBufferPointer) {
            @inline(__always) func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
                for i in 0..<16 {
                    w[i] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
                }
                for i in 16..<64 {
                    let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
                    let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
                    w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
                }
                SHA256.k.withUnsafeBufferPointer { k in
                    var (a, b, c, d, e, f, g, hh) = h
                    for i in 0..<64 {
                        let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
                        let choice = (e & f) ^ (~e & g)
                        let t1 = hh &+ s1 &+ choice &+ k[i] &+ w[i]
                        let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
                        let majority = (a & b) ^ (a & c) ^ (b & c)
                        let t2 = s0 &+ majority
                        (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
                    }
                    h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e, h.5 &+ f, h.6 &+ g, h.7 &+ hh)
                }
            }
        }
    }
}
