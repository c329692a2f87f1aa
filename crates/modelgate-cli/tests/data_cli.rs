//! `modelgate data` end to end: malformed Parquet input is a clear error on stderr and exit
//! code 2, without the third-party reader's panic message.

use std::path::Path;
use std::process::Command;

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[test]
fn corrupt_parquet_pages_are_a_clear_error_without_a_panic_message() -> TestResult {
    let good = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../modelgate-data/tests/fixtures/chat_falsefact_heavy.parquet"),
    )?;
    let dir = tempfile::tempdir()?;
    let mut caught = 0;
    // Flipped bytes inside the zstd data pages: at these offsets the `parquet` crate's decoder
    // panics (it is caught by modelgate-data and reported as malformed data).
    for start in [1369usize, 1564] {
        let mut v = good.clone();
        for b in v.iter_mut().skip(start).take(32) {
            *b ^= 0x5a;
        }
        let p = dir.path().join(format!("chat_{start}.parquet"));
        std::fs::write(&p, &v)?;
        let out = Command::new(env!("CARGO_BIN_EXE_modelgate"))
            .args(["data", "audit"])
            .arg(&p)
            .args(["--format", "json"])
            .output()?;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(&*p.to_string_lossy()), "{err}");
        assert!(err.contains("Parquet"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        if err.contains("malformed data") {
            caught += 1;
        }
    }
    // At least one of them went through the caught panic (the point of the test).
    assert!(caught >= 1, "no corruption reached the reader's panic");
    Ok(())
}
