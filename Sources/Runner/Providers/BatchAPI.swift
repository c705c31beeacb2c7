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
}

/// One request's outcome in a batch's results, with its line as received.
struct BatchResult: Sendable {
    var line: String
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
    /// `openai` or `anthropic`, as `batches.provider` stores it.
    var provider: String { get }
    /// The API's limits on one batch: requests, and bytes of its body.
    var maxRequests: Int { get }
    var maxBytes: Int { get }
    /// The bytes one request adds to a batch (a JSONL line; an entry of Anthropic's `requests`).
    func entry(customID: String, request: ChatRequest) throws -> Data
    func submit(_ entries: [Data]) async throws -> BatchState
    func state(of id: String) async throws -> BatchState
    /// Every result of an ended batch, by custom_id.
    func results(of state: BatchState) async throws -> [String: BatchResult]
    /// Decodes a successful result's line into the call's response.
    func response(line: String, status: Int, for request: ChatRequest) throws -> ChatResponse
    func cancel(_ id: String) async throws -> BatchState
}

/// A batch API's JSON reply, or a `ProviderError` saying the server answered in another format.
func decodeBatchReply<T: Decodable>(_ type: T.Type, _ data: Data, raw: String, from spec: APIModelSpec) throws -> T {
    do { return try JSONDecoder().decode(type, from: data) } catch {
        throw ProviderError(
            kind: .malformed, message: "the batch API at \(spec.baseURL) answered in another format", rawBody: raw)
    }
}

/// The lines of a JSONL body, each as received.
func jsonLines(_ data: Data) -> [String] {
    String(decoding: data, as: UTF8.self).split(whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        .map(String.init).filter { !$0.allSatisfy(\.isWhitespace) }
}

/// OpenAI's Batch API: the requests as a JSONL file uploaded with `purpose=batch`, a batch over
/// it on `/v1/chat/completions`, results in an output file and an error file.
struct OpenAIBatchAPI: BatchAPI {
    let chat: OpenAIProvider
    var provider: String { "openai" }
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
                outputFileID: output_file_id, errorFileID: error_file_id)
        }
    }

    func submit(_ entries: [Data]) async throws -> BatchState {
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
        let create = try call("/batches")
        let (batch, _, _) = try await create.post(
            ["input_file_id": fileID, "endpoint": "/v1/chat/completions", "completion_window": "24h"],
            headers: headers, timeout: chat.spec.timeout, as: BatchObject.self)
        return batch.state
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

    private struct ResultLine: Decodable {
        struct Response: Decodable {
            struct Body: Decodable {
                struct Detail: Decodable { let message: String? }
                let error: Detail?
            }
            let status_code: Int
            let body: Body?
        }
        struct Failure: Decodable {
            let code: String?
            let message: String?
        }
        let custom_id: String
        let response: Response?
        let error: Failure?
    }

    func results(of state: BatchState) async throws -> [String: BatchResult] {
        var results: [String: BatchResult] = [:]
        for fileID in [state.outputFileID, state.errorFileID].compactMap({ $0 }) {
            let get = try call("/files/\(fileID)/content")
            let response = try await get.send("GET", get.url, headers: headers, timeout: max(chat.spec.timeout, 600))
            for line in jsonLines(response.http.body) {
                guard let parsed = try? JSONDecoder().decode(ResultLine.self, from: Data(line.utf8)) else { continue }
                results[parsed.custom_id] = BatchResult(line: chat.redact(line), outcome: Self.outcome(parsed))
            }
        }
        return results
    }

    private static func outcome(_ line: ResultLine) -> BatchResult.Outcome {
        if let error = line.error {
            switch error.code {
            case "batch_expired":
                return .failed(
                    ProviderError(kind: .timeout, message: "the batch expired before this request ran (batch_expired)"))
            case "batch_cancelled": return .canceled
            default:
                return .failed(
                    ProviderError(
                        kind: .http(status: line.response?.status_code ?? 500),
                        message: "\(error.code ?? "error"): \(error.message ?? "no message")"))
            }
        }
        guard let response = line.response else {
            return .failed(ProviderError(kind: .malformed, message: "a batch result line with no response"))
        }
        guard (200..<300).contains(response.status_code) else {
            return .failed(
                ProviderError(
                    kind: .http(status: response.status_code),
                    message: response.body?.error?.message ?? "HTTP \(response.status_code) in the batch"))
        }
        return .response(status: response.status_code)
    }

    func response(line: String, status: Int, for request: ChatRequest) throws -> ChatResponse {
        struct Line: Decodable {
            struct Response: Decodable { let body: OpenAIProvider.Reply }
            let response: Response
        }
        let reply = try decode(Line.self, Data(line.utf8), raw: line).response.body
        return try chat.response(reply, raw: line, status: status, for: request)
    }

    private func decode<T: Decodable>(_ type: T.Type, _ data: Data, raw: String) throws -> T {
        try decodeBatchReply(type, data, raw: raw, from: chat.spec)
    }
}

/// Anthropic's Message Batches: the requests in one body, results as JSONL at `results_url`.
struct AnthropicBatchAPI: BatchAPI {
    let chat: AnthropicProvider
    var provider: String { "anthropic" }
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

        var state: BatchState {
            let counts = request_counts
            return BatchState(
                id: id, status: processing_status, succeeded: counts?.succeeded ?? 0,
                failed: (counts?.errored ?? 0) + (counts?.canceled ?? 0) + (counts?.expired ?? 0),
                processing: counts?.processing ?? 0, ended: processing_status == "ended", resultsURL: results_url)
        }
    }

    func submit(_ entries: [Data]) async throws -> BatchState {
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

    private struct ResultLine: Decodable {
        struct Result: Decodable {
            struct Failure: Decodable {
                struct Detail: Decodable {
                    let type: String?
                    let message: String?
                }
                let error: Detail?
            }
            let type: String
            let error: Failure?
        }
        let custom_id: String
        let result: Result
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
        for line in jsonLines(response.http.body) {
            guard let parsed = try? JSONDecoder().decode(ResultLine.self, from: Data(line.utf8)) else { continue }
            let outcome: BatchResult.Outcome =
                switch parsed.result.type {
                case "succeeded": .response(status: 200)
                case "canceled": .canceled
                case "expired":
                    .failed(ProviderError(kind: .timeout, message: "the batch expired before this request ran"))
                default:
                    .failed(
                        ProviderError(
                            kind: .http(status: Self.status(ofErrorType: parsed.result.error?.error?.type)),
                            message: parsed.result.error?.error?.message ?? "errored in the batch"))
                }
            results[parsed.custom_id] = BatchResult(line: chat.redact(line), outcome: outcome)
        }
        return results
    }

    func response(line: String, status: Int, for request: ChatRequest) throws -> ChatResponse {
        struct Line: Decodable {
            struct Result: Decodable { let message: AnthropicProvider.Reply }
            let result: Result
        }
        return chat.response(
            try decode(Line.self, Data(line.utf8), raw: line).result.message, raw: line, status: status)
    }

    private func decode<T: Decodable>(_ type: T.Type, _ data: Data, raw: String) throws -> T {
        try decodeBatchReply(type, data, raw: raw, from: chat.spec)
    }
}
