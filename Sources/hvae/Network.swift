import Runner

/// Runs `body` with the process's one network transport, sized for `concurrency` calls in flight
/// to a host, and shuts the transport down afterwards, whether `body` returned or threw (an
/// interrupted run included): its connections are closed before the process exits.
func withNetwork<T>(concurrency: Int, _ body: (NetworkTransport) async throws -> T) async throws -> T {
    let transport = NetworkTransport(connectionsPerHost: max(8, concurrency))
    do {
        let value = try await body(transport)
        await transport.shutdown()
        return value
    } catch {
        await transport.shutdown()
        throw error
    }
}
