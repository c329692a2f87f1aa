#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn seed(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus/marshal_code")
        .join(name);
    std::fs::read(p).unwrap()
}

fn dis(name: &str) -> Disassembly {
    disassemble(&seed(name), &Limits::default()).unwrap()
}

fn calls(d: &Disassembly) -> Vec<String> {
    d.calls.iter().map(ToString::to_string).collect()
}

/// Real CPython 3.11 marshal data (tests/fixtures/gen/make_h5_fixtures.py): a function with
/// an import statement.
#[test]
fn cpython_311_function_with_import() {
    let d = dis("py311_import");
    assert_eq!((d.layout, d.version), (CodeLayout::Py311, PyVersion::Py311));
    assert_eq!(d.code.name, "run_subprocess");
    assert_eq!(d.code.qualname.as_deref(), Some("run_subprocess"));
    assert_eq!(d.code.filename, "make_h5_fixtures.py");
    assert_eq!(d.code.argcount, 1);
    assert_eq!(d.code.names, vec!["subprocess", "run"]);
    assert_eq!(d.code.varnames, vec!["x", "subprocess"]);
    assert!(d.code.consts.contains(&"\"modelgate-fixture\"".to_string()));
    assert_eq!(d.imports, vec!["subprocess"]);
    assert_eq!(
        calls(&d),
        vec!["subprocess.run([\"echo\", \"modelgate-fixture\"])"]
    );
    assert!(!d.truncated);
}

/// Real CPython 3.11: a lambda whose constants hold another lambda.
#[test]
fn cpython_311_nested_code_objects() {
    let d = dis("py311_nested");
    assert_eq!(d.version, PyVersion::Py311);
    assert_eq!(d.code.name, "<lambda>");
    assert_eq!(d.code.nested.len(), 1);
    assert_eq!(d.code.nested[0].names, vec!["__import__", "run"]);
    assert_eq!(d.code_objects().len(), 2);
    assert_eq!(
        calls(&d),
        vec![
            "builtins.__import__(\"subprocess\")",
            "subprocess.run([\"echo\", \"nested\"])"
        ]
    );
    assert_eq!(d.calls[1].function, "<lambda>");
}

/// Hand-assembled CPython 3.8 layout and opcodes (LOAD_METHOD / CALL_METHOD).
#[test]
fn cpython_38_layout_and_opcodes() {
    let d = dis("py38");
    assert_eq!(
        (d.layout, d.version),
        (CodeLayout::Py38, PyVersion::Py38To310)
    );
    assert_eq!(d.code.name, "<lambda>");
    assert_eq!(d.code.qualname, None);
    assert_eq!(
        calls(&d),
        vec![
            "builtins.__import__(\"os\")",
            "os.system(\"echo modelgate-py38\")"
        ]
    );
}

/// Hand-assembled 3.10: `import socket` bound to a local, then a method call on it.
#[test]
fn cpython_310_import_through_a_local() {
    let d = dis("py310");
    assert_eq!(d.version, PyVersion::Py38To310);
    assert_eq!(d.imports, vec!["socket"]);
    assert_eq!(
        calls(&d),
        vec!["socket.create_connection((\"203.0.113.7\", 4444))"]
    );
}

/// Hand-assembled 3.12: same layout as 3.11, told apart by cache sizes; LOAD_ATTR's
/// argument is shifted.
#[test]
fn cpython_312_is_told_from_311() {
    let d = dis("py312");
    assert_eq!((d.layout, d.version), (CodeLayout::Py311, PyVersion::Py312));
    assert_eq!(
        calls(&d),
        vec![
            "builtins.__import__(\"os\")",
            "os.system(\"echo modelgate-py312\")"
        ]
    );
}

#[test]
fn non_code_and_garbage_are_errors() {
    assert_eq!(
        disassemble(b"", &Limits::default()),
        Err(Error::NotCode('\0'))
    );
    assert_eq!(
        disassemble(b"i\x01\x00\x00\x00", &Limits::default()),
        Err(Error::NotCode('i'))
    );
    // A tuple claiming 2^31-1 items in a few bytes: refused before allocating.
    let mut d = seed("py38");
    let at = d.iter().position(|b| *b == b')').unwrap();
    d[at] = b'(';
    d.splice(at + 1..at + 2, [0xff, 0xff, 0xff, 0x7f]);
    assert!(disassemble(&d, &Limits::default()).is_err());
    // Trailing bytes after the code object.
    let mut d = seed("py38");
    d.push(b'N');
    assert!(disassemble(&d, &Limits::default()).is_err());
}

#[test]
fn nesting_and_object_limits() {
    // Code object whose first field is 10,000 nested one-element tuples.
    let mut d = b"c".to_vec();
    d.extend_from_slice(&[0; 20]);
    for _ in 0..10_000 {
        d.extend_from_slice(b")\x01");
    }
    d.push(b'N');
    assert!(matches!(
        disassemble(&d, &Limits::default()),
        Err(Error::Limit { .. })
    ));
    let tight = Limits {
        max_objects: 5,
        ..Limits::default()
    };
    assert!(matches!(
        disassemble(&seed("py311_import"), &tight),
        Err(Error::Limit { .. })
    ));
    let tight = Limits {
        max_instructions: 3,
        ..Limits::default()
    };
    assert!(
        disassemble(&seed("py311_import"), &tight)
            .unwrap()
            .truncated
    );
}

#[test]
fn back_references_resolve_and_forward_ones_fail() {
    // Real 3.11 streams use FLAG_REF records (0xda: a short interned string to remember),
    // and the nested lambda's names resolve through them.
    let raw = seed("py311_nested");
    assert!(raw.contains(&0xda));
    assert_eq!(
        dis("py311_nested").code.nested[0].filename,
        "make_h5_fixtures.py"
    );
    // A reference to an index never assigned.
    let mut d = b"\xe3".to_vec();
    d.extend_from_slice(&[0; 20]);
    d.extend_from_slice(b"r\x07\x00\x00\x00");
    assert!(matches!(
        disassemble(&d, &Limits::default()),
        Err(Error::Invalid { .. })
    ));
}

#[test]
fn every_truncation_and_mutation_is_handled() {
    let mut s = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    for name in ["py38", "py310", "py311_import", "py311_nested", "py312"] {
        let orig = seed(name);
        for n in 0..orig.len() {
            assert!(disassemble(&orig[..n], &Limits::default()).is_err());
        }
        for _ in 0..2000 {
            let mut d = orig.clone();
            for _ in 0..(1 + next() % 4) {
                let i = (next() as usize) % d.len();
                d[i] = (next() % 256) as u8;
            }
            let _ = disassemble(&d, &Limits::default());
        }
    }
}

/// A 3.11/3.12 closure starts with COPY_FREE_VARS (149, RESUME's number in 3.13): still
/// decoded as 3.11+, while a stream starting with 3.13's RESUME is decoded with 3.13's
/// opcode numbers, and one starting with neither is not decoded at all.
#[test]
fn closures_are_not_mistaken_for_313() {
    let orig = seed("py312");
    // The bytecode is the first `s` record; its first instruction is RESUME (151, 0).
    let at = orig.windows(2).position(|w| w == [151, 0]).unwrap();
    let mut closure = orig.clone();
    // COPY_FREE_VARS 1, then RESUME (in place of RESUME and the first LOAD_GLOBAL).
    closure.splice(at..at + 4, [149, 1, 151, 0]);
    assert_eq!(
        disassemble(&closure, &Limits::default()).unwrap().version,
        PyVersion::Py312
    );
    let mut py313 = orig.clone();
    py313.splice(at..at + 2, [149, 0]);
    let d = disassemble(&py313, &Limits::default()).unwrap();
    assert_eq!(d.version, PyVersion::Py313);
    // 3.12 opcode numbers read as 3.13 ones mean nothing: no call is invented.
    assert!(d.calls.is_empty(), "{:?}", d.calls);
    let mut py314 = orig.clone();
    py314.splice(at..at + 2, [128, 0]);
    let d = disassemble(&py314, &Limits::default()).unwrap();
    assert_eq!(d.version, PyVersion::Py314Plus);
    assert!(d.calls.is_empty());
    assert_eq!(d.code.names, vec!["__import__", "system"]);
    let mut unknown = orig.clone();
    unknown.splice(at..at + 2, [200, 0]);
    let d = disassemble(&unknown, &Limits::default()).unwrap();
    assert_eq!(d.version, PyVersion::Unknown);
    assert!(d.calls.is_empty());
    assert_eq!(d.code.consts.len(), 3);
}

/// Real CPython 3.13.0 marshal data (tests/fixtures/gen/make_h5_fixtures.py, `PY313`).
#[test]
fn cpython_313_lambda() {
    let d = dis("py313_lambda");
    assert_eq!((d.layout, d.version), (CodeLayout::Py311, PyVersion::Py313));
    assert_eq!(d.code.name, "<lambda>");
    assert_eq!(d.code.filename, "make_h5_fixtures.py");
    assert_eq!(
        calls(&d),
        vec![
            "builtins.__import__(\"os\")",
            "os.system(\"echo modelgate-py313\")"
        ]
    );
}

/// 3.13: `import`, `from os import path`, CALL_KW and a nested call in an argument.
#[test]
fn cpython_313_imports_and_keyword_calls() {
    let d = dis("py313_import");
    assert_eq!(d.version, PyVersion::Py313);
    assert_eq!(d.imports, vec!["subprocess", "os", "os.path"]);
    assert_eq!(
        calls(&d),
        vec![
            "os.path.join(\"a\", \"b\")",
            "subprocess.run([\"echo\", os.path.join()], True)"
        ]
    );
}

/// 3.13 closure: MAKE_CELL before RESUME in the outer function, COPY_FREE_VARS in the
/// inner one; the inner call is found with its cell argument unknown.
#[test]
fn cpython_313_closure() {
    let d = dis("py313_closure");
    assert_eq!(d.version, PyVersion::Py313);
    assert_eq!(d.code.nested.len(), 1);
    assert!(
        calls(&d).contains(&"socket.create_connection((\"203.0.113.7\", 4444), ?)".to_string()),
        "{:?}",
        calls(&d)
    );
}

/// A constant slice (marshal type `:`, CPython 3.14) is read and rendered.
#[test]
fn slice_constants() {
    let mut orig = seed("py313_lambda");
    // Replace the constant None (first element of co_consts) by slice(1, None, None).
    let consts = orig.windows(2).position(|w| w == [b')', 3]).unwrap();
    assert_eq!(orig[consts + 2] & 0x7f, b'N');
    orig.splice(consts + 2..consts + 3, [b':', b'i', 1, 0, 0, 0, b'N', b'N']);
    let d = disassemble(&orig, &Limits::default()).unwrap();
    assert_eq!(d.code.consts[0], "slice(1, None, None)");
}

/// Generators start with RETURN_GENERATOR and POP_TOP before RESUME (after MAKE_CELL):
/// real 3.11 and 3.13 generator functions are still told apart and decoded.
#[test]
fn generators_are_decoded() {
    for (name, version) in [
        ("py311_generator", PyVersion::Py311),
        ("py313_generator", PyVersion::Py313),
    ] {
        let d = dis(name);
        assert_eq!(d.version, version, "{name}");
        assert!(
            calls(&d).contains(&"os.system(\"echo modelgate-gen\")".to_string()),
            "{name}: {:?}",
            calls(&d)
        );
    }
}
