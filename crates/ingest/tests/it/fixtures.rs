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

/// `tests/fixtures/NAME`.
fn fixture_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Runs `tests/fixtures/NAME` with the virtualenv's python, writing into `out`.
pub fn write_fixtures(name: &str, out: &Path, args: &[&str]) {
    let mut cmd = Command::new(python());
    succeeded(cmd.arg(fixture_script(name)).arg(out).args(args), name);
}

/// The conformance dataset (`tests/fixtures/dataset.py`) with `rows` rows, written once
/// per test run and shared by the tests that read it.
pub fn dataset(rows: usize) -> PathBuf {
    let stamp = std::fs::metadata(fixture_script("dataset.py"))
        .and_then(|m| m.modified())
        .map(|t| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs())
        .unwrap_or(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("dataset-{rows}-{stamp}"));
    if dir.join("data.csv").exists() {
        return dir;
    }
    // Written aside and renamed into place, so tests running at once never see half a set.
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    write_fixtures("dataset.py", tmp.path(), &[&rows.to_string()]);
    let _ = std::fs::rename(tmp.keep(), &dir);
    assert!(dir.join("data.csv").exists());
    dir
}

/// A server process the test started, stopped when dropped.
pub struct Server {
    child: std::process::Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(mut cmd: Command, port: u16) -> Server {
        let child = cmd
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start server");
        let server = Server { child, port };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "server on {port} did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        server
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// A TCP port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real S3-compatible server (moto, from the virtualenv) on a port of its own.
pub fn s3_server() -> Server {
    let port = free_port();
    let moto = python().with_file_name("moto_server");
    let mut cmd = Command::new(moto);
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    Server::start(cmd, port)
}

/// The environment `ingest` and boto3 need to reach `s3`.
pub fn s3_env(s3: &Server) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", s3.url()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_REGION", "us-east-1".into()),
    ]
}

/// Creates `bucket` and uploads `files` (paths under `dir`) as `prefix/NAME`.
pub fn s3_upload(s3: &Server, bucket: &str, dir: &Path, prefix: &str, files: &[&str]) {
    let code = "import boto3,sys\ns=boto3.client('s3')\nb,d,p=sys.argv[1],sys.argv[2],sys.argv[3]\ntry: s.create_bucket(Bucket=b)\nexcept s.exceptions.BucketAlreadyOwnedByYou: pass\nfor f in sys.argv[4:]: s.upload_file(d+'/'+f,b,p+f)";
    let mut cmd = Command::new(python());
    cmd.arg("-c")
        .arg(code)
        .args([bucket, dir.to_str().unwrap(), prefix])
        .args(files)
        .envs(s3_env(s3));
    succeeded(&mut cmd, "upload to S3");
}

/// A web server over `dir` (`tests/fixtures/http_server.py`).
pub fn http_server(dir: &Path) -> Server {
    let port = free_port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/http_server.py");
    let mut cmd = Command::new(python());
    cmd.arg(script).arg(dir).arg(port.to_string());
    Server::start(cmd, port)
}

/// Azurite's blob server (`INGEST_TEST_AZURITE`, set by scripts/test.sh).
pub fn azurite_server(data: &Path) -> Server {
    let bin = match std::env::var("INGEST_TEST_AZURITE") {
        Ok(b) => PathBuf::from(b),
        Err(_) => {
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
            let out = succeeded(
                &mut Command::new(root.join("scripts/azurite.sh")),
                "scripts/azurite.sh",
            );
            String::from_utf8(out.stdout).unwrap().trim().into()
        }
    };
    let port = free_port();
    let mut cmd = Command::new(bin);
    cmd.args([
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        &port.to_string(),
        "--silent",
        "--skipApiVersionCheck",
        "--loose",
        "--location",
    ])
    .arg(data);
    Server::start(cmd, port)
}

/// The environment object_store needs to reach Azurite as `az://` (its well-known account).
pub fn az_env(azurite: &Server) -> Vec<(&'static str, String)> {
    vec![
        ("AZURE_STORAGE_USE_EMULATOR", "true".into()),
        ("AZURITE_BLOB_STORAGE_URL", azurite.url()),
        ("AZURE_STORAGE_ACCOUNT_NAME", "devstoreaccount1".into()),
    ]
}

/// Creates `container` in Azurite and uploads `files` (under `dir`) as `prefix/NAME`, with
/// Microsoft's Python client.
pub fn az_upload(azurite: &Server, container: &str, dir: &Path, prefix: &str, files: &[&str]) {
    let code = "import sys\nfrom azure.storage.blob import BlobServiceClient\nurl,c,d,p=sys.argv[1:5]\nkey='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='\ns=BlobServiceClient.from_connection_string(f'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key};BlobEndpoint={url}/devstoreaccount1;')\ncc=s.get_container_client(c)\nif not cc.exists(): cc.create_container()\nfor f in sys.argv[5:]: cc.upload_blob(p+f, open(d+'/'+f,'rb'), overwrite=True)";
    let mut cmd = Command::new(python());
    cmd.arg("-c")
        .arg(code)
        .args([&azurite.url(), container, dir.to_str().unwrap(), prefix])
        .args(files);
    succeeded(&mut cmd, "upload to Azurite");
}
