import Design
import Domain
import Foundation
import SVO
import Yams

/// A problem in an experiment file, located by key path and line.
public struct ExperimentFileError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int?
    public var key: String
    public var message: String

    public var description: String {
        let location = line.map { "\(file):\($0)" } ?? file
        return key.isEmpty ? "\(location): \(message)" : "\(location): \(key): \(message)"
    }
}

/// Reads experiment files (YAML). Unknown keys, wrong types and impossible values are errors
/// that name the key and the line; every key left out gets its documented default.
public enum ExperimentFile {
    /// Loads and validates the experiment file at `path`.
    public static func load(path: String) throws -> Experiment {
        func failure(_ message: String) -> ExperimentFileError {
            ExperimentFileError(file: path, line: nil, key: "", message: message)
        }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw failure("no such file; check the path (examples/quickstart.yaml is one to start from)")
        }
        guard !isFolder.boolValue else {
            throw failure("is a folder; give the path of the experiment file (YAML) in it")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw failure("cannot be read; check its permissions")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw failure("is not UTF-8 text; save it as UTF-8")
        }
        return try parse(yaml: text, file: path)
    }

    /// Parses and validates experiment YAML; `file` names it in errors.
    public static func parse(yaml: String, file: String = "<experiment>") throws -> Experiment {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw ExperimentFileError(
                    file: file, line: nil, key: "", message: "the file is empty; see examples/quickstart.yaml")
            }
            root = node
        } catch let error as YamlError {
            throw yamlFailure(error, yaml: yaml, file: file)
        }
        let reader = NodeReader(file: file)
        let top = try reader.mapping(root, path: "")

        let name = try reader.string(top, "name", required: true)!
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw reader.error(top.node("name"), "name", "must not be empty")
        }
        let models = try reader.list(top, "models", required: true) { node, path in
            try modelSpec(node, path: path, reader: reader)
        }
        guard !models.isEmpty else { throw reader.error(top.node("models"), "models", "list at least one model") }
        var seen: Set<String> = []
        for (index, model) in models.enumerated() where !seen.insert(model.name).inserted {
            throw reader.error(
                top.node("models")?.sequence?[index], "models[\(index)].name",
                "'\(model.name)' is used twice; model names must be unique")
        }

        let targets = try targetDirections(top, reader: reader)
        let placements = try reader.list(top, "persona") { try reader.enumeration($0, $1, PersonaPlacement.self) }
            .nonEmpty(or: [.user])
        var experiment = Experiment(
            name: name,
            description: try reader.string(top, "description") ?? "",
            seed: Int64(try reader.int(top, "seed", range: 0...Int(Int64.max)) ?? 1),
            trials: try reader.int(top, "trials", range: 1...100_000) ?? 10,
            // With targets and no values, the trials are told targets only.
            values: try reader.list(top, "values") { try reader.enumeration($0, $1, ValueOrientation.self) }
                .nonEmpty(or: targets.isEmpty || top.node("values") != nil ? ValueOrientation.allCases : []),
            goals: try goalConditions(top, reader: reader),
            valueAssignment: try reader.enumeration(top, "value_assignment", ValueAssignment.self) ?? .selfDescribed,
            instruments: try instrumentNames(top, reader: reader),
            optionOrders: try reader.list(top, "option_orders") { try reader.enumeration($0, $1, OptionOrder.self) }
                .nonEmpty(or: [.original]),
            maxAttempts: try reader.int(top, "max_attempts", range: 1...20) ?? 3,
            concurrency: try reader.int(top, "concurrency", range: 1...1024) ?? 8,
            maxCalls: try reader.int(top, "max_calls", range: 1...Int.max),
            maxCost: try reader.double(top, "max_cost", path: "", range: 0.000001...1_000_000_000),
            cache: try reader.bool(top, "cache") ?? false,
            templates: try templates(
                top, reader: reader, targets: !targets.isEmpty, system: placements.contains(.system)),
            targets: targets,
            targetTemplates: targets.isEmpty ? nil : try targetTemplates(top, reader: reader),
            placements: placements,
            systemTemplates: placements.contains(.system) ? try systemTemplates(top, reader: reader) : nil,
            models: models
        )
        try reader.requireDistinct(top, "values", experiment.values.map(\.rawValue))
        try reader.requireDistinct(top, "option_orders", experiment.optionOrders.map(\.rawValue))
        try reader.requireDistinct(top, "persona", experiment.placements.map(\.rawValue))
        if top.node("variants") != nil {
            experiment.variants = try variants(
                top, base: experiment.defaultVariant, reader: reader, targets: !targets.isEmpty,
                system: placements.contains(.system))
        }
        try reader.rejectUnknownKeys(
            top,
            allowed: [
                "name", "description", "seed", "trials", "values", "targets", "goal", "persona", "variants",
                "value_assignment", "instrument", "instruments", "option_orders", "max_attempts",
                "concurrency", "max_calls", "max_cost", "cache", "templates", "models",
            ])
        try checkInstruments(experiment, top, reader: reader)
        if experiment.maxCost != nil,
            let unpriced = experiment.models.first(where: {
                $0.provider.api != nil && ($0.provider.api?.priceInput == nil || $0.provider.api?.priceOutput == nil)
            })
        {
            throw reader.error(
                top.node("max_cost"), "max_cost",
                "needs price_input and price_output on every API model; '\(unpriced.name)' has none")
        }
        return experiment
    }

    /// `instruments:` (names from `Instruments`), or the older `instrument: primary|full`.
    private static func instrumentNames(_ top: MappingNode, reader: NodeReader) throws -> [String] {
        guard let node = top.node("instruments") else {
            return [(try reader.enumeration(top, "instrument", SliderItems.self) ?? .primary).instrument]
        }
        if top.node("instrument") != nil {
            throw reader.error(
                top.node("instrument"), "instrument",
                "give instruments: or instrument:, not both (instrument: full is instruments: [slider-full])")
        }
        let names = try reader.list(top, "instruments") { item, path in
            guard let name = item.string, Instruments.named(name) != nil else {
                throw reader.error(
                    item, path,
                    "expected one of \(Instruments.names.joined(separator: ", ")), "
                        + "found '\(item.string ?? "a non-text value")'"
                )
            }
            return name
        }
        guard !names.isEmpty else {
            throw reader.error(node, "instruments", "list at least one instrument, or leave the key out (slider)")
        }
        try reader.requireDistinct(top, "instruments", names)
        return names
    }

    /// What an instrument cannot be run with: letter probabilities on a number answer, and a
    /// variant's wording (the instruments other than the slider have their own, in English).
    private static func checkInstruments(_ experiment: Experiment, _ top: MappingNode, reader: NodeReader) throws {
        let own = experiment.instruments.filter { Instruments.named($0)?.wording != nil }
        guard !own.isEmpty else { return }
        if let variant = experiment.variants.first(where: { $0.name != PromptVariant.defaultName }) {
            throw reader.error(
                top.node("variants"), "variants",
                "variant '\(variant.name)' words the slider only; \(own.joined(separator: ", ")) "
                    + "\(own.count == 1 ? "has its" : "have their") own English wording, "
                    + "so run it in an experiment without variants:"
            )
        }
        let numbers = experiment.instruments.filter { name in
            Instruments.named(name)?.form(seed: 0).items.contains { $0.budget != nil } == true
        }
        if !numbers.isEmpty,
            let model = experiment.models.first(where: { $0.provider.api?.readsLogprobs == true })
        {
            throw reader.error(
                top.node("instruments"), "instruments",
                "\(numbers.joined(separator: ", ")) takes a number, which has no letter probabilities; model "
                    + "'\(model.name)' reads them "
                    + "(answer_from: \(model.provider.api?.answerFrom?.rawValue ?? "logprobs")): "
                    + "set answer_from: text or run it in another experiment"
            )
        }
    }

    private static func goalConditions(_ top: MappingNode, reader: NodeReader) throws -> [GoalCondition] {
        guard let node = top.node("goal") else { return [.with, .without] }
        switch node.string {
        case "with": return [.with]
        case "without": return [.without]
        case "both": return [.with, .without]
        default:
            throw reader.error(
                node, "goal", "expected with, without or both, found '\(node.string ?? "a non-text value")'")
        }
    }

    /// `targets:` as a list of directions, or `{from:, to:, step:}` (both ends included).
    private static func targetDirections(_ top: MappingNode, reader: NodeReader) throws -> [Double] {
        guard let node = top.node("targets") else { return [] }
        let range = Assignment.directions
        let hint = "a direction φ in degrees from -90 to 90 (altruistic is 90, prosocial 45, individualistic 0)"
        var targets: [Double]
        if node.sequence != nil {
            targets = try reader.list(top, "targets") { item, path in
                guard let phi = item.float, item.scalar != nil else {
                    throw reader.error(item, path, "expected \(hint), found '\(item.string ?? "a non-number")'")
                }
                guard range.contains(phi) else { throw reader.error(item, path, "expected \(hint), found \(phi)") }
                guard (phi * 1000).rounded() / 1000 == phi else {
                    throw reader.error(item, path, "\(phi) has more than three decimals; round it to 0.001°")
                }
                return phi
            }
        } else if node.mapping != nil {
            let sweep = try reader.mapping(node, path: "targets")
            try reader.rejectUnknownKeys(
                sweep, allowed: ["from", "to", "step"], hint: "a sweep has from:, to: and step:")
            func bound(_ key: String, _ range: ClosedRange<Double>) throws -> Double {
                guard let value = try reader.double(sweep, key, path: "targets", range: range) else {
                    throw reader.error(node, "targets.\(key)", "is required in a sweep {from:, to:, step:}")
                }
                return value
            }
            let (from, to, step) = (try bound("from", range), try bound("to", range), try bound("step", 0.001...180))
            guard from <= to else {
                throw reader.error(
                    sweep.node("to"), "targets.to", "must not be below from (\(from)); the sweep goes up")
            }
            let count = Int(((to - from) / step + 1e-9).rounded(.down)) + 1
            guard count <= 1_000 else {
                throw reader.error(node, "targets", "is a sweep of \(count) targets; at most 1000 (use a larger step)")
            }
            // Each direction from its index, rounded to 0.001° (the precision of a direction), so
            // that no error accumulates.
            targets = (0..<count).map { ((from + Double($0) * step) * 1000).rounded() / 1000 }
        } else {
            throw reader.error(node, "targets", "expected a list of directions, or {from:, to:, step:}")
        }
        guard !targets.isEmpty else {
            throw reader.error(node, "targets", "list at least one direction, or leave the key out")
        }
        var seen: Set<Double> = []
        for (index, phi) in targets.enumerated() where !seen.insert(phi).inserted {
            throw reader.error(node.sequence?[index] ?? node, "targets[\(index)]", "\(phi) appears twice")
        }
        return targets
    }

    /// The templates of target trials: the standard ones, with any given under `templates:`.
    private static func targetTemplates(
        _ container: MappingNode, prefix: String = "", base: TargetTemplates = .standard, reader: NodeReader
    ) throws -> TargetTemplates {
        var templates = base
        guard let node = container.node("templates") else { return templates }
        let mapping = try reader.mapping(node, path: prefix + "templates")
        for (key, path) in targetFields {
            guard let text = try reader.string(mapping, key) else { continue }
            try checkPlaceholders(text, key: key, allowed: TargetTemplates.placeholders[key] ?? [], mapping, reader)
            templates[keyPath: path] = text
        }
        return templates
    }

    /// `variants:`: `default` (the experiment's templates), a built-in set by name (`paraphrase`,
    /// `zh`), or `{name:, language:, templates:}`, the experiment's templates with those replaced.
    private static func variants(
        _ top: MappingNode, base: PromptVariant, reader: NodeReader, targets: Bool, system: Bool
    ) throws -> [PromptVariant] {
        let known = ([PromptVariant.defaultName] + PromptVariant.builtIn.keys.sorted()).joined(separator: ", ")
        let variants = try reader.list(top, "variants") { node, path -> PromptVariant in
            if node.mapping == nil {
                guard let name = node.scalar != nil ? node.string : nil else {
                    throw reader.error(node, path, "expected a variant's name (\(known)) or {name:, templates:}")
                }
                if name == PromptVariant.defaultName { return base }
                guard let builtIn = PromptVariant.builtIn[name] else {
                    throw reader.error(
                        node, path,
                        "unknown variant '\(name)'; built in: \(known), or define one as {name:, templates:}")
                }
                return builtIn
            }
            let mapping = try reader.mapping(node, path: path)
            try reader.rejectUnknownKeys(
                mapping, allowed: ["name", "language", "templates"],
                hint: "a variant has name:, language: and templates:")
            let name = try reader.string(mapping, "name", required: true)!
            guard PromptVariant.isValidName(name), name != PromptVariant.defaultName,
                PromptVariant.builtIn[name] == nil
            else {
                throw reader.error(
                    mapping.node("name"), "\(path).name",
                    "'\(name)' cannot name a new variant: use 1-40 of a-z, 0-9, - and _, and not \(known)")
            }
            let prefix = "\(path)."
            return PromptVariant(
                name: name, language: try reader.string(mapping, "language") ?? base.language,
                templates: try templates(
                    mapping, prefix: prefix, base: base.templates, reader: reader, targets: targets, system: system),
                targetTemplates: try targetTemplates(
                    mapping, prefix: prefix, base: base.targetTemplates, reader: reader),
                systemTemplates: try systemTemplates(
                    mapping, prefix: prefix, base: base.systemTemplates, reader: reader))
        }
        try reader.requireDistinct(top, "variants", variants.map(\.name))
        return variants
    }

    /// The templates of `persona: system`: the standard ones, with any given under `templates:`.
    private static func systemTemplates(
        _ container: MappingNode, prefix: String = "", base: SystemTemplates = .standard, reader: NodeReader
    ) throws -> SystemTemplates {
        var templates = base
        guard let node = container.node("templates") else { return templates }
        let mapping = try reader.mapping(node, path: prefix + "templates")
        for (key, path) in systemFields {
            guard let text = try reader.string(mapping, key) else { continue }
            try checkPlaceholders(text, key: key, allowed: SystemTemplates.placeholders[key] ?? [], mapping, reader)
            templates[keyPath: path] = text
        }
        return templates
    }

    private static var systemFields: [(String, WritableKeyPath<SystemTemplates, String>)] {
        [("system_value", \.systemValue), ("system_describe", \.systemDescribe)]
    }

    private static var targetFields: [(String, WritableKeyPath<TargetTemplates, String>)] {
        [
            ("target_prompt", \.targetPrompt), ("target_definition", \.targetDefinition), ("target_role", \.targetRole),
            ("weights_other_only", \.weightsOtherOnly), ("weights_positive", \.weightsPositive),
            ("weights_equal", \.weightsEqual), ("weights_self_only", \.weightsSelfOnly),
            ("weights_negative", \.weightsNegative), ("weights_against_only", \.weightsAgainstOnly),
        ]
    }

    private static func checkPlaceholders(
        _ text: String, key: String, allowed: Set<String>, _ mapping: MappingNode, _ reader: NodeReader
    ) throws {
        let unknown = PromptTemplates.placeholders(in: text).subtracting(allowed)
        if let first = unknown.sorted().first {
            throw reader.error(
                mapping.node(key), "\(mapping.path).\(key)",
                """
                unknown placeholder {{\(first)}}; this template may use \
                \(allowed.sorted().map { "{{\($0)}}" }.joined(separator: ", "))
                """
            )
        }
    }

    private static func templates(
        _ container: MappingNode, prefix: String = "", base: PromptTemplates = .standard, reader: NodeReader,
        targets: Bool, system: Bool
    ) throws -> PromptTemplates {
        var templates = base
        guard let node = container.node("templates") else { return templates }
        let mapping = try reader.mapping(node, path: prefix + "templates")
        let fields: [(String, WritableKeyPath<PromptTemplates, String>)] = [
            ("value_prompt", \.valuePrompt), ("value_definition", \.valueDefinition), ("role", \.role),
            ("task", \.task), ("goal_prompt", \.goalPrompt), ("neutral_goal", \.neutralGoal),
            ("item", \.item), ("reask", \.reask),
        ]
        for (key, path) in fields {
            guard let text = try reader.string(mapping, key) else { continue }
            var allowed = PromptTemplates.placeholders[key] ?? []
            // The templates named trials and target trials share: a target trial has no value's
            // name, and can say its weights instead.
            if targets, !["value_prompt", "value_definition", "role"].contains(key) {
                if PromptTemplates.placeholders(in: text).contains("value") {
                    throw reader.error(
                        mapping.node(key), "\(prefix)templates.\(key)",
                        "uses {{value}}, which target trials do not have; use {{weights}} (the sentence of the weights)"
                    )
                }
                allowed.formUnion(["weights", "phi", "w"])
            }
            try checkPlaceholders(text, key: key, allowed: allowed, mapping, reader)
            if key == "item", !text.contains("{{options}}") {
                throw reader.error(
                    mapping.node(key), "\(prefix)templates.item",
                    "must contain {{options}}, or the model never sees the options"
                )
            }
            templates[keyPath: path] = text
        }
        if !targets, let used = mapping.pairs.first(where: { pair in targetFields.contains { $0.0 == pair.key } }) {
            throw reader.error(
                used.keyNode, "\(prefix)templates.\(used.key)",
                "words the trials of targets, and this experiment has no targets:")
        }
        if !system, let used = mapping.pairs.first(where: { pair in systemFields.contains { $0.0 == pair.key } }) {
            throw reader.error(
                used.keyNode, "\(prefix)templates.\(used.key)",
                "words the system message of persona: [system], and this experiment places its values in the dialogue")
        }
        try reader.rejectUnknownKeys(
            mapping,
            allowed: Set(fields.map(\.0)).union(targets ? targetFields.map(\.0) : [])
                .union(system ? systemFields.map(\.0) : []))
        return templates
    }

    private static func modelSpec(_ node: Node, path: String, reader: NodeReader) throws -> ModelSpec {
        let mapping = try reader.mapping(node, path: path)
        let name = try reader.string(mapping, "name", required: true)!
        guard !name.isEmpty else { throw reader.error(mapping.node("name"), "\(path).name", "must not be empty") }
        let provider = try reader.string(mapping, "provider") ?? ProviderSpec.referenceKind
        if let api = ModelAPIs.named(provider) {
            return ModelSpec(
                name: name, provider: .api(api.name, try apiSpec(mapping, api, path: path, reader: reader)))
        }
        switch provider {
        case ProviderSpec.referenceKind:
            let kind = try reader.enumeration(
                mapping, "agent", ReferenceAgentSpec.Kind.self, path: path, required: true)!
            var spec = ReferenceAgentSpec(
                agent: kind, variedReplies: try reader.bool(mapping, "varied_replies") ?? true)
            var allowed: Set<String> = ["name", "provider", "agent", "varied_replies"]
            switch kind {
            case .noisy:
                allowed.insert("temperature")
                spec.temperature = try reader.double(mapping, "temperature", path: path, range: 0.001...10_000) ?? 5
            case .fixed:
                allowed.insert("letter")
                let letter = try reader.string(mapping, "letter") ?? "A"
                guard let option = OptionLetter(symbol: letter) else {
                    throw reader.error(
                        mapping.node("letter"), "\(path).letter", "expected one letter from A to I, found '\(letter)'")
                }
                spec.letter = option.symbol
            case .stubborn:
                allowed.insert("value")
                spec.value = try reader.enumeration(mapping, "value", ValueOrientation.self, path: path) ?? .prosocial
            case .ideal, .random:
                break
            }
            try reader.rejectUnknownKeys(
                mapping, allowed: allowed, path: path,
                hint: "the \(kind.rawValue) reference agent takes \(allowed.sorted().joined(separator: ", "))")
            return ModelSpec(name: name, provider: .reference(spec))
        default:
            let names = [ProviderSpec.referenceKind] + ModelAPIs.all.map { $0.name }
            throw reader.error(
                mapping.node("provider"), "\(path).provider",
                "unknown provider '\(provider)'; expected \(names.dropLast().joined(separator: ", ")) or \(names.last!)"
            )
        }
    }

    private static func apiSpec(
        _ mapping: MappingNode, _ api: any ModelAPI.Type, path: String, reader: NodeReader
    ) throws -> APIModelSpec {
        let model = try reader.string(mapping, "model", required: true)!
        let baseURL =
            try reader.string(mapping, "base_url")
            ?? api.defaultBaseURL
        guard let url = URL(string: baseURL), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw reader.error(
                mapping.node("base_url"), "\(path).base_url", "expected an http:// or https:// URL, found '\(baseURL)'")
        }
        var seed = APIModelSpec.SeedSetting.trial
        if let node = mapping.node("seed") {
            if let number = node.int {
                seed = .fixed(number)
            } else if node.string == "none" {
                seed = .none
            } else if node.string == "trial" {
                seed = .trial
            } else {
                throw reader.error(node, "\(path).seed", "expected trial, none or a whole number")
            }
        }
        var stop: [String] = []
        if let node = mapping.node("stop") {
            if let sequence = node.sequence {
                stop = try sequence.enumerated().map { index, item in
                    guard let text = item.string else {
                        throw reader.error(item, "\(path).stop[\(index)]", "expected text")
                    }
                    return text
                }
            } else if let text = node.string {
                stop = [text]
            }
        }
        var headers: [String: String] = [:]
        if let node = mapping.node("headers") {
            let headerMap = try reader.mapping(node, path: "\(path).headers")
            for pair in headerMap.pairs {
                guard let value = pair.value.string else {
                    throw reader.error(pair.value, "\(path).headers.\(pair.key)", "expected text")
                }
                let lower = pair.key.lowercased()
                if lower == "authorization" || lower == "x-api-key" || lower.contains("key") || lower.contains("token")
                {
                    throw reader.error(
                        pair.keyNode, "\(path).headers.\(pair.key)",
                        """
                        looks like a secret, and headers are stored with the run; put the key in an environment \
                        variable named by api_key_env
                        """
                    )
                }
                headers[pair.key] = value
            }
        }
        var spec = APIModelSpec(
            model: model, baseURL: baseURL,
            apiKeyEnv: try reader.string(mapping, "api_key_env"),
            temperature: try reader.double(mapping, "temperature", path: path, range: 0...2) ?? 0.7,
            topP: try reader.double(mapping, "top_p", path: path, range: 0...1),
            maxTokens: try reader.int(mapping, "max_tokens", range: 1...1_000_000) ?? api.defaultMaxTokens,
            seed: seed, stop: stop, headers: headers,
            timeout: try reader.double(mapping, "timeout", path: path, range: 0.1...3600) ?? 60,
            maxRetries: try reader.int(mapping, "max_retries", range: 0...100) ?? 5,
            retryDelay: try reader.double(mapping, "retry_delay", path: path, range: 0...600) ?? 1,
            maxConcurrency: try reader.int(mapping, "max_concurrency", range: 1...1024),
            requestsPerMinute: try reader.double(mapping, "requests_per_minute", path: path, range: 0.001...1_000_000),
            tokensPerMinute: try reader.double(mapping, "tokens_per_minute", path: path, range: 1...1_000_000_000),
            priceInput: try reader.double(mapping, "price_input", path: path, range: 0...1_000_000),
            priceOutput: try reader.double(mapping, "price_output", path: path, range: 0...1_000_000),
            giveUpAfter: try reader.double(mapping, "give_up_after", path: path, range: 0...86_400)
        )
        if let source = try reader.enumeration(mapping, "answer_from", AnswerSource.self, path: path) {
            if !api.servesLogprobs && source != .text {
                let serving = ModelAPIs.all.filter { $0.servesLogprobs }.map { $0.name }.joined(separator: ", ")
                throw reader.error(
                    mapping.node("answer_from"), "\(path).answer_from",
                    """
                    provider \(api.name) returns no token log probabilities; use answer_from: text (the \
                    default) for this model, or a provider that serves them (\(serving))
                    """
                )
            }
            // `text` is the default: left out, so that writing it keeps the experiment's hash.
            spec.answerFrom = source == .text ? nil : source
        }
        // Batch mode: left out of the experiment's JSON when off, so experiments without it keep their hash.
        // The batch settings apply in batch mode: `batch: true`, or `hvae run --batch`.
        if try reader.bool(mapping, "batch") == true { spec.batch = true }
        spec.batchSize = try reader.int(mapping, "batch_size", range: 1...100_000)
        spec.batchPoll = try reader.double(mapping, "batch_poll", path: path, range: 0.01...3600)
        spec.batchDiscount = try reader.double(mapping, "batch_discount", path: path, range: 0...1)
        if let node = mapping.node("system") {
            // An empty string is a choice (an empty system message, which keeps a chat template's
            // default out); a key with no value is not.
            guard let scalar = node.scalar, scalar.style != .plain || NSNull.construct(from: scalar) == nil else {
                throw reader.error(
                    node, "\(path).system",
                    "expected the text of the model's system message; write system: \"\" for an empty one")
            }
            spec.system = scalar.string
        }
        var allowed: Set<String> = [
            "name", "provider", "model", "base_url", "api_key_env", "temperature", "top_p", "max_tokens",
            "seed", "stop", "headers", "timeout", "max_retries", "retry_delay", "max_concurrency",
            "requests_per_minute", "tokens_per_minute", "price_input", "price_output", "give_up_after", "answer_from",
            "batch", "batch_size", "batch_poll", "batch_discount", "system",
        ]
        allowed.formUnion(try api.readOwnSettings(into: &spec) { try reader.string(mapping, $0) })
        try reader.rejectUnknownKeys(mapping, allowed: allowed, path: path)
        return spec
    }

    /// Says what a YAML syntax error means for someone editing the file. libyaml's own words
    /// ("found character that cannot start any token", "unexpected end of stream") name neither
    /// the tab nor the line where an unclosed quote opens, which is what the author must fix.
    static func yamlFailure(_ error: YamlError, yaml: String, file: String) -> ExperimentFileError {
        func failure(_ line: Int?, _ message: String) -> ExperimentFileError {
            ExperimentFileError(file: file, line: line, key: "", message: message)
        }
        let (context, problem, mark): (YamlError.Context?, String, Mark?) =
            switch error {
            case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _):
                (context, problem, mark)
            default: (nil, "\(error)", nil)
            }
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        // A tab in the failing line's indentation is the cause. (Only that line: a tab-indented line
        // inside a block scalar elsewhere is valid text.)
        if let mark, lines.indices.contains(mark.line - 1),
            lines[mark.line - 1].prefix(while: { $0 == " " || $0 == "\t" }).contains("\t")
        {
            return failure(
                mark.line, "a tab indents this line; YAML indents with spaces only, so replace the tab with spaces")
        }
        if let context, context.text.contains("quoted scalar") {
            let quote =
                lines.indices.contains(context.mark.line - 1)
                ? lines[context.mark.line - 1].dropFirst(max(0, context.mark.column - 1)).first : nil
            let shown = quote.map { "the \($0 == "'" ? "single" : "double") quote" } ?? "the quote"
            return failure(context.mark.line, "\(shown) opened on this line is never closed; add the closing quote")
        }
        return failure(mark?.line, "not valid YAML: \(problem)")
    }
}

/// A YAML mapping with string keys, in file order.
struct MappingNode {
    let node: Node
    let path: String
    let pairs: [(key: String, keyNode: Node, value: Node)]

    func node(_ key: String) -> Node? { pairs.first { $0.key == key }?.value }
}

/// Typed access to YAML nodes that reports the key path and line of every problem.
struct NodeReader {
    let file: String

    func error(_ node: Node?, _ key: String, _ message: String) -> ExperimentFileError {
        ExperimentFileError(file: file, line: node?.mark?.line, key: key, message: message)
    }

    private func keyPath(_ mapping: MappingNode, _ key: String) -> String {
        mapping.path.isEmpty ? key : "\(mapping.path).\(key)"
    }

    func mapping(_ node: Node, path: String) throws -> MappingNode {
        guard let mapping = node.mapping else {
            throw error(
                node, path,
                path.isEmpty ? "the file must be a mapping of keys (name:, models:, ...)" : "expected a mapping of keys"
            )
        }
        var pairs: [(String, Node, Node)] = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else { throw error(keyNode, path, "keys must be text") }
            if pairs.contains(where: { $0.0 == key }) {
                throw error(keyNode, path.isEmpty ? key : "\(path).\(key)", "appears twice")
            }
            pairs.append((key, keyNode, value))
        }
        return MappingNode(node: node, path: path, pairs: pairs.map { (key: $0.0, keyNode: $0.1, value: $0.2) })
    }

    func rejectUnknownKeys(_ mapping: MappingNode, allowed: Set<String>, path: String? = nil, hint: String? = nil)
        throws
    {
        for pair in mapping.pairs where !allowed.contains(pair.key) {
            let near = allowed.min { editDistance($0, pair.key) < editDistance($1, pair.key) }
            let suggestion = near.flatMap { editDistance($0, pair.key) <= 2 ? " (did you mean '\($0)'?)" : nil } ?? ""
            throw error(
                pair.keyNode, keyPath(mapping, pair.key),
                "unknown key\(suggestion); \(hint ?? "allowed here: \(allowed.sorted().joined(separator: ", "))")")
        }
    }

    /// Lists that define cells (values, option orders) must not repeat an entry, nor be empty.
    func requireDistinct(_ mapping: MappingNode, _ key: String, _ entries: [String]) throws {
        guard let node = mapping.node(key) else { return }
        if node.sequence?.isEmpty == true {
            throw error(node, keyPath(mapping, key), "list at least one entry, or leave the key out for the default")
        }
        var seen: Set<String> = []
        for (index, entry) in entries.enumerated() where !seen.insert(entry).inserted {
            throw error(node.sequence?[index], "\(keyPath(mapping, key))[\(index)]", "'\(entry)' appears twice")
        }
    }

    func string(_ mapping: MappingNode, _ key: String, required: Bool = false) throws -> String? {
        guard let node = mapping.node(key) else {
            if required { throw error(mapping.node, keyPath(mapping, key), "is required") }
            return nil
        }
        guard node.scalar != nil, let value = node.string else {
            throw error(node, keyPath(mapping, key), "expected text")
        }
        return value
    }

    func int(_ mapping: MappingNode, _ key: String, range: ClosedRange<Int>) throws -> Int? {
        guard let node = mapping.node(key) else { return nil }
        guard let value = node.int else {
            throw error(node, keyPath(mapping, key), "expected a whole number, found '\(node.string ?? "?")'")
        }
        guard range.contains(value) else {
            throw error(
                node, keyPath(mapping, key),
                "must be between \(range.lowerBound) and \(range.upperBound), found \(value)")
        }
        return value
    }

    func double(_ mapping: MappingNode, _ key: String, path: String, range: ClosedRange<Double>) throws -> Double? {
        guard let node = mapping.node(key) else { return nil }
        guard let value = node.float else {
            throw error(node, keyPath(mapping, key), "expected a number, found '\(node.string ?? "?")'")
        }
        guard range.contains(value) else {
            throw error(
                node, keyPath(mapping, key),
                "must be between \(range.lowerBound) and \(range.upperBound), found \(value)")
        }
        return value
    }

    func bool(_ mapping: MappingNode, _ key: String) throws -> Bool? {
        guard let node = mapping.node(key) else { return nil }
        guard let value = node.bool else { throw error(node, keyPath(mapping, key), "expected true or false") }
        return value
    }

    func enumeration<E: RawRepresentable & CaseIterable>(_ node: Node, _ path: String, _ type: E.Type) throws -> E
    where E.RawValue == String {
        guard let text = node.scalar != nil ? node.string : nil, let value = E(rawValue: text) else {
            throw error(
                node, path,
                """
                expected one of \(E.allCases.map(\.rawValue).joined(separator: ", ")), found \
                '\(node.string ?? "a non-text value")'
                """
            )
        }
        return value
    }

    func enumeration<E: RawRepresentable & CaseIterable>(
        _ mapping: MappingNode, _ key: String, _ type: E.Type,
        path: String? = nil, required: Bool = false
    ) throws -> E? where E.RawValue == String {
        guard let node = mapping.node(key) else {
            if required {
                throw error(
                    mapping.node, keyPath(mapping, key),
                    "is required; one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return nil
        }
        return try enumeration(node, keyPath(mapping, key), type)
    }

    func list<T>(_ mapping: MappingNode, _ key: String, required: Bool = false, _ element: (Node, String) throws -> T)
        throws -> [T]
    {
        guard let node = mapping.node(key) else {
            if required { throw error(mapping.node, keyPath(mapping, key), "is required") }
            return []
        }
        guard let sequence = node.sequence else { throw error(node, keyPath(mapping, key), "expected a list") }
        return try sequence.enumerated().map { index, item in try element(item, "\(keyPath(mapping, key))[\(index)]") }
    }
}

/// Levenshtein distance, for "did you mean" hints on misspelt keys.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    var previous = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in stride(from: 1, through: b.count, by: 1) {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return a.isEmpty ? b.count : previous[b.count]
}

extension Array {
    func nonEmpty(or fallback: [Element]) -> [Element] { isEmpty ? fallback : self }
}
