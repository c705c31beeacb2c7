/// What the writer knows it has stored, so that recording a call need not ask SQLite again: the
/// last turn of each trial it is writing, and the SHA-256s of texts it stored lately.
///
/// Recording a call used to read the trial's last turn (to check that the request extends it) and
/// to try to insert each text, most of which (the prompts, short replies) were there already.
/// Both now come from here. Only the writer uses it, inside its transactions, and it is forgotten
/// whenever one is rolled back: everything it holds is committed, or in the transaction being
/// built. Rows another process adds cannot fool it: a turn stored at a position another process
/// has used, or a text another process has deleted, breaks a UNIQUE or foreign-key constraint; the
/// transaction rolls back, the memory is forgotten, and each write is tried again against the
/// database alone.
struct WriterMemory: Sendable {
    /// A trial's last stored turn. `content` is known when this writer stored the turn, and spares
    /// hashing the next request's copy of it to compare.
    struct ChainTail: Sendable {
        var id: Int64
        var position: Int
        var role: String
        var sha256: String
        var content: String?

        /// Whether `message` is this turn, byte for byte (as the SHA-256 compares it: Swift's `==`
        /// would take "é" and "e" + combining accent for the same text).
        func matches(_ message: ChatMessage) -> Bool {
            guard role == message.role.rawValue else { return false }
            if let content { return content.utf8.elementsEqual(message.content.utf8) }
            return sha256 == SHA256.hex(message.content)
        }
    }

    private(set) var tails: [Int64: ChainTail] = [:]
    private(set) var texts: Set<String> = []

    /// Bounds on what is kept (a few hundred KiB): past them it starts afresh, so memory stays flat
    /// however many calls a run makes. Tails are dropped as their trials finish; texts are mostly
    /// the same prompts again and again.
    static let tailLimit = 4_096
    static let textLimit = 4_096

    func tail(of trialID: Int64) -> ChainTail? { tails[trialID] }

    mutating func setTail(_ tail: ChainTail, of trialID: Int64) {
        if tails.count >= Self.tailLimit, tails[trialID] == nil { tails.removeAll(keepingCapacity: true) }
        tails[trialID] = tail
    }

    mutating func trialFinished(_ trialID: Int64) { tails[trialID] = nil }

    func hasText(_ sha256: String) -> Bool { texts.contains(sha256) }

    mutating func textStored(_ sha256: String) {
        if texts.count >= Self.textLimit { texts.removeAll(keepingCapacity: true) }
        texts.insert(sha256)
    }

    /// After a rollback: nothing is known any more.
    mutating func forget() { self = WriterMemory() }
}
