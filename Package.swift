// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "hvae",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "hvae", targets: ["hvae"]),
        .executable(name: "hvae-bench", targets: ["hvae-bench"]),
        .library(name: "SVO", targets: ["SVO"]),
        .library(name: "Domain", targets: ["Domain"]),
        .library(name: "Store", targets: ["Store"]),
        .library(name: "Design", targets: ["Design"]),
        .library(name: "Runner", targets: ["Runner"]),
        .library(name: "Analysis", targets: ["Analysis"]),
        .library(name: "Viewer", targets: ["Viewer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // Hummingbird's own header types; named here because the viewer sets headers by name.
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // The HTTP client of every call to a model API (issue 26): hvae owns pooling, timeouts and
        // retries, and sees every byte; URLSession on Linux re-sent requests on its own, without their body.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        // NIO's and NIOSSL's error types, named to tell a reset from a refusal and a TLS failure.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // The science: pure functions, Foundation only.
        .target(name: "SVO"),

        // The vocabulary both sides of the store share: chat messages, protocol steps, goal
        // conditions, digests, seeds and timestamps (values and option orders are SVO's).
        .target(name: "Domain", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),

        // SQLite persistence: the only module that imports GRDB. The schema comes from
        // migrations/*.sql, turned into Swift source at build time so that a copied binary
        // carries its own schema.
        .target(
            name: "Store",
            dependencies: ["SVO", "Domain", "CSQLiteConfig", .product(name: "GRDB", package: "GRDB.swift")],
            plugins: [.plugin(name: "MigrationsPlugin")]
        ),
        // sqlite3_db_config, which is variadic and so out of Swift's reach (see Migrations.swift).
        .target(name: "CSQLiteConfig", linkerSettings: [.linkedLibrary("sqlite3")]),
        .executableTarget(name: "MigrationsCodegen"),
        .plugin(
            name: "MigrationsPlugin",
            capability: .buildTool(),
            dependencies: ["MigrationsCodegen"]
        ),

        // The design of a study: the experiment model (models, values, instruments, wordings, its
        // plan of trials), as stored with each run and decoded by whoever reads runs. It knows
        // model APIs by name only; their wire formats are Runner's.
        .target(name: "Design", dependencies: ["SVO", "Domain", "Store"]),

        .target(
            name: "Runner",
            dependencies: [
                "SVO", "Domain", "Store", "Design", "Yams",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            plugins: [.plugin(name: "BuildInfoPlugin")]
        ),
        .plugin(name: "BuildInfoPlugin", capability: .buildTool()),
        .target(
            name: "Analysis",
            dependencies: ["SVO", "Domain", "Store"],
            plugins: [.plugin(name: "ReferenceDataPlugin")]
        ),
        .plugin(
            name: "ReferenceDataPlugin",
            capability: .buildTool(),
            dependencies: ["MigrationsCodegen"]
        ),
        // `hvae view`: HTML pages over the store, served by Hummingbird or written as a static bundle.
        .target(
            name: "Viewer",
            dependencies: [
                "SVO", "Domain", "Store", "Design", "Analysis",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .executableTarget(
            name: "hvae",
            dependencies: [
                "SVO", "Domain", "Store", "Design", "Runner", "Analysis", "Viewer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Local HTTP servers that speak the model APIs' wire formats, for tests and benchmarks.
        .target(name: "ModelServer", path: "Tests/Support/ModelServer"),
        // The benchmarks build their large databases with SQL straight through GRDB.
        .executableTarget(
            name: "hvae-bench",
            dependencies: [
                "SVO", "Domain", "Design", "Runner", "Store", "Analysis", "Viewer", "ModelServer",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Benchmarks/hvae-bench"
        ),

        .testTarget(name: "SVOTests", dependencies: ["SVO", "Domain"]),
        .testTarget(name: "DomainTests", dependencies: ["Domain"]),
        .testTarget(
            name: "StoreTests",
            dependencies: ["Store", "SVO", "Domain", "CSQLiteConfig", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "RunnerTests",
            dependencies: [
                "Runner", "Design", "Store", "SVO", "Domain", "Analysis", "ModelServer",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "AnalysisTests",
            dependencies: [
                "Analysis", "Design", "Runner", "Store", "SVO", "Domain", .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // Runs the built `hvae` binary; depending on it makes `swift test` build it first.
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "hvae", "hvae-bench", "Store", "Domain", "SVO", "ModelServer",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            // Databases and outputs of earlier versions, read by path (Fixtures/README.md).
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
