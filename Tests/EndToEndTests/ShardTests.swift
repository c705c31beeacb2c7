import Foundation
import GRDB
import Testing

@Suite("Sharding on a scheduler: --shard auto, --db patterns, merge of a glob, the same numbers to the last digit")
struct ShardTests {
    /// Random answers and shuffled options: a report whose intervals move with any change in the
    /// order its trials are read in.
    static let experiment = """
        name: sharded
        seed: 11
        trials: 6
        values: [altruistic, prosocial, individualistic, competitive]
        goal: both
        option_orders: [original, shuffled]
        models:
          - name: noisy
            provider: reference
            agent: noisy
          - name: random
            provider: reference
            agent: random
        """

    /// Every scheduler variable hvae reads, unset (an empty value reads as unset), so that the
    /// test's own environment cannot leak into the run.
    static let clean = [
        "SLURM_ARRAY_TASK_ID": "", "SLURM_ARRAY_TASK_MIN": "", "SLURM_ARRAY_TASK_MAX": "",
        "SLURM_ARRAY_TASK_COUNT": "", "JOB_COMPLETION_INDEX": "", "HVAE_SHARDS": "",
    ]

    func report(_ database: String, in work: WorkingDirectory, _ extra: [String] = []) throws -> String {
        let result = try hvae(
            ["report", "--db", database, "--format", "csv", "--by", "model,value,goal,option_order"] + extra,
            in: work.url)
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout
    }

    @Test(
        "Slurm array tasks and Kubernetes indexes each run their slice; merged, they report what one machine does",
        arguments: ["slurm", "kubernetes"])
    func schedulers(scheduler: String) throws {
        let work = try WorkingDirectory()
        try work.write("study.yaml", Self.experiment)
        let whole = try hvae(["run", "study.yaml", "--db", "whole.sqlite", "--quiet"], in: work.url)
        #expect(whole.status == 0, "\(whole.stderr)")

        for task in 0..<3 {
            let environment: [String: String]
            let arguments = [
                "run", "study.yaml", "--shard", "auto", "--shards", "3", "--db", "study-{shard}.sqlite", "--quiet",
            ]
            let slice: Int
            if scheduler == "slurm" {
                // sbatch --array=4-6: tasks need not start at 0; task t runs slice (t mod 3) + 1.
                environment = Self.clean.merging(
                    ["SLURM_ARRAY_TASK_ID": String(4 + task), "SLURM_ARRAY_TASK_MIN": "4", "SLURM_ARRAY_TASK_MAX": "6"]
                ) { $1 }
                slice = (4 + task) % 3 + 1
            } else {
                environment = Self.clean.merging(["JOB_COMPLETION_INDEX": String(task)]) { $1 }
                slice = task + 1
            }
            let run = try hvae(arguments, in: work.url, environment: environment)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.contains("shard \(slice)/3"), "\(run.stdout)")
            #expect(FileManager.default.fileExists(atPath: work.path("study-\(slice).sqlite")))
        }

        // The last slice first: ids in the merged file follow no plan order at all.
        let partial = try hvae(["merge", "study-3.sqlite", "-o", "merged.sqlite"], in: work.url)
        #expect(partial.status == 1)
        #expect(partial.stderr.contains("shard 1/3 is missing") && partial.stderr.contains("shard 2/3 is missing"))
        #expect(!partial.stderr.contains("shard 3/3"))
        let merge = try hvae(["merge", "study-*.sqlite", "-o", "merged.sqlite"], in: work.url)
        #expect(merge.status == 0, "\(merge.stderr)")
        #expect(merge.stderr.isEmpty, "\(merge.stderr)")
        let ids = try DatabaseQueue(path: work.path("merged.sqlite")).read { db in
            try Int.fetchAll(db, sql: "SELECT ordinal FROM trials ORDER BY id")
        }
        #expect(ids != ids.sorted())

        #expect(try report("merged.sqlite", in: work) == (try report("whole.sqlite", in: work)))
        #expect(
            try report("merged.sqlite", in: work, ["--reliability"])
                == (try report("whole.sqlite", in: work, ["--reliability"])))
        let compare = ["compare", "goal", "with", "without", "--format", "csv"]
        #expect(
            try hvae(compare + ["--db", "merged.sqlite"], in: work.url).stdout
                == (try hvae(compare + ["--db", "whole.sqlite"], in: work.url).stdout))
    }

    @Test("--shard auto with no scheduler, a stepped array, or an index without a count: one line, nothing written")
    func badEnvironments() throws {
        let work = try WorkingDirectory()
        try work.write("study.yaml", Self.experiment)
        let cases: [([String: String], [String], String)] = [
            ([:], [], "no scheduler says which shard this is"),
            (
                [
                    "SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "6",
                    "SLURM_ARRAY_TASK_COUNT": "4",
                ], ["--shards", "7"], "stepped or sparse"
            ),
            (
                ["SLURM_ARRAY_TASK_ID": "9", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "3"],
                ["--shards", "4"], "outside"
            ),
            // A task re-run alone is an array of one: without --shards it would run the whole study.
            (
                ["SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_MIN": "7", "SLURM_ARRAY_TASK_MAX": "7"], [],
                "needs the number of slices"
            ),
            (["JOB_COMPLETION_INDEX": "1"], [], "--shards N"),
            (["JOB_COMPLETION_INDEX": "3"], ["--shards", "3"], "not below the 3 shards"),
            (["JOB_COMPLETION_INDEX": "x"], ["--shards", "3"], "not a whole number"),
        ]
        for (environment, extra, message) in cases {
            let run = try hvae(
                ["run", "study.yaml", "--shard", "auto", "--db", "s-{shard}.sqlite"] + extra, in: work.url,
                environment: Self.clean.merging(environment) { $1 })
            #expect(run.status != 0)
            #expect(run.stderr.contains(message), "\(run.stderr)")
            #expect(run.stderr.split(separator: "\n").count <= 2, "\(run.stderr)")
        }
        let pattern = try hvae(["run", "study.yaml", "--db", "s-{shard}.sqlite"], in: work.url)
        #expect(pattern.status != 0 && pattern.stderr.contains("names {shard}"))
        let noMatch = try hvae(["merge", "none-*.sqlite", "-o", "m.sqlite"], in: work.url)
        #expect(noMatch.status != 0 && noMatch.stderr.contains("no database matches 'none-*.sqlite'"))
        let files = try FileManager.default.contentsOfDirectory(atPath: work.url.path).filter {
            $0.hasSuffix(".sqlite")
        }
        #expect(files.isEmpty, "\(files)")
    }
}

let sbatch = ["/usr/bin/sbatch", "/usr/local/bin/sbatch"].first { FileManager.default.isExecutableFile(atPath: $0) }

@Suite("A real Slurm job array on a single-node cluster (scripts/slurm-local.sh)")
struct SlurmTests {
    @Test(
        "a 2-task array runs --shard auto, a dependent job merges: the same report as one machine",
        .enabled(
            if: sbatch != nil || toolsRequired,
            "needs Slurm (apt-get install slurmctld slurmd slurm-client munge; scripts/slurm-local.sh start)"),
        // Alone it takes seconds; in CI its jobs share two cores with the local model's generation
        // and every other test, and one run took 13 minutes without failing otherwise.
        .timeLimit(.minutes(25)))
    func jobArray() throws {
        let sbatch = try #require(sbatch, "sbatch is not installed: apt-get install slurm-client")
        let sinfo = try runProgram("/usr/bin/sinfo", ["--noheader", "--format=%t"], withErrors: true)
        try #require(sinfo.status == 0, "no Slurm controller answers: scripts/slurm-local.sh start (\(sinfo.output))")
        let work = try WorkingDirectory()
        try work.write("study.yaml", ShardTests.experiment)
        let whole = try hvae(["run", "study.yaml", "--db", "whole.sqlite", "--quiet"], in: work.url)
        #expect(whole.status == 0, "\(whole.stderr)")
        // docs/scale.md's scripts, cut to two tasks and this machine's paths.
        try work.write(
            "study.sbatch",
            """
            #!/bin/bash
            #SBATCH --job-name=hvae-study
            #SBATCH --array=0-1
            #SBATCH --chdir=\(work.url.path)
            #SBATCH --output=\(work.url.path)/task-%a.out
            set -euo pipefail
            '\(hvaeBinary.path)' run study.yaml --shard auto --shards 2 --resume --db 'study-{shard}.sqlite' --quiet
            """)
        try work.write(
            "merge.sbatch",
            """
            #!/bin/bash
            #SBATCH --job-name=hvae-merge
            #SBATCH --chdir=\(work.url.path)
            #SBATCH --output=\(work.url.path)/merge.out
            set -euo pipefail
            '\(hvaeBinary.path)' merge 'study-*.sqlite' -o merged.sqlite
            touch merged.done
            """)
        let array = try runProgram(sbatch, ["--parsable", work.path("study.sbatch")], withErrors: true)
        try #require(array.status == 0, "sbatch: \(array.output)")
        let job = array.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let merge = try runProgram(
            sbatch, ["--parsable", "--dependency=afterany:\(job)", work.path("merge.sbatch")], withErrors: true)
        try #require(merge.status == 0, "sbatch: \(merge.output)")
        let deadline = Date().addingTimeInterval(300)
        while !FileManager.default.fileExists(atPath: work.path("merged.done")) && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.5)
        }
        let logs = ["task-0.out", "task-1.out", "merge.out"].map { name in
            (try? String(contentsOf: work.url.appending(path: name), encoding: .utf8)) ?? "(no \(name))"
        }
        try #require(FileManager.default.fileExists(atPath: work.path("merged.done")), "\(logs)")
        #expect(logs[0].contains("shard 1/2") && logs[1].contains("shard 2/2"), "\(logs)")
        let report = ["report", "--format", "csv", "--by", "model,value,goal,option_order"]
        let merged = try hvae(report + ["--db", "merged.sqlite"], in: work.url)
        #expect(merged.status == 0, "\(merged.stderr)")
        #expect(merged.stdout == (try hvae(report + ["--db", "whole.sqlite"], in: work.url)).stdout)

        // Task 1 re-run alone, as docs/scale.md says a failed task is: an array of one, it runs its
        // own slice (2 of 2) into its own file, not the whole study as a slice 1/1.
        let rerun = try runProgram(
            sbatch, ["--parsable", "--wait", "--array=1", work.path("study.sbatch")], withErrors: true)
        #expect(rerun.status == 0, "sbatch: \(rerun.output)")
        let log = (try? String(contentsOf: work.url.appending(path: "task-1.out"), encoding: .utf8)) ?? ""
        #expect(log.contains("shard 2/2"), "\(log)")
        let shards = try DatabaseQueue(path: work.path("study-2.sqlite")).read { db in
            try String.fetchAll(db, sql: "SELECT shard FROM runs ORDER BY id")
        }
        #expect(shards == ["2/2", "2/2"], "\(shards)")
        let files = try FileManager.default.contentsOfDirectory(atPath: work.url.path).filter {
            $0.hasPrefix("study-") && $0.hasSuffix(".sqlite")
        }
        #expect(files.sorted() == ["study-1.sqlite", "study-2.sqlite"])
    }
}
