import Crypto
import Foundation

/// SHA-256 digests, through swift-crypto: of message texts (their store address), of
/// experiments (their fingerprint), of files (export provenance) and for seed derivation.
public enum Digest {
    /// The 32-byte digest of `bytes`.
    public static func sha256<Bytes: DataProtocol>(_ bytes: Bytes) -> [UInt8] {
        Array(SHA256.hash(data: bytes))
    }

    /// The lower-case hex digest of `text`'s UTF-8 bytes (every byte: an embedded U+0000 counts).
    public static func sha256Hex(_ text: String) -> String { hex(sha256(Array(text.utf8))) }

    /// The lower-case hex digest of `data`.
    public static func sha256Hex(_ data: Data) -> String { hex(sha256(data)) }

    /// The lower-case hex digest of the file at `path`, read in 1 MiB pieces (memory stays flat).
    public static func sha256Hex(fileAt path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hex(Array(hasher.finalize()))
    }

    private static let digits = Array("0123456789abcdef".utf8)

    static func hex(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The seed of one trial, derived from the run's seed and the trial's place in the design.
public enum TrialSeed {
    /// The first 63 bits of SHA-256("seed|part|part|..."): the same parts give the same seed on
    /// every platform and whatever else the experiment contains. Non-negative, so it reads
    /// plainly in sqlite3.
    public static func derive(runSeed: Int64, _ parts: [String]) -> Int64 {
        let digest = Digest.sha256(Array(([String(runSeed)] + parts).joined(separator: "|").utf8))
        let word = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Int64(word & 0x7FFF_FFFF_FFFF_FFFF)
    }
}
