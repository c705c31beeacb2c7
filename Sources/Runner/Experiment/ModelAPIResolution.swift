import Design

extension ProviderSpec {
    /// The registered model API it calls (`ModelAPIs`); nil for reference agents and for a name
    /// this hvae does not know (a stored experiment written by another version).
    public var modelAPI: (any ModelAPI.Type)? {
        switch self {
        case .reference: nil
        case .api(let name, _): ModelAPIs.named(name)
        }
    }
}

extension Experiment {
    /// Sets `batch: true` on every model whose API takes batches (`hvae run --batch`); throws when there is none.
    public mutating func sendThroughBatchAPIs() throws {
        var found = false
        for index in models.indices {
            guard case .api(let name, var settings) = models[index].provider,
                let api = ModelAPIs.named(name), ModelAPIs.batches(api)
            else { continue }
            settings.batch = true
            models[index].provider = .api(name, settings)
            found = true
        }
        guard found else {
            let names = ModelAPIs.all.filter { ModelAPIs.batches($0) }.map { $0.name }.joined(separator: ", ")
            throw ExperimentFileError(
                file: name, line: nil, key: "models",
                message: "--batch: no model uses a provider with a batch API (\(names))")
        }
    }

}
