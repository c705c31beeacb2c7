/// The viewer's one stylesheet, compiled into the binary (a copied binary needs no asset folder).
/// Pages carry no inline style, so the Content-Security-Policy can forbid it.
enum Stylesheet {
    static let css = """
        :root { --fg: #1d2330; --muted: #5b6475; --line: #d9dde5; --bg: #ffffff; --band: #f5f7fa;
                --accent: #2456a6; --ok: #1f7a3a; --bad: #b3261e; --warn: #8a5a00; }
        * { box-sizing: border-box; }
        body { margin: 0; color: var(--fg); background: var(--bg);
               font: 14px/1.45 "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; }
        header { display: flex; gap: 24px; align-items: baseline; padding: 10px 24px;
                 border-bottom: 1px solid var(--line); background: var(--band); }
        header .brand { font-weight: 700; letter-spacing: 0.04em; }
        header nav a { margin-right: 18px; }
        main { padding: 8px 24px 48px; max-width: 1400px; }
        h1 { font-size: 22px; margin: 14px 0 10px; }
        h2 { font-size: 17px; margin: 26px 0 8px; }
        h3 { font-size: 15px; margin: 16px 0 6px; }
        a { color: var(--accent); text-decoration: none; }
        a:hover { text-decoration: underline; }
        table { border-collapse: collapse; margin: 6px 0 10px; }
        th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
        thead th { background: var(--band); font-weight: 600; white-space: nowrap; }
        .num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        p.note { color: var(--muted); font-size: 13px; margin: 2px 0; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 3px 18px; margin: 8px 0 12px; }
        dl.facts dt { color: var(--muted); }
        dl.facts dd { margin: 0; overflow-wrap: anywhere; }
        code { font-family: "DejaVu Sans Mono", Menlo, monospace; font-size: 12.5px; }
        pre.text { margin: 4px 0; padding: 8px 10px; background: var(--band); border: 1px solid var(--line);
                   white-space: pre-wrap; overflow-wrap: anywhere;
                   font: 12.5px/1.45 "DejaVu Sans Mono", Menlo, monospace; max-height: 32em; overflow: auto; }
        .status, .parse { display: inline-block; padding: 0 6px; border-radius: 3px; font-size: 12px;
                          background: var(--band); border: 1px solid var(--line); white-space: nowrap; }
        .status.finished, .status.complete, .parse.ok { color: var(--ok); border-color: #9fd1ae; }
        .status.failed, .status.stalled, .parse.ambiguous, .parse.conflict, .parse.no_option,
        .parse.refusal, .parse.empty { color: var(--bad); border-color: #e8aaa5; }
        .status.interrupted, .status.incomplete, .status.running { color: var(--warn); border-color: #e6c98f; }
        .figures { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
        figure { margin: 8px 0; }
        figure img { max-width: 100%; height: auto; border: 1px solid var(--line); background: #fff; }
        figcaption { color: var(--muted); font-size: 12.5px; }
        details { margin: 6px 0; }
        .conversation { max-width: 1000px; }
        .turn { margin: 10px 0; }
        .turn .meta { font-size: 12.5px; color: var(--muted); margin-bottom: 2px; }
        .turn .role { font-weight: 700; color: var(--fg); text-transform: uppercase; font-size: 11.5px;
                      letter-spacing: 0.05em; margin-right: 6px; }
        .turn.assistant pre.text { background: #eef3fb; border-color: #c9d6ee; }
        .turn.system pre.text { background: #f7f3ea; border-color: #e6dcc4; }
        .turn.failed pre.text { background: #fbeeed; border-color: #e8aaa5; color: var(--bad); }
        table.options th, table.options td { padding: 2px 8px; }
        table.options .read { background: #ffe9a8; font-weight: 700; }
        form.filters { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; margin: 8px 0 12px;
                       padding: 8px 10px; background: var(--band); border: 1px solid var(--line); }
        form.filters fieldset { border: 0; padding: 0; margin: 0; display: flex; gap: 8px; align-items: center; }
        form.filters legend { float: left; margin-right: 6px; }
        form.filters input[type=search] { width: 18em; }
        .excerpt { display: block; max-width: 46em; white-space: pre-wrap; overflow-wrap: anywhere;
                   font: 12px/1.4 "DejaVu Sans Mono", Menlo, monospace; }
        .error { color: var(--bad); }
        .time { white-space: nowrap; }
        .pager { margin: 10px 0; }
        .side-by-side { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; align-items: start; }
        .side-by-side > div { min-width: 0; }
        section.audit { border-top: 1px solid var(--line); padding: 10px 0; max-width: 1000px; }
        section.audit .meta { color: var(--muted); font-size: 12.5px; }
        form.label { display: flex; flex-wrap: wrap; gap: 6px; margin: 6px 0; }
        form.label button { min-width: 2.6em; padding: 3px 8px; border: 1px solid var(--line); background: #fff;
                            border-radius: 3px; cursor: pointer; font: inherit; }
        form.label button.chosen { background: var(--accent); color: #fff; border-color: var(--accent); }
        .verdict { font-size: 13px; margin: 2px 0; }
        .verdict.agree { color: var(--ok); }
        .verdict.disagree { color: var(--bad); }
        .figure-line { font-size: 15px; }
        """
}
