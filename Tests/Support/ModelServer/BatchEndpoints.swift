import Foundation
import Synchronization

/// The batch APIs of the scripted server: OpenAI's files and batches, Anthropic's message batches,
/// each in its real wire format. A batch's requests are answered by the server's script when the
/// batch is created (a line's body as a chat request), and revealed after `pollsUntilDone` polls,
/// in an order shuffled from the submitted one.
public final class BatchEndpoints: Sendable {
    /// One submitted batch.
    struct Batch {
        var id: String
        var inputFileID: String?
        /// (custom_id, result line), in submission order.
        var results: [(customID: String, line: String, expired: Bool, failed: Bool)]
        var polls = 0
        var cancelled = false
        var failedWhole = false
        /// OpenAI's `metadata`, as sent.
        var metadata: [String: String] = [:]
        var createdAt = Date()
    }

    struct State {
        var files: [String: Data] = [:]
        var batches: [String: Batch] = [:]
        var submittedCustomIDs: [String] = []
        var created = 0
        var polls = 0
    }

    let state = Mutex(State())
    private let held = Atomic<Bool>(false)
    private let stalled = Atomic<Bool>(false)
    private let uploadsStalled = Atomic<Bool>(false)

    /// While on, an OpenAI file upload is never answered and keeps nothing: no batch is accepted.
    public func stallUploads(_ on: Bool) { uploadsStalled.store(on, ordering: .sequentiallyConsistent) }
    /// Requests that reached a stalled endpoint.
    private let stalls = Atomic<Int>(0)
    public var stalledRequests: Int { stalls.load(ordering: .sequentiallyConsistent) }

    /// While held, every batch stays in progress however often it is polled.
    public func hold(_ on: Bool) { held.store(on, ordering: .sequentiallyConsistent) }
    /// While on, a request that creates a batch creates it and is never answered: the provider
    /// accepted the batch, and its client never learnt its id (a kill at that moment).
    public func stallCreation(_ on: Bool) { stalled.store(on, ordering: .sequentiallyConsistent) }
    /// The reply to a request that created `body`'s batch.
    private func created(_ body: Data) -> ServerReply {
        guard stalled.load(ordering: .sequentiallyConsistent) else { return .respond(status: 200, body: body) }
        stalls.add(1, ordering: .sequentiallyConsistent)
        return .hold
    }

    /// Batches newest first, as both APIs list them, from after `after` (an id), `limit` at most.
    private func listed(after: String?, limit: Int) -> (batches: [Batch], more: Bool) {
        let all = state.withLock { state in
            state.batches.values.sorted { ($0.createdAt, $0.id.count, $0.id) > ($1.createdAt, $1.id.count, $1.id) }
        }
        let start = after.flatMap { id in all.firstIndex { $0.id == id }.map { $0 + 1 } } ?? 0
        let page = Array(all.dropFirst(start).prefix(limit))
        return (page, start + page.count < all.count)
    }

    /// A query parameter of `path`.
    static func query(_ path: String, _ name: String) -> String? {
        guard let query = path.split(separator: "?", maxSplits: 1).dropFirst().first else { return nil }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.first.map(String.init) == name { return parts.count > 1 ? String(parts[1]) : "" }
        }
        return nil
    }
    /// Status polls a batch answers `in_progress` (or `validating`) before it ends.
    let pollsUntilDone: Int
    /// The first `failWhole` OpenAI batches fail whole (their file does not validate).
    let failWhole: Int
    /// The first `expireWhole` batches expire with not one request run.
    let expireWhole: Int

    init(pollsUntilDone: Int, failWhole: Int, expireWhole: Int) {
        self.pollsUntilDone = pollsUntilDone
        self.failWhole = failWhole
        self.expireWhole = expireWhole
    }

    /// Whether the batch about to be created expires whole.
    private var nextExpiresWhole: Bool { state.withLock { $0.created } < expireWhole }

    /// Batches created so far.
    public var created: Int { state.withLock { $0.created } }
    /// Every custom_id ever submitted, in order: a resume that submits again shows twice.
    public var submittedCustomIDs: [String] { state.withLock { $0.submittedCustomIDs } }
    /// Status polls answered.
    public var polls: Int { state.withLock { $0.polls } }

    static func json(_ object: Any) -> Data {
        try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }
    static func notFound() -> ServerReply {
        .respond(status: 404, body: Data(#"{"error":{"message":"no such object","type":"not_found_error"}}"#.utf8))
    }

    /// Answers a batch request, or nil when the path is not a batch endpoint.
    func handle(
        _ request: ServerRequest, api: WireFormat, root: String,
        answer: (ServerRequest) -> (status: Int, body: Data, expired: Bool)
    ) -> ServerReply? {
        switch api {
        case .openai: openAI(request, answer: answer)
        case .anthropic: anthropic(request, root: root, answer: answer)
        }
    }

    // MARK: OpenAI

    private func openAI(_ request: ServerRequest, answer: (ServerRequest) -> (status: Int, body: Data, expired: Bool))
        -> ServerReply?
    {
        let route = String(request.path.prefix { $0 != "?" })
        let parts = route.split(separator: "/").map(String.init)  // ["v1", "files", ...]
        guard parts.count >= 2, parts[0] == "v1", ["files", "batches"].contains(parts[1]) else { return nil }
        switch (request.method, Array(parts.dropFirst())) {
        case ("POST", ["files"]) where uploadsStalled.load(ordering: .sequentiallyConsistent):
            stalls.add(1, ordering: .sequentiallyConsistent)
            return .hold
        case ("POST", ["files"]):
            guard let file = Self.multipartFile(request), Self.multipartField(request, "purpose") == "batch" else {
                return .respond(
                    status: 400, body: Data(#"{"error":{"message":"expected purpose=batch and a file"}}"#.utf8))
            }
            let id = state.withLock { state -> String in
                let id = "file-\(state.files.count + 1)"
                state.files[id] = file
                return id
            }
            return .respond(
                status: 200,
                body: Self.json([
                    "id": id, "object": "file", "bytes": file.count, "purpose": "batch", "filename": "hvae-batch.jsonl",
                    "created_at": 1_764_400_000, "status": "processed",
                ]))
        case ("POST", ["batches"]):
            guard let body = request.json, let fileID = body["input_file_id"] as? String,
                body["endpoint"] as? String == "/v1/chat/completions", body["completion_window"] as? String == "24h",
                let file = state.withLock({ $0.files[fileID] })
            else { return .respond(status: 400, body: Data(#"{"error":{"message":"bad batch request"}}"#.utf8)) }
            var results: [(String, String, Bool, Bool)] = []
            let expireAll = nextExpiresWhole
            for line in String(decoding: file, as: UTF8.self).split(separator: "\n") {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    let customID = object["custom_id"] as? String, let inner = object["body"] as? [String: Any],
                    object["url"] as? String == "/v1/chat/completions", object["method"] as? String == "POST"
                else { return .respond(status: 400, body: Data(#"{"error":{"message":"bad line"}}"#.utf8)) }
                let chat = ServerRequest(
                    method: "POST", path: "/v1/chat/completions", headers: request.headers, body: Self.json(inner))
                let (status, responseBody, expiredAlone) = answer(chat)
                let expired = expiredAlone || expireAll
                let bodyObject = (try? JSONSerialization.jsonObject(with: responseBody)) ?? [:]
                let resultLine: [String: Any] =
                    expired
                    ? [
                        "id": "batch_req_\(results.count)", "custom_id": customID, "response": NSNull(),
                        "error": [
                            "code": "batch_expired",
                            "message": "This request could not be executed before the completion window expired.",
                        ],
                    ]
                    : [
                        "id": "batch_req_\(results.count)", "custom_id": customID,
                        "response": ["status_code": status, "request_id": "req_\(results.count)", "body": bodyObject],
                        "error": NSNull(),
                    ]
                results.append(
                    (customID, String(decoding: Self.json(resultLine), as: UTF8.self), expired, status >= 400))
            }
            let batch = state.withLock { state -> Batch in
                state.created += 1
                state.submittedCustomIDs += results.map(\.0)
                var batch = Batch(
                    id: "batch_\(state.created)", inputFileID: fileID,
                    results: results.map { ($0.0, $0.1, $0.2, $0.3) })
                batch.failedWhole = state.created <= failWhole
                batch.metadata = body["metadata"] as? [String: String] ?? [:]
                state.batches[batch.id] = batch
                return batch
            }
            return created(Self.json(openAIObject(batch, status: "validating")))
        case ("GET", ["batches"]):
            let (page, more) = listed(
                after: Self.query(request.path, "after"), limit: Int(Self.query(request.path, "limit") ?? "") ?? 20)
            let list: [String: Any] = [
                "object": "list", "data": page.map { openAIObject($0, status: openAIStatus($0)) },
                "first_id": page.first.map { $0.id as Any } ?? NSNull(),
                "last_id": page.last.map { $0.id as Any } ?? NSNull(), "has_more": more,
            ]
            return .respond(status: 200, body: Self.json(list))
        case ("GET", let path) where path.count == 2 && path[0] == "batches":
            guard let batch = poll(path[1]) else { return Self.notFound() }
            return .respond(status: 200, body: Self.json(openAIObject(batch, status: openAIStatus(batch))))
        case ("POST", let path) where path.count == 3 && path[0] == "batches" && path[2] == "cancel":
            guard let batch = cancel(path[1]) else { return Self.notFound() }
            return .respond(status: 200, body: Self.json(openAIObject(batch, status: "cancelling")))
        case ("GET", let path) where path.count == 3 && path[0] == "files" && path[2] == "content":
            let lines = state.withLock { state -> [String]? in
                for batch in state.batches.values {
                    if path[1] == "file-out-\(batch.id)" { return batch.results.filter { !$0.expired }.map(\.line) }
                    if path[1] == "file-err-\(batch.id)" { return batch.results.filter(\.expired).map(\.line) }
                }
                return nil
            }
            guard let lines else { return Self.notFound() }
            return .respond(
                status: 200, headers: ["Content-Type": "application/jsonl"],
                body: Data(Self.shuffled(lines).map { $0 + "\n" }.joined().utf8))
        default:
            return Self.notFound()
        }
    }

    private func openAIStatus(_ batch: Batch) -> String {
        if batch.failedWhole { return batch.polls >= pollsUntilDone ? "failed" : "validating" }
        if batch.cancelled { return "cancelled" }
        return batch.polls >= pollsUntilDone
            ? (batch.results.contains(where: \.expired) ? "expired" : "completed")
            : batch.polls == 0 ? "validating" : "in_progress"
    }

    private func openAIObject(_ batch: Batch, status: String) -> [String: Any] {
        let done = ["completed", "expired"].contains(status)
        let completed = done ? batch.results.filter { !$0.expired && !$0.failed }.count : 0
        let failed = done ? batch.results.filter { $0.expired || $0.failed }.count : 0
        var object: [String: Any] = [
            "id": batch.id, "object": "batch", "endpoint": "/v1/chat/completions",
            "input_file_id": batch.inputFileID ?? NSNull(), "completion_window": "24h", "status": status,
            "output_file_id": done ? "file-out-\(batch.id)" : NSNull(),
            "error_file_id": done && batch.results.contains(where: \.expired) ? "file-err-\(batch.id)" : NSNull(),
            "created_at": Int(batch.createdAt.timeIntervalSince1970),
            "request_counts": ["total": batch.results.count, "completed": completed, "failed": failed],
            "errors": NSNull(), "metadata": batch.metadata.isEmpty ? NSNull() : batch.metadata,
        ]
        if status == "failed" {
            object["errors"] = [
                "object": "list",
                "data": [["code": "invalid_file", "message": "The batch input file is not valid.", "line": NSNull()]],
            ]
        }
        return object
    }

    // MARK: Anthropic

    private func anthropic(
        _ request: ServerRequest, root: String, answer: (ServerRequest) -> (status: Int, body: Data, expired: Bool)
    ) -> ServerReply? {
        let route = String(request.path.prefix { $0 != "?" })
        let parts = route.split(separator: "/").map(String.init)  // ["v1", "messages", "batches", ...]
        guard parts.count >= 3, parts[0] == "v1", parts[1] == "messages", parts[2] == "batches" else { return nil }
        switch (request.method, Array(parts.dropFirst(3))) {
        case ("POST", []):
            guard let entries = request.json?["requests"] as? [[String: Any]], !entries.isEmpty else {
                return .respond(
                    status: 400,
                    body: Data(#"{"type":"error","error":{"type":"invalid_request_error","message":"requests"}}"#.utf8))
            }
            var results: [(String, String, Bool, Bool)] = []
            let expireAll = nextExpiresWhole
            for entry in entries {
                guard let customID = entry["custom_id"] as? String, let params = entry["params"] as? [String: Any]
                else {
                    return .respond(
                        status: 400,
                        body: Data(#"{"type":"error","error":{"type":"invalid_request_error","message":"entry"}}"#.utf8)
                    )
                }
                let chat = ServerRequest(
                    method: "POST", path: "/v1/messages", headers: request.headers, body: Self.json(params))
                let (status, responseBody, expiredAlone) = answer(chat)
                let expired = expiredAlone || expireAll
                let result: [String: Any]
                if expired {
                    result = ["type": "expired"]
                } else if status >= 400 {
                    let error = (try? JSONSerialization.jsonObject(with: responseBody)) as? [String: Any] ?? [:]
                    result = ["type": "errored", "error": error]
                } else {
                    result = [
                        "type": "succeeded", "message": (try? JSONSerialization.jsonObject(with: responseBody)) ?? [:],
                    ]
                }
                let line = String(decoding: Self.json(["custom_id": customID, "result": result]), as: UTF8.self)
                results.append((customID, line, expired, status >= 400))
            }
            let batch = state.withLock { state -> Batch in
                state.created += 1
                state.submittedCustomIDs += results.map(\.0)
                let batch = Batch(id: "msgbatch_\(state.created)", results: results.map { ($0.0, $0.1, $0.2, $0.3) })
                state.batches[batch.id] = batch
                return batch
            }
            return created(Self.json(anthropicObject(batch, root: root, ended: false)))
        case ("GET", []):
            let (page, more) = listed(
                after: Self.query(request.path, "after_id"), limit: Int(Self.query(request.path, "limit") ?? "") ?? 20)
            let objects: [[String: Any]] = page.map {
                anthropicObject($0, root: root, ended: $0.cancelled || $0.polls >= pollsUntilDone)
            }
            let list: [String: Any] = [
                "data": objects, "first_id": page.first.map { $0.id as Any } ?? NSNull(),
                "last_id": page.last.map { $0.id as Any } ?? NSNull(), "has_more": more,
            ]
            return .respond(status: 200, body: Self.json(list))
        case ("GET", let path) where path.count == 1:
            guard let batch = poll(path[0]) else { return Self.notFound() }
            return .respond(
                status: 200,
                body: Self.json(
                    anthropicObject(batch, root: root, ended: batch.cancelled || batch.polls >= pollsUntilDone)))
        case ("POST", let path) where path.count == 2 && path[1] == "cancel":
            guard let batch = cancel(path[0]) else { return Self.notFound() }
            return .respond(
                status: 200, body: Self.json(anthropicObject(batch, root: root, ended: false, canceling: true)))
        case ("GET", let path) where path.count == 2 && path[1] == "results":
            guard let batch = state.withLock({ $0.batches[path[0]] }) else { return Self.notFound() }
            let lines = batch.results.map { result in
                batch.cancelled
                    ? String(
                        decoding: Self.json(["custom_id": result.customID, "result": ["type": "canceled"]]),
                        as: UTF8.self)
                    : result.line
            }
            return .respond(
                status: 200, headers: ["Content-Type": "application/binary"],
                body: Data(Self.shuffled(lines).map { $0 + "\n" }.joined().utf8))
        default:
            return Self.notFound()
        }
    }

    private func anthropicObject(_ batch: Batch, root: String, ended: Bool, canceling: Bool = false) -> [String: Any] {
        /// Results counted once ended: (expired, failed) -> counted.
        func count(_ keep: (Bool, Bool) -> Bool) -> Int {
            ended && !batch.cancelled ? batch.results.filter { keep($0.expired, $0.failed) }.count : 0
        }
        return [
            "id": batch.id, "type": "message_batch",
            "processing_status": ended ? "ended" : canceling ? "canceling" : "in_progress",
            "request_counts": [
                "processing": ended ? 0 : batch.results.count, "succeeded": count { !$0 && !$1 },
                "errored": count { !$0 && $1 }, "canceled": ended && batch.cancelled ? batch.results.count : 0,
                "expired": count { expired, _ in expired },
            ],
            "ended_at": ended ? "2026-12-01T00:00:00Z" : NSNull(),
            "created_at": ISO8601DateFormatter().string(from: batch.createdAt),
            "expires_at": "2026-12-02T00:00:00Z",
            "cancel_initiated_at": batch.cancelled ? "2026-12-01T00:00:00Z" : NSNull(),
            "results_url": ended ? "\(root)/v1/messages/batches/\(batch.id)/results" : NSNull(),
        ]
    }

    // MARK: Shared

    private func poll(_ id: String) -> Batch? {
        let held = held.load(ordering: .sequentiallyConsistent)
        return state.withLock { state in
            state.polls += 1
            if !held { state.batches[id]?.polls += 1 }
            return state.batches[id]
        }
    }

    private func cancel(_ id: String) -> Batch? {
        state.withLock { state in
            state.batches[id]?.cancelled = true
            return state.batches[id]
        }
    }

    /// Results come back in another order than submitted, as the real APIs' do.
    static func shuffled(_ lines: [String]) -> [String] {
        lines.count < 2
            ? lines
            : Array(
                lines.enumerated().sorted { ($0.offset * 7919) % 101 < ($1.offset * 7919) % 101 }.map(\.element)
                    .reversed())
    }

    /// The `file` part of a multipart/form-data body.
    static func multipartFile(_ request: ServerRequest) -> Data? { multipartPart(request, "file") }

    static func multipartField(_ request: ServerRequest, _ name: String) -> String? {
        multipartPart(request, name).map { String(decoding: $0, as: UTF8.self) }
    }

    static func multipartPart(_ request: ServerRequest, _ name: String) -> Data? {
        guard let type = request.headers["content-type"], let range = type.range(of: "boundary=") else { return nil }
        let boundary = Data(("--" + type[range.upperBound...]).utf8)
        let body = request.body
        var search = body.startIndex
        while let start = body.range(of: boundary, in: search..<body.endIndex) {
            let partStart = start.upperBound
            guard let next = body.range(of: boundary, in: partStart..<body.endIndex) else { return nil }
            let part = body[partStart..<next.lowerBound]
            if let headEnd = part.range(of: Data("\r\n\r\n".utf8)) {
                let head = String(decoding: part[part.startIndex..<headEnd.lowerBound], as: UTF8.self)
                if head.contains("name=\"\(name)\"") {
                    var content = Data(part[headEnd.upperBound...])
                    if content.suffix(2) == Data("\r\n".utf8) { content.removeLast(2) }
                    return content
                }
            }
            search = next.lowerBound
        }
        return nil
    }
}
