//! Files in foreign formats, written by independent writers (pyarrow, fastavro, openpyxl,
//! Python's json/csv/gzip/bz2) in the virtualenv `scripts/py-env.sh` makes.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The virtualenv's python (`INGEST_TEST_PYTHON`, set by scripts/test.sh).
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("INGEST_TEST_PYTHON") {
        return p.into();
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = succeeded(
        &mut Command::new(root.join("scripts/py-env.sh")),
        "scripts/py-env.sh",
    );
    String::from_utf8(out.stdout).unwrap().trim().into()
}

/// Runs a Python snippet (argv[1..] = `args`), failing the test if it fails.
pub fn py(code: &str, args: &[&str]) {
    let mut cmd = Command::new(python());
    succeeded(cmd.arg("-c").arg(code).args(args), "python");
}

/// Runs `cmd`, failing the test (with its stderr) unless it succeeds.
fn succeeded(cmd: &mut Command, what: &str) -> std::process::Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The conformance dataset (`tests/fixtures/dataset.py`) with `rows` rows, written once
/// per test run and shared by the tests that read it.
pub fn dataset(rows: usize) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dataset.py");
    let stamp = std::fs::metadata(&script)
        .and_then(|m| m.modified())
        .map(|t| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs())
        .unwrap_or(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("dataset-{rows}-{stamp}"));
    if dir.join("data.csv").exists() {
        return dir;
    }
    // Written aside and renamed into place, so tests running at once never see half a set.
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let mut cmd = Command::new(python());
    succeeded(
        cmd.arg(&script).arg(tmp.path()).arg(rows.to_string()),
        "dataset.py",
    );
    let _ = std::fs::rename(tmp.keep(), &dir);
    assert!(dir.join("data.csv").exists());
    dir
}
