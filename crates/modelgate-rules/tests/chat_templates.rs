//! Chat templates end to end: real published templates parse and are clean; templates from
//! public SSTI write-ups are caught with the access chain shown.

use modelgate_core::{Blob, Finding, Limits, Severity, Verdict};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn dir(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/templates")
        .join(sub)
}

fn scan_template(name: &str, text: &str) -> (Vec<Finding>, Verdict) {
    let r = modelgate_rules::scan_bytes(
        name,
        Blob::from_vec(text.as_bytes().to_vec()),
        &Limits::default(),
    );
    (r.findings, r.verdict)
}

#[test]
fn real_templates_parse_and_are_clean() {
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(dir("real"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jinja"))
        .collect();
    entries.sort();
    let mut failures = Vec::new();
    for p in entries {
        let text = std::fs::read_to_string(&p).unwrap();
        if let Err(e) = modelgate_formats::chat_template::parse(&text) {
            failures.push(format!("{}: {e}", p.display()));
            continue;
        }
        let (findings, verdict) = scan_template("chat_template.jinja", &text);
        let loud: Vec<_> = findings
            .iter()
            .filter(|f| f.severity > Severity::Info)
            .map(|f| format!("{} {}", f.code, f.message))
            .collect();
        if !loud.is_empty() || verdict != Verdict::Clean {
            failures.push(format!("{}: {loud:?}", p.display()));
        }
        assert!(findings.iter().any(|f| f.code == "TPL006"));
        n += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(n >= 20, "only {n} real templates");
}

fn loud_codes(findings: &[Finding]) -> BTreeSet<String> {
    findings
        .iter()
        .filter(|f| f.severity > Severity::Info)
        .map(|f| f.code.clone())
        .collect()
}

/// Templates from public SSTI write-ups (PayloadsAllTheThings' Jinja2 section, the
/// CVE-2024-34359 advisory for llama-cpp-python) and filter-bypass variants: each gives
/// exactly its manifest's codes, and one finding shows the manifest's access chain.
#[test]
fn malicious_templates_are_caught_with_their_chain() {
    #[derive(serde::Deserialize)]
    struct Expect {
        codes: Vec<String>,
        chain: String,
    }
    let manifest: BTreeMap<String, Expect> = serde_json::from_str(
        &std::fs::read_to_string(dir("malicious").join("MANIFEST.json")).unwrap(),
    )
    .unwrap();
    let files: BTreeSet<String> = std::fs::read_dir(dir("malicious"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".jinja"))
        .collect();
    assert_eq!(files, manifest.keys().cloned().collect::<BTreeSet<_>>());
    let mut failures = Vec::new();
    for (name, want) in &manifest {
        let text = std::fs::read_to_string(dir("malicious").join(name)).unwrap();
        let (findings, verdict) = scan_template("chat_template.jinja", &text);
        let got = loud_codes(&findings);
        let want_codes: BTreeSet<String> = want.codes.iter().cloned().collect();
        let chains: Vec<&str> = findings
            .iter()
            .flat_map(|f| f.evidence.iter())
            .filter(|e| e.key == "chain")
            .map(|e| e.value.as_str())
            .collect();
        if got != want_codes || !chains.iter().any(|c| c.contains(&want.chain)) {
            failures.push(format!(
                "{name}: codes {got:?} (want {want_codes:?}), chains {chains:?} (want {:?})",
                want.chain
            ));
        }
        if verdict == Verdict::Clean {
            failures.push(format!("{name}: clean verdict"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn codes_of(text: &str) -> BTreeSet<String> {
    loud_codes(&scan_template("chat_template.jinja", text).0)
}

fn finding<'a>(findings: &'a [Finding], code: &str) -> &'a Finding {
    findings
        .iter()
        .find(|f| f.code == code)
        .unwrap_or_else(|| panic!("no {code} in {findings:?}"))
}

fn set(codes: &[&str]) -> BTreeSet<String> {
    codes.iter().map(|c| c.to_string()).collect()
}

fn chain_of(text: &str, code: &str) -> String {
    let (f, _) = scan_template("chat_template.jinja", text);
    finding(&f, code)
        .evidence_value("chain")
        .unwrap_or_default()
        .to_string()
}

#[test]
fn folding_builds_names() {
    for (src, chain) in [
        ("{{ ''['__ssalc__'[::-1]] }}", "''['__class__']"),
        ("{{ ''['x__class__x'[1:-1]] }}", "''['__class__']"),
        ("{{ ''['__CLASS__'|lower] }}", "''['__class__']"),
        (
            "{{ ''['__klass__'|replace('k', 'c')|replace('cc', 'c')] }}",
            "''['__class__']",
        ),
        ("{{ ''['%s%s' % ('__cla', 'ss__')] }}", "''['__class__']"),
        (
            "{{ ''['%sclass%s'|format('__', '__')] }}",
            "''['__class__']",
        ),
        (
            "{{ ''[''.join(['__', 'class', '__'])] }}",
            "''['__class__']",
        ),
        ("{{ ''['__'.join(['', 'class', ''])] }}", "''['__class__']"),
        ("{{ ''['  __class__  '.strip()] }}", "''['__class__']"),
        ("{{ ''[('_', '_')|join ~ 'class__'] }}", "''['__class__']"),
        ("{{ ''[{'__class__': 1}|first] }}", "''['__class__']"),
        ("{{ ''['__cla' + 'ss__'] }}", "''['__class__']"),
        (
            "{{ ''['\\N{LOW LINE}\\N{LOW LINE}class__'] }}",
            "''['__class__']",
        ),
        (
            "{% set ns = namespace(a='__cla') %}{% set ns.b = ns.a ~ 'ss__' %}{{ ''[ns.b] }}",
            "''['__class__']",
        ),
        (
            "{% set a %}__cla{% endset %}{% set b = a ~ 'ss__' %}{{ x|attr(b) }}",
            "x.__class__",
        ),
    ] {
        assert_eq!(chain_of(src, "TPL001"), chain, "{src}");
    }
    // Folding is bounded: a huge repetition is not built (the pieces are still reported).
    let (f, _) = scan_template("t.jinja", "{{ ''['_' * 100000000 ~ 'class__'] }}");
    assert!(f.iter().any(|f| f.code == "TPL001"));
}

#[test]
fn dunder_access_rule() {
    let (f, v) = scan_template("t.jinja", "a\n{{ x.__class__ }}");
    let d = finding(&f, "TPL001");
    assert_eq!(d.severity, Severity::Critical);
    assert_eq!(d.evidence_value("line"), Some("2"));
    assert_eq!(d.evidence_value("column"), Some("4"));
    assert_eq!(d.location.offset, Some(5));
    assert_eq!(d.evidence_value("token"), Some("__class__ (attribute)"));
    assert_eq!(v, Verdict::Malicious);
    assert_eq!(codes_of("{{ __builtins__ }}"), set(&["TPL001"]));
    assert_eq!(codes_of("{{ x.mro() }}"), set(&["TPL001"]));
    assert_eq!(
        codes_of("{{ x|selectattr('__class__') }}"),
        set(&["TPL001"])
    );
    assert_eq!(
        codes_of("{{ x|sort(attribute='a.__class__') }}"),
        set(&["TPL001"])
    );
    assert_eq!(
        codes_of("{{ x|map('attr', '__class__') }}"),
        set(&["TPL001"])
    );
    assert_eq!(codes_of("{{ dict(__globals__=1) }}"), set(&["TPL001"]));
    // A loop variable over constant names: every name is checked.
    let (f, _) = scan_template(
        "t.jinja",
        "{% for n in ['a', '__cla' ~ 'ss__'] %}{{ x|attr(n) }}{{ y[n] }}{% endfor %}",
    );
    let d = finding(&f, "TPL001");
    assert_eq!(d.confidence, modelgate_core::Confidence::High);
    let tokens: Vec<&str> = d
        .evidence
        .iter()
        .filter(|e| e.key == "token")
        .map(|e| e.value.as_str())
        .collect();
    assert!(
        tokens.contains(&"__class__ (attr filter)") && tokens.contains(&"__class__ (subscript)"),
        "{tokens:?}"
    );
    // Only a string piece: reported, with medium confidence.
    let (f, _) = scan_template("t.jinja", "{{ '__init__' }}");
    assert_eq!(
        finding(&f, "TPL001").confidence,
        modelgate_core::Confidence::Medium
    );
    // Upper-case sentinels, text and raw blocks are not code.
    assert!(codes_of("{% if x == '__NOT_A_NUMBER__' %}{% endif %}").is_empty());
    assert!(codes_of("__class__ {# {{ x.__class__ }} #}").is_empty());
    assert!(codes_of("{% raw %}{{ x.__class__ }}{% endraw %}").is_empty());
}

#[test]
fn gadget_rule() {
    assert_eq!(codes_of("{{ joiner['x'] }}"), set(&["TPL002"]));
    assert_eq!(codes_of("{{ range.x }}"), set(&["TPL002"]));
    assert_eq!(codes_of("{{ x|attr(y) }}"), set(&["TPL002"]));
    let (f, _) = scan_template("t.jinja", "{{ config.items() }}");
    assert_eq!(
        finding(&f, "TPL002").evidence_value("token"),
        Some("config (attribute)")
    );
    // Calling the globals is normal; variables named like them are variables.
    for benign in [
        "{% set ns = namespace(found=false) %}{% set ns.found = true %}{{ ns.found }}",
        "{% for i in range(3) %}{{ i }}{% endfor %}{{ raise_exception('no') }}",
        "{% set cycler = namespace(x=1) %}{{ cycler.x }}",
        "{% for joiner in items %}{{ joiner.name }}{% endfor %}",
        "{% macro m(lipsum) %}{{ lipsum.text }}{% endmacro %}",
        "{{ x|attr('name') }}",
    ] {
        assert!(
            codes_of(benign).is_empty(),
            "{benign}: {:?}",
            codes_of(benign)
        );
    }
    // Used before it is bound: the global.
    assert_eq!(
        codes_of("{{ cycler.x }}{% set cycler = 1 %}"),
        set(&["TPL002"])
    );
}

#[test]
fn process_rule() {
    let (f, _) = scan_template("t.jinja", "{{ x.system('id') }}");
    let p = finding(&f, "TPL003");
    assert_eq!(p.evidence_value("token"), Some("system (call)"));
    assert_eq!(p.evidence_value("chain"), Some("x.system('id')"));
    assert_eq!(codes_of("{{ os }}"), set(&["TPL003"]));
    assert_eq!(codes_of("{{ x['subprocess'] }}"), set(&["TPL003"]));
    assert_eq!(codes_of("{{ eval('1') }}"), set(&["TPL003"]));
    assert!(codes_of("{% set os = 'linux' %}{{ os }}").is_empty());
    assert!(
        codes_of("{% if message.role == 'system' %}{{ message.content }}{% endif %}").is_empty()
    );
}

#[test]
fn include_rule() {
    let (f, v) = scan_template("t.jinja", "{% extends 'ba' ~ 'se.j2' %}");
    let i = finding(&f, "TPL005");
    assert!(i.message.contains("\"base.j2\""), "{}", i.message);
    assert_eq!(v, Verdict::Suspicious);
    assert_eq!(
        codes_of("{% import 'm' as m %}{{ m.x() }}"),
        set(&["TPL005"])
    );
    assert!(codes_of("{% block b %}x{% endblock %}").is_empty());
}

#[test]
fn unparseable_rule() {
    let (f, v) = scan_template("t.jinja", "ok\n{% for m in messages %}{{ m }}");
    let u = finding(&f, "TPL004");
    assert_eq!(u.evidence_value("error"), Some("syntax-error"));
    assert_eq!(u.evidence_value("line"), Some("2"));
    assert_eq!(u.kind, modelgate_core::Kind::Malformed);
    assert_eq!(v, Verdict::Malformed);
    assert!(!f.iter().any(|f| f.code == "TPL006"));
    let deep = "{% if x %}".repeat(500);
    let (f, _) = scan_template("t.jinja", &deep);
    let u = finding(&f, "TPL004");
    assert_eq!(u.evidence_value("error"), Some("too-deep"));
    assert_eq!(u.kind, modelgate_core::Kind::Budget);
}

#[test]
fn inventory_rule() {
    let (f, v) = scan_template(
        "t.jinja",
        "{% set ns = namespace(n=0) %}{% for m in messages if m.role != 'system' %}{{ loop.index ~ m.content|trim|tojson }}{% if m.content is string %}{{ m.content.strip() }}{% endif %}{% endfor %}{{ bos_token }}",
    );
    assert_eq!(v, Verdict::Clean);
    let i = finding(&f, "TPL006");
    assert_eq!(i.severity, Severity::Info);
    assert_eq!(i.evidence_value("statements"), Some("for, if, set"));
    assert_eq!(i.evidence_value("filters"), Some("tojson, trim"));
    assert_eq!(i.evidence_value("tests"), Some("string"));
    assert_eq!(
        i.evidence_value("globals"),
        Some("bos_token, messages, namespace")
    );
    assert_eq!(i.evidence_value("methods"), Some("strip"));
}

/// Mutated real and malicious templates (pieces spliced in, spans cut out) never panic, and
/// every finding points inside the template.
#[test]
fn mutated_templates_never_panic() {
    const PIECES: &[&str] = &[
        "{{",
        "}}",
        "{%",
        "%}",
        "{#",
        "#}",
        "{%- endif %}",
        "{% endfor %}",
        "(",
        ")",
        "[",
        "]",
        "'",
        "\"",
        "\\x5f",
        "|attr(",
        "~",
        ".__class__",
        " is not ",
        " if ",
        " else ",
        ",",
        "namespace(",
        "{% raw %}",
        "{% endraw %}",
        "-",
        "é",
        "\n",
    ];
    let mut sources: Vec<String> = Vec::new();
    for sub in ["real", "malicious"] {
        let mut paths: Vec<_> = std::fs::read_dir(dir(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "jinja"))
            .collect();
        paths.sort();
        sources.extend(paths.iter().map(|p| std::fs::read_to_string(p).unwrap()));
    }
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut parsed = 0;
    for round in 0..600 {
        let mut t = sources[round % sources.len()].clone().into_bytes();
        for _ in 0..(1 + next() % 4) {
            let at = (next() as usize) % (t.len() + 1);
            if next() % 2 == 0 {
                let piece = PIECES[(next() as usize) % PIECES.len()];
                t.splice(at..at, piece.bytes());
            } else {
                let end = (at + (next() as usize) % 40).min(t.len());
                t.drain(at..end);
            }
        }
        let text = String::from_utf8_lossy(&t).into_owned();
        if modelgate_formats::chat_template::parse(&text).is_ok() {
            parsed += 1;
        }
        let (findings, _) = scan_template("m.jinja", &text);
        for f in &findings {
            let off = f.location.offset.unwrap_or(0);
            assert!(off as usize <= text.len(), "{f:?}");
        }
        // An empty file is not a template.
        assert!(
            text.is_empty()
                || findings
                    .iter()
                    .any(|f| f.code == "TPL006" || f.code == "TPL004"),
            "neither parsed nor reported: {:?} {:?}",
            &text,
            findings.iter().map(|f| &f.code).collect::<Vec<_>>()
        );
    }
    // Some mutations keep the template valid, most break it.
    assert!(parsed > 20 && parsed < 590, "{parsed}");
}

/// Throughput of parse + analysis over the real templates (`--ignored --nocapture`).
#[test]
#[ignore]
fn measure_throughput() {
    let texts: Vec<String> = std::fs::read_dir(dir("real"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let rounds = 20;
    let start = std::time::Instant::now();
    let mut nodes = 0;
    for _ in 0..rounds {
        for t in &texts {
            let tree = modelgate_formats::chat_template::parse(t).unwrap();
            nodes += modelgate_rules::rules::template::analyze::analyze(&tree).nodes;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} templates, {bytes} bytes, {} nodes per round: {:.1} MB/s, {:.0} µs per template",
        texts.len(),
        nodes / rounds,
        (bytes * rounds) as f64 / secs / 1e6,
        secs * 1e6 / (rounds * texts.len()) as f64
    );
}

/// Folding through chains of `{% set %}` is budgeted: an exponential chain is cut short and
/// reported, and a flood of string pieces does not crowd out the accesses.
#[test]
fn analysis_budgets() {
    let mut t = String::from("{% set v0 = 1 %}");
    // Within the `{% set %}` indirection limit, so only the budget stops it (8^7 steps).
    for i in 1..8 {
        let p = i - 1;
        t.push_str(&format!(
            "{{% set v{i} = v{p} + v{p} + v{p} + v{p} + v{p} + v{p} + v{p} + v{p} %}}"
        ));
    }
    t.push_str("{{ x[v7] }}{{ cycler.__init__ }}");
    let start = std::time::Instant::now();
    let (f, _) = scan_template("t.jinja", &t);
    assert!(start.elapsed().as_secs() < 20);
    let u = finding(&f, "TPL004");
    assert_eq!(u.evidence_value("error"), Some("fold-budget"));
    assert_eq!(u.kind, modelgate_core::Kind::Budget);
    assert!(f.iter().any(|f| f.code == "TPL001") && f.iter().any(|f| f.code == "TPL002"));

    let flood = "{{ '__x' }}".repeat(2000) + "{{ lipsum.__globals__.os.popen('id') }}";
    let (f, _) = scan_template("t.jinja", &flood);
    let d = finding(&f, "TPL001");
    assert_eq!(d.confidence, modelgate_core::Confidence::High);
    assert!(
        d.message.contains("lipsum.__globals__.os.popen('id')"),
        "{}",
        d.message
    );
    assert!(f.iter().any(|f| f.code == "TPL003"));
}
