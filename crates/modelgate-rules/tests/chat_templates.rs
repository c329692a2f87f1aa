//! Chat templates end to end: real published templates parse and are clean; templates from
//! public SSTI write-ups are caught with the access chain shown.

use modelgate_core::{Blob, Finding, Limits, Severity, Verdict};
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

#[test]
fn debug_print() {
    for t in [
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{% for x in ().__class__.__base__.__subclasses__() %}{% if \"warning\" in x.__name__ %}{{ x()._module.__builtins__['__import__']('os').popen(\"touch /tmp/retr0reg\") }}{% endif %}{% endfor %}",
        "{% set g = cycler.__init__.__globals__ %}{{ g.os.popen('id').read() }}",
        "{{ ()|attr('\\x5f\\x5fclass\\x5f\\x5f')|attr('\\x5f\\x5fbase\\x5f\\x5f') }}",
        "{% set a = '__cla' ~ 'ss__' %}{{ x[a] }}",
        "{{ messages[0]['content'] | trim }",
    ] {
        let (f, v) = scan_template("chat_template.jinja", t);
        println!("== {t}\n{v:?}");
        for f in f {
            println!("  {} {:?} {} {:?}", f.code, f.severity, f.message, f.evidence);
        }
    }
    let text = std::fs::read_to_string(dir("real").join("Qwen-Qwen3-0.6B.jinja")).unwrap();
    let (f, _) = scan_template("chat_template.jinja", &text);
    println!("{:?}", f);
}
