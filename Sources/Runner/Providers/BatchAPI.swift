import Design
import Foundation

/// Where a provider's batch stands, as its API says.
struct BatchState: Sendable, Equatable {
    var id: String
    var inputFileID: String?
    /// The provider's own word (OpenAI: validating … completed; Anthropic: in_progress, canceling, ended).
    var status: String
    var succeeded = 0
    var failed = 0
    var processing = 0
    /// No more results will come.
    var ended = false
    /// The provider failed the batch whole (OpenAI's `failed`: its file did not validate), with why.
    var failure: String?
    /// Where the results are: OpenAI's output and error files, Anthropic's results URL.
    var outputFileID: String?
    var errorFileID: String?
    var resultsURL: String?
    /// When the provider created it, and the request count it holds (for finding it again).
    var createdAt: Date?
    var total = 0
    /// The client's tag, where the API keeps one (OpenAI's `metadata.hvae_intent`).
    var tag: String?
}

/// One request's outcome in a batch's results, with its line as received (redacted).
struct BatchResult: Sendable {
    var line: Data
    var outcome: Outcome

    enum Outcome: Sendable {
        /// The API's normal response (decoded by the caller, who knows the request).
        case response(status: Int)
        /// The request failed on its own: an HTTP error, an expiry, a cancellation.
        case failed(ProviderError)
        case canceled
    }
}

/// A provider's batch API: submit a round's requests as one batch, poll it, read its results
/// (matched by custom_id, in any order), cancel it.
protocol BatchAPI: Sendable {
    /// The model API's name (`ModelAPI.name`), as `batches.provider` stores it.
    var provider: String { get }
    /// The API's limits on one batch: requests, and bytes of its body.
    var maxRequests: Int { get }
    var maxBytes: Int { get }
    /// The bytes one request adds to a batch (a JSONL line; an entry of Anthropic's `requests`).
    func entry(customID: String, request: ChatRequest) throws -> Data
    /// Submits one batch, tagged `tag` where the API keeps a client's tag; `uploaded` is told
    /// the input file's id as soon as it exists (OpenAI), before the batch is created.
    func submit(_ entries: [Data], tag: String, uploaded: @Sendable (String) async throws -> Void) async throws
        -> BatchState
    /// The provider's batches that may be the one submitted as `intent` (recorded before it was
    /// submitted, then lost to a kill): those carrying its tag or its input file; where the API
    /// keeps no tag (Anthropic), those created since the intent with its number of requests that
    /// are not in `known`. Empty when the provider never accepted it.
    func find(_ intent: BatchIntent, known: Set<String>) async throws -> [BatchState]
    func state(of id: String) async throws -> BatchState
    /// Every result of an ended batch, by custom_id.
    func results(of state: BatchState) async throws -> [String: BatchResult]
    /// Reads a successful result's line into the call's response.
    func response(line: Data, status: Int, for request: ChatRequest) throws -> ChatResponse
    func cancel(_ id: String) async throws -> BatchState
}

/// A batch hvae recorded before submitting it: what finding it again at the provider needs.
struct BatchIntent: Sendable {
    var tag: String
    var inputFileID: String?
    var requests: Int
    var recordedAt: Date
    /// How far back of `recordedAt` a provider's creation time may be (clocks differ).
    static let clockSlack: Double = 300
}

/// A batch API's JSON reply, or a `ProviderError` saying the server answered in another format.
func decodeBatchReply<T: Decodable>(_ type: T.Type, _ data: Data, raw: Data, from spec: APIModelSpec) throws -> T {
    do { return try JSONDecoder().decode(type, from: data) } catch {
        throw ProviderError(
            kind: .malformed, message: "the batch API at \(spec.baseURL) answered in another format", rawBody: raw)
    }
}

/// The lines of a JSONL body, each as received, with what JSON reads in it (nil: not JSON).
func jsonLines(_ data: Data) -> [(bytes: Data, json: JSONValue?)] {
    data.split(separator: 0x0A).map { line in
        let bytes = line.last == 0x0D ? Data(line.dropLast()) : Data(line)
        return (bytes, try? JSONReader.read(bytes).value)
    }.filter { line in !line.bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 } }
}

/// OpenAI's Batch API: the requests as a JSONL file uploaded with `purpose=batch`, a batch over
/// it on `/v1/chat/completions`, results in an output file and an error file.
struct OpenAIBatchAPI: BatchAPI {
    let chat: OpenAIProvider
    var provider: String { OpenAIProvider.name }
    var maxRequests: Int { 50_000 }
    /// 200 MB, less a margin for the multipart envelope.
    var maxBytes: Int { 199_000_000 }

    private var headers: [String: String] {
        var headers = chat.spec.headers
        if let key = chat.apiKey { headers["authorization"] = "Bearer \(key)" }
        return headers
    }

    private func call(_ path: String) throws -> APICall {
        APICall(
            transport: chat.transport, url: try APICall.endpoint(chat.spec, path), format: "OpenAI", redact: chat.redact
        )
    }

    private struct Line: Encodable {
        let custom_id: String
        let method = "POST"
        let url = "/v1/chat/completions"
        let body: OpenAIProvider.Body
    }

    func entry(customID: String, request: ChatRequest) throws -> Data {
        try APICall.json(Line(custom_id: customID, body: chat.body(for: request)))
    }

    private struct FileObject: Decodable { let id: String }

    private struct BatchObject: Decodable {
        struct Counts: Decodable {
            let total: Int?
            let completed: Int?
            let failed: Int?
        }
        struct Errors: Decodable {
            struct Item: Decodable {
                let code: String?
                let message: String?
            }
            let data: [Item]?
        }
        let id: String
        let status: String
        let input_file_id: String?
        let output_file_id: String?
        let error_file_id: String?
        let request_counts: Counts?
        let errors: Errors?
        let created_at: Double?
        let metadata: [String: String]?

        var state: BatchState {
            let done = ["completed", "failed", "expired", "cancelled"].contains(status)
            let completed = request_counts?.completed ?? 0
            let failed = request_counts?.failed ?? 0
            return BatchState(
                id: id, inputFileID: input_file_id, status: status, succeeded: completed, failed: failed,
                processing: max(0, (request_counts?.total ?? 0) - completed - failed), ended: done,
                failure: status == "failed"
                    ? ((errors?.data ?? []).map { "\($0.code ?? "error"): \($0.message ?? "no message")" }
                        .joined(separator: "; ")) : nil,
                outputFileID: output_file_id, errorFileID: error_file_id,
                createdAt: created_at.map { Date(timeIntervalSince1970: $0) }, total: request_counts?.total ?? 0,
                tag: metadata?[OpenAIBatchAPI.tagKey])
        }
    }

    private struct BatchList: Decodable {
        let data: [BatchObject]
        let has_more: Bool?
    }

    private struct CreateBatch: Encodable {
        let input_file_id: String
        let endpoint = "/v1/chat/completions"
        let completion_window = "24h"
        let metadata: [String: String]
    }

    /// The `metadata` key of hvae's tag on a batch.
    static let tagKey = "hvae_intent"

    func submit(_ entries: [Data], tag: String, uploaded: @Sendable (String) async throws -> Void) async throws
        -> BatchState
    {
        // POST /files, multipart/form-data: purpose=batch and the JSONL file.
        let boundary = "hvae-\(UUID().uuidString)"
        var form = Data()
        form.append(
            Data(
                """
                --\(boundary)\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n\
                --\(boundary)\r\nContent-Disposition: form-data; name="file"; filename="hvae-batch.jsonl"\r\n\
                Content-Type: application/jsonl\r\n\r\n
                """.utf8))
        for entry in entries {
            form.append(entry)
            form.append(0x0A)
        }
        form.append(Data("\r\n--\(boundary)--\r\n".utf8))
        let upload = try call("/files")
        let file = try await upload.send(
            "POST", upload.url, body: form, type: "multipart/form-data; boundary=\(boundary)", headers: headers,
            timeout: max(chat.spec.timeout, 600))
        let fileID = try decode(FileObject.self, file.http.body, raw: file.raw).id
        try await uploaded(fileID)
        let create = try call("/batches")
        let batch = try await create.post(
            CreateBatch(input_file_id: fileID, metadata: [Self.tagKey: tag]), headers: headers,
            timeout: chat.spec.timeout, as: BatchObject.self)
        return batch.state
    }

    func find(_ intent: BatchIntent, known: Set<String>) async throws -> [BatchState] {
        var found: [BatchState] = []
        var after: String?
        // Newest first; pages back to the intent's time.
        pages: while true {
            let get = try call("/batches?limit=100" + (after.map { "&after=\($0)" } ?? ""))
            let response = try await get.send("GET", get.url, headers: headers, timeout: chat.spec.timeout)
            let list = try decode(BatchList.self, response.http.body, raw: response.raw)
            for batch in list.data {
                let state = batch.state
                if state.tag == intent.tag || (intent.inputFileID != nil && state.inputFileID == intent.inputFileID) {
                    found.append(state)
                }
                if let created = state.createdAt,
                    created < intent.recordedAt.addingTimeInterval(-BatchIntent.clockSlack)
                {
                    break pages
                }
            }
            guard list.has_more == true, let last = list.data.last?.id else { break }
            after = last
        }
        return found
    }

    func state(of id: String) async throws -> BatchState {
        let get = try call("/batches/\(id)")
        let response = try await get.send("GET", get.url, headers: headers, timeout: chat.spec.timeout)
        return try decode(BatchObject.self, response.http.body, raw: response.raw).state
    }

    func cancel(_ id: String) async throws -> BatchState {
        let post = try call("/batches/\(id)/cancel")
        let response = try await post.send("POST", post.url, headers: headers, timeout: chat.spec.timeout)
        return try decode(BatchObject.self, response.http.body, raw: response.raw).state
    }

    func results(of state: BatchState) async throws -> [String: BatchResult] {
        var results: [String: BatchResult] = [:]
        for fileID in [state.outputFileID, state.errorFileID].compactMap({ $0 }) {
            let get = try call("/files/\(fileID)/content")
            let response = try await get.send("GET", get.url, headers: headers, timeout: max(chat.spec.timeout, 600))
            for line in jsonLines(response.http.body) {
                guard let json = line.json, let customID = try? json.string("custom_id") else { continue }
                results[customID] = BatchResult(line: chat.redact(line.bytes), outcome: Self.outcome(json))
            }
        }
        return results
    }

    /// A result line's outcome: `{"custom_id", "response": {"status_code", "body"}, "error": {"code", "message"}}`.
    private static func outcome(_ line: JSONValue) -> BatchResult.Outcome {
        if let error = try? line.object("error") {
            let code = try? error.string("code")
            let message = (try? error.string("message")) ?? nil
            switch code {
            case "batch_expired":
                return .failed(
                    ProviderError(kind: .timeout, message: "the batch expired before this request ran (batch_expired)"))
            case "batch_cancelled": return .canceled
            default:
                let status = (try? line.object("response")?.int("status_code")) ?? nil
                return .failed(
                    ProviderError(
                        kind: .http(status: status ?? 500),
                        message: "\((code ?? nil) ?? "error"): \(message ?? "no message")"))
            }
        }
        guard let response = try? line.object("response"), let status = try? response.int("status_code") else {
            return .failed(ProviderError(kind: .malformed, message: "a batch result line with no response"))
        }
        guard (200..<300).contains(status) else {
            let message = (try? response.object("body")?.object("error")?.string("message")) ?? nil
            return .failed(
                ProviderError(kind: .http(status: status), message: message ?? "HTTP \(status) in the batch"))
        }
        return .response(status: status)
    }

    func response(line: Data, status: Int, for request: ChatRequest) throws -> ChatResponse {
        do {
            let (json, replaced) = try JSONReader.read(line)
            guard let body = try json.object("response")?.object("body") else {
                throw JSONReader.Mismatch(key: "response.body", expected: "an object")
            }
            return try chat.response(
                try OpenAIProvider.Reply(body), raw: line, status: status, replaced: replaced, for: request)
        } catch let error as ProviderError {
            throw error
        } catch {
            throw ProviderError(
                kind: .malformed, message: "the batch API at \(chat.spec.baseURL) answered in another format",
                rawBody: line)
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, _ data: Data, raw: Data) throws -> T {
        try decodeBatchReply(type, data, raw: raw, from: chat.spec)
    }
}

/// Anthropic's Message Batches: the requests in one body, results as JSONL at `results_url`.
struct AnthropicBatchAPI: BatchAPI {
    let chat: AnthropicProvider
    var provider: String { AnthropicProvider.name }
    var maxRequests: Int { 100_000 }
    var maxBytes: Int { 255_000_000 }

    private func call(_ path: String) throws -> APICall {
        APICall(
            transport: chat.transport, url: try APICall.endpoint(chat.spec, path), format: "Anthropic",
            redact: chat.redact)
    }

    private struct Entry: Encodable {
        let custom_id: String
        let params: AnthropicProvider.Body
    }

    func entry(customID: String, request: ChatRequest) throws -> Data {
        try APICall.json(Entry(custom_id: customID, params: chat.body(for: request)))
    }

    private struct BatchObject: Decodable {
        struct Counts: Decodable {
            let processing: Int?
            let succeeded: Int?
            let errored: Int?
            let canceled: Int?
            let expired: Int?
        }
        let id: String
        let processing_status: String
        let request_counts: Counts?
        let results_url: String?
        let created_at: String?

        var state: BatchState {
            let counts = request_counts
            let failed = (counts?.errored ?? 0) + (counts?.canceled ?? 0) + (counts?.expired ?? 0)
            return BatchState(
                id: id, status: processing_status, succeeded: counts?.succeeded ?? 0, failed: failed,
                processing: counts?.processing ?? 0, ended: processing_status == "ended", resultsURL: results_url,
                createdAt: created_at.flatMap(Self.date),
                total: (counts?.processing ?? 0) + (counts?.succeeded ?? 0) + failed)
        }

        /// RFC 3339, with or without fractions of a second.
        static func date(_ text: String) -> Date? {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            if let date = formatter.date(from: text) { return date }
            formatter.formatOptions = [.withInternetDateTime]
            return formatter.date(from: text)
        }
    }

    private struct BatchList: Decodable {
        let data: [BatchObject]
        let has_more: Bool?
        let last_id: String?
    }

    /// Anthropic's batches keep no client tag: `find` tells them by time and size.
    func submit(_ entries: [Data], tag: String, uploaded: @Sendable (String) async throws -> Void) async throws
        -> BatchState
    {
        var body = Data("{\"requests\":[".utf8)
        for (index, entry) in entries.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body.append(entry)
        }
        body.append(contentsOf: Array("]}".utf8))
        let post = try call("/v1/messages/batches")
        let response = try await post.send(
            "POST", post.url, body: body, type: "application/json", headers: chat.headers,
            timeout: max(chat.spec.timeout, 600))
        return try decode(BatchObject.self, response.http.body, raw: response.raw).state
    }

    func find(_ intent: BatchIntent, known: Set<String>) async throws -> [BatchState] {
        var found: [BatchState] = []
        var after: String?
        let since = intent.recordedAt.addingTimeInterval(-BatchIntent.clockSlack)
        pages: while true {
            let get = try call("/v1/messages/batches?limit=100" + (after.map { "&after_id=\($0)" } ?? ""))
            let response = try await get.send("GET", get.url, headers: chat.headers, timeout: chat.spec.timeout)
            let list = try decode(BatchList.self, response.http.body, raw: response.raw)
            for batch in list.data {
                let state = batch.state
                guard let created = state.createdAt, created >= since else { break pages }
                if state.total == intent.requests && !known.contains(state.id) { found.append(state) }
            }
            guard list.has_more == true, let last = list.last_id ?? list.data.last?.id else { break }
            after = last
        }
        return found
    }

    func state(of id: String) async throws -> BatchState {
        let get = try call("/v1/messages/batches/\(id)")
        let response = try await get.send("GET", get.url, headers: chat.headers, timeout: chat.spec.timeout)
        return try decode(BatchObject.self, response.http.body, raw: response.raw).state
    }

    func cancel(_ id: String) async throws -> BatchState {
        let post = try call("/v1/messages/batches/\(id)/cancel")
        let response = try await post.send("POST", post.url, headers: chat.headers, timeout: chat.spec.timeout)
        return try decode(BatchObject.self, response.http.body, raw: response.raw).state
    }

    /// The HTTP status an Anthropic error type stands for, so that retries follow the normal rules.
    static func status(ofErrorType type: String?) -> Int {
        switch type {
        case "invalid_request_error": 400
        case "authentication_error": 401
        case "permission_error": 403
        case "not_found_error": 404
        case "request_too_large": 413
        case "rate_limit_error": 429
        case "overloaded_error": 529
        default: 500
        }
    }

    func results(of state: BatchState) async throws -> [String: BatchResult] {
        guard let address = state.resultsURL, let url = URL(string: address) else {
            throw ProviderError(kind: .malformed, message: "batch \(state.id) ended without a results_url")
        }
        // The key goes only where the API itself is.
        guard url.host == URL(string: chat.spec.baseURL)?.host else {
            throw ProviderError(
                kind: .configuration,
                message: "batch \(state.id)'s results_url is on \(url.host ?? "?"), not on \(chat.spec.baseURL)")
        }
        let get = APICall(transport: chat.transport, url: url, format: "Anthropic", redact: chat.redact)
        let response = try await get.send("GET", url, headers: chat.headers, timeout: max(chat.spec.timeout, 600))
        var results: [String: BatchResult] = [:]
        // Each line: {"custom_id", "result": {"type", "message", "error": {"error": {"type", "message"}}}}.
        for line in jsonLines(response.http.body) {
            guard let json = line.json, let customID = try? json.string("custom_id"),
                let result = try? json.object("result"), let type = try? result.string("type")
            else { continue }
            let detail = (try? result.object("error")?.object("error")) ?? nil
            let outcome: BatchResult.Outcome =
                switch type {
                case "succeeded": .response(status: 200)
                case "canceled": .canceled
                case "expired":
                    .failed(ProviderError(kind: .timeout, message: "the batch expired before this request ran"))
                default:
                    .failed(
                        ProviderError(
                            kind: .http(status: Self.status(ofErrorType: (try? detail?.string("type")) ?? nil)),
                            message: ((try? detail?.string("message")) ?? nil) ?? "errored in the batch"))
                }
            results[customID] = BatchResult(line: chat.redact(line.bytes), outcome: outcome)
        }
        return results
    }

    func response(line: Data, status: Int, for request: ChatRequest) throws -> ChatResponse {
        do {
            let (json, replaced) = try JSONReader.read(line)
            guard let message = try json.object("result")?.object("message") else {
                throw JSONReader.Mismatch(key: "result.message", expected: "an object")
            }
            return chat.response(try AnthropicProvider.Reply(message), raw: line, status: status, replaced: replaced)
        } catch {
            throw ProviderError(
                kind: .malformed, message: "the batch API at \(chat.spec.baseURL) answered in another format",
                rawBody: line)
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, _ data: Data, raw: Data) throws -> T {
        try decodeBatchReply(type, data, raw: raw, from: chat.spec)
    }
}
